//! Passwords: resetting a forgotten one by email, changing one while signed in.

use std::net::IpAddr;

use chrono::Utc;
use lanerunner_core::{OrgId, SessionId, UserId};
use serde_json::json;

use crate::domain::{
    AuditAction, AuditOutcome, EmailAddress, PasswordPolicy, SecretToken, TokenKind,
};
use crate::error::{invalid, IdentityError, Result};
use crate::identity::{Actor, Identity};
use crate::one_time_tokens::{consume_user_token, PURPOSE_RESET};
use crate::store;

impl Identity {
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
        let ttl = self.settings().auth.password_reset_ttl_minutes;
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
            None,
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
}
