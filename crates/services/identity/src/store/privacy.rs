//! Personal data's SQL: consent records, what the export gathers about one person, and
//! their erasure. Every statement names the organization and the person.

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
        "SELECT {} FROM {} WHERE e.org_id = $1 AND (e.actor_id = $2 OR e.target_id = $2) ORDER BY e.id",
        super::audit::AUDIT_COLUMNS,
        super::audit::AUDIT_FROM
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .fetch_all(p)
        .await)
}

/// The name an erased member's row keeps.
pub const ERASED_NAME: &str = "Erased member";

/// What erasure removed besides the person's row.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub sessions: u64,
    pub invitations: u64,
    pub consents: u64,
    pub audit_addresses: u64,
    /// Audit records chained before addresses could be erased (format v1) that still
    /// hold one: their hash covers it, so it stays for as long as the trail is kept.
    pub audit_addresses_kept: i64,
}

/// Empties the deactivated member's row of who they were — email (replaced by
/// `placeholder`, unique), name, password, second factors — and removes what else
/// identity holds about them: unused one-time and recovery codes, refresh tokens, the
/// addresses of their sessions, consents and audit records, and their email on the
/// organization's invitations. False (nothing done) when the member is not the
/// organization's, still active, or already erased: the compare-and-set that lets two
/// erasures racing do the work once.
pub async fn erase_user(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    old_email: &str,
    placeholder: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<Erased>> {
    let emptied = on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE users SET email = $3, name = $4, password_hash = '!erased', email_verified_at = NULL, \
         mfa_secret = NULL, mfa_pending_secret = NULL, mfa_last_step = NULL, mfa_phone = NULL, \
         mfa_pending_phone = NULL, mfa_phone_last4 = NULL, erased_at = $5, updated_at = $5 \
         WHERE org_id = $1 AND id = $2 AND erased_at IS NULL AND active = $6"
    )
    .bind(org)
    .bind(user)
    .bind(placeholder)
    .bind(ERASED_NAME)
    .bind(at)
    .bind(false)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if emptied == 0 {
        return Ok(None);
    }
    let member = "user_id IN (SELECT id FROM users WHERE org_id = $1 AND id = $2)";
    let statements = [
        format!("DELETE FROM recovery_codes WHERE {member}"),
        format!("DELETE FROM one_time_tokens WHERE {member}"),
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE org_id = $1 AND user_id = $2)".into(),
    ];
    for sql in &statements {
        on_tx!(tx, |c| sqlx::query(sql)
            .bind(org)
            .bind(user)
            .execute(c)
            .await
            .map(|_| ()))?;
    }
    let blank = |table: &str| {
        format!("UPDATE {table} SET client_addr = '' WHERE org_id = $1 AND user_id = $2 AND client_addr <> ''")
    };
    let (sessions_sql, consents_sql) = (blank("sessions"), blank("consents"));
    let sessions = on_tx!(tx, |c| sqlx::query(&sessions_sql)
        .bind(org)
        .bind(user)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let consents = on_tx!(tx, |c| sqlx::query(&consents_sql)
        .bind(org)
        .bind(user)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let invitations = on_tx!(tx, |c| sqlx::query(
        "UPDATE invitations SET email = $3 WHERE org_id = $1 AND lower(email) = lower($2)"
    )
    .bind(org)
    .bind(old_email)
    .bind(placeholder)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let audit_addresses = super::erase_audit_addresses_of(tx, org, user.as_uuid(), at).await?;
    let audit_addresses_kept = super::v1_addresses_of(tx, org, user.as_uuid()).await?;
    Ok(Some(Erased {
        sessions,
        invitations,
        consents,
        audit_addresses,
        audit_addresses_kept,
    }))
}

/// A member whose personal data was erased.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ErasedMember {
    pub org_id: OrgId,
    pub id: UserId,
    pub erased_at: DateTime<Utc>,
}

/// Every erased member, across organizations: what the erasure register must hold. The
/// reconciliation reads them all; erasures are rare, so this is small.
pub async fn erased_members(db: &Db) -> sqlx::Result<Vec<ErasedMember>> {
    on_db!(db, |c| sqlx::query_as(
        "SELECT org_id, id, erased_at FROM users WHERE erased_at IS NOT NULL ORDER BY org_id, id"
    )
    .fetch_all(c)
    .await)
}

/// Who erased `user` of `org`, as the audit trail's newest `member_erased` record about them
/// says (none when there is no such record).
pub async fn eraser_of(db: &Db, org: OrgId, user: UserId) -> sqlx::Result<Option<Uuid>> {
    on_db!(db, |c| sqlx::query_scalar::<_, Option<Uuid>>(
        "SELECT actor_id FROM audit_events WHERE org_id = $1 AND target_id = $2 \
         AND action = 'member_erased' ORDER BY occurred_at DESC LIMIT 1"
    )
    .bind(org)
    .bind(user)
    .fetch_optional(c)
    .await)
    .map(Option::flatten)
}
