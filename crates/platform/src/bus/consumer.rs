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
        record_lag(&group, &delivery.event);
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

/// Records how long after it happened `event` reached `group`'s consumer (relay, broker
/// and queueing delays together) in the `consumer_lag_seconds` histogram.
pub fn record_lag(group: &str, event: &EventEnvelope) {
    let lag = chrono::Utc::now() - event.occurred_at;
    metrics::histogram!("consumer_lag_seconds", "group" => group.to_string())
        .record(lag.num_milliseconds().max(0) as f64 / 1000.0);
}

/// Every `every`, sets the `bus_queue_depth` and `bus_dead_letters` gauges of each group
/// from the broker, until shutdown. A failed reading is skipped (the broker may be away;
/// `readyz` says so).
pub async fn sample_queue_depths(
    bus: Arc<dyn EventBus>,
    groups: Vec<String>,
    every: std::time::Duration,
    shutdown: CancellationToken,
) {
    loop {
        for group in &groups {
            if let Ok(depth) = bus.queue_depth(group).await {
                metrics::gauge!("bus_queue_depth", "group" => group.clone())
                    .set(depth.ready as f64);
                metrics::gauge!("bus_dead_letters", "group" => group.clone())
                    .set(depth.dead as f64);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Feeds a broadcast subscription's deliveries to `listener` until shutdown. A failure is
/// logged and the event dropped: listeners keep per-instance state that is rebuilt from
/// the store at the next start (see [`crate::service::ListenerSpec`]).
pub async fn run_listener(
    mut sub: Box<dyn super::Subscription>,
    name: String,
    listener: Arc<dyn crate::service::EventListener>,
    shutdown: CancellationToken,
) {
    loop {
        let delivery = tokio::select! {
            d = sub.next() => match d { Some(d) => d, None => return },
            _ = shutdown.cancelled() => return,
        };
        let result = match listener.on_event(&delivery.event).await {
            Ok(()) => "ok",
            Err(e) => {
                tracing::warn!(listener = %name, event_id = %delivery.event.id, error = %e, "listener failed; event dropped");
                "failed"
            }
        };
        metrics::counter!("listener_events_total", "listener" => name.clone(), "result" => result)
            .increment(1);
        delivery.ack().await;
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
