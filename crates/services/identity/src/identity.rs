//! The identity service's state and the helpers its flows share: issuing tokens, writing
//! audit records, requesting emails, throttling.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lanerunner_core::{AuditId, EventEnvelope, OrgId, SessionId, UserId};
use lanerunner_platform::cache::Cache;
use lanerunner_platform::config::AuthConfig;
use lanerunner_platform::mail::{email_requested, EmailMessage};
use lanerunner_platform::outbox;
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::{Db, Tx};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{
    AccessClaims, AuditAction, AuditOutcome, HashCost, PasswordHasher, SecretToken, TokenKind,
};
use crate::error::{IdentityError, Result};
use crate::events;
use crate::keyring::Keyring;
use crate::phone_codes::PhoneCodes;
use crate::store::{self, AuditRow, SessionRow, UserRow};
use lanerunner_platform::sealing::SealedField;

pub struct Identity {
    pub(crate) db: Db,
    pub(crate) cache: Arc<dyn Cache>,
    pub(crate) ctx: ServiceContext,
    pub(crate) settings: IdentitySettings,
    pub(crate) hasher: PasswordHasher,
    pub(crate) keyring: Keyring,
    pub(crate) phone_codes: Arc<dyn PhoneCodes>,
    /// Wakes the audit chainer (crate::audit_trail::chainer) when a transaction commits:
    /// its audit records are waiting for their places.
    pub(crate) chaining: Arc<tokio::sync::Notify>,
    /// Where this process's search for records waiting for their places begins.
    pub(crate) chain_horizon: Arc<crate::store::ChainHorizon>,
}

/// Tokens handed to a client after login, refresh, signup or accepting an invitation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedTokens {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Opaque; exchange at `POST /v1/auth/refresh`. Rotates on every use.
    pub refresh_token: String,
    /// True when the organization requires MFA and the user must enrol before anything
    /// else: the access token is good only for `/v1/me/mfa/*` and `/v1/me`.
    pub mfa_enrollment_required: bool,
}

/// Who did something and from where, for audit records.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub org: Option<OrgId>,
    /// A user or an API key.
    pub id: Option<Uuid>,
    pub addr: IpAddr,
}

impl Actor {
    /// A member acting for their own organization.
    pub fn member(org: OrgId, user: UserId, addr: IpAddr) -> Self {
        Self {
            org: Some(org),
            id: Some(user.as_uuid()),
            addr,
        }
    }

    /// An operator at the command line (`lanerunner org plan`): no member acted and no
    /// request came in, so the record carries the unspecified address.
    pub fn operator(org: OrgId) -> Self {
        Self {
            org: Some(org),
            ..Self::lanerunner()
        }
    }

    /// An operator's work on LaneRunner itself (`lanerunner operator`), in the
    /// deployment's own chain (no organization's).
    pub fn lanerunner() -> Self {
        Self {
            org: None,
            id: None,
            addr: IpAddr::from([0, 0, 0, 0]),
        }
    }
}

/// The identity service's settings: `auth.*`, and the deployment's public URL for the links
/// it emails.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    pub auth: AuthConfig,
    pub public_url: String,
}

impl Identity {
    pub async fn open(
        ctx: ServiceContext,
        settings: IdentitySettings,
        phone_codes: Arc<dyn PhoneCodes>,
    ) -> anyhow::Result<Self> {
        let auth = &settings.auth;
        let hasher = PasswordHasher::new(HashCost {
            memory_kib: auth.argon2_memory_kib,
            iterations: auth.argon2_iterations,
            parallelism: 1,
        })?;
        let keyring = Keyring::open(
            ctx.db.clone(),
            ctx.sealer.clone(),
            auth.issuer.clone(),
            auth.audience.clone(),
            auth.signing_key_rotation_days,
            auth.access_token_ttl_secs,
        )
        .await?;
        Ok(Self {
            db: ctx.db.clone(),
            cache: ctx.cache.clone(),
            hasher,
            keyring,
            ctx,
            settings,
            phone_codes,
            chaining: Arc::default(),
            chain_horizon: Arc::default(),
        })
    }

    /// `plaintext` sealed as `field` of `user` (see [`crate::sealed`]). Sealing reads no
    /// store, so it is safe inside a transaction.
    pub(crate) async fn seal_field(
        &self,
        field: &SealedField,
        user: UserId,
        plaintext: &str,
    ) -> Result<String> {
        self.ctx
            .sealer
            .seal(field, &user.as_uuid().to_string(), plaintext)
            .await
            .map_err(|e| IdentityError::Internal(e.into()))
    }

    /// The plaintext of `field` of `user`, as stored.
    pub(crate) async fn open_field(
        &self,
        field: &SealedField,
        user: UserId,
        stored: &str,
    ) -> Result<String> {
        self.ctx
            .sealer
            .open(field, &user.as_uuid().to_string(), stored)
            .await
            .map_err(|e| {
                tracing::error!(user_id = %user, field = %field.name(), error = %e, "a sealed field does not open");
                IdentityError::Internal(e.into())
            })
    }

    pub(crate) fn settings(&self) -> &IdentitySettings {
        &self.settings
    }

    /// Commits and wakes the outbox relay.
    pub(crate) async fn commit(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.ctx.outbox.committed();
        self.chaining.notify_one();
        Ok(())
    }

    pub(crate) async fn publish(&self, tx: &mut Tx, event: EventEnvelope) -> Result<()> {
        outbox::enqueue(tx, &event).await?;
        Ok(())
    }

    pub(crate) fn event<P: Serialize>(
        &self,
        kind: lanerunner_core::EventType,
        org: OrgId,
        aggregate: impl Into<Uuid>,
        payload: &P,
    ) -> Result<EventEnvelope> {
        EventEnvelope::new(kind, Some(org), aggregate.into(), payload)
            .map_err(|e| IdentityError::Internal(e.into()))
    }

    /// Records a security-relevant action and emits it as an event, in `tx`.
    pub(crate) async fn audit(
        &self,
        tx: &mut Tx,
        actor: Actor,
        action: AuditAction,
        outcome: AuditOutcome,
        target: Option<impl Into<Uuid>>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let mut row = AuditRow {
            id: AuditId::new(),
            org_id: actor.org,
            actor_id: actor.id,
            action,
            outcome,
            target_id: target.map(Into::into),
            client_addr: actor.addr.to_string(),
            addr_salt: None,
            addr_digest: None,
            detail: Json(detail),
            occurred_at: Utc::now(),
            chain_seq: None,
            prev_hash: None,
            hash: None,
        };
        store::insert_audit(tx, &mut row).await?;
        let event = EventEnvelope::new(events::AUDIT_RECORDED, actor.org, row.id.into(), &row)
            .map_err(|e| IdentityError::Internal(e.into()))?;
        self.publish(tx, event).await
    }

    /// Records an action that changes nothing else (a failed login), in its own transaction.
    pub(crate) async fn audit_alone(
        &self,
        actor: Actor,
        action: AuditAction,
        outcome: AuditOutcome,
        target: Option<impl Into<Uuid>>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        self.audit(&mut tx, actor, action, outcome, target, detail)
            .await?;
        self.commit(tx).await
    }

    /// Puts an email in the outbox, sent once the transaction commits. `on_behalf_of`: the
    /// organization's name when the mail is its own (an invitation), shown as the sender.
    pub(crate) async fn send_email(
        &self,
        tx: &mut Tx,
        org: OrgId,
        to: &str,
        subject: &str,
        text: String,
        on_behalf_of: Option<&str>,
    ) -> Result<()> {
        let mut message = EmailMessage::new(to, subject, text);
        message.sender_name = on_behalf_of.map(str::to_owned);
        self.publish(tx, email_requested(Some(org), &message)).await
    }

    /// A link to the console's page for `path` (`/accept-invitation`) carrying `token`. The
    /// token is in the fragment (`/#/accept-invitation?token=…`), which browsers never send
    /// to a server, so it stays out of access logs and referrers.
    pub(crate) fn link(&self, path: &str, token: &SecretToken) -> String {
        format!(
            "{}/#{path}?token={}",
            self.settings().public_url.trim_end_matches('/'),
            token.expose()
        )
    }

    /// Argon2 is deliberately slow: keep it off the async workers.
    pub(crate) async fn hash_password(&self, password: &str) -> Result<String> {
        let hasher = self.hasher.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(|e| IdentityError::Internal(e.into()))?
            .map_err(|e| IdentityError::Internal(anyhow::anyhow!("{e}")))
    }

    /// Verifies against `phc`, or burns the same time against a dummy hash when there is no
    /// user, so response time does not reveal which emails have accounts.
    pub(crate) async fn verify_password(&self, password: &str, phc: Option<&str>) -> bool {
        let hasher = self.hasher.clone();
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        tokio::task::spawn_blocking(move || match phc {
            Some(phc) => hasher.verify(&password, &phc),
            None => {
                hasher.verify_dummy(&password);
                false
            }
        })
        .await
        .unwrap_or(false)
    }

    /// Opens a session for `user` and issues its first token pair.
    pub(crate) async fn open_session(
        &self,
        tx: &mut Tx,
        user: &UserRow,
        mfa: bool,
        addr: IpAddr,
        enrollment_pending: bool,
    ) -> Result<IssuedTokens> {
        let now = Utc::now();
        let session = SessionRow {
            id: SessionId::new(),
            user_id: user.id,
            org_id: user.org_id,
            mfa,
            client_addr: addr.to_string(),
            created_at: now,
            revoked_at: None,
        };
        store::insert_session(tx, &session).await?;
        self.issue_tokens(tx, user, &session, enrollment_pending, now)
            .await
    }

    /// A new access token and a new refresh token in `session`'s family.
    pub(crate) async fn issue_tokens(
        &self,
        tx: &mut Tx,
        user: &UserRow,
        session: &SessionRow,
        enrollment_pending: bool,
        now: DateTime<Utc>,
    ) -> Result<IssuedTokens> {
        let refresh = SecretToken::generate(TokenKind::Refresh);
        let refresh_expires =
            now + chrono::Duration::days(self.settings().auth.refresh_token_ttl_days);
        store::insert_refresh_token(
            tx,
            session.org_id,
            session.id,
            &refresh.hash(),
            now,
            refresh_expires,
        )
        .await?;
        let ttl = self.settings().auth.access_token_ttl_secs;
        let org = store::get_org_tx(tx, user.org_id)
            .await?
            .ok_or(IdentityError::NotFound("organization"))?;
        let claims = AccessClaims {
            sub: user.id.into(),
            org: user.org_id.into(),
            role: user.role.as_str().into(),
            org_kind: org.kind.as_str().into(),
            sid: Some(session.id.into()),
            mfa: session.mfa,
            mfa_enrollment_pending: enrollment_pending,
            iat: now.timestamp(),
            exp: now.timestamp() + ttl,
            iss: self.keyring.issuer().into(),
            aud: self.keyring.audience().into(),
            jti: Uuid::now_v7(),
        };
        let access_token = self.keyring.sign(&claims).await?;
        Ok(IssuedTokens {
            access_token,
            token_type: "Bearer",
            expires_in: ttl,
            refresh_token: refresh.expose().to_owned(),
            mfa_enrollment_required: enrollment_pending,
        })
    }

    /// Counts one start of an unauthenticated account flow (`flow`: signup, password reset,
    /// ...) from `addr` and for `email` (or a user id), and refuses past the configured
    /// limits. Each is a mail sent or a password hashed: the limit keeps anyone from turning
    /// them into a mail cannon or a CPU lever. A cache outage lets the flow through (logged):
    /// nothing secret is guessed here, and refusing every signup would be the outage.
    pub(crate) async fn throttle_flow(
        &self,
        flow: &str,
        addr: IpAddr,
        email: Option<&str>,
    ) -> Result<()> {
        let auth = &self.settings().auth;
        let window = Duration::from_secs(auth.account_flow_window_secs);
        let mut limits = vec![(
            format!("identity:flow:{flow}:addr:{addr}"),
            auth.max_account_flows_per_address,
        )];
        if let Some(email) = email {
            limits.push((
                format!("identity:flow:{flow}:email:{}", email.to_lowercase()),
                auth.max_account_flows_per_email,
            ));
        }
        for (key, max) in limits {
            match self.cache.incr_in_window(&key, window).await {
                Ok((count, left)) if count > max => {
                    metrics::counter!("identity_flow_throttled_total", "flow" => flow.to_owned())
                        .increment(1);
                    return Err(IdentityError::Throttled(left.as_secs().max(1)));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(flow, error = %e, "account flow not throttled: the cache is unavailable");
                }
            }
        }
        Ok(())
    }

    /// Access tokens are stateless, so a revoked session is remembered in the cache for
    /// as long as any of its access tokens can still be in date.
    pub(crate) async fn remember_revoked(&self, sessions: &[SessionId]) {
        let ttl = Duration::from_secs(self.settings().auth.access_token_ttl_secs as u64 + 60);
        for sid in sessions {
            if let Err(e) = self.cache.set(&revoked_key(*sid), b"1", ttl).await {
                tracing::warn!(session = %sid, error = %e, "could not cache session revocation");
            }
        }
    }

    pub(crate) async fn is_revoked(&self, sid: SessionId) -> bool {
        // A cache outage fails closed for nothing here: the store still says who is revoked
        // at the next refresh, and access tokens are short-lived.
        matches!(self.cache.get(&revoked_key(sid)).await, Ok(Some(_)))
    }
}

fn revoked_key(sid: SessionId) -> String {
    format!("identity:session-revoked:{sid}")
}
