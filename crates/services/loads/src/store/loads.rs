//! Loads.

use chrono::{DateTime, Utc};
use lanerunner_core::{LoadId, OrgId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use super::{decode_json, CorruptRow, Decoded, RawJson, StoreResult};
use crate::domain::{Booking, LoadSpec, LoadStatus};

/// A load as stored, decoded.
#[derive(Debug, Clone)]
pub struct LoadRow {
    pub id: LoadId,
    pub org_id: OrgId,
    pub status: LoadStatus,
    pub version: i64,
    pub spec: LoadSpec,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
    /// Set when the load is covered.
    pub booking: Option<Booking>,
}

/// The columns as they come from either dialect, before decoding.
#[derive(sqlx::FromRow)]
struct StoredLoad {
    id: LoadId,
    org_id: OrgId,
    status: String,
    truck_ordered_not_used: bool,
    version: i64,
    spec: RawJson,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    posted_at: Option<DateTime<Utc>>,
    carrier_org_id: Option<OrgId>,
    booked_rate_cents: Option<i64>,
    booked_at: Option<DateTime<Utc>>,
}

impl StoredLoad {
    fn decode(self) -> Decoded<LoadRow> {
        let status =
            LoadStatus::from_parts(&self.status, self.truck_ordered_not_used).ok_or_else(|| {
                CorruptRow::new(
                    "loads",
                    self.id.0,
                    "status",
                    format!("unknown status `{}`", self.status),
                )
            })?;
        // Posting stamps `posted_at` in the same update that sets the status.
        if status == LoadStatus::Posted && self.posted_at.is_none() {
            return Err(CorruptRow::new(
                "loads",
                self.id.0,
                "posted_at",
                "a posted load has no posted_at",
            ));
        }
        let booking = match (self.booked_at, self.carrier_org_id, self.booked_rate_cents) {
            (Some(booked_at), carrier_org_id, rate_cents) => Some(Booking {
                carrier_org_id,
                rate_cents,
                booked_at,
            }),
            (None, None, None) => None,
            (None, _, _) => {
                return Err(CorruptRow::new(
                    "loads",
                    self.id.0,
                    "booked_at",
                    "a booking's carrier or rate without booked_at",
                ))
            }
        };
        Ok(LoadRow {
            booking,
            spec: decode_json("loads", self.id.0, "spec", &self.spec)?,
            id: self.id,
            org_id: self.org_id,
            status,
            version: self.version,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            posted_at: self.posted_at,
        })
    }
}

fn decode_one(row: Option<StoredLoad>) -> StoreResult<Option<LoadRow>> {
    Ok(row.map(StoredLoad::decode).transpose()?)
}

fn decode_all(rows: Vec<StoredLoad>) -> StoreResult<Vec<LoadRow>> {
    Ok(rows
        .into_iter()
        .map(StoredLoad::decode)
        .collect::<Result<_, _>>()?)
}

const COLUMNS: &str = "id, org_id, status, truck_ordered_not_used, version, spec, created_by, created_at, updated_at, posted_at, carrier_org_id, booked_rate_cents, booked_at";

pub async fn insert_load(tx: &mut Tx, l: &LoadRow) -> sqlx::Result<()> {
    let s = &l.spec;
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO loads (id, org_id, status, truck_ordered_not_used, visibility, reference, version, equipment, \
         pickup_start, pickup_end, posted_rate_cents, target_rate_cents, max_rate_cents, spec, created_by, created_at, updated_at, posted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    )
    .bind(l.id)
    .bind(l.org_id)
    .bind(l.status.as_str())
    .bind(l.status.truck_ordered_not_used())
    .bind(s.visibility.as_str())
    .bind(&s.reference)
    .bind(l.version)
    .bind(s.equipment.code())
    .bind(s.first_pickup().window.start)
    .bind(s.first_pickup().window.end)
    .bind(s.all_in_rate_cents())
    .bind(s.target_rate_cents)
    .bind(s.max_rate_cents)
    .bind(Json(s))
    .bind(l.created_by)
    .bind(l.created_at)
    .bind(l.updated_at)
    .bind(l.posted_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Writes `l` (whose `version` is already the new one) if the stored version is still
/// `expected`; false when someone else changed it first.
pub async fn update_load(
    tx: &mut Tx,
    org: OrgId,
    l: &LoadRow,
    expected: i64,
) -> sqlx::Result<bool> {
    let s = &l.spec;
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE loads SET status = $3, truck_ordered_not_used = $4, visibility = $5, reference = $6, version = $7, \
         equipment = $8, pickup_start = $9, pickup_end = $10, posted_rate_cents = $11, target_rate_cents = $12, \
         max_rate_cents = $13, spec = $14, updated_at = $15, posted_at = $16, \
         carrier_org_id = $18, booked_rate_cents = $19, booked_at = $20 \
         WHERE org_id = $1 AND id = $2 AND version = $17"
    )
    .bind(org)
    .bind(l.id)
    .bind(l.status.as_str())
    .bind(l.status.truck_ordered_not_used())
    .bind(s.visibility.as_str())
    .bind(&s.reference)
    .bind(l.version)
    .bind(s.equipment.code())
    .bind(s.first_pickup().window.start)
    .bind(s.first_pickup().window.end)
    .bind(s.all_in_rate_cents())
    .bind(s.target_rate_cents)
    .bind(s.max_rate_cents)
    .bind(Json(s))
    .bind(l.updated_at)
    .bind(l.posted_at)
    .bind(expected)
    .bind(l.booking.and_then(|b| b.carrier_org_id))
    .bind(l.booking.and_then(|b| b.rate_cents))
    .bind(l.booking.map(|b| b.booked_at))
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}

pub async fn get_load(db: &Db, org: OrgId, id: LoadId) -> StoreResult<Option<LoadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM loads WHERE org_id = $1 AND id = $2");
    decode_one(on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(p)
        .await)?)
}

pub async fn get_load_tx(tx: &mut Tx, org: OrgId, id: LoadId) -> StoreResult<Option<LoadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM loads WHERE org_id = $1 AND id = $2");
    decode_one(on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

/// A load as the public board shows it: only when posted and public.
pub async fn get_public_load(db: &Db, id: LoadId) -> StoreResult<Option<LoadRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM loads WHERE id = $1 AND status = 'posted' AND visibility = 'public'"
    );
    decode_one(on_db!(db, |p| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(p)
        .await)?)
}

pub async fn list_loads(
    db: &Db,
    org: OrgId,
    after: Option<LoadId>,
    limit: u32,
) -> StoreResult<Vec<LoadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM loads WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3");
    decode_all(on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await)?)
}

/// Every load on the public board, to rebuild the search index (each decoded on its own).
pub async fn posted_public_loads(db: &Db) -> sqlx::Result<Vec<Decoded<LoadRow>>> {
    let sql =
        format!("SELECT {COLUMNS} FROM loads WHERE status = 'posted' AND visibility = 'public'");
    let rows: Vec<StoredLoad> = on_db!(db, |p| sqlx::query_as(&sql).fetch_all(p).await)?;
    Ok(rows.into_iter().map(StoredLoad::decode).collect())
}

/// The newest change to any load (any organization): the store's high-water mark, which a
/// board snapshot records and checks the store against.
pub async fn loads_high_water(db: &Db) -> sqlx::Result<Option<DateTime<Utc>>> {
    let newest: Option<(DateTime<Utc>,)> = on_db!(db, |p| sqlx::query_as(
        "SELECT updated_at FROM loads ORDER BY updated_at DESC LIMIT 1"
    )
    .fetch_optional(p)
    .await)?;
    Ok(newest.map(|(t,)| t))
}

/// Claims the writing of the next board snapshot for `now` if the last claim was made at
/// or before `stale` (or never); one atomic statement, so of instances racing exactly one
/// wins. Deployment-wide, like the board itself.
pub async fn claim_board_snapshot(
    db: &Db,
    now: DateTime<Utc>,
    stale: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = on_db!(db, |p| sqlx::query(
        "INSERT INTO board_snapshot_claim (id, claimed_at) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET claimed_at = excluded.claimed_at \
         WHERE board_snapshot_claim.claimed_at <= $2"
    )
    .bind(now)
    .bind(stale)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done == 1)
}

/// Loads of any organization changed at or after `since`, for the board's catch-up.
pub async fn loads_updated_since(
    db: &Db,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<Decoded<LoadRow>>> {
    let sql = format!("SELECT {COLUMNS} FROM loads WHERE updated_at >= $1");
    let rows: Vec<StoredLoad> =
        on_db!(db, |p| sqlx::query_as(&sql).bind(since).fetch_all(p).await)?;
    Ok(rows.into_iter().map(StoredLoad::decode).collect())
}

/// Posted loads (any organization) whose first pickup window closed before `now`.
pub async fn overdue_postings(db: &Db, now: DateTime<Utc>) -> sqlx::Result<Vec<(OrgId, LoadId)>> {
    on_db!(db, |p| sqlx::query_as(
        "SELECT org_id, id FROM loads WHERE status = 'posted' AND pickup_end < $1"
    )
    .bind(now)
    .fetch_all(p)
    .await)
}
