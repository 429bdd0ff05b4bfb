//! Carriers' saved searches.

use chrono::{DateTime, Utc};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::SearchParams;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SavedSearchRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub created_by: Uuid,
    pub name: String,
    pub params: Json<SearchParams>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, created_by, name, params, created_at";

pub async fn insert_search(tx: &mut Tx, s: &SavedSearchRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO saved_searches (id, org_id, created_by, name, params, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(s.id)
    .bind(s.org_id)
    .bind(s.created_by)
    .bind(&s.name)
    .bind(&s.params)
    .bind(s.created_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn list_searches(db: &Db, org_id: Uuid) -> sqlx::Result<Vec<SavedSearchRow>> {
    let sql = format!("SELECT {COLUMNS} FROM saved_searches WHERE org_id = $1 ORDER BY id");
    on_db!(db, |p| sqlx::query_as(&sql).bind(org_id).fetch_all(p).await)
}

pub async fn delete_search(tx: &mut Tx, org_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "DELETE FROM saved_searches WHERE id = $1 AND org_id = $2"
    )
    .bind(id)
    .bind(org_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Every saved search of every carrier, read inside the posting's transaction.
pub async fn all_searches(tx: &mut Tx) -> sqlx::Result<Vec<SavedSearchRow>> {
    let sql = format!("SELECT {COLUMNS} FROM saved_searches ORDER BY id");
    on_tx!(tx, |c| sqlx::query_as(&sql).fetch_all(c).await)
}
