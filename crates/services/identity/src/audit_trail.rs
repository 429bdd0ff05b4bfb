//! The tamper-evident audit trail: chaining the records appended (an audited action's
//! transaction writes its record as a plain insert; the chainer gives records their places
//! and hashes in batches, off the request's path), checking every chain end to end, and
//! writing down chain heads (anchors) where a database writer cannot reach them.
//!
//! A chain alone shows a record changed, deleted or moved, but someone who can write the
//! database could recompute every hash after their change. Anchors close that: each
//! period the heads that moved are written to `audit_anchors` and, as one object per
//! anchor, to the blob store (`audit/anchors/<chain>/<seq>.json`; an S3 bucket with Object
//! Lock at scale), and verification checks the chain still passes through each of them.

use std::sync::{Arc, Weak};
use std::time::Duration;

use lanerunner_platform::Db;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::audit_chain::{to_micros, ChainBreak, Stored, Walk};
use crate::identity::Identity;
pub use crate::store::ChainHorizon;
use crate::store::{self, Anchor, ChainPass};

/// Records read at a time while walking a chain.
const PAGE: i64 = 2_000;
/// Where anchors are copied in the blob store.
const ANCHOR_PREFIX: &str = "audit/anchors";

/// What walking one chain found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChainReport {
    /// The organization whose chain it is (the nil UUID: records of no organization).
    pub chain_id: Uuid,
    pub records: i64,
    /// The head as its row says: the last position and its hash.
    pub head_seq: i64,
    pub head_hash: Option<String>,
    /// Anchors checked (from the database and the blob store).
    pub anchors: usize,
    pub intact: bool,
    /// Each place the chain is broken, and how.
    pub problems: Vec<ChainBreak>,
}

impl ChainReport {
    /// The report on a chain with no records.
    pub fn empty(chain_id: Uuid) -> Self {
        ChainReport {
            chain_id,
            records: 0,
            head_seq: 0,
            head_hash: None,
            anchors: 0,
            intact: true,
            problems: Vec::new(),
        }
    }
}

impl Identity {
    /// Walks every chain (or `only` the organization's) and checks each record's hash, its
    /// link to the one before, that none is missing or cut off the end, and every anchor.
    /// Records still waiting for their places are chained first, so the whole trail is
    /// checked.
    pub async fn verify_audit(&self, only: Option<Uuid>) -> anyhow::Result<Vec<ChainReport>> {
        self.chain_audit().await?;
        let mut reports = Vec::new();
        let heads = store::chain_heads(&self.db, only).await?;
        let headless = store::headless_chains(&self.db, only).await?;
        let chains = heads
            .iter()
            .map(|h| (h.chain_id, Some((h.seq, h.hash.clone()))))
            .chain(headless.into_iter().map(|c| (c, None)));
        for (chain, head) in chains {
            let anchors = self.anchors_of(chain).await?;
            let marks = anchors.iter().map(|a| (a.seq, a.hash.clone())).collect();
            let mut walk = walk_chain(&self.db, chain, Walk::with_anchors(marks)).await?;
            walk.finish(head.as_ref().map(|(s, h)| (*s, h.as_str())));
            let (head_seq, head_hash) = match head {
                Some((s, h)) => (s, Some(h)),
                None => (0, None),
            };
            reports.push(ChainReport {
                chain_id: chain,
                records: walk.records,
                head_seq,
                head_hash,
                anchors: anchors.len(),
                intact: walk.problems.is_empty(),
                problems: walk.problems,
            });
        }
        Ok(reports)
    }

    /// The chain's anchors, from the database and the blob store, one per position (the
    /// blob's copy wins when both exist: it is the one a database writer cannot change).
    async fn anchors_of(&self, chain: Uuid) -> anyhow::Result<Vec<Anchor>> {
        let mut by_seq = std::collections::BTreeMap::new();
        for a in store::anchors(&self.db, chain).await? {
            by_seq.insert(a.seq, a);
        }
        let blobs = &self.ctx.blobs;
        for key in blobs.list(&format!("{ANCHOR_PREFIX}/{chain}/")).await? {
            let bytes = blobs.get(&key).await?;
            match serde_json::from_slice::<Anchor>(&bytes) {
                Ok(a) if a.chain_id == chain => {
                    by_seq.insert(a.seq, a);
                }
                // Unreadable or misplaced: nothing it vouches for can be checked, which
                // verification must not hide.
                _ => anyhow::bail!("the audit anchor {key} in the blob store is not readable"),
            }
        }
        Ok(by_seq.into_values().collect())
    }

    /// Writes down every chain head that moved since its last anchor, in the blob store and
    /// then the database; the anchors written. The blob goes first: a head whose copy could
    /// not be stored stays unanchored and is tried again on the next run, instead of being
    /// counted as anchored with no copy out of the database's reach.
    ///
    /// Records waiting for their places are chained first, so the anchors cover them.
    pub async fn anchor_audit(&self) -> anyhow::Result<Vec<Anchor>> {
        self.chain_audit().await?;
        let now = to_micros(chrono::Utc::now());
        let mut written = Vec::new();
        for h in store::unanchored_heads(&self.db).await? {
            let a = Anchor {
                id: Uuid::now_v7(),
                chain_id: h.chain_id,
                seq: h.seq,
                hash: h.hash,
                anchored_at: now,
            };
            let key = format!("{ANCHOR_PREFIX}/{}/{:020}.json", a.chain_id, a.seq);
            self.ctx.blobs.put(&key, serde_json::to_vec(&a)?).await?;
            store::insert_anchor(&self.db, &a).await?;
            tracing::info!(chain_id = %a.chain_id, seq = a.seq, hash = %a.hash, "audit chain anchored");
            metrics::counter!("audit_anchors_total").increment(1);
            written.push(a);
        }
        Ok(written)
    }

    /// Chains every record waiting for its place (appended since the last pass, by any
    /// instance, or kept from before there were chains), a batch at a time; how many, and
    /// when the oldest of them occurred.
    pub async fn chain_audit(&self) -> anyhow::Result<ChainPass> {
        let pass = chain_all(&self.db, &self.chain_horizon).await?;
        record_pass(pass);
        Ok(pass)
    }
}

/// A pass's figures, for operators: when the last pass ended (a chainer that stops — a
/// lock held, the store unreachable — shows as this growing old), how long its oldest
/// record waited, how many it chained.
fn record_pass(pass: ChainPass) {
    metrics::gauge!("audit_chain_last_pass_timestamp_seconds")
        .set(chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
    if let Some(oldest) = pass.oldest {
        let waited = (chrono::Utc::now() - oldest).to_std().unwrap_or_default();
        metrics::histogram!("audit_chain_wait_seconds").record(waited.as_secs_f64());
        metrics::counter!("audit_records_chained_total").increment(pass.records as u64);
    }
}

/// How often the chainer looks for records other instances appended.
pub(crate) const CHAIN_EVERY: Duration = Duration::from_secs(1);

/// How long the chainer lets records gather after a wake: a pass costs about the same for
/// a few records as for hundreds (a transaction, a statement per step), so under load
/// fewer, larger passes take less from the appends — where writers work side by side. On
/// PostgreSQL a second's gathering cost the appends 0.7 % of their throughput where 250 ms
/// cost 6.3 %; on SQLite, where writers take turns at one lock, the larger passes held it
/// longer and cost more (23.1 % against 18.1 %), so there it stays at 250 ms (`lanerunner
/// bench audit --gather-ms 250,1000`, `docs/benchmarks.md`). A record is chained within
/// about this long; verification and anchoring chain what waits first.
pub fn chain_gather(db: &Db) -> Duration {
    if db.writers_take_turns() {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(1)
    }
}

/// Records chained in one transaction, at most.
const CHAIN_BATCH: i64 = 2_000;

/// Chains every record waiting for its place, a batch at a time.
pub async fn chain_all(db: &Db, horizon: &ChainHorizon) -> anyhow::Result<ChainPass> {
    let mut pass = ChainPass::default();
    loop {
        let batch = store::chain_pending(db, horizon, CHAIN_BATCH).await?;
        pass.add(batch);
        if (batch.records as i64) < CHAIN_BATCH {
            return Ok(pass);
        }
    }
}

/// The chainer: a pass now, then one `gather` after each wake (an append's commit) or
/// every `every` (records other instances appended), until `done` says so; then a last
/// pass. Each pass's figures go to `on_pass`; a failed pass is logged and the next tries
/// again.
pub async fn chain_loop(
    db: &Db,
    horizon: &ChainHorizon,
    wake: &tokio::sync::Notify,
    every: Duration,
    gather: Duration,
    done: impl Fn() -> bool,
    mut on_pass: impl FnMut(ChainPass),
) {
    loop {
        let last = done();
        match chain_all(db, horizon).await {
            Ok(pass) => on_pass(pass),
            Err(e) => {
                tracing::warn!(error = %e, "chaining audit records failed; the next pass tries again")
            }
        }
        if last {
            return;
        }
        if tokio::time::timeout(every, wake.notified()).await.is_ok() {
            tokio::time::sleep(gather).await;
        }
    }
}

/// Chains audit records while the service lives, woken by each of its commits.
pub(crate) fn chainer(identity: &Arc<Identity>, every: Duration) {
    let (db, horizon, wake, alive) = (
        identity.db.clone(),
        identity.chain_horizon.clone(),
        identity.chaining.clone(),
        Arc::downgrade(identity),
    );
    tokio::spawn(async move {
        let done = || alive.strong_count() == 0;
        let gather = chain_gather(&db);
        chain_loop(&db, &horizon, &wake, every, gather, done, record_pass).await
    });
}

impl Identity {
    /// Erases the client addresses of audit records, and of sessions, older than the
    /// retention (`auth.audit_address_retention_days`; 0 keeps them); how many. The
    /// records and their chains stay whole (v2 seal).
    pub async fn erase_expired_audit_addresses(&self) -> anyhow::Result<u64> {
        let days = self.settings().auth.audit_address_retention_days;
        if days == 0 {
            return Ok(0);
        }
        let before = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
        let mut total = 0;
        loop {
            let n = store::erase_audit_addresses_before(&self.db, before, 1_000).await?
                + store::erase_session_addresses_before(&self.db, before, 1_000).await?;
            total += n;
            if n < 1_000 {
                if total > 0 {
                    tracing::info!(
                        records = total,
                        days,
                        "audit addresses past their retention erased"
                    );
                }
                return Ok(total);
            }
        }
    }
}

/// Reads `chain` in order, a page at a time, checking each record against the one before.
pub(crate) async fn walk_chain(db: &Db, chain: Uuid, mut walk: Walk) -> anyhow::Result<Walk> {
    let mut after = 0;
    loop {
        let rows = store::chain_records(db, chain, after, PAGE).await?;
        for r in &rows {
            let seq = r.chain_seq.unwrap_or_default();
            walk.step(&Stored {
                record: r.chained(seq),
                prev_hash: r.prev_hash.as_deref().unwrap_or_default(),
                hash: r.hash.as_deref().unwrap_or_default(),
            });
            after = seq;
        }
        if (rows.len() as i64) < PAGE {
            return Ok(walk);
        }
    }
}

/// Applies the audit trail's address retention every `every` while the service lives.
pub(crate) async fn retention(identity: Weak<Identity>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(id) = identity.upgrade() else {
            return;
        };
        if let Err(e) = id.erase_expired_audit_addresses().await {
            tracing::warn!(error = %e, "erasing expired audit addresses failed; the next run tries again");
        }
    }
}

/// Anchors the chains every `every` while the service lives.
pub(crate) async fn anchorer(identity: Weak<Identity>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(id) = identity.upgrade() else {
            return;
        };
        if let Err(e) = id.anchor_audit().await {
            tracing::warn!(error = %e, "anchoring the audit chains failed; the next run tries again");
        }
    }
}
