//! A person's own data (GDPR): consent records (art. 7: what was agreed to, which version,
//! when, withdrawal as easy as giving) and the export of what the identity service holds
//! about them (art. 15 and 20: machine-readable, in one document), and the erasure of a
//! member who has left (art. 17), here and — through `identity.user_erased` — in every
//! service that keeps a copy.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::domain::audit::{AuditAction, AuditOutcome};
use crate::domain::consent::{self, Accepted, Purpose, Versions};
use crate::erasure_register::ErasureEntry;
use crate::error::{invalid, IdentityError, Result};
use crate::events;
use crate::identity::{Actor, Identity};
use crate::members::actor;
use crate::store::{self, ConsentRow, Erased, UserRow};
use lanerunner_core::Role;
use lanerunner_platform::http::Caller;
use lanerunner_platform::personal_data::{gather_remote, GatherError};

/// How long an export waits for the parts held by services in other processes.
const REMOTE_EXPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// `POST /v1/me/consents`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub purpose: Purpose,
    /// `true` gives consent, `false` withdraws it.
    pub granted: bool,
    /// The version of the text agreed to: required to give consent, and it must be the one
    /// in force; a withdrawal may leave it out.
    #[serde(default)]
    pub version: Option<String>,
}

/// Where a person stands on one purpose.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentState {
    pub purpose: Purpose,
    /// Given and not withdrawn.
    pub granted: bool,
    /// The version the newest record names (none: never asked).
    pub version: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    /// The version in force.
    pub current_version: String,
    /// Given, but to an older text: ask again.
    pub renewal_needed: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentRecord {
    pub id: Uuid,
    pub purpose: String,
    pub version: String,
    pub granted: bool,
    pub client_addr: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<&ConsentRow> for ConsentRecord {
    fn from(r: &ConsentRow) -> Self {
        Self {
            id: r.id,
            purpose: r.purpose.clone(),
            version: r.version.clone(),
            granted: r.granted,
            client_addr: r.client_addr.clone(),
            recorded_at: r.recorded_at,
        }
    }
}

/// `GET /v1/me/consents`: each purpose's standing and every record, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentsView {
    pub current: Vec<ConsentState>,
    pub history: Vec<ConsentRecord>,
}

fn view(rows: &[ConsentRow], versions: &Versions) -> ConsentsView {
    let mut newest: HashMap<&str, &ConsentRow> = HashMap::new();
    for r in rows {
        newest.insert(r.purpose.as_str(), r);
    }
    let current = Purpose::ALL
        .into_iter()
        .map(|p| {
            let last = newest.get(p.as_str());
            let in_force = versions.current(p).to_string();
            ConsentState {
                purpose: p,
                granted: last.is_some_and(|r| r.granted),
                version: last.map(|r| r.version.clone()),
                recorded_at: last.map(|r| r.recorded_at),
                renewal_needed: last.is_some_and(|r| r.granted && r.version != in_force),
                current_version: in_force,
            }
        })
        .collect();
    ConsentsView {
        current,
        history: rows.iter().map(ConsentRecord::from).collect(),
    }
}

impl Identity {
    /// The texts in force (also what `GET /v1/legal` shows the joining forms).
    pub(crate) fn versions(&self) -> Versions {
        Versions {
            terms: self.settings.auth.terms_version.clone(),
            privacy_notice: self.settings.auth.privacy_notice_version.clone(),
        }
    }

    /// One consent record and its audit record, in the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    async fn write_consent(
        &self,
        tx: &mut lanerunner_platform::Tx,
        org: OrgId,
        user: UserId,
        addr: IpAddr,
        purpose: Purpose,
        version: String,
        granted: bool,
    ) -> Result<()> {
        let row = ConsentRow {
            id: Uuid::now_v7(),
            org_id: org,
            user_id: user,
            purpose: purpose.as_str().into(),
            version,
            granted,
            client_addr: lanerunner_platform::http::client_addr::canonical(addr).to_string(),
            recorded_at: Utc::now(),
        };
        store::insert_consent(tx, &row).await?;
        self.audit(
            tx,
            Actor::member(org, user, addr),
            AuditAction::ConsentRecorded,
            AuditOutcome::Success,
            Some(user.as_uuid()),
            json!({ "purpose": row.purpose, "version": row.version, "granted": row.granted }),
        )
        .await
    }

    /// What a newcomer accepted, checked against the texts in force (the terms required
    /// unless `auth.terms_required` is off): the consents to record once they exist.
    pub(crate) fn joining_consents(&self, accepted: &Accepted) -> Result<Vec<(Purpose, String)>> {
        consent::accepted_on_joining(
            accepted,
            self.settings.auth.terms_required,
            &self.versions(),
        )
        .map_err(IdentityError::Invalid)
    }

    /// Records a newcomer's acceptance in the transaction that makes them.
    pub(crate) async fn record_joining(
        &self,
        tx: &mut lanerunner_platform::Tx,
        org: OrgId,
        user: UserId,
        addr: IpAddr,
        consents: Vec<(Purpose, String)>,
    ) -> Result<()> {
        for (purpose, version) in consents {
            self.write_consent(tx, org, user, addr, purpose, version, true)
                .await?;
        }
        Ok(())
    }

    pub async fn consents(&self, org: OrgId, user: UserId) -> Result<ConsentsView> {
        let rows = store::consents(&self.db, org, user).await?;
        Ok(view(&rows, &self.versions()))
    }

    /// Records consent given or withdrawn, with the audit record, in one transaction.
    pub async fn record_consent(
        &self,
        org: OrgId,
        user: UserId,
        addr: IpAddr,
        input: ConsentInput,
    ) -> Result<ConsentsView> {
        let versions = self.versions();
        let version = consent::version_to_record(
            input.purpose,
            input.granted,
            input.version.as_deref(),
            &versions,
        )
        .map_err(|why| invalid("version", why))?;
        let mut tx = self.db.begin().await?;
        self.write_consent(
            &mut tx,
            org,
            user,
            addr,
            input.purpose,
            version,
            input.granted,
        )
        .await?;
        self.commit(tx).await?;
        self.consents(org, user).await
    }

    /// Everything the identity service holds about the person, as one JSON document (no
    /// secrets: password hashes, second-factor secrets, token hashes stay out; a phone shows
    /// its last four digits, as everywhere else). The download is itself audited.
    pub async fn export_personal_data(
        &self,
        org: OrgId,
        user: UserId,
        addr: IpAddr,
    ) -> Result<serde_json::Value> {
        let person = self.member(org, user).await?;
        let organization = self.organization(org).await?;
        let consents = store::consents(&self.db, org, user).await?;
        let sessions = store::sessions_of(&self.db, org, user).await?;
        let keys = store::api_keys_created_by(&self.db, org, user).await?;
        let audit = store::audit_of(&self.db, org, user).await?;
        // What the other services hold, each under its name: those of this instance asked
        // directly, those in other processes over the bus. One that cannot answer fails the
        // export: a partial one would say "this is all" wrongly.
        let mut held_by = vec!["identity".to_owned()];
        let mut elsewhere = serde_json::Map::new();
        for (service, source) in self.ctx.personal_data.all() {
            let part = source
                .export(org.as_uuid(), user.as_uuid())
                .await
                .map_err(|e| {
                    IdentityError::Internal(
                        e.context(format!("the {service} service's part of the export")),
                    )
                })?;
            if let Some(part) = part {
                held_by.push(service.to_owned());
                elsewhere.insert(service.to_owned(), part);
            }
        }
        let remote = self.ctx.personal_data.remote();
        if !remote.is_empty() {
            let parts = gather_remote(
                self.ctx.bus.as_ref(),
                &self.ctx.blobs,
                org,
                user.as_uuid(),
                &remote,
                REMOTE_EXPORT_WAIT,
            )
            .await
            .map_err(|e| match e {
                GatherError::NoAnswer(..) => IdentityError::UnavailableDetail(format!(
                    "your data could not all be gathered: {e}; try again shortly"
                )),
                GatherError::Other(e) => IdentityError::Internal(
                    e.context("gathering the export's parts held elsewhere"),
                ),
            })?;
            for (service, part) in parts {
                if let Some(part) = part {
                    held_by.push(service.clone());
                    elsewhere.insert(service, part);
                }
            }
        }
        // Recorded once every part is in hand: an export that failed was not handed out.
        self.audit_alone(
            Actor::member(org, user, addr),
            AuditAction::PersonalDataExported,
            AuditOutcome::Success,
            Some(user.as_uuid()),
            json!({}),
        )
        .await?;
        Ok(json!({
            "format": "lanerunner.personal-data.v1",
            "generated_at": Utc::now(),
            "held_by": held_by,
            "services": elsewhere,
            "subject": {
                "id": person.id,
                "email": person.email,
                "name": person.name,
                "role": person.role.as_str(),
                "active": person.active,
                "email_verified_at": person.email_verified_at,
                "created_at": person.created_at,
                "updated_at": person.updated_at,
                "second_factors": {
                    "authenticator_app": person.mfa_secret.is_some(),
                    "text_message_phone_last4": person.mfa_phone_last4,
                },
            },
            "organization": {
                "id": organization.id,
                "name": organization.name,
                "kind": organization.kind.as_str(),
            },
            "consents": consents.iter().map(ConsentRecord::from).collect::<Vec<_>>(),
            "sessions": sessions.iter().map(|s| json!({
                "id": s.id, "created_at": s.created_at, "client_addr": s.client_addr,
                "second_factor_used": s.mfa, "ended_at": s.revoked_at,
            })).collect::<Vec<_>>(),
            "api_keys_created": keys.iter().map(|k| json!({
                "id": k.id, "name": k.name, "prefix": k.prefix, "scopes": k.scopes.0,
                "created_at": k.created_at, "last_used_at": k.last_used_at, "revoked_at": k.revoked_at,
            })).collect::<Vec<_>>(),
            "audit_events": audit.iter().map(|a| json!({
                "id": a.id, "action": a.action.as_str(), "outcome": a.outcome.as_str(),
                "occurred_at": a.occurred_at, "client_addr": a.client_addr,
                "acted": a.actor_id == Some(user.as_uuid()),
                "target_id": a.target_id, "detail": a.detail.0,
            })).collect::<Vec<_>>(),
        }))
    }
}

impl Identity {
    /// Erases a member who has left: an owner or admin of their organization asks, after
    /// deactivating them (so erasure is never the first, accidental click, and their
    /// sessions and keys are already gone). The row stays with its id — loads, ledger
    /// entries, messages and audit records refer to it — and nothing else of the person:
    /// see [`store::erase_user`]. The audit records keep their chain (their addresses are
    /// erased through the v2 seal). One transaction with the audit record and the event
    /// every other service erases its copies on.
    pub async fn erase_member(
        &self,
        caller: &Caller,
        user_id: UserId,
        addr: IpAddr,
    ) -> Result<(UserRow, Erased)> {
        if !caller.role.can_manage_users() {
            return Err(IdentityError::Forbidden(
                "only owners and admins may erase a member's data",
            ));
        }
        let mut tx = self.db.begin().await?;
        let user = store::get_user_tx(&mut tx, caller.org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        if user.role == Role::Owner && caller.role != Role::Owner {
            return Err(IdentityError::Forbidden("only an owner may erase an owner"));
        }
        if user.erased_at.is_some() {
            return Err(IdentityError::Conflict(
                "already-erased",
                "this member's personal data was already erased",
            ));
        }
        if user.active {
            return Err(IdentityError::Conflict(
                "member-active",
                "deactivate the member before erasing their personal data",
            ));
        }
        let now = Utc::now();
        let placeholder = format!("erased-{}@erased.invalid", user.id);
        // The compare-and-set: a second erasure (or a reactivation) that got in first
        // leaves nothing to do.
        let Some(erased) =
            store::erase_user(&mut tx, caller.org, user_id, &user.email, &placeholder, now).await?
        else {
            return Err(IdentityError::Conflict(
                "already-erased",
                "this member was erased or reactivated at the same moment",
            ));
        };
        self.audit(
            &mut tx,
            actor(caller, addr),
            AuditAction::MemberErased,
            AuditOutcome::Success,
            Some(user.id),
            serde_json::to_value(&erased).map_err(|e| IdentityError::Internal(e.into()))?,
        )
        .await?;
        let ev = self.event(
            events::USER_ERASED,
            caller.org,
            user.id,
            &events::UserErased {
                user_id: user.id,
                erased_by: caller.actor_id(),
            },
        )?;
        self.publish(&mut tx, ev).await?;
        let after = store::get_user_tx(&mut tx, caller.org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        self.commit(tx).await?;
        tracing::info!(org = %caller.org, user = %user_id, "member's personal data erased");
        // Outside the database, so a restore cannot undo it; if this fails, the register's
        // reconciliation writes it from the store.
        let entry = ErasureEntry::new(caller.org, user_id, now, Some(caller.actor_id()));
        if let Err(e) = self.record_erasure(&entry).await {
            tracing::error!(org = %caller.org, user = %user_id, error = %e, "the erasure could not be written to the register yet");
        }
        Ok((after, erased))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(purpose: &str, version: &str, granted: bool, minute: i64) -> ConsentRow {
        ConsentRow {
            id: Uuid::now_v7(),
            org_id: OrgId::new(),
            user_id: UserId::new(),
            purpose: purpose.into(),
            version: version.into(),
            granted,
            client_addr: "127.0.0.1".into(),
            recorded_at: DateTime::<Utc>::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap(),
        }
    }

    #[test]
    fn the_newest_record_of_a_purpose_is_where_the_person_stands() {
        let versions = Versions {
            terms: "v2".into(),
            privacy_notice: "p1".into(),
        };
        let rows = vec![
            row("terms", "v1", true, 0),
            row("marketing_email", "p1", true, 1),
            row("marketing_email", "p1", false, 2),
        ];
        let v = view(&rows, &versions);
        let of = |p: Purpose| v.current.iter().find(|s| s.purpose == p).unwrap().clone();
        let terms = of(Purpose::Terms);
        assert!(terms.granted && terms.renewal_needed, "{terms:?}");
        assert_eq!(terms.current_version, "v2");
        assert!(!of(Purpose::MarketingEmail).granted);
        let notice = of(Purpose::PrivacyNotice);
        assert!(!notice.granted && notice.version.is_none() && !notice.renewal_needed);
        assert_eq!(v.history.len(), 3);
    }
}
