//! API keys for server-to-server use: created by admins with explicit scopes, shown once,
//! stored hashed, revocable, with their last use recorded.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use lanerunner_core::{ApiKeyId, OrgId, Role, Scope, Scopes};
use lanerunner_platform::http::{Caller, Principal};
use serde_json::json;
use sqlx::types::Json;

use crate::domain::{AuditAction, AuditOutcome, SecretToken, TokenKind};
use crate::error::{both, invalid, IdentityError, Result};
use crate::identity::Identity;
use crate::members::actor;
use crate::store::{self, ApiKeyRow};

impl Identity {
    pub async fn create_api_key(
        &self,
        caller: &Caller,
        name: &str,
        scopes: Vec<String>,
        expires_at: Option<DateTime<Utc>>,
        ip_allowlist: &[String],
        addr: IpAddr,
    ) -> Result<(ApiKeyRow, SecretToken)> {
        caller
            .require_admin()
            .map_err(|_| IdentityError::Forbidden("only owners and admins may create API keys"))?;
        let ((name, scopes), ()) = both(
            both(
                crate::fields::check_name("name", name),
                parse_scopes(&scopes),
            ),
            check_expiry(expires_at, Utc::now()),
        )?;
        let ip_allowlist = crate::domain::IpAllowlist::parse(ip_allowlist)
            .map_err(|e| invalid("ip_allowlist", e))?;
        // A credential hands out only what it holds: a key with identity:write cannot mint
        // a key that reaches loads.
        if !caller.scopes.covers_all(&scopes) {
            let missing: Vec<String> = caller
                .scopes
                .missing(&scopes)
                .map(|s| s.to_string())
                .collect();
            return Err(IdentityError::ForbiddenDetail(format!(
                "a credential may grant only scopes it holds itself; this one lacks {}",
                missing.join(", ")
            )));
        }
        let mut tx = self.db.begin().await?;
        // The owner of record is always a member: a key minted by a key belongs to the
        // member who owns the parent, so deactivating that member stops both.
        let owner = match caller.principal {
            Principal::User(u) => u,
            Principal::ApiKey(parent) => store::api_key_owner(&mut tx, caller.org, parent)
                .await?
                .ok_or(IdentityError::Forbidden(
                "this API key has no owner of record",
            ))?,
        };
        let secret = SecretToken::generate(TokenKind::ApiKey);
        let key = ApiKeyRow {
            id: ApiKeyId::new(),
            org_id: caller.org,
            name,
            prefix: secret.prefix().unwrap_or_default().to_owned(),
            scopes: Json(scopes),
            // A key acts with at most admin rights, never as an owner, and at most with its
            // owner's current role (checked on every call).
            role: Role::Admin.capped_by(caller.role),
            created_by: owner,
            created_at: Utc::now(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
            ip_allowlist: Json(ip_allowlist.to_strings()),
        };
        store::insert_api_key(&mut tx, &key, &secret.hash()).await?;
        self.audit(
            &mut tx,
            actor(caller, addr),
            AuditAction::ApiKeyCreated,
            AuditOutcome::Success,
            Some(key.id),
            json!({ "scopes": &key.scopes.0, "name": key.name, "ip_allowlist": &key.ip_allowlist.0 }),
        )
        .await?;
        self.commit(tx).await?;
        Ok((key, secret))
    }

    pub async fn api_keys(
        &self,
        org: OrgId,
        after: Option<ApiKeyId>,
        limit: u32,
    ) -> Result<Vec<ApiKeyRow>> {
        Ok(store::list_api_keys(&self.db, org, after, limit).await?)
    }

    pub async fn revoke_api_key(&self, caller: &Caller, id: ApiKeyId, addr: IpAddr) -> Result<()> {
        caller
            .require_admin()
            .map_err(|_| IdentityError::Forbidden("only owners and admins may revoke API keys"))?;
        let mut tx = self.db.begin().await?;
        if !store::revoke_api_key(&mut tx, caller.org, id, Utc::now()).await? {
            return Err(IdentityError::NotFound("API key"));
        }
        self.audit(
            &mut tx,
            actor(caller, addr),
            AuditAction::ApiKeyRevoked,
            AuditOutcome::Success,
            Some(id),
            json!({}),
        )
        .await?;
        self.commit(tx).await
    }
}

fn parse_scopes(scopes: &[String]) -> Result<Scopes> {
    if scopes.is_empty() {
        return Err(invalid("scopes", "give at least one scope"));
    }
    scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|bad| {
            invalid(
                "scopes",
                format!("{bad}; known: {}", Scope::catalogue().join(", ")),
            )
        })
}

fn check_expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<()> {
    if expires_at.is_some_and(|t| t <= now) {
        return Err(invalid("expires_at", "must be in the future"));
    }
    Ok(())
}
