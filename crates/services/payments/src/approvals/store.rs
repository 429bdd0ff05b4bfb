//! Dual control's SQL, one text for both backends; every statement names the organization.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApprovalRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub action: String,
    pub summary: String,
    pub status: String,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub result: Option<String>,
}

const COLUMNS: &str =
    "id, org_id, kind, action, summary, status, requested_by, requested_at, expires_at, \
    decided_by, decided_at, reason, result";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ControlsRow {
    pub dual_control: bool,
    pub changed_by: Uuid,
    pub changed_at: DateTime<Utc>,
}

pub async fn controls(db: &Db, org: OrgId) -> sqlx::Result<Option<ControlsRow>> {
    let sql = "SELECT dual_control, changed_by, changed_at FROM payment_controls WHERE org_id = $1";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .fetch_optional(c)
        .await)
}

pub async fn set_controls(
    tx: &mut Tx,
    org: OrgId,
    dual_control: bool,
    by: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO payment_controls (org_id, dual_control, changed_by, changed_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (org_id) DO UPDATE SET dual_control = excluded.dual_control, \
               changed_by = excluded.changed_by, changed_at = excluded.changed_at";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(org)
        .bind(dual_control)
        .bind(by)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn insert(tx: &mut Tx, row: &ApprovalRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO approvals ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(row.id)
        .bind(row.org_id)
        .bind(&row.kind)
        .bind(&row.action)
        .bind(&row.summary)
        .bind(&row.status)
        .bind(row.requested_by)
        .bind(row.requested_at)
        .bind(row.expires_at)
        .bind(row.decided_by)
        .bind(row.decided_at)
        .bind(&row.reason)
        .bind(&row.result)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn get(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<ApprovalRow>> {
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = $1 AND org_id = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(org)
        .fetch_optional(c)
        .await)
}

pub async fn get_in(tx: &mut Tx, org: OrgId, id: Uuid) -> sqlx::Result<Option<ApprovalRow>> {
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = $1 AND org_id = $2");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(org)
        .fetch_optional(c)
        .await)
}

/// Newest first, older than `before`; only pending ones (not yet expired) when `pending`.
pub async fn list(
    db: &Db,
    org: OrgId,
    pending: Option<DateTime<Utc>>,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<ApprovalRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM approvals WHERE org_id = $1 AND ($2 IS NULL OR id < $2) \
         AND ($3 IS NULL OR (status = 'pending' AND expires_at > $3)) ORDER BY id DESC LIMIT $4"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(before)
        .bind(pending)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Requests decided, or made, in `[from, to)`, oldest first (the controls report).
pub async fn in_period(
    db: &Db,
    org: OrgId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<ApprovalRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM approvals WHERE org_id = $1 AND \
         ((requested_at >= $2 AND requested_at < $3) OR (decided_at >= $2 AND decided_at < $3)) \
         ORDER BY requested_at, id"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await)
}

/// The decision, only while the request is pending and in date (compare-and-set: of two
/// decisions at the same instant one lands; on PostgreSQL the row stays locked until the
/// transaction that carries out the action ends). `false`: it was decided or expired.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    status: &str,
    by: Uuid,
    at: DateTime<Utc>,
    reason: Option<&str>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE approvals SET status = $3, decided_by = $4, decided_at = $5, reason = $6 \
               WHERE id = $1 AND org_id = $2 AND status = 'pending' AND expires_at > $5";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(org)
        .bind(status)
        .bind(by)
        .bind(at)
        .bind(reason)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn set_result(tx: &mut Tx, org: OrgId, id: Uuid, result: &str) -> sqlx::Result<()> {
    let sql = "UPDATE approvals SET result = $3 WHERE id = $1 AND org_id = $2";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(org)
        .bind(result)
        .execute(c)
        .await
        .map(|_| ()))
}
