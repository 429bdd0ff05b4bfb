//! Loads, their history and the idempotency keys of their creation.

use chrono::{DateTime, Utc};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{LoadSpec, LoadStatus};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoadRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub status: String,
    pub truck_ordered_not_used: bool,
    pub version: i64,
    pub spec: Json<LoadSpec>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
}

/// A stored load status this build does not know.
#[derive(Debug, thiserror::Error)]
#[error("load {load_id} has the unreadable stored status {status:?}")]
pub struct UnreadableStatus {
    pub load_id: Uuid,
    pub status: String,
}

impl LoadRow {
    /// The stored status. One this build cannot read is corruption, logged with the row id
    /// and refused: never guessed (a guess of `draft` would make the load editable and
    /// postable).
    pub fn status(&self) -> Result<LoadStatus, UnreadableStatus> {
        LoadStatus::from_parts(&self.status, self.truck_ordered_not_used).ok_or_else(|| {
            tracing::error!(load_id = %self.id, status = %self.status, "stored load status is unreadable");
            UnreadableStatus {
                load_id: self.id,
                status: self.status.clone(),
            }
        })
    }

    pub fn set_status(&mut self, s: LoadStatus) {
        self.status = s.as_str().into();
        self.truck_ordered_not_used = s.truck_ordered_not_used();
    }
}

const COLUMNS: &str = "id, org_id, status, truck_ordered_not_used, version, spec, created_by, created_at, updated_at, posted_at";

pub async fn insert_load(tx: &mut Tx, l: &LoadRow) -> sqlx::Result<()> {
    let s = &l.spec.0;
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO loads (id, org_id, status, truck_ordered_not_used, visibility, reference, version, equipment, \
         pickup_start, pickup_end, posted_rate_cents, target_rate_cents, max_rate_cents, spec, created_by, created_at, updated_at, posted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    )
    .bind(l.id)
    .bind(l.org_id)
    .bind(&l.status)
    .bind(l.truck_ordered_not_used)
    .bind(s.visibility.as_str())
    .bind(&s.reference)
    .bind(l.version)
    .bind(s.equipment.code())
    .bind(s.first_pickup().window.start)
    .bind(s.first_pickup().window.end)
    .bind(s.all_in_rate_cents())
    .bind(s.target_rate_cents)
    .bind(s.max_rate_cents)
    .bind(&l.spec)
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
pub async fn update_load(tx: &mut Tx, l: &LoadRow, expected: i64) -> sqlx::Result<bool> {
    let s = &l.spec.0;
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE loads SET status = $3, truck_ordered_not_used = $4, visibility = $5, reference = $6, version = $7, \
         equipment = $8, pickup_start = $9, pickup_end = $10, posted_rate_cents = $11, target_rate_cents = $12, \
         max_rate_cents = $13, spec = $14, updated_at = $15, posted_at = $16 \
         WHERE id = $1 AND org_id = $2 AND version = $17"
    )
    .bind(l.id)
    .bind(l.org_id)
    .bind(&l.status)
    .bind(l.truck_ordered_not_used)
    .bind(s.visibility.as_str())
    .bind(&s.reference)
    .bind(l.version)
    .bind(s.equipment.code())
    .bind(s.first_pickup().window.start)
    .bind(s.first_pickup().window.end)
    .bind(s.all_in_rate_cents())
    .bind(s.target_rate_cents)
    .bind(s.max_rate_cents)
    .bind(&l.spec)
    .bind(l.updated_at)
    .bind(l.posted_at)
    .bind(expected)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}

pub async fn get_load(db: &Db, org_id: Uuid, id: Uuid) -> sqlx::Result<Option<LoadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM loads WHERE id = $1 AND org_id = $2");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(id)
        .bind(org_id)
        .fetch_optional(p)
        .await)
}

pub async fn get_load_tx(tx: &mut Tx, org_id: Uuid, id: Uuid) -> sqlx::Result<Option<LoadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM loads WHERE id = $1 AND org_id = $2");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(org_id)
        .fetch_optional(c)
        .await)
}

/// A load as the public board shows it: only when posted and public.
pub async fn get_public_load(db: &Db, id: Uuid) -> sqlx::Result<Option<LoadRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM loads WHERE id = $1 AND status = 'posted' AND visibility = 'public'"
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(p)
        .await)
}

pub async fn list_loads(
    db: &Db,
    org_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> sqlx::Result<Vec<LoadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM loads WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org_id)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await)
}

/// Every load on the public board, to rebuild the search index.
pub async fn posted_public_loads(db: &Db) -> sqlx::Result<Vec<LoadRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM loads WHERE status = 'posted' AND visibility = 'public'");
    on_db!(db, |p| sqlx::query_as(&sql).fetch_all(p).await)
}

/// Loads of any organization changed at or after `since`, for the board's catch-up.
pub async fn loads_updated_since(db: &Db, since: DateTime<Utc>) -> sqlx::Result<Vec<LoadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM loads WHERE updated_at >= $1");
    on_db!(db, |p| sqlx::query_as(&sql).bind(since).fetch_all(p).await)
}

/// Posted loads (any organization) whose first pickup window closed before `now`.
pub async fn overdue_postings(db: &Db, now: DateTime<Utc>) -> sqlx::Result<Vec<(Uuid, Uuid)>> {
    on_db!(db, |p| sqlx::query_as(
        "SELECT org_id, id FROM loads WHERE status = 'posted' AND pickup_end < $1"
    )
    .bind(now)
    .fetch_all(p)
    .await)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct HistoryRow {
    pub id: Uuid,
    pub load_id: Uuid,
    pub org_id: Uuid,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

pub async fn insert_history(tx: &mut Tx, h: &HistoryRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO load_history (id, load_id, org_id, event, from_status, to_status, actor_id, reason, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(h.id)
    .bind(h.load_id)
    .bind(h.org_id)
    .bind(&h.event)
    .bind(&h.from_status)
    .bind(&h.to_status)
    .bind(h.actor_id)
    .bind(&h.reason)
    .bind(h.occurred_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn list_history(db: &Db, org_id: Uuid, load_id: Uuid) -> sqlx::Result<Vec<HistoryRow>> {
    on_db!(db, |p| sqlx::query_as(
        "SELECT id, load_id, org_id, event, from_status, to_status, actor_id, reason, occurred_at \
         FROM load_history WHERE org_id = $1 AND load_id = $2 ORDER BY id"
    )
    .bind(org_id)
    .bind(load_id)
    .fetch_all(p)
    .await)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdempotencyRow {
    pub request_hash: String,
    pub response_status: i32,
    pub response_body: Json<serde_json::Value>,
}

pub async fn get_idempotency(
    tx: &mut Tx,
    org_id: Uuid,
    key: &str,
) -> sqlx::Result<Option<IdempotencyRow>> {
    on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE org_id = $1 AND key = $2"
    )
    .bind(org_id)
    .bind(key)
    .fetch_optional(c)
    .await
    })
}

/// The stored answer under `key`, read after the transaction that lost a race for it ended.
pub async fn get_idempotency_committed(
    db: &Db,
    org_id: Uuid,
    key: &str,
) -> sqlx::Result<Option<IdempotencyRow>> {
    on_db!(db, |p| {
        sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE org_id = $1 AND key = $2"
    )
    .bind(org_id)
    .bind(key)
    .fetch_optional(p)
    .await
    })
}

pub async fn insert_idempotency(
    tx: &mut Tx,
    org_id: Uuid,
    key: &str,
    row: &IdempotencyRow,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO idempotency_keys (org_id, key, request_hash, response_status, response_body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(org_id)
    .bind(key)
    .bind(&row.request_hash)
    .bind(row.response_status)
    .bind(&row.response_body)
    .bind(at)
    .execute(c)
    .await
    .map(|_| ())
    })
}
