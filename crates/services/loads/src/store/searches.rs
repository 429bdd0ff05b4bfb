//! Carriers' saved searches.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use super::{decode_json, Decoded, RawJson, StoreResult};
use crate::domain::SearchParams;

/// A saved search as stored, decoded.
#[derive(Debug, Clone)]
pub struct SavedSearchRow {
    pub id: Uuid,
    pub org_id: OrgId,
    pub created_by: Uuid,
    pub name: String,
    pub params: SearchParams,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct StoredSearch {
    id: Uuid,
    org_id: OrgId,
    created_by: Uuid,
    name: String,
    params: RawJson,
    created_at: DateTime<Utc>,
}

impl StoredSearch {
    fn decode(self) -> Decoded<SavedSearchRow> {
        Ok(SavedSearchRow {
            params: decode_json("saved_searches", self.id, "params", &self.params)?,
            id: self.id,
            org_id: self.org_id,
            created_by: self.created_by,
            name: self.name,
            created_at: self.created_at,
        })
    }
}

const COLUMNS: &str = "id, org_id, created_by, name, params, created_at";

/// Stores a search with its resolved origin (`origin`: latitude, longitude), which the
/// alert consumer's index range reads.
pub async fn insert_search(
    tx: &mut Tx,
    s: &SavedSearchRow,
    origin: (f64, f64),
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO saved_searches (id, org_id, created_by, name, params, created_at, origin_lat, origin_lon) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(s.id)
    .bind(s.org_id)
    .bind(s.created_by)
    .bind(&s.name)
    .bind(Json(&s.params))
    .bind(s.created_at)
    .bind(origin.0)
    .bind(origin.1)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn list_searches(db: &Db, org: OrgId) -> StoreResult<Vec<SavedSearchRow>> {
    let sql = format!("SELECT {COLUMNS} FROM saved_searches WHERE org_id = $1 ORDER BY id");
    let rows: Vec<StoredSearch> =
        on_db!(db, |p| sqlx::query_as(&sql).bind(org).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(StoredSearch::decode)
        .collect::<Result<_, _>>()?)
}

pub async fn delete_search(tx: &mut Tx, org: OrgId, id: Uuid) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "DELETE FROM saved_searches WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// The saved searches (of every carrier) whose origin lies in the box `lat` ± `dlat`, `lon`
/// ± `dlon`, and those whose origin is not resolved yet; each decoded on its own. An index
/// range on `(origin_lat, origin_lon)`: the work grows with the searches near a load, not
/// with all of them.
pub async fn searches_near(
    tx: &mut Tx,
    lat: f64,
    lon: f64,
    dlat: f64,
    dlon: f64,
) -> sqlx::Result<Vec<Decoded<SavedSearchRow>>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM saved_searches \
         WHERE (origin_lat BETWEEN $1 AND $2 AND origin_lon BETWEEN $3 AND $4) OR origin_lat IS NULL \
         ORDER BY id"
    );
    let rows: Vec<StoredSearch> = on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(lat - dlat)
        .bind(lat + dlat)
        .bind(lon - dlon)
        .bind(lon + dlon)
        .fetch_all(c)
        .await)?;
    Ok(rows.into_iter().map(StoredSearch::decode).collect())
}

/// Searches saved before origins were stored, to resolve at start-up.
pub async fn searches_without_origin(db: &Db) -> sqlx::Result<Vec<Decoded<SavedSearchRow>>> {
    let sql = format!("SELECT {COLUMNS} FROM saved_searches WHERE origin_lat IS NULL ORDER BY id");
    let rows: Vec<StoredSearch> = on_db!(db, |p| sqlx::query_as(&sql).fetch_all(p).await)?;
    Ok(rows.into_iter().map(StoredSearch::decode).collect())
}

pub async fn set_search_origin(
    db: &Db,
    org: OrgId,
    id: Uuid,
    origin: (f64, f64),
) -> sqlx::Result<()> {
    on_db!(db, |p| sqlx::query(
        "UPDATE saved_searches SET origin_lat = $3, origin_lon = $4 WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .bind(origin.0)
    .bind(origin.1)
    .execute(p)
    .await
    .map(|_| ()))
}
