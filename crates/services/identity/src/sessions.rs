//! Living sessions: rotating refresh tokens (and revoking a session whose token is
//! replayed), signing out.

use std::net::IpAddr;

use chrono::Utc;
use lanerunner_core::{OrgId, SessionId};
use serde_json::json;

use crate::domain::{AuditAction, AuditOutcome, SecretToken, TokenKind};
use crate::error::{IdentityError, Result};
use crate::identity::{Actor, Identity, IssuedTokens};
use crate::store;

impl Identity {
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
        let pending = org.require_mfa && !user.mfa_enabled();
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
}
