//! Sessions and refresh tokens, one-time tokens, recovery codes, API keys, signing keys.
//! Every secret is stored as a hash; only signing keys are stored as they are (they must
//! sign), and encryption at rest for them comes with the key-management issue.

use chrono::{DateTime, Utc};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub mfa: bool,
    pub client_addr: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRow {
    pub session_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Json<lanerunner_core::Scopes>,
    pub role: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API key as the authenticator needs it: the key, the member on record as its owner
/// (absent when that member no longer exists) and its organization's kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyAuthRow {
    #[sqlx(flatten)]
    pub key: ApiKeyRow,
    pub owner_role: Option<String>,
    pub owner_active: Option<bool>,
    pub org_kind: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub pkcs8_der: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const API_KEY_COLUMNS: &str =
    "id, org_id, name, prefix, scopes, role, created_by, created_at, expires_at, last_used_at, revoked_at";

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

pub async fn get_session(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<SessionRow>> {
    on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT id, user_id, org_id, mfa, client_addr, created_at, revoked_at FROM sessions WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await
    })
}

pub async fn revoke_session(
    tx: &mut Tx,
    id: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL"
    )
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
    user_id: Uuid,
    except: Option<Uuid>,
    reason: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<Uuid>> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $2, revoked_reason = $3 \
         WHERE user_id = $1 AND revoked_at IS NULL AND ($4 IS NULL OR id <> $4) RETURNING id"
    )
    .bind(user_id)
    .bind(at)
    .bind(reason)
    .bind(except)
    .fetch_all(c)
    .await)
}

pub async fn insert_refresh_token(
    tx: &mut Tx,
    hash: &str,
    session_id: Uuid,
    issued: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(hash)
    .bind(session_id)
    .bind(issued)
    .bind(expires)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn find_refresh_token(tx: &mut Tx, hash: &str) -> sqlx::Result<Option<RefreshTokenRow>> {
    on_tx!(tx, |c| sqlx::query_as(
        "SELECT session_id, expires_at, rotated_at FROM refresh_tokens WHERE token_hash = $1"
    )
    .bind(hash)
    .fetch_optional(c)
    .await)
}

/// Marks a refresh token used; false if another request rotated it first.
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

pub async fn insert_one_time_token(
    tx: &mut Tx,
    hash: &str,
    purpose: &str,
    user_id: Uuid,
    expires: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, purpose, user_id, expires_at) VALUES ($1, $2, $3, $4)"
    )
    .bind(hash)
    .bind(purpose)
    .bind(user_id)
    .bind(expires)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Consumes a live one-time token of `purpose`; returns its user.
pub async fn consume_one_time_token(
    tx: &mut Tx,
    hash: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Uuid>> {
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

pub async fn replace_recovery_codes(
    tx: &mut Tx,
    user_id: Uuid,
    hashes: &[String],
) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "DELETE FROM recovery_codes WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(c)
    .await
    .map(|_| ()))?;
    for h in hashes {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)"
        )
        .bind(user_id)
        .bind(h)
        .execute(c)
        .await
        .map(|_| ()))?;
    }
    Ok(())
}

pub async fn unused_recovery_codes(tx: &mut Tx, user_id: Uuid) -> sqlx::Result<Vec<String>> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    )
    .bind(user_id)
    .fetch_all(c)
    .await)
}

pub async fn use_recovery_code(
    tx: &mut Tx,
    user_id: Uuid,
    hash: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL"
    )
    .bind(user_id)
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
        "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, scopes, role, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(k.id)
    .bind(k.org_id)
    .bind(&k.name)
    .bind(&k.prefix)
    .bind(hash)
    .bind(&k.scopes)
    .bind(&k.role)
    .bind(k.created_by)
    .bind(k.created_at)
    .bind(k.expires_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// One round trip per API call: the key by hash, with its owner's current role and state
/// and its organization's kind.
pub async fn find_api_key_for_auth(db: &Db, hash: &str) -> sqlx::Result<Option<ApiKeyAuthRow>> {
    let sql = "SELECT k.id, k.org_id, k.name, k.prefix, k.scopes, k.role, k.created_by, k.created_at, \
               k.expires_at, k.last_used_at, k.revoked_at, u.role AS owner_role, u.active AS owner_active, \
               o.kind AS org_kind \
               FROM api_keys k JOIN organizations o ON o.id = k.org_id \
               LEFT JOIN users u ON u.id = k.created_by AND u.org_id = k.org_id \
               WHERE k.key_hash = $1";
    on_db!(db, |p| sqlx::query_as(sql)
        .bind(hash)
        .fetch_optional(p)
        .await)
}

/// The member on record as the owner of key `id` (for a key minted by a key: its owner).
pub async fn api_key_owner(tx: &mut Tx, org_id: Uuid, id: Uuid) -> sqlx::Result<Option<Uuid>> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT created_by FROM api_keys WHERE org_id = $1 AND id = $2"
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Revokes every live key `owner` is on record for; returns their ids.
pub async fn revoke_api_keys_of(
    tx: &mut Tx,
    org_id: Uuid,
    owner: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<Uuid>> {
    on_tx!(tx, |c| {
        sqlx::query_scalar(
        "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND created_by = $2 AND revoked_at IS NULL RETURNING id"
    )
    .bind(org_id)
    .bind(owner)
    .bind(at)
    .fetch_all(c)
    .await
    })
}

pub async fn list_api_keys(
    db: &Db,
    org_id: Uuid,
    after: Option<Uuid>,
    limit: u32,
) -> sqlx::Result<Vec<ApiKeyRow>> {
    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org_id)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await)
}

pub async fn revoke_api_key(
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL"
    )
    .bind(org_id)
    .bind(id)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn touch_api_key(db: &Db, id: Uuid, at: DateTime<Utc>) -> sqlx::Result<()> {
    on_db!(db, |p| sqlx::query(
        "UPDATE api_keys SET last_used_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(at)
    .execute(p)
    .await
    .map(|_| ()))
}

pub async fn load_signing_keys(db: &Db) -> sqlx::Result<Vec<SigningKeyRow>> {
    on_db!(db, |p| {
        sqlx::query_as("SELECT kid, pkcs8_der, public_key, created_at, expires_at FROM signing_keys ORDER BY created_at")
        .fetch_all(p)
        .await
    })
}

pub async fn insert_signing_key(db: &Db, k: &SigningKeyRow) -> sqlx::Result<()> {
    on_db!(db, |p| {
        sqlx::query(
        "INSERT INTO signing_keys (kid, pkcs8_der, public_key, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(&k.kid)
    .bind(&k.pkcs8_der)
    .bind(&k.public_key)
    .bind(k.created_at)
    .bind(k.expires_at)
    .execute(p)
    .await
    .map(|_| ())
    })
}
