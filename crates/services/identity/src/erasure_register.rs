//! The erasure register: every erasure written down outside the database, so a restore
//! cannot bring an erased person back.
//!
//! A restore — `lanerunner backup restore`, or a point-in-time recovery of PostgreSQL —
//! returns the stores to how they were at the recovery point, with everyone erased since
//! then whole again (GDPR art. 17 is not undone by a restore). So each erasure is also kept
//! as one small object in the blob store, `privacy/erasures/<org>/<user>.json`: ids and
//! times only, nothing that identifies the person. The blob store (an S3 bucket at scale)
//! is not rolled back with the databases, and a restore only adds the objects its backup
//! held, never removes one.
//!
//! [`Identity::reconcile_erasures`] runs when identity starts and every
//! [`RECONCILE_EVERY`]: an entry whose member is not erased in the store is erased again —
//! deactivated first if they are active (sessions and API keys end), emptied as the first
//! time, recorded (`member_erased` with `reapplied`) and announced (`identity.user_erased`),
//! so every other service erases its copies again too. An erased member with no entry (the
//! process stopped between the erasure's commit and its entry) gets one.

use std::collections::HashSet;
use std::sync::Weak;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::domain::{AuditAction, AuditOutcome};
use crate::error::{IdentityError, Result};
use crate::events;
use crate::identity::{Actor, Identity};
use crate::store;

/// Where the register's entries are kept in the blob store.
pub const PREFIX: &str = "privacy/erasures";
/// How often the register is checked against the store after start-up.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(600);
const FORMAT: u32 = 1;

/// One erasure as the register keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureEntry {
    pub format: u32,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub erased_at: DateTime<Utc>,
    /// The owner, admin or API key that erased them (none if that was not known when the
    /// entry was written).
    pub erased_by: Option<Uuid>,
}

impl ErasureEntry {
    pub fn new(
        org_id: OrgId,
        user_id: UserId,
        erased_at: DateTime<Utc>,
        erased_by: Option<Uuid>,
    ) -> Self {
        Self {
            format: FORMAT,
            org_id,
            user_id,
            erased_at,
            erased_by,
        }
    }

    pub fn key(&self) -> String {
        key_of(self.org_id, self.user_id)
    }

    /// An entry read from `key`: it must be of a format this release reads and name the
    /// member its key does (an object copied to the wrong key would erase someone else).
    pub fn parse(key: &str, bytes: &[u8]) -> std::result::Result<Self, String> {
        let entry: ErasureEntry =
            serde_json::from_slice(bytes).map_err(|e| format!("not an erasure entry: {e}"))?;
        if entry.format != FORMAT {
            return Err(format!(
                "format {} is not one this release reads",
                entry.format
            ));
        }
        if parse_key(key) != Some((entry.org_id, entry.user_id)) {
            return Err("it names another member than its key".into());
        }
        Ok(entry)
    }
}

pub fn key_of(org: OrgId, user: UserId) -> String {
    format!("{PREFIX}/{org}/{user}.json")
}

/// The member an entry's key names; none for a key that is not an entry's.
pub fn parse_key(key: &str) -> Option<(OrgId, UserId)> {
    let rest = key.strip_prefix(PREFIX)?.strip_prefix('/')?;
    let (org, file) = rest.split_once('/')?;
    let user = file.strip_suffix(".json")?;
    Some((org.parse().ok()?, user.parse().ok()?))
}

/// What a reconciliation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    /// Entries in the register.
    pub entries: usize,
    /// Members erased again: the store had them whole (a restore from before their erasure).
    pub reapplied: Vec<UserId>,
    /// Entries whose member this store does not hold (a restore from before they joined).
    pub absent: usize,
    /// Erased members the register lacked, written now.
    pub recorded: usize,
    /// Objects under the register's prefix that are not entries this release reads: left
    /// alone, logged, for an operator.
    pub unreadable: Vec<String>,
}

/// What erasing a member again found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reapplied {
    Erased,
    AlreadyErased,
    Absent,
}

impl Identity {
    /// Writes `entry` to the register (idempotent: the key is the member's).
    pub(crate) async fn record_erasure(&self, entry: &ErasureEntry) -> anyhow::Result<()> {
        self.ctx
            .blobs
            .put(&entry.key(), serde_json::to_vec(entry)?)
            .await
    }

    /// Checks the register against the store both ways (see the module's comment).
    pub async fn reconcile_erasures(&self) -> anyhow::Result<Reconciled> {
        let erased = store::erased_members(&self.db).await?;
        let in_store: HashSet<(OrgId, UserId)> = erased.iter().map(|m| (m.org_id, m.id)).collect();
        let keys = self.ctx.blobs.list(&format!("{PREFIX}/")).await?;
        let mut done = Reconciled {
            entries: keys.len(),
            ..Reconciled::default()
        };
        let mut listed = HashSet::with_capacity(keys.len());
        for key in keys {
            let Some(member) = parse_key(&key) else {
                done.unreadable.push(key);
                continue;
            };
            listed.insert(member);
            if in_store.contains(&member) {
                continue;
            }
            let entry = match ErasureEntry::parse(&key, &self.ctx.blobs.get(&key).await?) {
                Ok(entry) => entry,
                Err(why) => {
                    tracing::error!(%key, %why, "an erasure register entry is not readable; the member is not erased again");
                    done.unreadable.push(key);
                    continue;
                }
            };
            match self.reapply_erasure(&entry).await? {
                Reapplied::Erased => done.reapplied.push(entry.user_id),
                Reapplied::Absent => done.absent += 1,
                Reapplied::AlreadyErased => {}
            }
        }
        for m in erased
            .iter()
            .filter(|m| !listed.contains(&(m.org_id, m.id)))
        {
            // Who erased them is looked up only for the entries written here (rare).
            let by = store::eraser_of(&self.db, m.org_id, m.id).await?;
            self.record_erasure(&ErasureEntry::new(m.org_id, m.id, m.erased_at, by))
                .await?;
            done.recorded += 1;
        }
        if !done.reapplied.is_empty() {
            metrics::counter!("identity_erasures_reapplied_total")
                .increment(done.reapplied.len() as u64);
            tracing::warn!(
                members = done.reapplied.len(),
                "members erased before the store's recovery point were erased again"
            );
        }
        Ok(done)
    }

    /// Erases `entry`'s member again, in one transaction: deactivated first when the store
    /// has them active (their sessions and keys end, as a deactivation does), then emptied
    /// as the first erasure did, recorded and announced. The erasure's compare-and-set
    /// makes two instances reconciling at once erase once.
    async fn reapply_erasure(&self, entry: &ErasureEntry) -> Result<Reapplied> {
        let (org, user_id) = (entry.org_id, entry.user_id);
        let mut tx = self.db.begin().await?;
        let Some(mut user) = store::get_user_tx(&mut tx, org, user_id).await? else {
            return Ok(Reapplied::Absent);
        };
        if user.erased_at.is_some() {
            return Ok(Reapplied::AlreadyErased);
        }
        let now = Utc::now();
        let by = entry.erased_by.unwrap_or(Uuid::nil());
        let mut revoked = Vec::new();
        if user.active {
            revoked =
                store::revoke_user_sessions(&mut tx, org, user_id, None, "erased", now).await?;
            let keys = store::revoke_api_keys_of(&mut tx, org, user_id, now).await?;
            user.active = false;
            user.updated_at = now;
            store::update_user(&mut tx, &user).await?;
            self.audit(
                &mut tx,
                Actor::operator(org),
                AuditAction::UserDeactivated,
                AuditOutcome::Success,
                Some(user.id),
                json!({ "reason": "erasure_reapplied", "api_keys": keys }),
            )
            .await?;
            let ev = self.event(
                events::USER_DEACTIVATED,
                org,
                user.id,
                &events::UserDeactivated {
                    user_id,
                    deactivated_by: by,
                },
            )?;
            self.publish(&mut tx, ev).await?;
        }
        let placeholder = format!("erased-{}@erased.invalid", user.id);
        let Some(erased) =
            store::erase_user(&mut tx, org, user_id, &user.email, &placeholder, now).await?
        else {
            return Ok(Reapplied::AlreadyErased);
        };
        let mut detail =
            serde_json::to_value(&erased).map_err(|e| IdentityError::Internal(e.into()))?;
        detail["reapplied"] = json!({
            "first_erased_at": entry.erased_at,
            "first_erased_by": entry.erased_by,
        });
        self.audit(
            &mut tx,
            Actor::operator(org),
            AuditAction::MemberErased,
            AuditOutcome::Success,
            Some(user.id),
            detail,
        )
        .await?;
        let ev = self.event(
            events::USER_ERASED,
            org,
            user.id,
            &events::UserErased {
                user_id,
                erased_by: by,
            },
        )?;
        self.publish(&mut tx, ev).await?;
        self.commit(tx).await?;
        self.remember_revoked(&revoked).await;
        tracing::warn!(%org, user = %user_id, first_erased_at = %entry.erased_at, "erasure re-applied: the store held a member erased before its recovery point");
        Ok(Reapplied::Erased)
    }
}

/// Reconciles every `every` while the service lives (start-up does the first).
pub(crate) async fn reconciler(identity: Weak<Identity>, every: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        let Some(identity) = identity.upgrade() else {
            return;
        };
        if let Err(e) = identity.reconcile_erasures().await {
            tracing::error!(error = %e, "the erasure register could not be reconciled");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_round_trips_through_its_key() {
        let entry = ErasureEntry::new(
            OrgId::new(),
            UserId::new(),
            Utc::now(),
            Some(Uuid::now_v7()),
        );
        let key = entry.key();
        assert_eq!(parse_key(&key), Some((entry.org_id, entry.user_id)));
        let bytes = serde_json::to_vec(&entry).unwrap();
        assert_eq!(ErasureEntry::parse(&key, &bytes), Ok(entry));
    }

    #[test]
    fn an_entry_under_another_members_key_or_of_another_format_is_refused() {
        let entry = ErasureEntry::new(OrgId::new(), UserId::new(), Utc::now(), None);
        let bytes = serde_json::to_vec(&entry).unwrap();
        let other = key_of(entry.org_id, UserId::new());
        assert!(ErasureEntry::parse(&other, &bytes)
            .unwrap_err()
            .contains("another member"));
        let mut newer = serde_json::to_value(&entry).unwrap();
        newer["format"] = json!(2);
        let newer = serde_json::to_vec(&newer).unwrap();
        assert!(ErasureEntry::parse(&entry.key(), &newer)
            .unwrap_err()
            .contains("format 2"));
        assert!(ErasureEntry::parse(&entry.key(), b"{not json").is_err());
    }

    #[test]
    fn keys_that_are_not_entries_are_not_read_as_members() {
        for key in [
            "privacy/erasures",
            "privacy/erasures/x/y.json",
            "privacy/erasuresX/0190b5a0-0000-7000-8000-000000000000/0190b5a0-0000-7000-8000-000000000000.json",
            "audit/anchors/0190b5a0-0000-7000-8000-000000000000/1.json",
            "privacy/erasures/0190b5a0-0000-7000-8000-000000000000/0190b5a0-0000-7000-8000-000000000000.txt",
        ] {
            assert_eq!(parse_key(key), None, "{key}");
        }
    }
}
