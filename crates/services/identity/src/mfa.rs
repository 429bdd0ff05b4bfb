//! TOTP enrolment, what every enrolment ends with, recovery codes, and turning MFA off
//! (every factor at once).

use std::net::IpAddr;

use chrono::Utc;
use lanerunner_core::{OrgId, SessionId, UserId};
use serde_json::json;

use crate::domain::{recovery, AuditAction, AuditOutcome, TotpSecret};
use crate::error::{invalid, IdentityError, Result};
use crate::identity::{Actor, Identity, IssuedTokens};
use crate::{sealed, store};

pub struct Enrollment {
    pub secret: String,
    pub otpauth_uri: String,
}

pub struct Confirmed {
    pub recovery_codes: Vec<String>,
    /// Fresh tokens for a caller that was restricted to enrolling (org requires MFA).
    pub tokens: Option<IssuedTokens>,
}

impl Identity {
    /// Starts enrolment: a new secret is kept pending until a code from it is confirmed.
    pub async fn begin_totp(&self, org: OrgId, user_id: UserId) -> Result<Enrollment> {
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_tx(&mut tx, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        if user.mfa_secret.is_some() {
            return Err(IdentityError::MfaState(
                "an authenticator app is already enrolled; disable MFA first to enrol a new one",
            ));
        }
        let secret = TotpSecret::generate();
        user.mfa_pending_secret = Some(
            self.seal_field(&sealed::PENDING_TOTP_SECRET, user_id, &secret.to_base32())
                .await?,
        );
        user.updated_at = Utc::now();
        store::update_user(&mut tx, &user).await?;
        self.commit(tx).await?;
        Ok(Enrollment {
            otpauth_uri: secret.otpauth_uri("LaneRunner", &user.email),
            secret: secret.to_base32(),
        })
    }

    pub async fn confirm_totp(
        &self,
        org: OrgId,
        user_id: UserId,
        code: &str,
        session: Option<SessionId>,
        addr: IpAddr,
    ) -> Result<Confirmed> {
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_tx(&mut tx, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        let pending = user
            .mfa_pending_secret
            .as_deref()
            .ok_or(IdentityError::MfaState(
                "no enrolment in progress: start with POST /v1/me/mfa/totp",
            ))?;
        let pending = self
            .open_field(&sealed::PENDING_TOTP_SECRET, user_id, pending)
            .await?;
        let secret = TotpSecret::from_base32(&pending)
            .map_err(|e| IdentityError::Internal(anyhow::anyhow!("pending secret: {e}")))?;
        let step = secret
            .verify(code, Utc::now().timestamp(), None)
            .map_err(|_| IdentityError::InvalidMfaCode)?;
        user.mfa_secret = user.mfa_pending_secret.take();
        user.mfa_last_step = Some(step);
        self.enrolled(tx, user, "totp", session, addr).await
    }

    /// Finishes enrolling a second factor set on `user`: saves it, issues recovery codes if
    /// it is the first one (a second keeps the codes already given), records it, and
    /// upgrades a session that was only allowed to enrol.
    pub(crate) async fn enrolled(
        &self,
        mut tx: lanerunner_platform::Tx,
        mut user: store::UserRow,
        method: &'static str,
        session: Option<SessionId>,
        addr: IpAddr,
    ) -> Result<Confirmed> {
        let (org, user_id) = (user.org_id, user.id);
        let first = user.mfa_methods().len() == 1;
        user.updated_at = Utc::now();
        store::update_user(&mut tx, &user).await?;
        let codes = if first {
            let codes = recovery::generate();
            let hashes: Vec<String> = codes.iter().map(|c| recovery::hash_code(c)).collect();
            store::replace_recovery_codes(&mut tx, org, user_id, &hashes).await?;
            codes
        } else {
            Vec::new()
        };
        let actor = Actor::member(org, user_id, addr);
        self.audit(
            &mut tx,
            actor,
            AuditAction::MfaEnabled,
            AuditOutcome::Success,
            Some(user_id),
            json!({ "method": method }),
        )
        .await?;
        // A session that was only allowed to enrol is now a full, MFA-verified one.
        let tokens = match session {
            Some(sid) => match store::get_session(&mut tx, org, sid).await? {
                Some(mut s) if s.revoked_at.is_none() => {
                    s.mfa = true;
                    Some(
                        self.issue_tokens(&mut tx, &user, &s, false, Utc::now())
                            .await?,
                    )
                }
                _ => None,
            },
            None => None,
        };
        self.commit(tx).await?;
        Ok(Confirmed {
            recovery_codes: codes,
            tokens,
        })
    }

    /// Turning MFA off (the app and the phone) needs the password and a current code, and
    /// is refused when the organization requires MFA.
    pub async fn disable_mfa(
        &self,
        org: OrgId,
        user_id: UserId,
        password: &str,
        code: &str,
        addr: IpAddr,
    ) -> Result<()> {
        let org_row = store::get_org(&self.db, org)
            .await?
            .ok_or(IdentityError::NotFound("organization"))?;
        if org_row.require_mfa {
            return Err(IdentityError::Forbidden("your organization requires MFA"));
        }
        let user = store::get_user(&self.db, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        if !self
            .verify_password(password, Some(&user.password_hash))
            .await
        {
            return Err(invalid("password", "is not your current password"));
        }
        self.second_factor_attempt(user_id).await?;
        let texted = self.texted_code(&user, code).await?;
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_tx(&mut tx, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        self.check_second_factor(&mut tx, &mut user, code, texted)
            .await?;
        user.mfa_secret = None;
        user.mfa_pending_secret = None;
        user.mfa_last_step = None;
        user.mfa_phone = None;
        user.mfa_pending_phone = None;
        user.mfa_phone_last4 = None;
        user.updated_at = Utc::now();
        store::update_user(&mut tx, &user).await?;
        store::replace_recovery_codes(&mut tx, org, user_id, &[]).await?;
        self.audit(
            &mut tx,
            Actor::member(org, user_id, addr),
            AuditAction::MfaDisabled,
            AuditOutcome::Success,
            Some(user_id),
            json!({}),
        )
        .await?;
        self.commit(tx).await?;
        self.second_factor_passed(user_id).await;
        Ok(())
    }

    /// New recovery codes (the old ones stop working); needs a current second factor.
    pub async fn regenerate_recovery_codes(
        &self,
        org: OrgId,
        user_id: UserId,
        code: &str,
        addr: IpAddr,
    ) -> Result<Vec<String>> {
        self.second_factor_attempt(user_id).await?;
        let texted = self
            .texted_code(&self.member(org, user_id).await?, code)
            .await?;
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_tx(&mut tx, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        self.check_second_factor(&mut tx, &mut user, code, texted)
            .await?;
        let codes = recovery::generate();
        let hashes: Vec<String> = codes.iter().map(|c| recovery::hash_code(c)).collect();
        store::replace_recovery_codes(&mut tx, org, user_id, &hashes).await?;
        self.audit(
            &mut tx,
            Actor::member(org, user_id, addr),
            AuditAction::MfaRecoveryCodesRegenerated,
            AuditOutcome::Success,
            Some(user_id),
            json!({}),
        )
        .await?;
        self.commit(tx).await?;
        self.second_factor_passed(user_id).await;
        Ok(codes)
    }
}
