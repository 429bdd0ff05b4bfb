//! Sessions and refresh tokens, one-time tokens, recovery codes, API keys, signing keys.
//! Every secret is stored as a hash; only signing keys are stored as they are (they must
//! sign), and encryption at rest for them comes with the key-management issue.

use chrono::{DateTime, Utc};
use lanerunner_core::{ApiKeyId, OrgId, OrgKind, Role, SessionId, UserId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;

use super::decode::{from_row, stored};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: SessionId,
    pub user_id: UserId,
    pub org_id: OrgId,
    pub mfa: bool,
    pub client_addr: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub session_id: SessionId,
    /// The organization of the token's session.
    pub org_id: OrgId,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    pub prefix: String,
    pub scopes: Json<lanerunner_core::Scopes>,
    pub role: Role,
    /// The member on record as the key's owner.
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// CIDR blocks this key may be used from (empty: the organization's list alone).
    pub ip_allowlist: Json<Vec<String>>,
}

/// An API key as the authenticator needs it: the key, the member on record as its owner
/// (absent when that member no longer exists) and its organization's kind.
#[derive(Debug, Clone)]
pub struct ApiKeyAuthRow {
    pub key: ApiKeyRow,
    pub owner_role: Option<Role>,
    pub owner_active: Option<bool>,
    pub org_kind: OrgKind,
    pub org_ip_allowlist: Json<Vec<String>>,
    pub org_plan: Option<String>,
}

from_row!(ApiKeyRow, |row| {
    let id: ApiKeyId = row.try_get("id")?;
    Ok(ApiKeyRow {
        id,
        org_id: row.try_get("org_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        scopes: row.try_get("scopes")?,
        role: stored("api_keys", id, "role", row.try_get("role")?)?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
        ip_allowlist: row.try_get("ip_allowlist")?,
    })
});

from_row!(ApiKeyAuthRow, |row| {
    let key = sqlx::FromRow::from_row(row)?;
    let ApiKeyRow {
        org_id, created_by, ..
    } = key;
    let owner_role: Option<String> = row.try_get("owner_role")?;
    Ok(ApiKeyAuthRow {
        key,
        owner_role: owner_role
            .map(|role| stored("users", created_by, "role", role))
            .transpose()?,
        owner_active: row.try_get("owner_active")?,
        org_kind: stored("organizations", org_id, "kind", row.try_get("org_kind")?)?,
        org_ip_allowlist: row.try_get("org_ip_allowlist")?,
        org_plan: row.try_get("org_plan")?,
    })
});

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    /// The private key in the clear: only in rows written before keys were sealed (empty
    /// once `private_key` holds it).
    pub pkcs8_der: Vec<u8>,
    /// The private key sealed (`crate::sealed::SIGNING_KEY`): base64 of its PKCS#8 document.
    pub private_key: Option<String>,
    pub public_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub(super) const API_KEY_COLUMNS: &str =
    "id, org_id, name, prefix, scopes, role, created_by, created_at, expires_at, last_used_at, revoked_at, ip_allowlist";

pub async fn insert_session(tx: &mut Tx, s: &SessionRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO sessions (id, user_id, org_id, mfa, client_addr, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.org_id)
    .bind(s.mfa)
    .bind(&s.client_addr)
    .bind(s.created_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn get_session(
    tx: &mut Tx,
    org: OrgId,
    id: SessionId,
) -> sqlx::Result<Option<SessionRow>> {
    on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT id, user_id, org_id, mfa, client_addr, created_at, revoked_at FROM sessions WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .fetch_optional(c)
    .await
    })
}

pub async fn revoke_session(
    tx: &mut Tx,
    org: OrgId,
    id: SessionId,
    reason: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL"
    )
    .bind(org)
    .bind(id)
    .bind(at)
    .bind(reason)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Revokes every live session of a user but `except`; returns their ids (to mark revoked
/// in the cache).
pub async fn revoke_user_sessions(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    except: Option<SessionId>,
    reason: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<SessionId>> {
    on_tx!(tx, |c| {
        sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $3, revoked_reason = $4 \
         WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL AND ($5 IS NULL OR id <> $5) RETURNING id"
    )
    .bind(org)
    .bind(user)
    .bind(at)
    .bind(reason)
    .bind(except)
    .fetch_all(c)
    .await
    })
}

/// Adds a refresh token to `session`'s family; the session must be `org`'s (a token is
/// never written into another tenant's session).
pub async fn insert_refresh_token(
    tx: &mut Tx,
    org: OrgId,
    session: SessionId,
    hash: &str,
    issued: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> sqlx::Result<()> {
    let inserted = on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) \
         SELECT $3, id, $4, $5 FROM sessions WHERE org_id = $1 AND id = $2",
        )
        .bind(org)
        .bind(session)
        .bind(hash)
        .bind(issued)
        .bind(expires)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if inserted == 1 {
        Ok(())
    } else {
        Err(sqlx::Error::RowNotFound)
    }
}

/// Not tenant-scoped: a refresh token is presented without any other credential, so the
/// token (by hash) is what names its session and organization.
pub async fn find_refresh_token(tx: &mut Tx, hash: &str) -> sqlx::Result<Option<RefreshTokenRow>> {
    on_tx!(tx, |c| sqlx::query_as(
        "SELECT r.session_id, s.org_id, r.expires_at, r.rotated_at \
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1"
    )
    .bind(hash)
    .fetch_optional(c)
    .await)
}

/// Marks a refresh token used; false if another request rotated it first. By hash, like
/// [`find_refresh_token`].
pub async fn rotate_refresh_token(
    tx: &mut Tx,
    hash: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL"
    )
    .bind(hash)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Issues a one-time token of `purpose` to `user`, who must be a member of `org`.
pub async fn insert_one_time_token(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    purpose: &str,
    hash: &str,
    expires: DateTime<Utc>,
) -> sqlx::Result<()> {
    let inserted = on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, purpose, user_id, expires_at) \
         SELECT $3, $4, id, $5 FROM users WHERE org_id = $1 AND id = $2",
        )
        .bind(org)
        .bind(user)
        .bind(hash)
        .bind(purpose)
        .bind(expires)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
    })?;
    if inserted == 1 {
        Ok(())
    } else {
        Err(sqlx::Error::RowNotFound)
    }
}

/// Consumes a live one-time token of `purpose`; returns its user. Not tenant-scoped: the
/// token arrives alone (from an email link) and is what names the user.
pub async fn consume_one_time_token(
    tx: &mut Tx,
    hash: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<UserId>> {
    on_tx!(tx, |c| {
        sqlx::query_scalar(
        "UPDATE one_time_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING user_id"
    )
    .bind(hash)
    .bind(purpose)
    .bind(now)
    .fetch_optional(c)
    .await
    })
}

/// Recovery codes have no organization column: they are reached through their user, who
/// must be a member of `org`.
const MEMBER_OF_ORG: &str = "user_id IN (SELECT id FROM users WHERE org_id = $1 AND id = $2)";

pub async fn replace_recovery_codes(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    hashes: &[String],
) -> sqlx::Result<()> {
    let delete = format!("DELETE FROM recovery_codes WHERE {MEMBER_OF_ORG}");
    on_tx!(tx, |c| sqlx::query(&delete)
        .bind(org)
        .bind(user)
        .execute(c)
        .await
        .map(|_| ()))?;
    for h in hashes {
        let inserted = on_tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash) SELECT id, $3 FROM users WHERE org_id = $1 AND id = $2"
        )
        .bind(org)
        .bind(user)
        .bind(h)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if inserted != 1 {
            return Err(sqlx::Error::RowNotFound);
        }
    }
    Ok(())
}

pub async fn unused_recovery_codes(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
) -> sqlx::Result<Vec<String>> {
    let sql =
        format!("SELECT code_hash FROM recovery_codes WHERE {MEMBER_OF_ORG} AND used_at IS NULL");
    on_tx!(tx, |c| sqlx::query_scalar(&sql)
        .bind(org)
        .bind(user)
        .fetch_all(c)
        .await)
}

pub async fn use_recovery_code(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    hash: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE recovery_codes SET used_at = $4 WHERE {MEMBER_OF_ORG} AND code_hash = $3 AND used_at IS NULL"
    );
    on_tx!(tx, |c| {
        sqlx::query(&sql)
            .bind(org)
            .bind(user)
            .bind(hash)
            .bind(at)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

pub async fn insert_api_key(tx: &mut Tx, k: &ApiKeyRow, hash: &str) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, scopes, role, created_by, created_at, expires_at, ip_allowlist) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(k.id)
    .bind(k.org_id)
    .bind(&k.name)
    .bind(&k.prefix)
    .bind(hash)
    .bind(&k.scopes)
    .bind(k.role.as_str())
    .bind(k.created_by)
    .bind(k.created_at)
    .bind(k.expires_at)
    .bind(&k.ip_allowlist)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// One round trip per API call: the key by hash, with its owner's current role and state
/// and its organization's kind. Not tenant-scoped: the key itself is what names its tenant.
pub async fn find_api_key_for_auth(db: &Db, hash: &str) -> sqlx::Result<Option<ApiKeyAuthRow>> {
    let sql =
        "SELECT k.id, k.org_id, k.name, k.prefix, k.scopes, k.role, k.created_by, k.created_at, \
               k.expires_at, k.last_used_at, k.revoked_at, k.ip_allowlist, u.role AS owner_role, \
               u.active AS owner_active, o.kind AS org_kind, o.ip_allowlist AS org_ip_allowlist, o.plan AS org_plan \
               FROM api_keys k JOIN organizations o ON o.id = k.org_id \
               LEFT JOIN users u ON u.id = k.created_by AND u.org_id = k.org_id \
               WHERE k.key_hash = $1";
    on_db!(db, |p| sqlx::query_as(sql)
        .bind(hash)
        .fetch_optional(p)
        .await)
}

/// The member on record as the owner of key `id` (for a key minted by a key: its owner).
pub async fn api_key_owner(tx: &mut Tx, org: OrgId, id: ApiKeyId) -> sqlx::Result<Option<UserId>> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT created_by FROM api_keys WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Revokes every live key `owner` is on record for; returns their ids.
pub async fn revoke_api_keys_of(
    tx: &mut Tx,
    org: OrgId,
    owner: UserId,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<ApiKeyId>> {
    on_tx!(tx, |c| {
        sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND created_by = $2 AND revoked_at IS NULL RETURNING id"
    )
    .bind(org)
    .bind(owner)
    .bind(at)
    .fetch_all(c)
    .await
    })
}

pub async fn list_api_keys(
    db: &Db,
    org: OrgId,
    after: Option<ApiKeyId>,
    limit: u32,
) -> sqlx::Result<Vec<ApiKeyRow>> {
    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await)
}

pub async fn revoke_api_key(
    tx: &mut Tx,
    org: OrgId,
    id: ApiKeyId,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL"
    )
    .bind(org)
    .bind(id)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn touch_api_key(
    db: &Db,
    org: OrgId,
    id: ApiKeyId,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, |p| sqlx::query(
        "UPDATE api_keys SET last_used_at = $3 WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .bind(at)
    .execute(p)
    .await
    .map(|_| ()))
}

/// Not tenant-scoped: signing keys belong to the service, not to an organization.
pub async fn load_signing_keys(db: &Db) -> sqlx::Result<Vec<SigningKeyRow>> {
    on_db!(db, |p| {
        sqlx::query_as("SELECT kid, pkcs8_der, private_key, public_key, created_at, expires_at FROM signing_keys ORDER BY created_at")
        .fetch_all(p)
        .await
    })
}

/// Not tenant-scoped, like [`load_signing_keys`].
pub async fn insert_signing_key(db: &Db, k: &SigningKeyRow) -> sqlx::Result<()> {
    on_db!(db, |p| {
        sqlx::query(
        "INSERT INTO signing_keys (kid, pkcs8_der, private_key, public_key, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(&k.kid)
    .bind(&k.pkcs8_der)
    .bind(&k.private_key)
    .bind(&k.public_key)
    .bind(k.created_at)
    .bind(k.expires_at)
    .execute(p)
    .await
    .map(|_| ())
    })
}

/// Moves a signing key written before keys were sealed to its sealed form (once: only while
/// it has none).
pub async fn seal_signing_key(db: &Db, kid: &str, sealed: &str) -> sqlx::Result<bool> {
    on_db!(db, |p| {
        sqlx::query(
        "UPDATE signing_keys SET private_key = $2, pkcs8_der = $3 WHERE kid = $1 AND private_key IS NULL"
    )
    .bind(kid)
    .bind(sealed)
    .bind(Vec::<u8>::new())
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}
