//! The matching service's SQL: the projection (loads, trucks) and stored runs. One SQL
//! text for both backends; the org id is a required argument of every read a caller makes.

use chrono::{DateTime, Utc};
use lanerunner_core::{LoadId, OrgId, RunId, TruckId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{LoadRecord, TruckRecord};
use crate::events::{LoadTerms, TruckPosting};

#[derive(sqlx::FromRow)]
struct LoadRow {
    load_id: Uuid,
    broker_org_id: Uuid,
    status: Option<String>,
    status_version: i64,
    terms: Option<Json<LoadTerms>>,
    terms_version: i64,
}

impl From<LoadRow> for LoadRecord {
    fn from(r: LoadRow) -> Self {
        LoadRecord {
            load_id: r.load_id,
            broker_org_id: r.broker_org_id,
            status: r.status,
            status_version: r.status_version,
            terms: r.terms.map(|t| t.0),
            terms_version: r.terms_version,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TruckRow {
    truck_id: Uuid,
    carrier_org_id: Uuid,
    posting: Option<Json<TruckPosting>>,
    removed: bool,
}

impl From<TruckRow> for TruckRecord {
    fn from(r: TruckRow) -> Self {
        TruckRecord {
            truck_id: r.truck_id,
            carrier_org_id: r.carrier_org_id,
            posting: r.posting.map(|p| p.0),
            removed: r.removed,
        }
    }
}

/// The load's record, created empty if new, locked until `tx` ends.
pub async fn lock_load(tx: &mut Tx, broker_org: OrgId, id: LoadId) -> sqlx::Result<LoadRecord> {
    let now = Utc::now();
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO loads (load_id, broker_org_id, status, status_version, terms, terms_version, updated_at) \
         VALUES ($1, $2, NULL, 0, NULL, 0, $3) ON CONFLICT (load_id) DO NOTHING"
    )
    .bind(id)
    .bind(broker_org)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ())
    })?;
    let sql = format!(
        "SELECT load_id, broker_org_id, status, status_version, terms, terms_version FROM loads WHERE load_id = $1{}",
        tx.for_update()
    );
    let row: LoadRow = on_tx!(tx, |c| sqlx::query_as(&sql).bind(id).fetch_one(c).await)?;
    Ok(row.into())
}

pub async fn save_load(tx: &mut Tx, r: &LoadRecord) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE loads SET status = $2, status_version = $3, terms = $4, terms_version = $5, updated_at = $6 \
         WHERE load_id = $1"
    )
    .bind(r.load_id)
    .bind(&r.status)
    .bind(r.status_version)
    .bind(r.terms.as_ref().map(Json))
    .bind(r.terms_version)
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn lock_truck(tx: &mut Tx, carrier_org: OrgId, id: TruckId) -> sqlx::Result<TruckRecord> {
    let now = Utc::now();
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO trucks (truck_id, carrier_org_id, posting, posting_updated_at, removed, updated_at) \
         VALUES ($1, $2, NULL, NULL, FALSE, $3) ON CONFLICT (truck_id) DO NOTHING"
    )
    .bind(id)
    .bind(carrier_org)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ())
    })?;
    let sql = format!(
        "SELECT truck_id, carrier_org_id, posting, removed FROM trucks WHERE truck_id = $1{}",
        tx.for_update()
    );
    let row: TruckRow = on_tx!(tx, |c| sqlx::query_as(&sql).bind(id).fetch_one(c).await)?;
    Ok(row.into())
}

pub async fn save_truck(tx: &mut Tx, r: &TruckRecord) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE trucks SET posting = $2, posting_updated_at = $3, removed = $4, updated_at = $5 \
         WHERE truck_id = $1"
    )
    .bind(r.truck_id)
    .bind(r.posting.as_ref().map(Json))
    .bind(r.posting.as_ref().map(|p| p.updated_at))
    .bind(r.removed)
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|_| ()))
}

/// Every load record (the in-memory state is rebuilt from these).
pub async fn all_loads(db: &Db) -> sqlx::Result<Vec<LoadRecord>> {
    let sql =
        "SELECT load_id, broker_org_id, status, status_version, terms, terms_version FROM loads";
    let rows: Vec<LoadRow> = on_db!(db, |p| sqlx::query_as(sql).fetch_all(p).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Every truck record, tombstones included.
pub async fn all_trucks(db: &Db) -> sqlx::Result<Vec<TruckRecord>> {
    let sql = "SELECT truck_id, carrier_org_id, posting, removed FROM trucks";
    let rows: Vec<TruckRow> = on_db!(db, |p| sqlx::query_as(sql).fetch_all(p).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn insert_run(
    tx: &mut Tx,
    org: OrgId,
    id: RunId,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    result: &serde_json::Value,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO runs (id, org_id, created_by, created_at, result) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(id)
    .bind(org)
    .bind(created_by)
    .bind(created_at)
    .bind(Json(result))
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn get_run(db: &Db, org: OrgId, id: RunId) -> sqlx::Result<Option<serde_json::Value>> {
    let row: Option<(Json<serde_json::Value>,)> = on_db!(db, |p| sqlx::query_as(
        "SELECT result FROM runs WHERE id = $1 AND org_id = $2"
    )
    .bind(id)
    .bind(org)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|r| r.0 .0))
}
