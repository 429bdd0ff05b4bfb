//! Signing up, signing in (with a second factor when enrolled), refreshing, signing out,
//! resetting and changing passwords, verifying email addresses.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use lanerunner_core::{OrgId, OrgKind, Role, SessionId, UserId};
use serde_json::json;
use uuid::Uuid;

use crate::domain::{
    recovery, AuditAction, AuditOutcome, EmailAddress, McNumber, PasswordPolicy, SecretToken,
    TokenKind, TotpError, TotpSecret, UsdotNumber,
};
use crate::error::{invalid, IdentityError, Result};
use crate::events;
use crate::identity::{Actor, Identity, IssuedTokens};
use crate::store::{self, OrgRow, UserRow};

pub struct SignupInput {
    pub org_name: String,
    pub org_kind: OrgKind,
    pub mc_number: Option<String>,
    pub usdot_number: Option<String>,
    pub name: String,
    pub email: String,
    pub password: String,
}

pub enum LoginOutcome {
    Tokens(IssuedTokens),
    /// The password was right; a one-time code is needed next, with this challenge.
    MfaRequired {
        mfa_token: String,
        expires_in: u64,
    },
}

const MFA_CHALLENGE_TTL: Duration = Duration::from_secs(300);
const MAX_MFA_ATTEMPTS: u64 = 5;
const PURPOSE_RESET: &str = "password_reset";
const PURPOSE_VERIFY: &str = "email_verification";

pub(crate) fn parse_email(email: &str) -> Result<EmailAddress> {
    EmailAddress::parse(email).map_err(|e| invalid("email", e.to_string()))
}

pub(crate) fn check_name(field: &'static str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(field, "must be 1 to 200 characters"));
    }
    // A name is one line of text: control characters mean nothing in it, and U+0000 is
    // refused by PostgreSQL (it would be a 500 there and stored on SQLite).
    if name.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(name.to_owned())
}

impl Identity {
    pub async fn signup(
        &self,
        input: SignupInput,
        addr: IpAddr,
    ) -> Result<(OrgRow, UserRow, IssuedTokens)> {
        let email = parse_email(&input.email)?;
        let org_name = check_name("organization.name", &input.org_name)?;
        let name = check_name("name", &input.name)?;
        PasswordPolicy::check(&input.password, email.as_str())
            .map_err(|e| invalid("password", e.to_string()))?;
        let mc = input
            .mc_number
            .as_deref()
            .map(McNumber::parse)
            .transpose()
            .map_err(|e| invalid("organization.mc_number", e.to_string()))?;
        let usdot = input
            .usdot_number
            .as_deref()
            .map(UsdotNumber::parse)
            .transpose()
            .map_err(|e| invalid("organization.usdot_number", e.to_string()))?;
        if input.org_kind == OrgKind::Carrier && usdot.is_none() {
            return Err(invalid(
                "organization.usdot_number",
                "a carrier must give its USDOT number",
            ));
        }
        if input.org_kind != OrgKind::Carrier && (mc.is_some() || usdot.is_some()) {
            return Err(invalid(
                "organization.kind",
                "only carriers carry MC and USDOT numbers",
            ));
        }
        self.throttle_flow("signup", addr, Some(email.as_str()))
            .await?;
        let password_hash = self.hash_password(&input.password).await?;
        let now = Utc::now();
        let org = OrgRow {
            id: OrgId::new(),
            kind: input.org_kind,
            name: org_name,
            mc_number: mc.map(|m| m.digits().to_owned()),
            usdot_number: usdot.map(|u| u.digits().to_owned()),
            require_mfa: false,
            created_at: now,
            updated_at: now,
        };
        let user = UserRow {
            id: UserId::new(),
            org_id: org.id,
            email: email.as_str().into(),
            name,
            role: Role::Owner,
            active: true,
            password_hash,
            email_verified_at: None,
            mfa_secret: None,
            mfa_pending_secret: None,
            mfa_last_step: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.begin().await?;
        store::insert_org(&mut tx, &org).await?;
        if let Err(e) = store::insert_user(&mut tx, &user).await {
            return Err(if lanerunner_platform::db::is_unique_violation(&e) {
                IdentityError::EmailTaken
            } else {
                e.into()
            });
        }
        let ev = self.event(
            events::ORG_CREATED,
            org.id,
            org.id,
            &events::OrgCreated {
                org_id: org.id,
                kind: org.kind,
                name: &org.name,
            },
        )?;
        self.publish(&mut tx, ev).await?;
        let ev = self.event(
            events::USER_REGISTERED,
            org.id,
            user.id,
            &events::UserRegistered {
                user_id: user.id,
                org_id: org.id,
                email: &user.email,
                role: user.role,
                via: "signup",
            },
        )?;
        self.publish(&mut tx, ev).await?;
        self.request_verification(&mut tx, &user).await?;
        let actor = Actor::member(org.id, user.id, addr);
        self.audit(
            &mut tx,
            actor,
            AuditAction::Signup,
            AuditOutcome::Success,
            Some(user.id),
            json!({ "org_kind": org.kind }),
        )
        .await?;
        let tokens = self
            .open_session(&mut tx, &user, false, addr, false)
            .await?;
        self.commit(tx).await?;
        Ok((org, user, tokens))
    }

    /// Checks the password; a user with MFA gets a challenge instead of tokens.
    pub async fn login(&self, email: &str, password: &str, addr: IpAddr) -> Result<LoginOutcome> {
        let email = EmailAddress::parse(email).map_err(|_| IdentityError::InvalidCredentials)?;
        let auth = &self.config().auth;
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
        if user.mfa_secret.is_some() {
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

    /// Second step of a login: the challenge and a TOTP or recovery code.
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        code: &str,
        addr: IpAddr,
    ) -> Result<IssuedTokens> {
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
        self.second_factor_attempt(user_id).await?;
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_by_id_tx(&mut tx, user_id)
            .await?
            .ok_or(IdentityError::InvalidToken("MFA challenge"))?;
        let actor = Actor::member(user.org_id, user_id, addr);
        match self.check_second_factor(&mut tx, &mut user, code).await {
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

    /// Accepts a TOTP code (not replayed) or an unused recovery code; records its use. Each
    /// use is a compare-and-set that must touch its row: of several requests racing with one
    /// code, exactly one wins and the others fail as replays.
    pub(crate) async fn check_second_factor(
        &self,
        tx: &mut lanerunner_platform::Tx,
        user: &mut UserRow,
        code: &str,
    ) -> Result<&'static str> {
        let secret = user
            .mfa_secret
            .as_deref()
            .ok_or(IdentityError::MfaState("MFA is not enabled for this user"))?;
        let secret = TotpSecret::from_base32(secret)
            .map_err(|e| IdentityError::Internal(anyhow::anyhow!("stored TOTP secret: {e}")))?;
        let now = Utc::now();
        let (org, user_id) = (user.org_id, user.id);
        if recovery::is_well_formed(code) {
            let hashes = store::unused_recovery_codes(tx, org, user_id).await?;
            let idx = recovery::find_match(code, &hashes).ok_or(IdentityError::InvalidMfaCode)?;
            if !store::use_recovery_code(tx, org, user_id, &hashes[idx], now).await? {
                return Err(IdentityError::MfaCodeReplayed);
            }
            return Ok("recovery_code");
        }
        match secret.verify(code, now.timestamp(), user.mfa_last_step) {
            Ok(step) => {
                if !store::advance_mfa_step(tx, org, user_id, step, now).await? {
                    return Err(IdentityError::MfaCodeReplayed);
                }
                user.mfa_last_step = Some(step);
                user.updated_at = now;
                Ok("totp")
            }
            Err(TotpError::Replayed) => Err(IdentityError::MfaCodeReplayed),
            Err(_) => Err(IdentityError::InvalidMfaCode),
        }
    }

    /// Counts one second-factor attempt of `user` (login, disabling MFA, new recovery codes
    /// share the counter) and refuses once the window's cap is reached. The attempt is
    /// counted before the code is checked, so a burst of parallel guesses cannot all pass the
    /// gate; a success clears the count ([`Self::second_factor_passed`]), so only failures
    /// accumulate.
    pub(crate) async fn second_factor_attempt(&self, user: UserId) -> Result<()> {
        let (attempts, left) = self
            .cache
            .incr_in_window(&mfa_attempts_key(user), MFA_CHALLENGE_TTL)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "second factor refused: the throttle cache is unavailable");
                IdentityError::Unavailable("verification is briefly unavailable; try again in a few seconds")
            })?;
        if attempts > MAX_MFA_ATTEMPTS {
            return Err(IdentityError::Throttled(left.as_secs().max(1)));
        }
        Ok(())
    }

    pub(crate) async fn second_factor_passed(&self, user: UserId) {
        let _ = self.cache.delete(&mfa_attempts_key(user)).await;
    }

    /// Rotates a refresh token. Presenting one that was already rotated means it leaked:
    /// the whole session (every token of its family) is revoked.
    pub async fn refresh(&self, refresh_token: &str, addr: IpAddr) -> Result<IssuedTokens> {
        let token = SecretToken::parse(TokenKind::Refresh, refresh_token)
            .map_err(|_| IdentityError::InvalidToken("refresh token"))?;
        let hash = token.hash();
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let row = store::find_refresh_token(&mut tx, &hash)
            .await?
            .ok_or(IdentityError::InvalidToken("refresh token"))?;
        let session = store::get_session(&mut tx, row.org_id, row.session_id)
            .await?
            .ok_or(IdentityError::InvalidToken("refresh token"))?;
        let actor = Actor::member(session.org_id, session.user_id, addr);
        if session.revoked_at.is_some() || row.expires_at <= now {
            return Err(IdentityError::InvalidToken("refresh token"));
        }
        if row.rotated_at.is_some() || !store::rotate_refresh_token(&mut tx, &hash, now).await? {
            store::revoke_session(
                &mut tx,
                session.org_id,
                session.id,
                "refresh_token_reuse",
                now,
            )
            .await?;
            self.audit(
                &mut tx,
                actor,
                AuditAction::RefreshTokenReuse,
                AuditOutcome::SessionRevoked,
                Some(session.id),
                json!({}),
            )
            .await?;
            self.commit(tx).await?;
            self.remember_revoked(&[session.id]).await;
            return Err(IdentityError::RefreshTokenReused);
        }
        let user = store::get_user_tx(&mut tx, session.org_id, session.user_id)
            .await?
            .ok_or(IdentityError::InvalidToken("refresh token"))?;
        if !user.active {
            return Err(IdentityError::InvalidToken("refresh token"));
        }
        let org = store::get_org_tx(&mut tx, user.org_id)
            .await?
            .ok_or(IdentityError::NotFound("organization"))?;
        let pending = org.require_mfa && user.mfa_secret.is_none();
        let tokens = self
            .issue_tokens(&mut tx, &user, &session, pending, now)
            .await?;
        self.commit(tx).await?;
        Ok(tokens)
    }

    pub async fn logout(&self, org: OrgId, session: SessionId, actor: Actor) -> Result<()> {
        let mut tx = self.db.begin().await?;
        store::revoke_session(&mut tx, org, session, "logout", Utc::now()).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::Logout,
            AuditOutcome::Success,
            Some(session),
            json!({}),
        )
        .await?;
        self.commit(tx).await?;
        self.remember_revoked(&[session]).await;
        Ok(())
    }

    /// Always succeeds from the outside, so it cannot be used to probe for accounts.
    pub async fn request_password_reset(&self, email: &str, addr: IpAddr) -> Result<()> {
        let Ok(email) = EmailAddress::parse(email) else {
            return Ok(());
        };
        // Counted whether or not the address has an account, so a 429 tells nothing.
        self.throttle_flow("password_reset", addr, Some(email.as_str()))
            .await?;
        let Some(user) = store::find_user_by_email(&self.db, email.as_str()).await? else {
            return Ok(());
        };
        if !user.active {
            return Ok(());
        }
        let token = SecretToken::generate(TokenKind::PasswordReset);
        let ttl = self.config().auth.password_reset_ttl_minutes;
        let mut tx = self.db.begin().await?;
        store::insert_one_time_token(
            &mut tx,
            user.org_id,
            user.id,
            PURPOSE_RESET,
            &token.hash(),
            Utc::now() + chrono::Duration::minutes(ttl),
        )
        .await?;
        let text = format!(
            "Hello {},\n\nSomeone asked to reset the password of your LaneRunner account. If it was you, open this link within {ttl} minutes:\n\n{}\n\nYour reset token: {}\n\nIf it was not you, ignore this email; your password has not changed.\n",
            user.name,
            self.link("/reset-password", &token),
            token.expose()
        );
        self.send_email(
            &mut tx,
            user.org_id,
            &user.email,
            "Reset your LaneRunner password",
            text,
        )
        .await?;
        self.audit(
            &mut tx,
            Actor::member(user.org_id, user.id, addr),
            AuditAction::PasswordResetRequested,
            AuditOutcome::Success,
            Some(user.id),
            json!({}),
        )
        .await?;
        self.commit(tx).await
    }

    pub async fn confirm_password_reset(
        &self,
        token: &str,
        new_password: &str,
        addr: IpAddr,
    ) -> Result<()> {
        let token = SecretToken::parse(TokenKind::PasswordReset, token)
            .map_err(|_| IdentityError::InvalidToken("password reset token"))?;
        let mut tx = self.db.begin().await?;
        let mut user =
            consume_user_token(&mut tx, &token, PURPOSE_RESET, "password reset token").await?;
        let (org_id, user_id) = (user.org_id, user.id);
        PasswordPolicy::check(new_password, &user.email)
            .map_err(|e| invalid("new_password", e.to_string()))?;
        user.password_hash = self.hash_password(new_password).await?;
        // Whoever could read the reset email controls the mailbox: that proves it.
        user.email_verified_at.get_or_insert(Utc::now());
        user.updated_at = Utc::now();
        store::update_user(&mut tx, &user).await?;
        let revoked = store::revoke_user_sessions(
            &mut tx,
            org_id,
            user_id,
            None,
            "password_reset",
            Utc::now(),
        )
        .await?;
        self.audit(
            &mut tx,
            Actor::member(org_id, user_id, addr),
            AuditAction::PasswordReset,
            AuditOutcome::Success,
            Some(user_id),
            json!({ "sessions_revoked": revoked.len() }),
        )
        .await?;
        self.commit(tx).await?;
        self.remember_revoked(&revoked).await;
        Ok(())
    }

    pub async fn change_password(
        &self,
        org: OrgId,
        user_id: UserId,
        current: &str,
        new_password: &str,
        keep_session: Option<SessionId>,
        addr: IpAddr,
    ) -> Result<()> {
        let user = store::get_user(&self.db, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        if !self
            .verify_password(current, Some(&user.password_hash))
            .await
        {
            self.audit_alone(
                Actor::member(org, user_id, addr),
                AuditAction::PasswordChange,
                AuditOutcome::Failure,
                Some(user_id),
                json!({ "reason": "wrong_password" }),
            )
            .await?;
            return Err(invalid("current_password", "is not your current password"));
        }
        PasswordPolicy::check(new_password, &user.email)
            .map_err(|e| invalid("new_password", e.to_string()))?;
        let hash = self.hash_password(new_password).await?;
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_tx(&mut tx, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        user.password_hash = hash;
        user.updated_at = Utc::now();
        store::update_user(&mut tx, &user).await?;
        // Other sessions end; the one that changed the password goes on.
        let revoked = store::revoke_user_sessions(
            &mut tx,
            org,
            user_id,
            keep_session,
            "password_change",
            Utc::now(),
        )
        .await?;
        self.audit(
            &mut tx,
            Actor::member(org, user_id, addr),
            AuditAction::PasswordChange,
            AuditOutcome::Success,
            Some(user_id),
            json!({ "sessions_revoked": revoked.len() }),
        )
        .await?;
        self.commit(tx).await?;
        self.remember_revoked(&revoked).await;
        Ok(())
    }

    pub(crate) async fn request_verification(
        &self,
        tx: &mut lanerunner_platform::Tx,
        user: &UserRow,
    ) -> Result<()> {
        let token = SecretToken::generate(TokenKind::EmailVerification);
        let ttl = self.config().auth.email_verification_ttl_hours;
        store::insert_one_time_token(
            tx,
            user.org_id,
            user.id,
            PURPOSE_VERIFY,
            &token.hash(),
            Utc::now() + chrono::Duration::hours(ttl),
        )
        .await?;
        let text = format!(
            "Hello {},\n\nPlease confirm your email address for LaneRunner within {ttl} hours:\n\n{}\n\nYour verification token: {}\n",
            user.name,
            self.link("/verify-email", &token),
            token.expose()
        );
        self.send_email(
            tx,
            user.org_id,
            &user.email,
            "Confirm your email address",
            text,
        )
        .await
    }

    pub async fn resend_verification(
        &self,
        org: OrgId,
        user_id: UserId,
        addr: IpAddr,
    ) -> Result<()> {
        let user = store::get_user(&self.db, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        self.throttle_flow("verification_resend", addr, Some(&user.email))
            .await?;
        if user.email_verified_at.is_some() {
            return Err(IdentityError::Conflict(
                "already-verified",
                "this email address is already verified",
            ));
        }
        let mut tx = self.db.begin().await?;
        self.request_verification(&mut tx, &user).await?;
        self.commit(tx).await
    }

    pub async fn verify_email(&self, token: &str, addr: IpAddr) -> Result<()> {
        let token = SecretToken::parse(TokenKind::EmailVerification, token)
            .map_err(|_| IdentityError::InvalidToken("verification token"))?;
        let mut tx = self.db.begin().await?;
        let mut user =
            consume_user_token(&mut tx, &token, PURPOSE_VERIFY, "verification token").await?;
        let (org_id, user_id) = (user.org_id, user.id);
        user.email_verified_at = Some(Utc::now());
        user.updated_at = Utc::now();
        store::update_user(&mut tx, &user).await?;
        self.audit(
            &mut tx,
            Actor::member(org_id, user_id, addr),
            AuditAction::EmailVerified,
            AuditOutcome::Success,
            Some(user_id),
            json!({}),
        )
        .await?;
        self.commit(tx).await
    }
}

/// Spends a live one-time token of `purpose` and returns the user it was issued to.
async fn consume_user_token(
    tx: &mut lanerunner_platform::Tx,
    token: &SecretToken,
    purpose: &str,
    what: &'static str,
) -> Result<UserRow> {
    let user_id = store::consume_one_time_token(tx, &token.hash(), purpose, Utc::now())
        .await?
        .ok_or(IdentityError::InvalidToken(what))?;
    store::get_user_by_id_tx(tx, user_id)
        .await?
        .ok_or(IdentityError::InvalidToken(what))
}

fn mfa_attempts_key(user: UserId) -> String {
    format!("identity:mfa-attempts:{user}")
}

fn challenge_key(hash: &str) -> String {
    format!("identity:mfa-challenge:{hash}")
}
