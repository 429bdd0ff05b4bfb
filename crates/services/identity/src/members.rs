//! The organization and its members: settings, roles, deactivation, invitations.

use std::net::IpAddr;

use chrono::Utc;
use lanerunner_core::{InvitationId, OrgId, OrgKind, Role, UserId};
use lanerunner_platform::http::Caller;
use serde_json::json;

use crate::domain::consent::Accepted;
use crate::domain::{
    AuditAction, AuditOutcome, McNumber, PasswordPolicy, SecretToken, TokenKind, UsdotNumber,
};
use crate::error::{both, invalid, IdentityError, Result, Violations};
use crate::events;
use crate::fields::{check_name, parse_email};
use crate::identity::{Actor, Identity, IssuedTokens};
use crate::store::{self, InvitationRow, OrgRow, UserRow};

#[derive(Default)]
pub struct OrgChanges {
    pub name: Option<String>,
    pub mc_number: Option<String>,
    pub usdot_number: Option<String>,
    pub require_mfa: Option<bool>,
    pub ip_allowlist: Option<Vec<String>>,
}

pub(crate) fn actor(caller: &Caller, addr: IpAddr) -> Actor {
    Actor {
        org: Some(caller.org),
        id: Some(caller.actor_id()),
        addr,
    }
}

fn parse_role(text: &str) -> Result<Role> {
    text.parse::<Role>()
        .map_err(|e| invalid("role", e.to_string()))
}

impl Identity {
    pub async fn organization(&self, org: OrgId) -> Result<OrgRow> {
        store::get_org(&self.db, org)
            .await?
            .ok_or(IdentityError::NotFound("organization"))
    }

    pub async fn update_organization(
        &self,
        caller: &Caller,
        changes: OrgChanges,
        addr: IpAddr,
    ) -> Result<OrgRow> {
        caller.require_admin().map_err(|_| {
            IdentityError::Forbidden("only owners and admins may change organization settings")
        })?;
        let mut org = self.organization(caller.org).await?;
        let before = org.clone();
        let mut v = Violations::default();
        if let Some(name) = changes.name {
            if let Some(name) = v.take(check_name("name", &name)) {
                org.name = name;
            }
        }
        let is_carrier = org.kind == OrgKind::Carrier;
        if let Some(mc) = changes.mc_number {
            if !is_carrier {
                v.add("mc_number", "only carriers carry an MC number");
            } else {
                match McNumber::parse(&mc) {
                    Ok(mc) => org.mc_number = Some(mc.digits().to_owned()),
                    Err(e) => v.add("mc_number", e.to_string()),
                }
            }
        }
        if let Some(dot) = changes.usdot_number {
            if !is_carrier {
                v.add("usdot_number", "only carriers carry a USDOT number");
            } else {
                match UsdotNumber::parse(&dot) {
                    Ok(dot) => org.usdot_number = Some(dot.digits().to_owned()),
                    Err(e) => v.add("usdot_number", e.to_string()),
                }
            }
        }
        if let Some(entries) = changes.ip_allowlist {
            match crate::domain::IpAllowlist::parse(&entries) {
                // The change must not lock out the very request making it.
                Ok(list) if !list.allows(addr) => v.add(
                    "ip_allowlist",
                    format!("would shut out this request's own address {addr}; include it"),
                ),
                Ok(list) => org.ip_allowlist = sqlx::types::Json(list.to_strings()),
                Err(e) => v.add("ip_allowlist", e),
            }
        }
        v.finish()?;
        if let Some(require) = changes.require_mfa {
            org.require_mfa = require;
        }
        org.updated_at = Utc::now();
        let mut tx = self.db.begin().await?;
        store::update_org(&mut tx, &org).await?;
        if before.require_mfa != org.require_mfa {
            self.audit(
                &mut tx,
                actor(caller, addr),
                AuditAction::OrgRequireMfaChanged,
                AuditOutcome::Success,
                Some(org.id),
                json!({ "require_mfa": org.require_mfa }),
            )
            .await?;
        }
        if before.ip_allowlist != org.ip_allowlist {
            self.audit(
                &mut tx,
                actor(caller, addr),
                AuditAction::OrgIpAllowlistChanged,
                AuditOutcome::Success,
                Some(org.id),
                json!({ "before": before.ip_allowlist.0, "after": org.ip_allowlist.0 }),
            )
            .await?;
        }
        self.commit(tx).await?;
        self.forget_org_gate(org.id).await;
        Ok(org)
    }

    pub async fn members(
        &self,
        org: OrgId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserRow>> {
        Ok(store::list_users(&self.db, org, after, limit).await?)
    }

    pub async fn member(&self, org: OrgId, user: UserId) -> Result<UserRow> {
        store::get_user(&self.db, org, user)
            .await?
            .ok_or(IdentityError::NotFound("user"))
    }

    /// Changes a member's role and/or active state, keeping at least one active owner.
    pub async fn update_member(
        &self,
        caller: &Caller,
        user_id: UserId,
        role: Option<&str>,
        active: Option<bool>,
        addr: IpAddr,
    ) -> Result<UserRow> {
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_tx(&mut tx, caller.org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        if !caller.role.can_manage_users() {
            return Err(IdentityError::Forbidden(
                "only owners and admins may change members",
            ));
        }
        let current = user.role;
        // Admins cannot touch owners: that would let an admin demote or lock out the owner.
        if current == Role::Owner && caller.role != Role::Owner {
            return Err(IdentityError::Forbidden(
                "only an owner may change an owner",
            ));
        }
        let was_owner_active = current == Role::Owner && user.active;
        let mut revoked = Vec::new();
        if let Some(role) = role {
            let target = parse_role(role)?;
            if !caller.role.can_assign(target) {
                return Err(IdentityError::Forbidden(
                    "your role may not assign that role",
                ));
            }
            if target != current {
                user.role = target;
                // Access tokens carry the role: end the member's sessions so the change
                // holds at once, not when their token expires. (Their API keys follow by
                // themselves: a key's role is capped by its owner's current one.)
                revoked = store::revoke_user_sessions(
                    &mut tx,
                    caller.org,
                    user_id,
                    None,
                    "role_changed",
                    Utc::now(),
                )
                .await?;
                let ev = self.event(
                    events::USER_ROLE_CHANGED,
                    caller.org,
                    user.id,
                    &events::UserRoleChanged {
                        user_id: user.id,
                        from: current,
                        to: target,
                        changed_by: caller.actor_id(),
                    },
                )?;
                self.publish(&mut tx, ev).await?;
                self.audit(
                    &mut tx,
                    actor(caller, addr),
                    AuditAction::RoleChanged,
                    AuditOutcome::Success,
                    Some(user.id),
                    json!({ "from": current, "to": target }),
                )
                .await?;
            }
        }
        if let Some(active) = active {
            if active != user.active {
                if !active && Some(user_id) == caller.user_id() {
                    return Err(IdentityError::Forbidden("you cannot deactivate yourself"));
                }
                user.active = active;
                if !active {
                    revoked.extend(
                        store::revoke_user_sessions(
                            &mut tx,
                            caller.org,
                            user_id,
                            None,
                            "deactivated",
                            Utc::now(),
                        )
                        .await?,
                    );
                    // Keys die with their owner's membership (and do not come back with
                    // a reactivation: an admin mints new ones deliberately).
                    let keys =
                        store::revoke_api_keys_of(&mut tx, caller.org, user_id, Utc::now()).await?;
                    if !keys.is_empty() {
                        self.audit(
                            &mut tx,
                            actor(caller, addr),
                            AuditAction::ApiKeysRevokedWithOwner,
                            AuditOutcome::Success,
                            Some(user.id),
                            json!({ "api_keys": keys }),
                        )
                        .await?;
                    }
                    let ev = self.event(
                        events::USER_DEACTIVATED,
                        caller.org,
                        user.id,
                        &events::UserDeactivated {
                            user_id: user.id,
                            deactivated_by: caller.actor_id(),
                        },
                    )?;
                    self.publish(&mut tx, ev).await?;
                } else {
                    let ev = self.event(
                        events::USER_REACTIVATED,
                        caller.org,
                        user.id,
                        &events::UserReactivated {
                            user_id: user.id,
                            reactivated_by: caller.actor_id(),
                        },
                    )?;
                    self.publish(&mut tx, ev).await?;
                }
                let action = if active {
                    AuditAction::UserReactivated
                } else {
                    AuditAction::UserDeactivated
                };
                self.audit(
                    &mut tx,
                    actor(caller, addr),
                    action,
                    AuditOutcome::Success,
                    Some(user.id),
                    json!({}),
                )
                .await?;
            }
        }
        user.updated_at = Utc::now();
        store::update_user(&mut tx, &user).await?;
        let still_owner = user.role == Role::Owner && user.active;
        if was_owner_active
            && !still_owner
            && store::count_active_owners(&mut tx, caller.org).await? == 0
        {
            return Err(IdentityError::Conflict(
                "last-owner",
                "an organization must keep at least one active owner",
            ));
        }
        self.commit(tx).await?;
        self.remember_revoked(&revoked).await;
        Ok(user)
    }

    pub async fn invite(
        &self,
        caller: &Caller,
        email: &str,
        role: &str,
        addr: IpAddr,
    ) -> Result<InvitationRow> {
        if !caller.role.can_manage_users() {
            return Err(IdentityError::Forbidden(
                "only owners and admins may invite",
            ));
        }
        let (email, role) = both(parse_email(email), parse_role(role))?;
        if !caller.role.can_assign(role) {
            return Err(IdentityError::Forbidden(
                "your role may not assign that role",
            ));
        }
        if store::find_user_by_email(&self.db, email.as_str())
            .await?
            .is_some()
        {
            return Err(IdentityError::EmailTaken);
        }
        let org = self.organization(caller.org).await?;
        let token = SecretToken::generate(TokenKind::Invitation);
        let now = Utc::now();
        let ttl = self.settings().auth.invitation_ttl_hours;
        let inv = InvitationRow {
            id: InvitationId::new(),
            org_id: org.id,
            email: email.as_str().into(),
            role,
            invited_by: caller.actor_id(),
            created_at: now,
            expires_at: now + chrono::Duration::hours(ttl),
            accepted_at: None,
            revoked_at: None,
        };
        let mut tx = self.db.begin().await?;
        store::insert_invitation(&mut tx, &inv, &token.hash()).await?;
        let text = format!(
            "Hello,\n\nYou have been invited to join {} on LaneRunner as {}. Accept within {ttl} hours:\n\n{}\n\nYour invitation token: {}\n",
            org.name,
            role,
            self.link("/accept-invitation", &token),
            token.expose()
        );
        self.send_email(
            &mut tx,
            caller.org,
            &inv.email,
            &format!("Join {} on LaneRunner", org.name),
            text,
            Some(&org.name),
        )
        .await?;
        self.audit(
            &mut tx,
            actor(caller, addr),
            AuditAction::InvitationCreated,
            AuditOutcome::Success,
            Some(inv.id),
            json!({ "role": role }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(inv)
    }

    pub async fn invitations(
        &self,
        org: OrgId,
        after: Option<InvitationId>,
        limit: u32,
    ) -> Result<Vec<InvitationRow>> {
        Ok(store::list_invitations(&self.db, org, after, limit).await?)
    }

    pub async fn revoke_invitation(
        &self,
        caller: &Caller,
        id: InvitationId,
        addr: IpAddr,
    ) -> Result<()> {
        if !caller.role.can_manage_users() {
            return Err(IdentityError::Forbidden(
                "only owners and admins may revoke invitations",
            ));
        }
        let mut tx = self.db.begin().await?;
        if !store::revoke_invitation(&mut tx, caller.org, id, Utc::now()).await? {
            return Err(IdentityError::NotFound("pending invitation"));
        }
        self.audit(
            &mut tx,
            actor(caller, addr),
            AuditAction::InvitationRevoked,
            AuditOutcome::Success,
            Some(id),
            json!({}),
        )
        .await?;
        self.commit(tx).await
    }

    /// The invited person sets their name and password and joins; the email is verified
    /// (the token arrived there).
    pub async fn accept_invitation(
        &self,
        token: &str,
        name: &str,
        password: &str,
        accepted: &Accepted,
        addr: IpAddr,
    ) -> Result<(UserRow, IssuedTokens)> {
        self.throttle_flow("invitation_accept", addr, None).await?;
        let token = SecretToken::parse(TokenKind::Invitation, token)
            .map_err(|_| IdentityError::InvalidToken("invitation"))?;
        let mut tx = self.db.begin().await?;
        let inv = store::find_invitation_by_token(&mut tx, &token.hash())
            .await?
            .ok_or(IdentityError::InvalidToken("invitation"))?;
        let now = Utc::now();
        if inv.accepted_at.is_some() || inv.revoked_at.is_some() || inv.expires_at <= now {
            return Err(IdentityError::InvalidToken("invitation"));
        }
        // Every field at once; the password policy needs the invited address.
        let mut v = Violations::default();
        let name = v.take(check_name("name", name));
        v.take(
            PasswordPolicy::check(password, &inv.email)
                .map_err(|e| invalid("password", e.to_string())),
        );
        let consents = v.take(self.joining_consents(accepted));
        v.finish()?;
        let (Some(name), Some(consents)) = (name, consents) else {
            return Err(IdentityError::Internal(anyhow::anyhow!(
                "invitation checks passed without a name"
            )));
        };
        let password_hash = self.hash_password(password).await?;
        let user = UserRow {
            id: UserId::new(),
            org_id: inv.org_id,
            email: inv.email.clone(),
            name,
            role: inv.role,
            active: true,
            password_hash,
            email_verified_at: Some(now),
            mfa_secret: None,
            mfa_pending_secret: None,
            mfa_last_step: None,
            mfa_phone: None,
            mfa_pending_phone: None,
            mfa_phone_last4: None,
            created_at: now,
            updated_at: now,
            erased_at: None,
        };
        if let Err(e) = store::insert_user(&mut tx, &user).await {
            return Err(if lanerunner_platform::db::is_unique_violation(&e) {
                IdentityError::EmailTaken
            } else {
                e.into()
            });
        }
        let org_id = inv.org_id;
        store::mark_invitation_accepted(&mut tx, org_id, inv.id, now).await?;
        let ev = self.event(
            events::USER_REGISTERED,
            org_id,
            user.id,
            &events::UserRegistered {
                user_id: user.id,
                org_id: inv.org_id,
                email: &user.email,
                role: user.role,
                via: "invitation",
            },
        )?;
        self.publish(&mut tx, ev).await?;
        let org = store::get_org_tx(&mut tx, org_id)
            .await?
            .ok_or(IdentityError::NotFound("organization"))?;
        self.audit(
            &mut tx,
            Actor::member(org_id, user.id, addr),
            AuditAction::InvitationAccepted,
            AuditOutcome::Success,
            Some(inv.id),
            json!({}),
        )
        .await?;
        self.record_joining(&mut tx, org_id, user.id, addr, consents)
            .await?;
        let tokens = self
            .open_session(&mut tx, &user, false, addr, org.require_mfa)
            .await?;
        self.commit(tx).await?;
        Ok((user, tokens))
    }
}
