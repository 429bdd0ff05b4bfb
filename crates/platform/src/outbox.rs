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
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.relay_batch().await {
                // A full batch means more may be waiting: go again at once.
                Ok(n) if n as i64 == self.batch => continue,
                Ok(_) => {}
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

    /// Publishes up to one batch of unpublished events in order; returns how many left.
    /// On PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED`, so several instances can
    /// relay one outbox without publishing a row twice concurrently.
    pub async fn relay_batch(&self) -> anyhow::Result<usize> {
        let mut tx = self.db.begin().await?;
        let lock = match self.db {
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let sql = format!(
            "SELECT seq, envelope FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1{lock}"
        );
        let rows: Vec<(i64, Json<EventEnvelope>)> = on_tx!(&mut tx, |c| sqlx::query_as(&sql)
            .bind(self.batch)
            .fetch_all(c)
            .await)?;
        let mut published = Vec::with_capacity(rows.len());
        let mut failure = None;
        for (seq, Json(event)) in rows {
            // Stop at the first failure: later events must not overtake an earlier one.
            match self.bus.publish(&event).await {
                Ok(()) => published.push(seq),
                Err(e) => {
                    failure = Some((seq, e.to_string()));
                    break;
                }
            }
        }
        let now = Utc::now();
        for seq in &published {
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

    pub async fn backlog(&self) -> Result<i64, sqlx::Error> {
        on_db!(&self.db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"
        )
        .fetch_one(p)
        .await)
    }
}
