//! Running a consumer group against a service's store, idempotently.
//!
//! Delivery is at least once, so every handler runs inside a transaction that also records
//! the event id in the service's `processed_events` table: a redelivered event finds its id
//! already there and is acknowledged without running the handler again.
//!
//! Deliveries that have queued up behind the one the consumer waited for are applied
//! together, in bus order, in one transaction (up to [`MAX_BATCH`]): a busy consumer pays
//! one commit, and on PostgreSQL one WAL flush, per batch instead of per event. If any
//! handler of a batch fails, the batch is rolled back and its events are applied again
//! one at a time, so only the failing event is refused and redelivered.

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use tokio_util::sync::CancellationToken;

use super::{Delivery, EventBus};
use crate::{on_tx, Db, Tx};

/// The most deliveries applied in one transaction.
pub const MAX_BATCH: usize = 64;

#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Applies the event's effect inside `tx`; an error rolls it back and redelivers.
    ///
    /// May run more than once for an event whose transaction was rolled back (its batch
    /// failed on another event, or the process died before the commit), so an effect
    /// outside `tx` (a push to sockets) must tolerate repeats.
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
        let Some(batch) = super::next_batch(sub.as_mut(), MAX_BATCH, &shutdown).await else {
            return Ok(());
        };
        for delivery in &batch {
            record_lag(&group, &delivery.event);
        }
        if batch.len() > 1 {
            let started = std::time::Instant::now();
            let events: Vec<&EventEnvelope> = batch.iter().map(|d| &d.event).collect();
            match apply_batch(&db, &group, &events, handler.as_ref()).await {
                Ok(fresh) => {
                    let per_event = started.elapsed().as_secs_f64() / batch.len() as f64;
                    for (delivery, fresh) in batch.into_iter().zip(fresh) {
                        count(
                            &group,
                            if fresh { "processed" } else { "duplicate" },
                            per_event,
                        );
                        delivery.ack().await;
                    }
                    continue;
                }
                Err(e) => {
                    tracing::debug!(group = %group, events = batch.len(), error = %e, "batch rolled back; applying its events one at a time");
                }
            }
        }
        for delivery in batch {
            apply_one(&db, &group, delivery, handler.as_ref()).await;
        }
    }
}

/// Applies one delivery in its own transaction and settles it.
async fn apply_one(db: &Db, group: &str, delivery: Delivery, handler: &dyn EventHandler) {
    let started = std::time::Instant::now();
    let outcome = apply_batch(db, group, &[&delivery.event], handler).await;
    let result = match outcome.as_deref() {
        Ok([true]) => "processed",
        Ok(_) => "duplicate",
        Err(_) => "failed",
    };
    count(group, result, started.elapsed().as_secs_f64());
    match outcome {
        Ok(_) => delivery.ack().await,
        Err(e) => {
            tracing::warn!(group = %group, event_id = %delivery.event.id, event_type = %delivery.event.event_type, attempt = delivery.attempt, error = %e, "event handler failed");
            delivery.nack(format!("{e:#}")).await
        }
    }
}

/// Applies `events` in one transaction (a batch, or one event); returns, per event, whether
/// it was new to the group (false: a repeat, skipped). Any error leaves nothing applied.
async fn apply_batch(
    db: &Db,
    group: &str,
    events: &[&EventEnvelope],
    handler: &dyn EventHandler,
) -> anyhow::Result<Vec<bool>> {
    let mut tx = db.begin().await?;
    let mut fresh = Vec::with_capacity(events.len());
    for event in events {
        fresh.push(apply_in(&mut tx, group, event, handler).await?);
    }
    tx.commit().await?;
    Ok(fresh)
}

fn count(group: &str, result: &'static str, seconds: f64) {
    metrics::counter!("consumer_events_total", "group" => group.to_string(), "result" => result)
        .increment(1);
    metrics::histogram!("consumer_handle_seconds", "group" => group.to_string()).record(seconds);
}

/// Records how long after it happened `event` reached `group`'s consumer (relay, broker
/// and queueing delays together) in the `consumer_lag_seconds` histogram.
pub fn record_lag(group: &str, event: &EventEnvelope) {
    let lag = chrono::Utc::now() - event.occurred_at;
    metrics::histogram!("consumer_lag_seconds", "group" => group.to_string())
        .record(lag.num_milliseconds().max(0) as f64 / 1000.0);
}

/// Every `every`, sets the `bus_queue_depth` and `bus_dead_letters` gauges of each group
/// from the broker, until shutdown. A failed reading is skipped (the broker may be away, or
/// at start-up a group's queue may not be declared yet; `readyz` says so) and the round is
/// retried after a second rather than a whole period, so the gauges appear promptly.
pub async fn sample_queue_depths(
    bus: Arc<dyn EventBus>,
    groups: Vec<String>,
    every: std::time::Duration,
    shutdown: CancellationToken,
) {
    loop {
        let mut all_read = true;
        for group in &groups {
            match bus.queue_depth(group).await {
                Ok(depth) => {
                    metrics::gauge!("bus_queue_depth", "group" => group.clone())
                        .set(depth.ready as f64);
                    metrics::gauge!("bus_dead_letters", "group" => group.clone())
                        .set(depth.dead as f64);
                }
                Err(_) => all_read = false,
            }
        }
        let pause = if all_read {
            every
        } else {
            every.min(std::time::Duration::from_secs(1))
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
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

/// Records `event` as processed by `group` and runs the handler, inside `tx`; returns
/// `Ok(false)` (and runs nothing) when the group had already processed it.
async fn apply_in(
    tx: &mut Tx,
    group: &str,
    event: &EventEnvelope,
    handler: &dyn EventHandler,
) -> anyhow::Result<bool> {
    let now = chrono::Utc::now();
    let inserted = on_tx!(tx, |c| {
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
        return Ok(false);
    }
    handler.handle(event, tx).await?;
    Ok(true)
}
