//! The audit/analytics stream: every domain event on the bus, copied to the stream
//! `<topic_prefix>audit` keyed by its aggregate id, so each load's or truck's history is one
//! ordered sequence of records in one partition, kept for `streams.retention_hours` and
//! readable by any number of consumer groups (analytics, reporting, an external archive).
//!
//! The copy is a bus consumer group ([`AUDIT_GROUP`]): an event is acknowledged on the bus
//! only after the stream has stored it, so nothing committed is missing from the stream.
//! Delivery is at least once (a crash between the two repeats the record); the record is
//! the event's JSON envelope, whose `id` lets a reader drop repeats. Deliveries that queued
//! up are appended as one pipelined batch in bus order (Kafka's idempotent producer keeps a
//! partition's records in send order through its retries). A failed append is retried in
//! place, from the first record not stored, with backoff rather than refused, because a
//! refused delivery comes back behind later events of the same aggregate and would break
//! their order. (If a batch fails part-way, records after the failure may already be
//! stored; retrying repeats them after the retried one, so a reader that drops repeats by
//! `id` keeps the first copy, which can then precede an earlier event of its aggregate:
//! readers that need strict order compare `occurred_at`/`id`.) With several
//! instances the group's deliveries are split between them, so order per aggregate then
//! rests on the envelope's `occurred_at` and time-ordered `id`.
//!
//! Commands are not domain events and are not copied: `email.send_requested` carries
//! one-time tokens that must not outlive their email.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use lanerunner_core::EventEnvelope;
use tokio_util::sync::CancellationToken;

use super::{Outgoing, Streams};
use crate::bus::{next_batch, Delivery, EventBus};
use crate::telemetry::otel::TRACEPARENT;

/// The bus consumer group that copies events to the stream.
pub const AUDIT_GROUP: &str = "streams.audit";
/// The stream's name under `streams.topic_prefix`.
pub const AUDIT_TOPIC: &str = "audit";

/// The most deliveries appended to the stream in one batch.
const MAX_BATCH: usize = 256;

/// Topic prefixes of commands, which stay off the audit stream.
const COMMAND_PREFIXES: &[&str] = &["email."];

pub struct AuditForwarder {
    pub bus: Arc<dyn EventBus>,
    pub streams: Arc<dyn Streams>,
}

impl AuditForwarder {
    /// Whether `event` belongs on the audit stream.
    pub fn is_audited(event: &EventEnvelope) -> bool {
        !COMMAND_PREFIXES
            .iter()
            .any(|p| event.event_type.starts_with(p))
    }

    /// The stream record of `event`: key and payload.
    /// The stream record of `event`: keyed by its aggregate, the envelope as JSON, and the
    /// trace context of the request that caused it as the W3C `traceparent` header (the
    /// envelope carries it too; the header is where Kafka tooling looks, as AMQP's is).
    pub fn record(event: &EventEnvelope) -> Result<Outgoing, serde_json::Error> {
        let mut record = Outgoing::new(
            event.aggregate_id.to_string().into_bytes(),
            serde_json::to_vec(event)?,
        );
        if let Some(traceparent) = &event.trace.traceparent {
            record = record.with_header(TRACEPARENT, traceparent.as_bytes());
        }
        Ok(record)
    }

    /// Declares the group's queue (so nothing published after this is missed) and creates
    /// the topic; call before the application serves.
    pub async fn prepare(&self) -> anyhow::Result<()> {
        drop(self.bus.subscribe(AUDIT_GROUP, &["#"]).await?);
        self.streams.ensure_topic(AUDIT_TOPIC).await?;
        Ok(())
    }

    /// Copies events until `shutdown` fires: waits for one delivery, takes whatever has
    /// queued behind it (up to [`MAX_BATCH`]), and appends them to the stream in one
    /// pipelined batch, so the stream's round trip is paid per batch, not per event.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut sub = self.bus.subscribe(AUDIT_GROUP, &["#"]).await?;
        loop {
            let Some(batch) = next_batch(sub.as_mut(), MAX_BATCH, &shutdown).await else {
                return Ok(());
            };
            let mut deliveries = VecDeque::with_capacity(batch.len());
            let mut records = Vec::with_capacity(batch.len());
            for delivery in batch {
                if !Self::is_audited(&delivery.event) {
                    delivery.ack().await;
                    continue;
                }
                match Self::record(&delivery.event) {
                    Ok(record) => {
                        records.push(record);
                        deliveries.push_back(delivery);
                    }
                    // Cannot happen for a value that was deserialized from JSON; refusing it
                    // dead-letters it where an operator sees it.
                    Err(e) => {
                        delivery
                            .nack(format!("serializing the envelope: {e}"))
                            .await
                    }
                }
            }
            if !self.forward(deliveries, &records, &shutdown).await {
                return Ok(());
            }
        }
    }

    /// Appends `records` in order, acknowledging each delivery once its record is stored.
    /// A failed append is retried in place, from the first record not stored, with backoff;
    /// returns false when `shutdown` fired first (the rest are refused, to be redelivered).
    async fn forward(
        &self,
        mut deliveries: VecDeque<Delivery>,
        records: &[Outgoing],
        shutdown: &CancellationToken,
    ) -> bool {
        let mut stored = 0;
        let mut backoff = Duration::from_millis(100);
        while stored < records.len() {
            let (n, error) = self
                .streams
                .publish_batch(AUDIT_TOPIC, &records[stored..])
                .await;
            // A backend's count is trusted only as far as the batch goes.
            let n = n.min(deliveries.len());
            for delivery in deliveries.drain(..n) {
                delivery.ack().await;
            }
            stored += n;
            let Some(e) = error else { continue };
            tracing::warn!(error = %e, unsent = records.len() - stored, retry_ms = backoff.as_millis() as u64, "audit stream publish failed; retrying");
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.cancelled() => {
                    for delivery in deliveries {
                        delivery.nack("shutting down before the audit stream took it").await;
                    }
                    return false;
                }
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        true
    }
}
