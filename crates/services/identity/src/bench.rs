//! For `lanerunner bench audit`: one audit record written in its own transaction, either
//! as the service appends it (its address sealed, waiting for the chainer) or as the plain
//! insert the trail was before the chains, so the chain's cost is measured against the same
//! path without it; the chainer running beside the writers as it does in the service; and
//! the chains walked afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lanerunner_core::{AuditId, OrgId};
use lanerunner_platform::Db;
use sqlx::types::Json;

use crate::audit_trail::{chain_loop, walk_chain, ChainHorizon};
use crate::domain::{AuditAction, AuditOutcome};
use crate::store::{self, AuditRow};

fn row(org: OrgId, n: u64) -> AuditRow {
    AuditRow {
        id: AuditId::new(),
        org_id: Some(org),
        actor_id: Some(uuid::Uuid::now_v7()),
        action: AuditAction::Login,
        outcome: AuditOutcome::Failure,
        target_id: None,
        client_addr: "198.51.100.7".into(),
        addr_salt: None,
        addr_digest: None,
        detail: Json(serde_json::json!({"reason": "wrong password", "attempt": n})),
        occurred_at: Utc::now(),
        chain_seq: None,
        prev_hash: None,
        hash: None,
    }
}

/// Writes one record for `org` in its own transaction: as the service does (to be
/// chained), or plain.
pub async fn append(db: &Db, org: OrgId, n: u64, chained: bool) -> anyhow::Result<()> {
    let mut a = row(org, n);
    let mut tx = db.begin().await?;
    if chained {
        store::insert_audit(&mut tx, &mut a).await?;
    } else {
        store::write_audit(&mut tx, &a).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The service's chainer loop ([`chain_loop`]) on its own, until stopped.
pub struct Chainer {
    wake: Arc<tokio::sync::Notify>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<f64>>,
}

impl Chainer {
    /// Starts chaining from `horizon` (kept across rounds, as a service keeps it), letting
    /// records gather for `gather` after a wake (the service's is
    /// [`chain_gather`](crate::audit_trail::chain_gather)).
    pub fn start(db: Db, horizon: Arc<ChainHorizon>, gather: Duration) -> Self {
        let wake = Arc::new(tokio::sync::Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (w, s) = (wake.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut waits = Vec::new();
            let done = || s.load(Ordering::Acquire);
            chain_loop(
                &db,
                &horizon,
                &w,
                Duration::from_secs(1),
                gather,
                done,
                |pass| {
                    if let Some(oldest) = pass.oldest {
                        let waited = (Utc::now() - oldest).num_microseconds().unwrap_or(0);
                        waits.push(waited as f64 / 1000.0);
                    }
                },
            )
            .await;
            waits
        });
        Self { wake, stop, task }
    }

    /// An append committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops after a last pass, once every record appended before is chained: how long
    /// the oldest record of each pass had waited, in milliseconds.
    pub async fn finish(self) -> anyhow::Result<Vec<f64>> {
        self.stop.store(true, Ordering::Release);
        self.wake.notify_one();
        Ok(self.task.await?)
    }
}

/// Walks every chain: (chains, records, whether every one is intact).
pub async fn verify_all(db: &Db) -> anyhow::Result<(usize, i64, bool)> {
    let heads = store::chain_heads(db, None).await?;
    let (mut records, mut intact) = (0, true);
    for h in &heads {
        let mut walk = walk_chain(db, h.chain_id, Default::default()).await?;
        walk.finish(Some((h.seq, h.hash.as_str())));
        records += walk.records;
        intact &= walk.problems.is_empty();
    }
    Ok((heads.len(), records, intact))
}
