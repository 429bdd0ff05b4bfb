//! Signing up: a new organization, its first owner and their first session, in one
//! transaction.

use std::net::IpAddr;

use chrono::Utc;
use lanerunner_core::{OrgId, OrgKind, Role, UserId};
use serde_json::json;

use crate::domain::consent::Accepted;
use crate::domain::{AuditAction, AuditOutcome, McNumber, PasswordPolicy, UsdotNumber};
use crate::error::{invalid, IdentityError, Result, Violations};
use crate::events;
use crate::fields::{check_name, parse_email};
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
    /// The texts accepted on the form (the terms required).
    pub accepted: Accepted,
}

impl Identity {
    pub async fn signup(
        &self,
        input: SignupInput,
        addr: IpAddr,
    ) -> Result<(OrgRow, UserRow, IssuedTokens)> {
        // Every field is checked before any is refused, so the form hears of all at once.
        let mut v = Violations::default();
        let email = v.take(parse_email(&input.email));
        let org_name = v.take(check_name("organization.name", &input.org_name));
        let name = v.take(check_name("name", &input.name));
        v.take(
            PasswordPolicy::check(&input.password, input.email.trim())
                .map_err(|e| invalid("password", e.to_string())),
        );
        let mc = v
            .take(
                input
                    .mc_number
                    .as_deref()
                    .map(McNumber::parse)
                    .transpose()
                    .map_err(|e| invalid("organization.mc_number", e.to_string())),
            )
            .flatten();
        let usdot = v
            .take(
                input
                    .usdot_number
                    .as_deref()
                    .map(UsdotNumber::parse)
                    .transpose()
                    .map_err(|e| invalid("organization.usdot_number", e.to_string())),
            )
            .flatten();
        if input.org_kind == OrgKind::Carrier && input.usdot_number.is_none() {
            v.add(
                "organization.usdot_number",
                "a carrier must give its USDOT number",
            );
        }
        if input.org_kind != OrgKind::Carrier
            && (input.mc_number.is_some() || input.usdot_number.is_some())
        {
            v.add(
                "organization.kind",
                "only carriers carry MC and USDOT numbers",
            );
        }
        let consents = v.take(self.joining_consents(&input.accepted));
        v.finish()?;
        let (Some(email), Some(org_name), Some(name), Some(consents)) =
            (email, org_name, name, consents)
        else {
            // `finish` refuses any input whose email or names failed their checks.
            return Err(IdentityError::Internal(anyhow::anyhow!(
                "signup validation passed without an email or a name"
            )));
        };
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
            ip_allowlist: sqlx::types::Json(Vec::new()),
            plan: None,
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
            mfa_phone: None,
            mfa_pending_phone: None,
            mfa_phone_last4: None,
            created_at: now,
            updated_at: now,
            erased_at: None,
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
        self.record_joining(&mut tx, org.id, user.id, addr, consents)
            .await?;
        let tokens = self
            .open_session(&mut tx, &user, false, addr, false)
            .await?;
        self.commit(tx).await?;
        Ok((org, user, tokens))
    }
}
