//! Running a consumer group against a service's store, idempotently.
//!
//! Delivery is at least once, so every handler runs inside a transaction that also records
//! the event id in the service's `processed_events` table: a redelivered event finds its id
//! already there and is acknowledged without running the handler again.

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use tokio_util::sync::CancellationToken;

use super::EventBus;
use crate::{on_tx, Db, Tx};

#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Applies the event's effect inside `tx`; an error rolls it back and redelivers.
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()>;
}

/// Consumes `patterns` as group `group` until `shutdown` fires.
pub async fn run_consumer(
    bus: Arc<dyn EventBus>,
    db: Db,
    group: String,
    patterns: Vec<String>,
    handler: Arc<dyn EventHandler>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pattern_refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let mut sub = bus.subscribe(&group, &pattern_refs).await?;
    loop {
        let delivery = tokio::select! {
            d = sub.next() => match d { Some(d) => d, None => return Ok(()) },
            _ = shutdown.cancelled() => return Ok(()),
        };
        let started = std::time::Instant::now();
        let outcome = apply_once(&db, &group, &delivery.event, handler.as_ref()).await;
        let result = match &outcome {
            Ok(true) => "processed",
            Ok(false) => "duplicate",
            Err(_) => "failed",
        };
        metrics::counter!("consumer_events_total", "group" => group.clone(), "result" => result)
            .increment(1);
        metrics::histogram!("consumer_handle_seconds", "group" => group.clone())
            .record(started.elapsed().as_secs_f64());
        match outcome {
            Ok(_) => delivery.ack().await,
            Err(e) => {
                tracing::warn!(group = %group, event_id = %delivery.event.id, event_type = %delivery.event.event_type, attempt = delivery.attempt, error = %e, "event handler failed");
                delivery.nack(format!("{e:#}")).await
            }
        }
    }
}

/// Returns `Ok(false)` when the event had already been processed by this group.
async fn apply_once(
    db: &Db,
    group: &str,
    event: &EventEnvelope,
    handler: &dyn EventHandler,
) -> anyhow::Result<bool> {
    let mut tx = db.begin().await?;
    let now = chrono::Utc::now();
    let inserted = on_tx!(&mut tx, |c| {
        sqlx::query(
            "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(group)
        .bind(event.id)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()
    });
    if inserted == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    handler.handle(event, &mut tx).await?;
    tx.commit().await?;
    Ok(true)
}
