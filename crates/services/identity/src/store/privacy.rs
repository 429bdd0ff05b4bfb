//! Personal data's SQL: consent records, and what the export gathers about one person.
//! Every statement names the organization and the person.

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, UserId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

use super::{ApiKeyRow, AuditRow, SessionRow};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentRow {
    pub id: Uuid,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub purpose: String,
    pub version: String,
    pub granted: bool,
    pub client_addr: String,
    pub recorded_at: DateTime<Utc>,
}

pub async fn insert_consent(tx: &mut Tx, c: &ConsentRow) -> sqlx::Result<()> {
    let sql = "INSERT INTO consents (id, org_id, user_id, purpose, version, granted, client_addr, recorded_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_tx!(tx, |p| sqlx::query(sql)
        .bind(c.id)
        .bind(c.org_id)
        .bind(c.user_id)
        .bind(&c.purpose)
        .bind(&c.version)
        .bind(c.granted)
        .bind(&c.client_addr)
        .bind(c.recorded_at)
        .execute(p)
        .await
        .map(|_| ()))
}

/// The person's consent records, oldest first (ids are time-ordered: records made in the
/// same instant keep their order).
pub async fn consents(db: &Db, org: OrgId, user: UserId) -> sqlx::Result<Vec<ConsentRow>> {
    let sql = "SELECT id, org_id, user_id, purpose, version, granted, client_addr, recorded_at FROM consents \
               WHERE org_id = $1 AND user_id = $2 ORDER BY recorded_at, id";
    on_db!(db, |p| sqlx::query_as(sql)
        .bind(org)
        .bind(user)
        .fetch_all(p)
        .await)
}

pub async fn sessions_of(db: &Db, org: OrgId, user: UserId) -> sqlx::Result<Vec<SessionRow>> {
    let sql = "SELECT id, user_id, org_id, mfa, client_addr, created_at, revoked_at FROM sessions \
               WHERE org_id = $1 AND user_id = $2 ORDER BY created_at";
    on_db!(db, |p| sqlx::query_as(sql)
        .bind(org)
        .bind(user)
        .fetch_all(p)
        .await)
}

pub async fn api_keys_created_by(
    db: &Db,
    org: OrgId,
    user: UserId,
) -> sqlx::Result<Vec<ApiKeyRow>> {
    let sql = format!(
        "SELECT {} FROM api_keys WHERE org_id = $1 AND created_by = $2 ORDER BY id",
        super::credentials::API_KEY_COLUMNS
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .fetch_all(p)
        .await)
}

/// The audit records where the person acted or was acted on, oldest first.
pub async fn audit_of(db: &Db, org: OrgId, user: UserId) -> sqlx::Result<Vec<AuditRow>> {
    let sql = format!(
        "SELECT {} FROM audit_events WHERE org_id = $1 AND (actor_id = $2 OR target_id = $2) ORDER BY id",
        super::audit::AUDIT_COLUMNS
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .fetch_all(p)
        .await)
}
