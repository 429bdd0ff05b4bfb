//! Plan changes under dual control: the requests and their decisions, kept for good.

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, PlanChangeId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};

use super::decode::{from_row, stored};
use crate::domain::plan_change::PlanChangeStatus;

#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanChangeRow {
    pub id: PlanChangeId,
    pub org_id: OrgId,
    /// The plan asked for; none: back to the default limits.
    pub plan: Option<String>,
    pub requested_by: String,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub status: PlanChangeStatus,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The plan the organization was on when the change was carried out.
    pub plan_before: Option<String>,
}

from_row!(PlanChangeRow, |row| {
    let id: PlanChangeId = row.try_get("id")?;
    Ok(PlanChangeRow {
        id,
        org_id: row.try_get("org_id")?,
        plan: row.try_get("plan")?,
        requested_by: row.try_get("requested_by")?,
        reason: row.try_get("reason")?,
        requested_at: row.try_get("requested_at")?,
        status: stored("plan_changes", id, "status", row.try_get("status")?)?,
        decided_by: row.try_get("decided_by")?,
        decision_reason: row.try_get("decision_reason")?,
        decided_at: row.try_get("decided_at")?,
        plan_before: row.try_get("plan_before")?,
    })
});

const COLUMNS: &str = "id, org_id, plan, requested_by, reason, requested_at, status, decided_by, decision_reason, decided_at, plan_before";

/// Files a pending request; false when the organization already has one waiting (the
/// unique index decides between two filed at the same instant).
pub async fn insert_plan_change(tx: &mut Tx, r: &PlanChangeRow) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO plan_changes (id, org_id, plan, requested_by, reason, requested_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
    )
    .bind(r.id)
    .bind(r.org_id)
    .bind(&r.plan)
    .bind(&r.requested_by)
    .bind(&r.reason)
    .bind(r.requested_at)
    .bind(r.status.as_str())
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Closes `org`'s request that has waited since before `before` as expired; whether one did.
pub async fn expire_plan_change(
    tx: &mut Tx,
    org: OrgId,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE plan_changes SET status = 'expired', decided_at = $3 \
         WHERE org_id = $1 AND status = 'pending' AND requested_at < $2"
    )
    .bind(org)
    .bind(before)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn find_plan_change(
    tx: &mut Tx,
    id: PlanChangeId,
) -> sqlx::Result<Option<PlanChangeRow>> {
    on_tx!(tx, |c| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM plan_changes WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Records the decision on a request still pending (compare-and-set: of two decisions
/// taken at once, one lands); whether it did.
pub async fn decide_plan_change(
    tx: &mut Tx,
    id: PlanChangeId,
    status: PlanChangeStatus,
    by: &str,
    reason: Option<&str>,
    plan_before: Option<&str>,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE plan_changes SET status = $2, decided_by = $3, decision_reason = $4, plan_before = $5, decided_at = $6 \
         WHERE id = $1 AND status = 'pending'"
    )
    .bind(id)
    .bind(status.as_str())
    .bind(by)
    .bind(reason)
    .bind(plan_before)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}

/// Requests, newest first: `org`'s or everyone's, only those waiting or all.
pub async fn list_plan_changes(
    db: &Db,
    org: Option<OrgId>,
    pending_only: bool,
    limit: i64,
) -> sqlx::Result<Vec<PlanChangeRow>> {
    on_db!(db, |c| sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM plan_changes \
         WHERE ($1 IS NULL OR org_id = $1) AND ($2 = FALSE OR status = 'pending') \
         ORDER BY requested_at DESC, id DESC LIMIT $3"
    ))
    .bind(org)
    .bind(pending_only)
    .bind(limit)
    .fetch_all(c)
    .await)
}

/// The plan `org` is on (outer none: no such organization).
pub async fn org_plan_tx(tx: &mut Tx, org: OrgId) -> sqlx::Result<Option<Option<String>>> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT plan FROM organizations WHERE id = $1"
    )
    .bind(org)
    .fetch_optional(c)
    .await)
}
