//! The transactional outbox: a service writes its state change and the events describing
//! it in one transaction ([`enqueue`]); a relay ([`OutboxRelay`]) publishes committed
//! events to the bus in commit order and marks them published. A crash between publish and
//! mark republishes on restart, so delivery is at least once and consumers deduplicate by
//! event id (see `bus::run_consumer`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lanerunner_core::{EventEnvelope, TraceContext};
use sqlx::types::Json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::bus::EventBus;
use crate::db::Backend;
use crate::{on_db, on_tx, Db, Tx};

/// Adds `event` to the outbox inside the caller's transaction. An event without a trace
/// context gets the one of the request being handled.
pub async fn enqueue(tx: &mut Tx, event: &EventEnvelope) -> Result<(), sqlx::Error> {
    let traced;
    let event = match crate::http::middleware::current_trace() {
        Some(trace) if event.trace == TraceContext::default() => {
            traced = event.clone().with_trace(trace);
            &traced
        }
        _ => event,
    };
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO outbox (id, topic, aggregate_id, envelope, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.id)
        .bind(&event.event_type)
        .bind(event.aggregate_id)
        .bind(Json(event))
        .bind(Utc::now())
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// Wakes the relay after a commit so events leave at once rather than at the next poll.
#[derive(Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    pub fn committed(&self) {
        self.0.notify_one();
    }
}

pub struct OutboxRelay {
    service: &'static str,
    db: Db,
    bus: Arc<dyn EventBus>,
    signal: OutboxSignal,
    poll: Duration,
    batch: i64,
    /// How long published events stay (none: for ever), and when they were last pruned.
    retention: Option<Duration>,
    pruned_at: Option<std::time::Instant>,
}

/// How often the relay prunes published events past their retention.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// The most rows one pruning statement deletes.
const PRUNE_BATCH: i64 = 5_000;

/// Deletes up to `limit` events published before `before`, oldest first; how many. Once
/// on the bus an event's copies are the broker's and the stream's (each with its own
/// retention); the outbox needs only what is not yet published. Keeping the rest would
/// keep every personal detail an event carried (a new member's email) for ever.
pub async fn prune_published(
    db: &Db,
    before: chrono::DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<u64> {
    on_db!(db, |c| sqlx::query(
        "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox \
         WHERE published_at IS NOT NULL AND published_at < $1 ORDER BY seq LIMIT $2)"
    )
    .bind(before)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

impl OutboxRelay {
    pub fn new(
        service: &'static str,
        db: Db,
        bus: Arc<dyn EventBus>,
        signal: OutboxSignal,
        poll: Duration,
        batch: i64,
    ) -> Self {
        Self {
            service,
            db,
            bus,
            signal,
            poll,
            batch: batch.max(1),
            retention: None,
            pruned_at: None,
        }
    }

    /// Deletes published events once they are `retention` old (checked every ten minutes).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    async fn prune_if_due(&mut self) {
        let Some(retention) = self.retention else {
            return;
        };
        if self.pruned_at.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return;
        }
        self.pruned_at = Some(std::time::Instant::now());
        let before = Utc::now() - retention;
        loop {
            match prune_published(&self.db, before, PRUNE_BATCH).await {
                Ok(n) => {
                    metrics::counter!("outbox_pruned_total", "service" => self.service)
                        .increment(n);
                    if (n as i64) < PRUNE_BATCH {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(service = self.service, error = %e, "pruning the outbox failed; the next run tries again");
                    return;
                }
            }
        }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            self.prune_if_due().await;
            match self.relay_batch().await {
                // A full batch means more may be waiting: go again at once.
                Ok(n) if n as i64 == self.batch => continue,
                Ok(_) => {}
                // Another instance is relaying; it may have read its batch before our
                // commit, so look again soon rather than at the next poll.
                Err(e) if e.is::<RelayBusy>() => {
                    tokio::select! {
                        _ = tokio::time::sleep(BUSY_RETRY) => continue,
                        _ = shutdown.cancelled() => return,
                    }
                }
                Err(e) => {
                    tracing::warn!(service = self.service, error = %e, "outbox relay failed; will retry")
                }
            }
            if let Ok(n) = self.backlog().await {
                metrics::gauge!("outbox_backlog", "service" => self.service).set(n as f64);
            }
            tokio::select! {
                _ = self.signal.0.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Publishes up to one batch of unpublished events in order; returns how many it
    /// published.
    ///
    /// Many instances may run a relay over one PostgreSQL outbox. There each batch is read,
    /// published and marked inside one transaction that first takes the transaction-scoped
    /// advisory lock of this outbox's schema (`pg_try_advisory_xact_lock`): one relay
    /// publishes at a time and the others find the lock taken and wait for the next tick.
    /// That keeps events in commit order, hence in order per aggregate, which `SKIP LOCKED`
    /// batches on several instances would not (a later batch could overtake an earlier
    /// one). If the relaying instance dies, its transaction aborts, the lock is released
    /// with it, and another instance republishes what was not marked published.
    ///
    /// A SQLite file belongs to one process, which runs one relay per outbox, so no lock is
    /// needed: the batch is read outside any transaction and marked in a short write
    /// transaction after the broker has confirmed it. Holding SQLite's single write lock
    /// across the broker's round trip would stall every producer and consumer of the file.
    pub async fn relay_batch(&self) -> anyhow::Result<usize> {
        let mut held = match self.db.backend() {
            Backend::Postgres => Some(self.lead().await?),
            Backend::Sqlite => None,
        };
        let sql =
            "SELECT seq, envelope FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1";
        let rows: Vec<(i64, Json<EventEnvelope>)> = match &mut held {
            Some(tx) => on_tx!(tx, |c| sqlx::query_as(sql)
                .bind(self.batch)
                .fetch_all(c)
                .await)?,
            None => on_db!(&self.db, |p| sqlx::query_as(sql)
                .bind(self.batch)
                .fetch_all(p)
                .await)?,
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let (seqs, events): (Vec<i64>, Vec<EventEnvelope>) =
            rows.into_iter().map(|(seq, Json(e))| (seq, e)).unzip();
        // Stops at the first failure: later events must not overtake an earlier one.
        let (sent, error) = self.bus.publish_batch(&events).await;
        // A backend's count is trusted only as far as the batch goes.
        let sent = sent.min(seqs.len());
        let published = &seqs[..sent];
        let failure = error.and_then(|e| seqs.get(sent).map(|seq| (*seq, e.to_string())));
        let now = Utc::now();
        let mut tx = match held {
            Some(tx) => tx,
            None => self.db.begin().await?,
        };
        for seq in published {
            on_tx!(&mut tx, |c| sqlx::query(
                "UPDATE outbox SET published_at = $1, attempts = attempts + 1 WHERE seq = $2"
            )
            .bind(now)
            .bind(*seq)
            .execute(c)
            .await
            .map(|_| ()))?;
        }
        if let Some((seq, error)) = &failure {
            on_tx!(&mut tx, |c| sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE seq = $2"
            )
            .bind(error)
            .bind(*seq)
            .execute(c)
            .await
            .map(|_| ()))?;
        }
        tx.commit().await?;
        metrics::counter!("outbox_published_total", "service" => self.service)
            .increment(published.len() as u64);
        if let Some((_, error)) = failure {
            anyhow::bail!("publish failed: {error}");
        }
        Ok(published.len())
    }

    /// Begins the PostgreSQL transaction that holds this outbox's relay lock, or fails with
    /// [`RelayBusy`] when another instance holds it.
    async fn lead(&self) -> anyhow::Result<Tx> {
        let mut tx = self.db.begin().await?;
        // Keyed by the schema that holds this outbox: services (and test runs) sharing one
        // database each have their own outbox and must not wait on each other.
        let leader: bool = on_tx!(&mut tx, |c| {
            sqlx::query_scalar(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('lanerunner.outbox.' || current_schema(), 0))",
        )
        .fetch_one(c)
        .await
        })?;
        if !leader {
            return Err(RelayBusy.into());
        }
        Ok(tx)
    }

    pub async fn backlog(&self) -> Result<i64, sqlx::Error> {
        on_db!(&self.db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"
        )
        .fetch_one(p)
        .await)
    }
}

/// Another instance holds the relay lock of this outbox right now.
#[derive(Debug, thiserror::Error)]
#[error("another instance is relaying this outbox")]
pub struct RelayBusy;

/// How soon a relay that found the lock taken looks again.
const BUSY_RETRY: Duration = Duration::from_millis(25);
