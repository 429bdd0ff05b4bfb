//! API keys for server-to-server use: created by admins with explicit scopes, shown once,
//! stored hashed, revocable, with their last use recorded.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use lanerunner_core::Role;
use lanerunner_platform::http::Caller;
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{SecretToken, TokenKind};
use crate::error::{invalid, IdentityError, Result};
use crate::identity::Identity;
use crate::members::actor;
use crate::store::{self, ApiKeyRow};

/// Scopes a key may carry: `<service>:<access>`, or `<service>:*`. Services added later
/// extend this list.
pub const KNOWN_SCOPES: &[&str] = &[
    "identity:read",
    "identity:write",
    "identity:*",
    "loads:read",
    "loads:write",
    "loads:*",
];

impl Identity {
    pub async fn create_api_key(
        &self,
        caller: &Caller,
        name: &str,
        scopes: Vec<String>,
        expires_at: Option<DateTime<Utc>>,
        addr: IpAddr,
    ) -> Result<(ApiKeyRow, SecretToken)> {
        caller
            .require_admin()
            .map_err(|_| IdentityError::Forbidden("only owners and admins may create API keys"))?;
        let name = crate::auth::check_name("name", name)?;
        if scopes.is_empty() {
            return Err(invalid("scopes", "give at least one scope"));
        }
        if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return Err(invalid(
                "scopes",
                format!("unknown scope {bad:?}; known: {}", KNOWN_SCOPES.join(", ")),
            ));
        }
        if expires_at.is_some_and(|t| t <= Utc::now()) {
            return Err(invalid("expires_at", "must be in the future"));
        }
        let secret = SecretToken::generate(TokenKind::ApiKey);
        let key = ApiKeyRow {
            id: Uuid::now_v7(),
            org_id: caller.org.0,
            name,
            prefix: secret.prefix().unwrap_or_default().to_owned(),
            scopes: Json(scopes),
            // A key acts with at most admin rights, never as an owner.
            role: Role::Admin.as_str().into(),
            created_by: caller.actor_id(),
            created_at: Utc::now(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.db.begin().await?;
        store::insert_api_key(&mut tx, &key, &secret.hash()).await?;
        self.audit(
            &mut tx,
            actor(caller, addr),
            "api_key_created",
            "success",
            Some(key.id),
            json!({ "scopes": key.scopes.0, "name": key.name }),
        )
        .await?;
        self.commit(tx).await?;
        Ok((key, secret))
    }

    pub async fn api_keys(
        &self,
        org: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ApiKeyRow>> {
        Ok(store::list_api_keys(&self.db, org, after, limit).await?)
    }

    pub async fn revoke_api_key(&self, caller: &Caller, id: Uuid, addr: IpAddr) -> Result<()> {
        caller
            .require_admin()
            .map_err(|_| IdentityError::Forbidden("only owners and admins may revoke API keys"))?;
        let mut tx = self.db.begin().await?;
        if !store::revoke_api_key(&mut tx, caller.org.0, id, Utc::now()).await? {
            return Err(IdentityError::NotFound("API key"));
        }
        self.audit(
            &mut tx,
            actor(caller, addr),
            "api_key_revoked",
            "success",
            Some(id),
            json!({}),
        )
        .await?;
        self.commit(tx).await
    }
}
