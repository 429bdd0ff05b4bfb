//! Truck postings.

use chrono::{DateTime, Utc};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::TruckSpec;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TruckRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub spec: Json<TruckSpec>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, spec, created_at, updated_at";

pub async fn upsert_truck(tx: &mut Tx, t: &TruckRow) -> sqlx::Result<()> {
    let s = &t.spec.0;
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO trucks (id, org_id, equipment, lat, lon, available_from, available_until, spec, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (id) DO UPDATE SET equipment = excluded.equipment, lat = excluded.lat, lon = excluded.lon, \
         available_from = excluded.available_from, available_until = excluded.available_until, spec = excluded.spec, \
         updated_at = excluded.updated_at"
    )
    .bind(t.id)
    .bind(t.org_id)
    .bind(s.input.equipment.code())
    .bind(s.location.lat)
    .bind(s.location.lon)
    .bind(s.available_from)
    .bind(s.available_until)
    .bind(&t.spec)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn get_truck(db: &Db, org_id: Uuid, id: Uuid) -> sqlx::Result<Option<TruckRow>> {
    let sql = format!("SELECT {COLUMNS} FROM trucks WHERE id = $1 AND org_id = $2");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(id)
        .bind(org_id)
        .fetch_optional(p)
        .await)
}

pub async fn list_trucks(
    db: &Db,
    org_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> sqlx::Result<Vec<TruckRow>> {
    let sql = format!("SELECT {COLUMNS} FROM trucks WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org_id)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await)
}

pub async fn delete_truck(tx: &mut Tx, org_id: Uuid, id: Uuid) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "DELETE FROM trucks WHERE id = $1 AND org_id = $2"
    )
    .bind(id)
    .bind(org_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Every posting still available at or after `now` (all carriers: what brokers search).
pub async fn available_trucks(db: &Db, now: DateTime<Utc>) -> sqlx::Result<Vec<TruckRow>> {
    let sql = format!("SELECT {COLUMNS} FROM trucks WHERE available_until >= $1 ORDER BY id");
    on_db!(db, |p| sqlx::query_as(&sql).bind(now).fetch_all(p).await)
}
