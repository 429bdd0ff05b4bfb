//! The bus seam: domain events and internal commands between services.
//!
//! Shaped for the brokers that come later (RabbitMQ, Kafka): events are published to a
//! topic (the versioned event type); a *consumer group* declares a durable queue bound to
//! topic patterns, and each event reaches every group once and one member of each group;
//! a delivery is acknowledged after its effect is committed, or refused, in which case it
//! is redelivered until `max_attempts`, then dead-lettered.
//!
//! Backends: [`InMemoryBus`] (one process, the default) and [`RabbitMqBus`]
//! (`bus.backend = "rabbitmq"`), chosen at start-up; service code names only [`EventBus`].

mod consumer;
mod memory;
pub mod rabbitmq;

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;

pub use consumer::{
    is_permanent, record_lag, run_consumer, run_listener, run_stream_consumer, sample_queue_depths,
    EventHandler, Permanent,
};
pub use memory::InMemoryBus;
pub use rabbitmq::RabbitMqBus;

/// The bus `config` selects, connected.
pub async fn from_config(
    config: &crate::config::BusConfig,
) -> Result<std::sync::Arc<dyn EventBus>, BusError> {
    use crate::config::BusBackend;
    let delay = std::time::Duration::from_millis(config.redelivery_delay_ms);
    Ok(match config.backend {
        BusBackend::InProcess => std::sync::Arc::new(InMemoryBus::new(config.max_attempts, delay)),
        BusBackend::Rabbitmq => {
            let url = config
                .url
                .as_deref()
                .ok_or_else(|| BusError::Backend("bus.url is not set".into()))?;
            let client = config
                .tls_client_cert_file
                .as_deref()
                .zip(config.tls_client_key_file.as_deref());
            let tls = rabbitmq::AmqpTls::from_files(config.tls_ca_file.as_deref(), client)?;
            std::sync::Arc::new(
                RabbitMqBus::connect_with(url, tls, &config.namespace, config.max_attempts, delay)
                    .await?,
            )
        }
    })
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the bus is closed")]
    Closed,
    #[error("bus backend: {0}")]
    Backend(String),
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publishes one event; returns once the bus has taken responsibility for it.
    async fn publish(&self, event: &EventEnvelope) -> Result<(), BusError>;

    /// Publishes `events` in order; returns how many of the first ones the bus took
    /// responsibility for, and the error that stopped it, if any. A backend may overlap the
    /// round trips (RabbitMQ pipelines publisher confirms); the default goes one by one.
    async fn publish_batch(&self, events: &[EventEnvelope]) -> (usize, Option<BusError>) {
        for (i, event) in events.iter().enumerate() {
            if let Err(e) = self.publish(event).await {
                return (i, Some(e));
            }
        }
        (events.len(), None)
    }

    /// Joins consumer group `group`, whose durable queue receives every event whose topic
    /// matches one of `patterns` (AMQP topic rules: `*` one word, `#` any number).
    async fn subscribe(
        &self,
        group: &str,
        patterns: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError>;

    /// A subscription of this process alone that receives every event matching
    /// `patterns` published while it lives (each subscriber gets its own copy, unlike a
    /// group). Nothing is kept for it once it is dropped or its connection is lost, and a
    /// failed delivery is dropped, not retried: it is for per-instance caches that are
    /// rebuilt from the store at start-up and only need to hear of later changes (the
    /// load board of every instance).
    async fn subscribe_broadcast(
        &self,
        patterns: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError>;

    /// Events that exhausted their attempts in `group`, oldest first.
    async fn dead_letters(&self, group: &str) -> Result<Vec<DeadLetter>, BusError>;

    /// Moves every dead letter of `group` back to its queue with a fresh attempt count (after
    /// the cause was fixed); returns how many were replayed. The idempotent consumer makes a
    /// replay of an event that was in fact applied harmless.
    async fn replay_dead_letters(&self, group: &str) -> Result<usize, BusError>;

    /// How many events wait in `group`'s queue (ready, not yet delivered or redelivering)
    /// and in its dead letters; for the `bus_queue_depth` and `bus_dead_letters` gauges.
    async fn queue_depth(&self, group: &str) -> Result<QueueDepth, BusError>;

    /// Whether the backend is connected; for `readyz`. The embedded bus always is.
    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }

    /// Which backend this is, for `readyz` and metrics.
    fn backend(&self) -> &'static str;
}

#[async_trait]
pub trait Subscription: Send {
    /// The next delivery, waiting for one; `None` once the bus has shut down.
    async fn next(&mut self) -> Option<Delivery>;

    /// A delivery that is already here, without waiting; `None` when there is none right
    /// now. Lets a consumer that writes in batches take what has queued up behind the
    /// delivery it waited for (see [`next_batch`]).
    async fn try_next(&mut self) -> Option<Delivery> {
        None
    }
}

/// Waits for one delivery, then takes what has already arrived behind it, up to `max` in
/// all, in bus order; `None` once the bus has shut down or `shutdown` fired. Consumers that
/// pay a round trip per write (a commit, a broker append) pay it per batch this way.
pub async fn next_batch(
    sub: &mut dyn Subscription,
    max: usize,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Option<Vec<Delivery>> {
    let first = tokio::select! {
        d = sub.next() => d?,
        _ = shutdown.cancelled() => return None,
    };
    let mut batch = vec![first];
    while batch.len() < max {
        match sub.try_next().await {
            Some(d) => batch.push(d),
            None => break,
        }
    }
    Some(batch)
}

/// How a delivery is settled; implemented per backend.
#[async_trait]
pub trait Settle: Send {
    async fn ack(self: Box<Self>);
    async fn nack(self: Box<Self>, reason: String);
    /// Dead-letters the delivery now, whatever its attempt count: no retry can succeed.
    async fn dead_letter(self: Box<Self>, reason: String);
}

pub struct Delivery {
    pub event: EventEnvelope,
    /// 1 on first delivery.
    pub attempt: u32,
    settle: Box<dyn Settle>,
}

impl Delivery {
    pub fn new(event: EventEnvelope, attempt: u32, settle: Box<dyn Settle>) -> Self {
        Self {
            event,
            attempt,
            settle,
        }
    }

    /// The effect is committed: never deliver this again to this group.
    pub async fn ack(self) {
        self.settle.ack().await
    }

    /// The effect failed: redeliver later, or dead-letter once attempts are exhausted.
    pub async fn nack(self, reason: impl Into<String>) {
        self.settle.nack(reason.into()).await
    }

    /// The effect can never succeed (a payload that does not parse): dead-letter it at
    /// once rather than spend the group's attempts and delays on it.
    pub async fn dead_letter(self, reason: impl Into<String>) {
        self.settle.dead_letter(reason.into()).await
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub ready: u64,
    pub dead: u64,
}

#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub event: EventEnvelope,
    pub attempts: u32,
    pub reason: String,
}
