//! Verifying email addresses: sending the link, resending it, accepting the token.

use std::net::IpAddr;

use chrono::Utc;
use lanerunner_core::{OrgId, UserId};
use serde_json::json;

use crate::domain::{AuditAction, AuditOutcome, SecretToken, TokenKind};
use crate::error::{IdentityError, Result};
use crate::identity::{Actor, Identity};
use crate::one_time_tokens::{consume_user_token, PURPOSE_VERIFY};
use crate::store::{self, UserRow};

impl Identity {
    pub(crate) async fn request_verification(
        &self,
        tx: &mut lanerunner_platform::Tx,
        user: &UserRow,
    ) -> Result<()> {
        let token = SecretToken::generate(TokenKind::EmailVerification);
        let ttl = self.settings().auth.email_verification_ttl_hours;
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
            None,
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
