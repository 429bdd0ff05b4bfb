//! The double-entry ledger: the source of truth for money. `domain.rs` holds its rules
//! (pure), `store.rs` its SQL; [`Ledger`] records entries and reads balances.

pub mod domain;
pub mod store;

use chrono::Utc;
use lanerunner_core::OrgId;
use lanerunner_platform::Db;
use uuid::Uuid;

pub use domain::{EntryKind, NewEntry, Posting};
pub use store::{Invariants, Recorded};

use crate::error::{PaymentsError, Result};

pub struct Ledger {
    db: Db,
}

impl Ledger {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Records a balanced entry for `org` on its own (atomically); the same reference with
    /// the same postings again answers with the first entry (`Replayed`), with other
    /// postings is refused.
    pub async fn record(
        &self,
        org: OrgId,
        entry: &NewEntry,
        recorded_by: Option<Uuid>,
    ) -> Result<(Uuid, bool)> {
        entry.check()?;
        let recorded = store::record_alone(
            &self.db,
            org,
            Uuid::now_v7(),
            entry,
            recorded_by,
            Utc::now(),
        )
        .await?;
        match recorded {
            Recorded::New(id) => {
                metrics::counter!("ledger_entries_total", "kind" => entry.kind.as_str())
                    .increment(1);
                Ok((id, true))
            }
            Recorded::Replayed(id) => Ok((id, false)),
            Recorded::Conflict(id) => Err(PaymentsError::ReferenceReused(id)),
        }
    }

    /// Records a balanced entry inside the caller's transaction, so a movement and its
    /// entry commit together. A conflicting reuse of the reference is an error.
    pub async fn record_in(
        tx: &mut lanerunner_platform::Tx,
        org: OrgId,
        entry: &NewEntry,
        recorded_by: Option<Uuid>,
    ) -> Result<Recorded> {
        entry.check()?;
        let recorded =
            store::record(tx, org, Uuid::now_v7(), entry, recorded_by, Utc::now()).await?;
        match recorded {
            Recorded::Conflict(id) => Err(PaymentsError::ReferenceReused(id)),
            other => {
                if matches!(other, Recorded::New(_)) {
                    metrics::counter!("ledger_entries_total", "kind" => entry.kind.as_str())
                        .increment(1);
                }
                Ok(other)
            }
        }
    }

    pub async fn balances(&self, org: OrgId) -> Result<Vec<store::BalanceRow>> {
        Ok(store::balances(&self.db, org).await?)
    }

    /// Up to `limit` entries newest first, older than `before` (a page's cursor), each with
    /// its postings.
    pub async fn entries(
        &self,
        org: OrgId,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<(store::EntryRow, Vec<store::PostingRow>)>> {
        let rows = store::entries(&self.db, org, before, limit).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut by_entry: std::collections::HashMap<Uuid, Vec<store::PostingRow>> =
            std::collections::HashMap::new();
        for p in store::postings_of(&self.db, org, &ids).await? {
            by_entry.entry(p.entry_id).or_default().push(p);
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let postings = by_entry.remove(&r.id).unwrap_or_default();
                (r, postings)
            })
            .collect())
    }

    pub async fn entry(
        &self,
        org: OrgId,
        id: Uuid,
    ) -> Result<(store::EntryRow, Vec<store::PostingRow>)> {
        let row = store::entry(&self.db, org, id)
            .await?
            .ok_or(PaymentsError::NotFound("ledger entry"))?;
        let postings = store::postings_of(&self.db, org, &[id]).await?;
        Ok((row, postings))
    }

    pub async fn invariants(&self) -> Result<Invariants> {
        Ok(store::invariants(&self.db).await?)
    }
}
