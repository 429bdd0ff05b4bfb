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
//!
//! A failure marked [`Permanent`] (a payload that can never parse) is dead-lettered at
//! once instead: redelivering it would only spend the attempts and their delays. After a
//! commit the service's outbox relay is woken, so events a handler published leave at once
//! rather than at the relay's next poll. A handler runs in a span carrying the event's
//! trace context, and the events it publishes inherit that context.

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Delivery, EventBus};
use crate::outbox::OutboxSignal;
use crate::telemetry::otel;
use crate::{on_tx, Db, Tx};

/// The most deliveries applied in one transaction.
pub const MAX_BATCH: usize = 64;

#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Applies the event's effect inside `tx`; an error rolls it back and redelivers, unless
    /// it is marked [`Permanent`], which dead-letters the event at once.
    ///
    /// May run more than once for an event whose transaction was rolled back (its batch
    /// failed on another event, or the process died before the commit), so an effect
    /// outside `tx` (a push to sockets) must tolerate repeats.
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()>;
}

/// A handler failure that no retry can fix: the event itself is wrong (a payload that
/// does not parse, a required field missing). The consumer dead-letters such an event at
/// once; every other error is taken as transient and redelivered until `max_attempts`.
///
/// Mark one with [`Permanent::new`] (or `.map_err(Permanent::new)`); context added
/// afterwards keeps the mark.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Permanent(anyhow::Error);

impl Permanent {
    // It returns the marked `anyhow::Error`, which is what a handler propagates.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(cause: impl Into<anyhow::Error>) -> anyhow::Error {
        anyhow::Error::new(Permanent(cause.into()))
    }
}

/// Whether `e` (or anything it wraps) is marked [`Permanent`].
pub fn is_permanent(e: &anyhow::Error) -> bool {
    e.downcast_ref::<Permanent>().is_some() || e.chain().any(|c| c.is::<Permanent>())
}

/// Consumes `patterns` as group `group` until `shutdown` fires; `outbox` is the service's
/// relay signal, woken after each commit.
pub async fn run_consumer(
    bus: Arc<dyn EventBus>,
    db: Db,
    group: String,
    patterns: Vec<String>,
    handler: Arc<dyn EventHandler>,
    outbox: OutboxSignal,
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
            match apply_batch(&db, &group, &events, handler.as_ref(), &outbox).await {
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
            apply_one(&db, &group, delivery, handler.as_ref(), &outbox).await;
        }
    }
}

/// Applies one delivery in its own transaction and settles it.
async fn apply_one(
    db: &Db,
    group: &str,
    delivery: Delivery,
    handler: &dyn EventHandler,
    outbox: &OutboxSignal,
) {
    let started = std::time::Instant::now();
    let outcome = apply_batch(db, group, &[&delivery.event], handler, outbox).await;
    let result = match &outcome {
        Ok(fresh) if fresh[..] == [true] => "processed",
        Ok(_) => "duplicate",
        Err(e) if is_permanent(e) => "rejected",
        Err(_) => "failed",
    };
    count(group, result, started.elapsed().as_secs_f64());
    match outcome {
        Ok(_) => delivery.ack().await,
        Err(e) if is_permanent(&e) => {
            tracing::warn!(group = %group, event_id = %delivery.event.id, event_type = %delivery.event.event_type, attempt = delivery.attempt, error = %format!("{e:#}"), "event can never be handled; dead-lettered without retries");
            delivery.dead_letter(format!("{e:#}")).await
        }
        Err(e) => {
            tracing::warn!(group = %group, event_id = %delivery.event.id, event_type = %delivery.event.event_type, attempt = delivery.attempt, error = %e, "event handler failed");
            delivery.nack(format!("{e:#}")).await
        }
    }
}

/// Applies `events` in one transaction (a batch, or one event); returns, per event, whether
/// it was new to the group (false: a repeat, skipped). Any error leaves nothing applied.
/// After the commit, wakes the outbox relay: what the handlers enqueued is publishable now.
async fn apply_batch(
    db: &Db,
    group: &str,
    events: &[&EventEnvelope],
    handler: &dyn EventHandler,
    outbox: &OutboxSignal,
) -> anyhow::Result<Vec<bool>> {
    let mut tx = db.begin().await?;
    let mut fresh = Vec::with_capacity(events.len());
    for event in events {
        fresh.push(apply_in(&mut tx, group, event, handler).await?);
    }
    tx.commit().await?;
    if fresh.contains(&true) {
        outbox.committed();
    }
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
    // A consumer span, child of the span that wrote the event (a request's, or another
    // consumer's); what the handler writes to its outbox names this span as its parent.
    let span = tracing::info_span!(
        "consume",
        group = %group,
        event_id = %event.id,
        event_type = %event.event_type,
        traceparent = event.trace.traceparent.as_deref().unwrap_or(""),
        request_id = event.trace.request_id.as_deref().unwrap_or(""),
        otel.name = %format!("process {}", event.event_type),
        otel.kind = "consumer",
        messaging.operation.type = "process",
        messaging.destination.name = %event.event_type,
        messaging.consumer.group.name = %group,
        messaging.message.id = %event.id,
    );
    otel::set_remote_parent(&span, event.trace.traceparent.as_deref());
    let trace = lanerunner_core::TraceContext {
        traceparent: otel::traceparent_of(&span).or_else(|| event.trace.traceparent.clone()),
        request_id: event.trace.request_id.clone(),
    };
    crate::http::middleware::in_trace(trace, handler.handle(event, tx))
        .instrument(span)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_permanent_mark_survives_added_context_and_nothing_else_is_permanent() {
        let bad: Result<(), anyhow::Error> = Err(Permanent::new(anyhow::anyhow!("no such field")));
        let wrapped = bad.context("truck.posted payload").unwrap_err();
        assert!(is_permanent(&wrapped));
        assert_eq!(
            format!("{wrapped:#}"),
            "truck.posted payload: no such field"
        );
        let parse = serde_json::from_str::<u32>("x").unwrap_err();
        assert!(is_permanent(&Permanent::new(parse)));
        assert!(!is_permanent(&anyhow::anyhow!("database is locked")));
        let db: anyhow::Error = sqlx::Error::PoolTimedOut.into();
        assert!(!is_permanent(&db.context("saving")));
    }
}

/// Runs `handler` as consumer group `group` over the audit stream (every domain event,
/// `streams::AUDIT_TOPIC`) instead of the bus, until `shutdown`: the events of `patterns`
/// are applied exactly as [`run_consumer`] applies them (one transaction each, repeats
/// skipped by event id), and each record is committed on the stream after its effect, so
/// delivery is at least once and a member that takes a partition over resumes after the
/// last commit. Records of other events are committed unread.
///
/// A record is never skipped for a passing failure: it is retried in place with backoff,
/// so the records of one aggregate keep their order. A record that is not an event
/// envelope, or whose handler refuses it for good ([`Permanent`]), is logged, counted as
/// `rejected` and committed — the stream has no dead-letter queue, and a handler that must
/// keep bad input (analytics' quarantine) does so itself instead of refusing.
pub async fn run_stream_consumer(
    streams: Arc<dyn crate::streams::Streams>,
    db: Db,
    group: String,
    patterns: Vec<String>,
    handler: Arc<dyn EventHandler>,
    outbox: OutboxSignal,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut sub = streams
        .subscribe(&group, &[crate::streams::AUDIT_TOPIC])
        .await?;
    loop {
        let record = tokio::select! {
            r = sub.next() => match r {
                Some(r) => r?,
                None => return Ok(()),
            },
            _ = shutdown.cancelled() => return Ok(()),
        };
        let event = match serde_json::from_slice::<EventEnvelope>(&record.payload) {
            Ok(event) => event,
            Err(e) => {
                tracing::error!(group = %group, partition = record.partition, offset = record.offset, error = %e, "a stream record is not an event envelope; skipped");
                count(&group, "rejected", 0.0);
                sub.commit(&record).await?;
                continue;
            }
        };
        if patterns
            .iter()
            .any(|p| lanerunner_core::event::topic_matches(p, &event.event_type))
        {
            record_lag(&group, &event);
            let mut backoff = std::time::Duration::from_millis(100);
            loop {
                let started = std::time::Instant::now();
                match apply_batch(&db, &group, &[&event], handler.as_ref(), &outbox).await {
                    Ok(fresh) => {
                        let result = if fresh[..] == [true] {
                            "processed"
                        } else {
                            "duplicate"
                        };
                        count(&group, result, started.elapsed().as_secs_f64());
                        break;
                    }
                    Err(e) if is_permanent(&e) => {
                        tracing::error!(group = %group, event_id = %event.id, error = %format!("{e:#}"), "event refused for good; committed past it");
                        count(&group, "rejected", started.elapsed().as_secs_f64());
                        break;
                    }
                    Err(e) => {
                        count(&group, "failed", started.elapsed().as_secs_f64());
                        tracing::warn!(group = %group, event_id = %event.id, error = %format!("{e:#}"), retry_in_ms = backoff.as_millis() as u64, "event not applied; retrying it in place");
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = shutdown.cancelled() => return Ok(()),
                        }
                        backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
                    }
                }
            }
        }
        sub.commit(&record).await?;
    }
}
