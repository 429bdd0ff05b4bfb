//! Organizations, users and invitations.

use chrono::{DateTime, Utc};
use lanerunner_core::{InvitationId, OrgId, OrgKind, Role, UserId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

use super::decode::{from_row, stored};

#[derive(Debug, Clone)]
pub struct OrgRow {
    pub id: OrgId,
    pub kind: OrgKind,
    pub name: String,
    pub mc_number: Option<String>,
    pub usdot_number: Option<String>,
    pub require_mfa: bool,
    /// CIDR blocks every request for the organization must come from (empty: any).
    pub ip_allowlist: sqlx::types::Json<Vec<String>>,
    /// The gateway plan (`http.plans`) its limits come from; none: the default.
    pub plan: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub password_hash: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub mfa_secret: Option<String>,
    pub mfa_pending_secret: Option<String>,
    pub mfa_last_step: Option<i64>,
    /// The verified number text-message codes go to (E.164).
    pub mfa_phone: Option<String>,
    /// A number being enrolled, until its first code is confirmed.
    pub mfa_pending_phone: Option<String>,
    /// The verified number's last four digits, readable for display.
    pub mfa_phone_last4: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When their personal data was erased (the row stays, emptied: its id is referenced).
    pub erased_at: Option<DateTime<Utc>>,
}

impl UserRow {
    /// Whether signing in needs a second factor: an authenticator app, a phone, or both.
    pub fn mfa_enabled(&self) -> bool {
        self.mfa_secret.is_some() || self.mfa_phone.is_some()
    }

    /// The second factors enrolled, by name.
    pub fn mfa_methods(&self) -> Vec<&'static str> {
        let mut methods = Vec::new();
        if self.mfa_secret.is_some() {
            methods.push("totp");
        }
        if self.mfa_phone.is_some() {
            methods.push("sms");
        }
        methods
    }
}

#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    /// The member or API key that sent the invitation.
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

from_row!(OrgRow, |row| {
    let id: OrgId = row.try_get("id")?;
    Ok(OrgRow {
        id,
        kind: stored("organizations", id, "kind", row.try_get("kind")?)?,
        name: row.try_get("name")?,
        mc_number: row.try_get("mc_number")?,
        usdot_number: row.try_get("usdot_number")?,
        require_mfa: row.try_get("require_mfa")?,
        ip_allowlist: row.try_get("ip_allowlist")?,
        plan: row.try_get("plan")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
});

from_row!(UserRow, |row| {
    let id: UserId = row.try_get("id")?;
    Ok(UserRow {
        id,
        org_id: row.try_get("org_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: stored("users", id, "role", row.try_get("role")?)?,
        active: row.try_get("active")?,
        password_hash: row.try_get("password_hash")?,
        email_verified_at: row.try_get("email_verified_at")?,
        mfa_secret: row.try_get("mfa_secret")?,
        mfa_pending_secret: row.try_get("mfa_pending_secret")?,
        mfa_last_step: row.try_get("mfa_last_step")?,
        mfa_phone: row.try_get("mfa_phone")?,
        mfa_pending_phone: row.try_get("mfa_pending_phone")?,
        mfa_phone_last4: row.try_get("mfa_phone_last4")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        erased_at: row.try_get("erased_at")?,
    })
});

from_row!(InvitationRow, |row| {
    let id: InvitationId = row.try_get("id")?;
    Ok(InvitationRow {
        id,
        org_id: row.try_get("org_id")?,
        email: row.try_get("email")?,
        role: stored("invitations", id, "role", row.try_get("role")?)?,
        invited_by: row.try_get("invited_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        accepted_at: row.try_get("accepted_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
});

const USER_COLUMNS: &str =
    "id, org_id, email, name, role, active, password_hash, email_verified_at, mfa_secret, \
                            mfa_pending_secret, mfa_last_step, mfa_phone, mfa_pending_phone, mfa_phone_last4, created_at, updated_at, erased_at";
const INVITATION_COLUMNS: &str =
    "id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at";

pub async fn insert_org(tx: &mut Tx, org: &OrgRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO organizations (id, kind, name, mc_number, usdot_number, require_mfa, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(org.id)
    .bind(org.kind.as_str())
    .bind(&org.name)
    .bind(&org.mc_number)
    .bind(&org.usdot_number)
    .bind(org.require_mfa)
    .bind(org.created_at)
    .bind(org.updated_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn get_org(db: &Db, org: OrgId) -> sqlx::Result<Option<OrgRow>> {
    on_db!(db, |p| sqlx::query_as(
        "SELECT * FROM organizations WHERE id = $1"
    )
    .bind(org)
    .fetch_optional(p)
    .await)
}

/// The organization inside a write transaction (sees the transaction's own inserts).
pub async fn get_org_tx(tx: &mut Tx, org: OrgId) -> sqlx::Result<Option<OrgRow>> {
    on_tx!(tx, |c| sqlx::query_as(
        "SELECT * FROM organizations WHERE id = $1"
    )
    .bind(org)
    .fetch_optional(c)
    .await)
}

pub async fn update_org(tx: &mut Tx, org: &OrgRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE organizations SET name = $2, mc_number = $3, usdot_number = $4, require_mfa = $5, updated_at = $6, ip_allowlist = $7 WHERE id = $1"
    )
    .bind(org.id)
    .bind(&org.name)
    .bind(&org.mc_number)
    .bind(&org.usdot_number)
    .bind(org.require_mfa)
    .bind(org.updated_at)
    .bind(&org.ip_allowlist)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn insert_user(tx: &mut Tx, u: &UserRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO users (id, org_id, email, name, role, active, password_hash, email_verified_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(u.id)
    .bind(u.org_id)
    .bind(&u.email)
    .bind(&u.name)
    .bind(u.role.as_str())
    .bind(u.active)
    .bind(&u.password_hash)
    .bind(u.email_verified_at)
    .bind(u.created_at)
    .bind(u.updated_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Not tenant-scoped: login (and the checks that an email is free) look an email up across
/// organizations, because an email is one account.
pub async fn find_user_by_email(db: &Db, email: &str) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(email)
        .fetch_optional(p)
        .await)
}

/// A user by id, only if they belong to `org`.
pub async fn get_user(db: &Db, org: OrgId, user: UserId) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND id = $2");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .fetch_optional(p)
        .await)
}

/// Not tenant-scoped: the user a sign-in challenge names, read before the transaction that
/// spends it.
pub async fn get_user_by_id(db: &Db, user: UserId) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(user)
        .fetch_optional(p)
        .await)
}

/// Not tenant-scoped: the user a spent token names (reset, verification, MFA challenge);
/// the token, not a caller, says who it is, and their row says which organization.
pub async fn get_user_by_id_tx(tx: &mut Tx, user: UserId) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(user)
        .fetch_optional(c)
        .await)
}

/// The same inside a write transaction (re-read under the write lock).
pub async fn get_user_tx(tx: &mut Tx, org: OrgId, user: UserId) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND id = $2");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .fetch_optional(c)
        .await)
}

pub async fn list_users(
    db: &Db,
    org: OrgId,
    after: Option<UserId>,
    limit: u32,
) -> sqlx::Result<Vec<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await)
}

pub async fn count_active_owners(tx: &mut Tx, org: OrgId) -> sqlx::Result<i64> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = $2 AND active"
    )
    .bind(org)
    .bind(Role::Owner.as_str())
    .fetch_one(c)
    .await)
}

/// Writes the mutable columns of a user (role, status, password, verification, MFA).
pub async fn update_user(tx: &mut Tx, u: &UserRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE users SET name = $3, role = $4, active = $5, password_hash = $6, email_verified_at = $7, mfa_secret = $8, \
         mfa_pending_secret = $9, mfa_last_step = $10, mfa_phone = $11, mfa_pending_phone = $12, updated_at = $13, mfa_phone_last4 = $14 \
         WHERE org_id = $1 AND id = $2"
    )
    .bind(u.org_id)
    .bind(u.id)
    .bind(&u.name)
    .bind(u.role.as_str())
    .bind(u.active)
    .bind(&u.password_hash)
    .bind(u.email_verified_at)
    .bind(&u.mfa_secret)
    .bind(&u.mfa_pending_secret)
    .bind(u.mfa_last_step)
    .bind(&u.mfa_phone)
    .bind(&u.mfa_pending_phone)
    .bind(u.updated_at)
    .bind(&u.mfa_phone_last4)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Records `step` as the user's last accepted TOTP time step, only if it is later than the
/// one stored: false when another request accepted this step (or a later one) first. The
/// compare and the write are one statement, so two requests racing with one code cannot
/// both win (RFC 6238 §5.2).
pub async fn advance_mfa_step(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    step: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE users SET mfa_last_step = $3, updated_at = $4 \
         WHERE org_id = $1 AND id = $2 AND (mfa_last_step IS NULL OR mfa_last_step < $3)"
    )
    .bind(org)
    .bind(user)
    .bind(step)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn insert_invitation(
    tx: &mut Tx,
    inv: &InvitationRow,
    token_hash: &str,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(inv.id)
    .bind(inv.org_id)
    .bind(&inv.email)
    .bind(inv.role.as_str())
    .bind(token_hash)
    .bind(inv.invited_by)
    .bind(inv.created_at)
    .bind(inv.expires_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Not tenant-scoped: the invited person has no organization until the token names one.
pub async fn find_invitation_by_token(
    tx: &mut Tx,
    token_hash: &str,
) -> sqlx::Result<Option<InvitationRow>> {
    let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(token_hash)
        .fetch_optional(c)
        .await)
}

pub async fn list_invitations(
    db: &Db,
    org: OrgId,
    after: Option<InvitationId>,
    limit: u32,
) -> sqlx::Result<Vec<InvitationRow>> {
    let sql = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await)
}

pub async fn mark_invitation_accepted(
    tx: &mut Tx,
    org: OrgId,
    id: InvitationId,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE invitations SET accepted_at = $3 WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .bind(at)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Revokes a pending invitation of `org`; false when there was none to revoke.
pub async fn revoke_invitation(
    tx: &mut Tx,
    org: OrgId,
    id: InvitationId,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL"
    )
    .bind(org)
    .bind(id)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}

/// Puts `org` on `plan` (none: the default limits); false when there is no such organization.
pub async fn set_plan_tx(
    tx: &mut Tx,
    org: OrgId,
    plan: Option<&str>,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE organizations SET plan = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(org)
    .bind(plan)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}
