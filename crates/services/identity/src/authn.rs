//! The authenticator every service's routes use: access tokens are verified locally with
//! the key set (no database round trip); API keys are looked up by hash.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use lanerunner_core::{OrgId, OrgKind, Role, SessionId, UserId};
use lanerunner_platform::http::{Authenticator, Caller, Principal, Problem};

use crate::domain::{IpAllowlist, SecretToken, TokenError, TokenKind};
use crate::identity::Identity;
use crate::store;

/// Recording `last_used_at` on every call would make each API request a write; once a
/// minute per key is precise enough to tell a live key from a dead one.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

pub struct IdentityAuthenticator(pub Arc<Identity>);

#[async_trait]
impl Authenticator for IdentityAuthenticator {
    async fn authenticate(&self, credential: &str, client: IpAddr) -> Result<Caller, Problem> {
        let id = &self.0;
        if credential.starts_with(TokenKind::ApiKey.prefix()) {
            return id.authenticate_api_key(credential, client).await;
        }
        let claims = id.keyring.verify(credential).await.map_err(|e| {
            Problem::unauthenticated(match e {
                TokenError::Expired => "the access token has expired; refresh it",
                TokenError::WrongAlgorithm => "the token's algorithm is not accepted",
                TokenError::UnknownKey => "the token was not signed by a key this service knows",
                _ => "the access token is not valid",
            })
        })?;
        if let Some(sid) = claims.sid {
            if id.is_revoked(SessionId(sid)).await {
                return Err(Problem::unauthenticated("this session has been signed out"));
            }
        }
        let role: Role = claims
            .role
            .parse()
            .map_err(|_| Problem::unauthenticated("the token names an unknown role"))?;
        let org_kind: OrgKind = claims.org_kind.parse().map_err(|_| {
            Problem::unauthenticated("the token names an unknown organization kind")
        })?;
        let gate = id.org_gate(OrgId(claims.org)).await?;
        if !gate.allowlist.allows(client) {
            return Err(not_allowed(client, "this organization"));
        }
        Ok(Caller {
            org: OrgId(claims.org),
            org_kind,
            principal: Principal::User(UserId(claims.sub)),
            role,
            scopes: lanerunner_core::Scopes::all(),
            session: claims.sid.map(SessionId),
            mfa_enrollment_pending: claims.mfa_enrollment_pending,
            plan: gate.plan,
        })
    }
}

impl Identity {
    async fn authenticate_api_key(
        &self,
        credential: &str,
        client: IpAddr,
    ) -> Result<Caller, Problem> {
        let secret = SecretToken::parse(TokenKind::ApiKey, credential)
            .map_err(|_| Problem::unauthenticated("malformed API key"))?;
        let row = store::find_api_key_for_auth(&self.db, &secret.hash())
            .await?
            .ok_or_else(|| Problem::unauthenticated("unknown API key"))?;
        let key = &row.key;
        let now = Utc::now();
        if key.revoked_at.is_some() {
            return Err(Problem::unauthenticated("this API key has been revoked"));
        }
        if key.expires_at.is_some_and(|t| t <= now) {
            return Err(Problem::unauthenticated("this API key has expired"));
        }
        // A key acts for the member on record as its owner and never beyond them: it stops
        // when they are deactivated or removed, and a demotion reduces it at once.
        let owner_role = match (row.owner_role, row.owner_active) {
            (Some(role), Some(true)) => role,
            _ => {
                return Err(Problem::unauthenticated(
                    "the member who owns this API key is no longer active",
                ))
            }
        };
        if !IpAllowlist::stored(&row.org_ip_allowlist).allows(client) {
            return Err(not_allowed(client, "this organization"));
        }
        if !IpAllowlist::stored(&key.ip_allowlist).allows(client) {
            return Err(not_allowed(client, "this API key"));
        }
        let role = key.role.capped_by(owner_role);
        let touch_key = format!("identity:api-key-touched:{}", key.id);
        if matches!(self.cache.get(&touch_key).await, Ok(None)) {
            let _ = self.cache.set(&touch_key, b"1", TOUCH_EVERY).await;
            if let Err(e) = store::touch_api_key(&self.db, key.org_id, key.id, now).await {
                tracing::warn!(api_key = %key.id, error = %e, "could not record API key use");
            }
        }
        Ok(Caller {
            org: key.org_id,
            org_kind: row.org_kind,
            principal: Principal::ApiKey(key.id),
            role,
            scopes: key.scopes.0.clone(),
            session: None,
            mfa_enrollment_pending: false,
            plan: row.org_plan,
        })
    }
}

/// How long an instance trusts the organization's allowlist and plan it read (a change
/// made through the API or the CLI is seen at once: it clears the shared cache entry).
const GATE_TTL: Duration = Duration::from_secs(30);

fn gate_key(org: OrgId) -> String {
    format!("identity:org-gate:{}", org.as_uuid())
}

/// What every request of an organization is checked against: where it may come from, and
/// the plan its limits come from.
pub(crate) struct OrgGate {
    pub allowlist: IpAllowlist,
    pub plan: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedGate {
    allowlist: Vec<String>,
    plan: Option<String>,
}

/// A request from outside an allowlist: refused, and logged (the address, not the
/// credential).
fn not_allowed(client: IpAddr, whose: &str) -> Problem {
    tracing::warn!(%client, whose, "request refused: outside the IP allowlist");
    Problem::new(
        axum::http::StatusCode::FORBIDDEN,
        "ip-not-allowed",
        "Address not allowed",
    )
    .detail(format!(
        "requests from {client} are not allowed for {whose} (its IP allowlist)"
    ))
}

impl Identity {
    /// The organization's allowlist and plan, through the cache: a user's request does not
    /// read the store for them more than once per `GATE_TTL` (per cache).
    pub(crate) async fn org_gate(&self, org: OrgId) -> Result<OrgGate, Problem> {
        let key = gate_key(org);
        if let Ok(Some(bytes)) = self.cache.get(&key).await {
            if let Ok(c) = serde_json::from_slice::<CachedGate>(&bytes) {
                return Ok(OrgGate {
                    allowlist: IpAllowlist::stored(&c.allowlist),
                    plan: c.plan,
                });
            }
        }
        let (allowlist, plan) = store::get_org(&self.db, org)
            .await?
            .map(|o| (o.ip_allowlist.0, o.plan))
            .unwrap_or_default();
        if let Ok(bytes) = serde_json::to_vec(&CachedGate {
            allowlist: allowlist.clone(),
            plan: plan.clone(),
        }) {
            let _ = self.cache.set(&key, &bytes, GATE_TTL).await;
        }
        Ok(OrgGate {
            allowlist: IpAllowlist::stored(&allowlist),
            plan,
        })
    }

    pub(crate) async fn forget_org_gate(&self, org: OrgId) {
        if let Err(e) = self.cache.delete(&gate_key(org)).await {
            tracing::warn!(%org, error = %e, "could not clear the cached IP allowlist; it expires within 30 s");
        }
    }
}
