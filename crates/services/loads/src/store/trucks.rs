//! Truck postings.

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, TruckId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;

use super::{decode_json, Decoded, RawJson, StoreResult};
use crate::domain::TruckSpec;

/// A truck posting as stored, decoded.
#[derive(Debug, Clone)]
pub struct TruckRow {
    pub id: TruckId,
    pub org_id: OrgId,
    pub spec: TruckSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct StoredTruck {
    id: TruckId,
    org_id: OrgId,
    spec: RawJson,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl StoredTruck {
    fn decode(self) -> Decoded<TruckRow> {
        Ok(TruckRow {
            spec: decode_json("trucks", self.id.0, "spec", &self.spec)?,
            id: self.id,
            org_id: self.org_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str = "id, org_id, spec, created_at, updated_at";

pub async fn upsert_truck(tx: &mut Tx, t: &TruckRow) -> sqlx::Result<()> {
    let s = &t.spec;
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
    .bind(Json(s))
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn get_truck(db: &Db, org: OrgId, id: TruckId) -> StoreResult<Option<TruckRow>> {
    let sql = format!("SELECT {COLUMNS} FROM trucks WHERE org_id = $1 AND id = $2");
    let row: Option<StoredTruck> = on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(StoredTruck::decode).transpose()?)
}

pub async fn list_trucks(
    db: &Db,
    org: OrgId,
    after: Option<TruckId>,
    limit: u32,
) -> StoreResult<Vec<TruckRow>> {
    let sql = format!("SELECT {COLUMNS} FROM trucks WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3");
    let rows: Vec<StoredTruck> = on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await)?;
    Ok(rows
        .into_iter()
        .map(StoredTruck::decode)
        .collect::<Result<_, _>>()?)
}

pub async fn delete_truck(tx: &mut Tx, org: OrgId, id: TruckId) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "DELETE FROM trucks WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Every posting still available at or after `now` (all carriers: what brokers search),
/// each decoded on its own.
pub async fn available_trucks(db: &Db, now: DateTime<Utc>) -> sqlx::Result<Vec<Decoded<TruckRow>>> {
    let sql = format!("SELECT {COLUMNS} FROM trucks WHERE available_until >= $1 ORDER BY id");
    let rows: Vec<StoredTruck> = on_db!(db, |p| sqlx::query_as(&sql).bind(now).fetch_all(p).await)?;
    Ok(rows.into_iter().map(StoredTruck::decode).collect())
}
