//! Signing in: the password, then (for a user with MFA) the one-time code against the
//! challenge the first step handed out.

use std::net::IpAddr;
use std::time::Duration;

use lanerunner_core::UserId;
use serde_json::json;
use uuid::Uuid;

use crate::domain::{AuditAction, AuditOutcome, EmailAddress, SecretToken, TokenKind};
use crate::error::{IdentityError, Result};
use crate::identity::{Actor, Identity, IssuedTokens};
use crate::second_factor::MFA_CHALLENGE_TTL;
use crate::store;

pub enum LoginOutcome {
    Tokens(IssuedTokens),
    /// The password was right; a one-time code is needed next, with this challenge.
    MfaRequired {
        mfa_token: String,
        expires_in: u64,
        /// The factors enrolled (`totp`, `sms`).
        methods: Vec<&'static str>,
    },
}

impl Identity {
    /// Checks the password; a user with MFA gets a challenge instead of tokens.
    pub async fn login(&self, email: &str, password: &str, addr: IpAddr) -> Result<LoginOutcome> {
        let email = EmailAddress::parse(email).map_err(|_| IdentityError::InvalidCredentials)?;
        let auth = &self.settings().auth;
        let window = Duration::from_secs(auth.throttle_window_secs);
        let account_key = format!("identity:login-fail:acct:{}", email.as_str());
        let addr_key = format!("identity:login-fail:addr:{addr}");
        for (key, max) in [
            (&account_key, auth.max_failed_logins_per_account),
            (&addr_key, auth.max_failed_logins_per_address),
        ] {
            // Fails closed: without the shared failure counters a password could be
            // guessed at full speed, so logins wait for the cache to come back.
            let (count, left) = self.cache.peek_counter(key).await.map_err(|e| {
                tracing::warn!(error = %e, "login refused: the throttle cache is unavailable");
                IdentityError::Unavailable(
                    "sign-in is briefly unavailable; try again in a few seconds",
                )
            })?;
            if count >= max {
                return Err(IdentityError::Throttled(left.as_secs().max(1)));
            }
        }
        let user = store::find_user_by_email(&self.db, email.as_str()).await?;
        let ok = self
            .verify_password(password, user.as_ref().map(|u| u.password_hash.as_str()))
            .await;
        let user = match (ok, user) {
            (true, Some(u)) if u.active => u,
            (_, user) => {
                for key in [&account_key, &addr_key] {
                    let _ = self.cache.incr_in_window(key, window).await;
                }
                let actor = Actor {
                    org: user.as_ref().map(|u| u.org_id),
                    id: user.as_ref().map(|u| u.id.into()),
                    addr,
                };
                let reason = match &user {
                    None => "unknown_email",
                    Some(u) if !u.active => "deactivated",
                    Some(_) => "wrong_password",
                };
                self.audit_alone(
                    actor,
                    AuditAction::Login,
                    AuditOutcome::Failure,
                    actor.id,
                    json!({ "reason": reason }),
                )
                .await?;
                return Err(IdentityError::InvalidCredentials);
            }
        };
        let _ = self.cache.delete(&account_key).await;
        if user.mfa_enabled() {
            let challenge = SecretToken::generate(TokenKind::Refresh);
            self.cache
                .set(
                    &challenge_key(&challenge.hash()),
                    user.id.0.as_bytes(),
                    MFA_CHALLENGE_TTL,
                )
                .await
                .map_err(|e| IdentityError::Internal(e.into()))?;
            return Ok(LoginOutcome::MfaRequired {
                mfa_token: challenge.expose().to_owned(),
                expires_in: MFA_CHALLENGE_TTL.as_secs(),
                methods: user.mfa_methods(),
            });
        }
        let org = store::get_org(&self.db, user.org_id)
            .await?
            .ok_or(IdentityError::NotFound("organization"))?;
        let mut tx = self.db.begin().await?;
        let actor = Actor::member(user.org_id, user.id, addr);
        self.audit(
            &mut tx,
            actor,
            AuditAction::Login,
            AuditOutcome::Success,
            Some(user.id),
            json!({ "mfa": false }),
        )
        .await?;
        let tokens = self
            .open_session(&mut tx, &user, false, addr, org.require_mfa)
            .await?;
        self.commit(tx).await?;
        Ok(LoginOutcome::Tokens(tokens))
    }

    /// Second step of a login: the challenge and a TOTP code, a code texted to the
    /// enrolled phone (`POST /v1/auth/login/mfa/sms` sends one), or a recovery code.
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        code: &str,
        addr: IpAddr,
    ) -> Result<IssuedTokens> {
        let (key, user_id) = self.challenged_user(mfa_token).await?;
        self.second_factor_attempt(user_id).await?;
        let before = store::get_user_by_id(&self.db, user_id)
            .await?
            .ok_or(IdentityError::InvalidToken("MFA challenge"))?;
        let texted = self.texted_code(&before, code).await?;
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_by_id_tx(&mut tx, user_id)
            .await?
            .ok_or(IdentityError::InvalidToken("MFA challenge"))?;
        let actor = Actor::member(user.org_id, user_id, addr);
        match self
            .check_second_factor(&mut tx, &mut user, code, texted)
            .await
        {
            Ok(method) => {
                self.audit(
                    &mut tx,
                    actor,
                    AuditAction::Login,
                    AuditOutcome::Success,
                    Some(user_id),
                    json!({ "mfa": true, "method": method }),
                )
                .await?;
                let tokens = self.open_session(&mut tx, &user, true, addr, false).await?;
                self.commit(tx).await?;
                let _ = self.cache.delete(&key).await;
                self.second_factor_passed(user_id).await;
                Ok(tokens)
            }
            Err(e) => {
                tx.rollback().await?;
                self.audit_alone(
                    actor,
                    AuditAction::LoginMfa,
                    AuditOutcome::Failure,
                    Some(user_id),
                    json!({ "reason": e.to_string() }),
                )
                .await?;
                Err(e)
            }
        }
    }
}

impl Identity {
    /// The user a live sign-in challenge was handed to, and the challenge's cache key.
    pub(crate) async fn challenged_user(&self, mfa_token: &str) -> Result<(String, UserId)> {
        let challenge = SecretToken::parse(TokenKind::Refresh, mfa_token)
            .map_err(|_| IdentityError::InvalidToken("MFA challenge"))?;
        let key = challenge_key(&challenge.hash());
        let user_id = self
            .cache
            .get(&key)
            .await
            .map_err(|e| IdentityError::Internal(e.into()))?
            .and_then(|b| Uuid::from_slice(&b).ok())
            .map(UserId)
            .ok_or(IdentityError::InvalidToken("MFA challenge"))?;
        Ok((key, user_id))
    }
}

fn challenge_key(hash: &str) -> String {
    format!("identity:mfa-challenge:{hash}")
}
