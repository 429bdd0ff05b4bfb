//! The audit/analytics stream: every domain event on the bus, copied to the stream
//! `<topic_prefix>audit` keyed by its aggregate id, so each load's or truck's history is one
//! ordered sequence of records in one partition, kept for `streams.retention_hours` and
//! readable by any number of consumer groups (analytics, reporting, an external archive).
//!
//! The copy is a bus consumer group ([`AUDIT_GROUP`]): an event is acknowledged on the bus
//! only after the stream has stored it, so nothing committed is missing from the stream.
//! Delivery is at least once (a crash between the two repeats the record); the record is
//! the event's JSON envelope, whose `id` lets a reader drop repeats. A failed publish is
//! retried in place with backoff rather than refused, because a refused delivery comes back
//! behind later events of the same aggregate and would break their order. With several
//! instances the group's deliveries are split between them, so order per aggregate then
//! rests on the envelope's `occurred_at` and time-ordered `id`.
//!
//! Commands are not domain events and are not copied: `email.send_requested` carries
//! one-time tokens that must not outlive their email.

use std::sync::Arc;
use std::time::Duration;

use lanerunner_core::EventEnvelope;
use tokio_util::sync::CancellationToken;

use super::Streams;
use crate::bus::EventBus;

/// The bus consumer group that copies events to the stream.
pub const AUDIT_GROUP: &str = "streams.audit";
/// The stream's name under `streams.topic_prefix`.
pub const AUDIT_TOPIC: &str = "audit";

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
    pub fn record(event: &EventEnvelope) -> Result<(Vec<u8>, Vec<u8>), serde_json::Error> {
        Ok((
            event.aggregate_id.to_string().into_bytes(),
            serde_json::to_vec(event)?,
        ))
    }

    /// Declares the group's queue (so nothing published after this is missed) and creates
    /// the topic; call before the application serves.
    pub async fn prepare(&self) -> anyhow::Result<()> {
        drop(self.bus.subscribe(AUDIT_GROUP, &["#"]).await?);
        self.streams.ensure_topic(AUDIT_TOPIC).await?;
        Ok(())
    }

    /// Copies events until `shutdown` fires.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut sub = self.bus.subscribe(AUDIT_GROUP, &["#"]).await?;
        loop {
            let delivery = tokio::select! {
                d = sub.next() => match d { Some(d) => d, None => return Ok(()) },
                _ = shutdown.cancelled() => return Ok(()),
            };
            if !Self::is_audited(&delivery.event) {
                delivery.ack().await;
                continue;
            }
            let (key, payload) = match Self::record(&delivery.event) {
                Ok(record) => record,
                Err(e) => {
                    // Cannot happen for a value that was deserialized from JSON; refusing
                    // it dead-letters it where an operator sees it.
                    delivery
                        .nack(format!("serializing the envelope: {e}"))
                        .await;
                    continue;
                }
            };
            let mut backoff = Duration::from_millis(100);
            loop {
                match self.streams.publish(AUDIT_TOPIC, &key, &payload).await {
                    Ok(_) => {
                        delivery.ack().await;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(event_id = %delivery.event.id, error = %e, retry_ms = backoff.as_millis() as u64, "audit stream publish failed; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(backoff) => {}
                            _ = shutdown.cancelled() => {
                                delivery.nack("shutting down before the audit stream took it").await;
                                return Ok(());
                            }
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
    }
}
