//! The webhooks service's SQL, one text for both backends. Every read or change a customer
//! asks for names their organization; the consumer and the dispatcher act for the system.
//!
//! The dispatcher claims deliveries by compare-and-set on a lease (`lease_until_ms`,
//! `lease_token`), so any number of instances share the work without a row being sent by
//! two at once, and records each outcome only while it still holds the lease.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub event_types: String,
    pub disabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ENDPOINT_COLUMNS: &str = "id, org_id, url, description, event_types, disabled, secret, previous_secret, previous_expires_at, created_by, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub event_type: String,
    pub aggregate_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub body: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub endpoint_id: Uuid,
    pub message_id: Uuid,
    pub aggregate_id: Uuid,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_ms: i64,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, org_id, endpoint_id, message_id, aggregate_id, event_type, status, attempts, next_attempt_ms, last_status, last_error, created_at, delivered_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub trigger_kind: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub response: Option<String>,
    pub duration_ms: i64,
}

/// A delivery a dispatcher holds the lease on, with what it needs to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub org_id: Uuid,
    pub attempts: i32,
    pub replayed: bool,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<DateTime<Utc>>,
    pub message_id: Uuid,
    pub body: String,
}

// ---- endpoints ----

pub async fn insert_endpoint(db: &Db, r: &EndpointRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO wh_endpoints ({ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    );
    on_db!(db, |c| sqlx::query(&sql)
        .bind(r.id)
        .bind(r.org_id)
        .bind(&r.url)
        .bind(&r.description)
        .bind(&r.event_types)
        .bind(r.disabled)
        .bind(&r.secret)
        .bind(&r.previous_secret)
        .bind(r.previous_expires_at)
        .bind(r.created_by)
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn endpoint(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<EndpointRow>> {
    let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM wh_endpoints WHERE org_id = $1 AND id = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub async fn endpoints(
    db: &Db,
    org: OrgId,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<EndpointRow>> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM wh_endpoints WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(after)
        .bind(limit)
        .fetch_all(c)
        .await)
}

#[allow(clippy::too_many_arguments)]
pub async fn update_endpoint(
    db: &Db,
    org: OrgId,
    id: Uuid,
    url: &str,
    description: Option<&str>,
    event_types: &str,
    disabled: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE wh_endpoints SET url = $3, description = $4, event_types = $5, disabled = $6, updated_at = $7 \
               WHERE org_id = $1 AND id = $2";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(id)
        .bind(url)
        .bind(description)
        .bind(event_types)
        .bind(disabled)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Deletes the endpoint with its deliveries and their attempts.
pub async fn delete_endpoint(tx: &mut Tx, org: OrgId, id: Uuid) -> sqlx::Result<bool> {
    for sql in [
        "DELETE FROM wh_attempts WHERE org_id = $1 AND delivery_id IN (SELECT id FROM wh_deliveries WHERE org_id = $1 AND endpoint_id = $2)",
        "DELETE FROM wh_deliveries WHERE org_id = $1 AND endpoint_id = $2",
    ] {
        on_tx!(tx, |c| sqlx::query(sql)
            .bind(org)
            .bind(id)
            .execute(c)
            .await
            .map(|_| ()))?;
    }
    let sql = "DELETE FROM wh_endpoints WHERE org_id = $1 AND id = $2";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(org)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Replaces the secret, keeping the old one (`expected`, compare-and-set: two rotations at
/// once cannot both keep the same old secret) as the previous one until `expires`.
pub async fn rotate_secret(
    db: &Db,
    org: OrgId,
    id: Uuid,
    expected: &str,
    new: &str,
    expires: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE wh_endpoints SET secret = $4, previous_secret = secret, previous_expires_at = $5, updated_at = $6 \
               WHERE org_id = $1 AND id = $2 AND secret = $3";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(id)
        .bind(expected)
        .bind(new)
        .bind(expires)
        .bind(Utc::now())
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// The organization's enabled endpoints and what each subscribes to (for the consumer).
pub async fn enabled_endpoints(tx: &mut Tx, org: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    let sql = "SELECT id, event_types FROM wh_endpoints WHERE org_id = $1 AND disabled = FALSE";
    on_tx!(tx, |c| sqlx::query_as(sql).bind(org).fetch_all(c).await)
}

/// Per endpoint of the organization (or only `endpoint`), how many deliveries are in each
/// state.
pub async fn status_counts(
    db: &Db,
    org: OrgId,
    endpoint: Option<Uuid>,
) -> sqlx::Result<Vec<(Uuid, String, i64)>> {
    let sql = "SELECT endpoint_id, status, COUNT(*) FROM wh_deliveries WHERE org_id = $1 \
               AND ($2 IS NULL OR endpoint_id = $2) GROUP BY endpoint_id, status";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(endpoint)
        .fetch_all(c)
        .await)
}

// ---- messages and deliveries ----

/// Records the message once (a repeated event adds nothing).
pub async fn insert_message(tx: &mut Tx, m: &MessageRow) -> sqlx::Result<()> {
    let sql = "INSERT INTO wh_messages (id, org_id, event_type, aggregate_id, occurred_at, body) VALUES ($1, $2, $3, $4, $5, $6) \
               ON CONFLICT (id) DO NOTHING";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(m.id)
        .bind(m.org_id)
        .bind(&m.event_type)
        .bind(m.aggregate_id)
        .bind(m.occurred_at)
        .bind(&m.body)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Queues the message for the endpoint, once: the unique pair makes a replayed event a
/// no-op.
pub async fn insert_delivery(tx: &mut Tx, d: &DeliveryRow) -> sqlx::Result<bool> {
    let sql = format!(
        "INSERT INTO wh_deliveries ({DELIVERY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (endpoint_id, message_id) DO NOTHING"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(d.id)
        .bind(d.org_id)
        .bind(d.endpoint_id)
        .bind(d.message_id)
        .bind(d.aggregate_id)
        .bind(&d.event_type)
        .bind(&d.status)
        .bind(d.attempts)
        .bind(d.next_attempt_ms)
        .bind(d.last_status)
        .bind(&d.last_error)
        .bind(d.created_at)
        .bind(d.delivered_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Leases up to `limit` deliveries that are due, to `token` until `lease_until_ms`.
///
/// Due means pending, its time come, its endpoint enabled, not leased by a live claim, and
/// first in line: no earlier message of the same aggregate is still pending for the same
/// endpoint. That last rule is the order guarantee: an endpoint hears a load's events in
/// the order they happened, while a failing load holds up only itself.
pub async fn claim(
    db: &Db,
    now_ms: i64,
    lease_until_ms: i64,
    token: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Claimed>> {
    let lease = "UPDATE wh_deliveries SET lease_until_ms = $2, lease_token = $3 \
         WHERE id IN (\
           SELECT d.id FROM wh_deliveries d JOIN wh_endpoints e ON e.id = d.endpoint_id \
           WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 AND e.disabled = FALSE \
             AND (d.lease_until_ms IS NULL OR d.lease_until_ms < $1) \
             AND NOT EXISTS (SELECT 1 FROM wh_deliveries p WHERE p.endpoint_id = d.endpoint_id \
                 AND p.aggregate_id = d.aggregate_id AND p.status = 'pending' AND p.message_id < d.message_id) \
           ORDER BY d.next_attempt_ms LIMIT $4) \
         AND status = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < $1)";
    // Planned afresh each time (not a cached prepared statement): a plan made while the
    // table was nearly empty (a nested loop scanning it for each candidate) stays cached
    // once it holds tens of thousands of rows, and each claim then takes minutes.
    let claimed = on_db!(db, |c| sqlx::query(lease)
        .persistent(false)
        .bind(now_ms)
        .bind(lease_until_ms)
        .bind(token)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if claimed == 0 {
        return Ok(Vec::new());
    }
    let sql = "SELECT d.id, d.org_id, d.attempts, d.replayed, e.url, e.secret, e.previous_secret, e.previous_expires_at, \
               m.id AS message_id, m.body \
               FROM wh_deliveries d JOIN wh_endpoints e ON e.id = d.endpoint_id JOIN wh_messages m ON m.id = d.message_id \
               WHERE d.lease_token = $1";
    on_db!(db, |c| sqlx::query_as(sql).bind(token).fetch_all(c).await)
}

/// What one attempt came to, for [`record`].
pub struct Recorded<'a> {
    pub status: &'a str,
    pub next_attempt_ms: i64,
    pub last_status: Option<i32>,
    pub last_error: Option<&'a str>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Records an attempt's outcome on a delivery this claim (`token`) still holds; false when
/// the lease was lost (it expired and another dispatcher took the delivery).
pub async fn record(tx: &mut Tx, id: Uuid, token: Uuid, r: &Recorded<'_>) -> sqlx::Result<bool> {
    let sql = "UPDATE wh_deliveries SET status = $3, attempts = attempts + 1, next_attempt_ms = $4, last_status = $5, \
               last_error = $6, delivered_at = $7, lease_until_ms = NULL, lease_token = NULL, replayed = FALSE \
               WHERE id = $1 AND lease_token = $2";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(token)
        .bind(r.status)
        .bind(r.next_attempt_ms)
        .bind(r.last_status)
        .bind(r.last_error)
        .bind(r.delivered_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn insert_attempt(tx: &mut Tx, org: Uuid, a: &AttemptRow) -> sqlx::Result<()> {
    let sql = "INSERT INTO wh_attempts (id, delivery_id, org_id, attempted_at, trigger_kind, status_code, error, response, duration_ms) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(a.id)
        .bind(a.delivery_id)
        .bind(org)
        .bind(a.attempted_at)
        .bind(&a.trigger_kind)
        .bind(a.status_code)
        .bind(&a.error)
        .bind(&a.response)
        .bind(a.duration_ms)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The endpoint's deliveries, newest first, optionally in one state.
pub async fn deliveries(
    db: &Db,
    org: OrgId,
    endpoint: Uuid,
    status: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM wh_deliveries WHERE org_id = $1 AND endpoint_id = $2 \
         AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(endpoint)
        .bind(status)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await)
}

pub async fn delivery(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<DeliveryRow>> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM wh_deliveries WHERE org_id = $1 AND id = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub async fn message(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<MessageRow>> {
    let sql = "SELECT id, org_id, event_type, aggregate_id, occurred_at, body FROM wh_messages WHERE org_id = $1 AND id = $2";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub async fn attempts(db: &Db, org: OrgId, delivery: Uuid) -> sqlx::Result<Vec<AttemptRow>> {
    let sql = "SELECT id, delivery_id, attempted_at, trigger_kind, status_code, error, response, duration_ms \
               FROM wh_attempts WHERE org_id = $1 AND delivery_id = $2 ORDER BY attempted_at, id";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(delivery)
        .fetch_all(c)
        .await)
}

/// Puts a delivery back in line to be sent now, whatever its state, unless an attempt is
/// in flight. Its attempt count starts again, so a replay gets the whole retry schedule.
pub async fn replay(db: &Db, org: OrgId, id: Uuid, now_ms: i64) -> sqlx::Result<bool> {
    let sql = "UPDATE wh_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = $3, replayed = TRUE \
               WHERE org_id = $1 AND id = $2 AND (lease_until_ms IS NULL OR lease_until_ms < $3)";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(id)
        .bind(now_ms)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Replays every dead-lettered delivery of the endpoint created since `since`.
pub async fn recover(
    db: &Db,
    org: OrgId,
    endpoint: Uuid,
    since: DateTime<Utc>,
    now_ms: i64,
) -> sqlx::Result<u64> {
    let sql = "UPDATE wh_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = $4, replayed = TRUE \
               WHERE org_id = $1 AND endpoint_id = $2 AND status = 'dead' AND created_at >= $3";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(endpoint)
        .bind(since)
        .bind(now_ms)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

/// Forgets settled deliveries (delivered or dead) older than `before`, their attempts and
/// the messages no delivery needs any more. Returns the deliveries removed.
pub async fn purge(db: &Db, before: DateTime<Utc>) -> sqlx::Result<u64> {
    let mut tx = db.begin().await?;
    let old = "SELECT id FROM wh_deliveries WHERE status <> 'pending' AND created_at < $1";
    let attempts = format!("DELETE FROM wh_attempts WHERE delivery_id IN ({old})");
    on_tx!(&mut tx, |c| sqlx::query(&attempts)
        .bind(before)
        .execute(c)
        .await
        .map(|_| ()))?;
    let deliveries = format!("DELETE FROM wh_deliveries WHERE id IN ({old})");
    let removed = on_tx!(&mut tx, |c| sqlx::query(&deliveries)
        .bind(before)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let messages = "DELETE FROM wh_messages WHERE occurred_at < $1 AND NOT EXISTS (SELECT 1 FROM wh_deliveries d WHERE d.message_id = wh_messages.id)";
    on_tx!(&mut tx, |c| sqlx::query(messages)
        .bind(before)
        .execute(c)
        .await
        .map(|_| ()))?;
    tx.commit().await?;
    Ok(removed)
}
