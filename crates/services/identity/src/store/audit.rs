//! The security audit trail.

use chrono::{DateTime, Utc};
use lanerunner_core::{AuditId, OrgId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use super::decode::{from_row, stored};
use crate::domain::{AuditAction, AuditOutcome};

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRow {
    pub id: AuditId,
    pub org_id: Option<OrgId>,
    /// The member or API key that acted; none when nobody could be identified (a login
    /// with an unknown email).
    pub actor_id: Option<Uuid>,
    pub action: AuditAction,
    pub outcome: AuditOutcome,
    /// What was acted on: a user, a session, an invitation, an API key, an organization.
    pub target_id: Option<Uuid>,
    pub client_addr: String,
    pub detail: Json<serde_json::Value>,
    pub occurred_at: DateTime<Utc>,
}

from_row!(AuditRow, |row| {
    let id: AuditId = row.try_get("id")?;
    Ok(AuditRow {
        id,
        org_id: row.try_get("org_id")?,
        actor_id: row.try_get("actor_id")?,
        action: stored("audit_events", id, "action", row.try_get("action")?)?,
        outcome: stored("audit_events", id, "outcome", row.try_get("outcome")?)?,
        target_id: row.try_get("target_id")?,
        client_addr: row.try_get("client_addr")?,
        detail: row.try_get("detail")?,
        occurred_at: row.try_get("occurred_at")?,
    })
});

pub async fn insert_audit(tx: &mut Tx, a: &AuditRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO audit_events (id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(a.id)
    .bind(a.org_id)
    .bind(a.actor_id)
    .bind(a.action.as_str())
    .bind(a.outcome.as_str())
    .bind(a.target_id)
    .bind(&a.client_addr)
    .bind(&a.detail)
    .bind(a.occurred_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn list_audit(
    db: &Db,
    org: OrgId,
    after: Option<AuditId>,
    limit: u32,
) -> sqlx::Result<Vec<AuditRow>> {
    on_db!(db, |p| {
        sqlx::query_as(
        "SELECT id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at FROM audit_events \
         WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
    )
    .bind(org)
    .bind(after)
    .bind(i64::from(limit) + 1)
    .fetch_all(p)
    .await
    })
}
