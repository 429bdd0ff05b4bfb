//! The RabbitMQ bus (AMQP 0-9-1 through `lapin`).
//!
//! Topology, all durable, declared idempotently, and named under `bus.namespace`
//! (`lanerunner` by default; a test or a second deployment on one broker picks another):
//!
//! - `lanerunner.events`, a topic exchange; an event is published with its topic
//!   (`identity.user_registered.v1`) as routing key, persistent, `message_id` = event id,
//!   the envelope as JSON body, and [`EventBus::publish`] returns once the broker confirmed
//!   it (publisher confirms; a nack is an error).
//! - per consumer group, the queue `lanerunner.<group>`, bound to the exchange once per
//!   pattern, whose dead-letter exchange is `lanerunner.dlx`;
//! - `lanerunner.dlx`, a direct exchange routing `<group>` to `lanerunner.<group>.dead`.
//!
//! Deliveries are acknowledged manually. A refused delivery is republished to its group's
//! queue alone (through the default exchange) with `x-attempt` incremented, after
//! `redelivery_delay × attempt`, then the original is acknowledged; after `max_attempts`
//! it is published to `lanerunner.dlx` with `x-reason` instead. A process that dies while
//! holding a delivery leaves it unacknowledged and the broker hands it to another member.
//!
//! A supervisor task owns the connection: when the broker goes away it reconnects with
//! exponential backoff (100 ms … 5 s). Meanwhile `publish` fails with
//! [`BusError::Backend`] (the outbox relay retries), and each subscription re-declares its
//! queue and consumes again as soon as a connection is back.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use lanerunner_core::EventEnvelope;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, BasicRejectOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::{watch, Notify};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::bus::{BusError, DeadLetter, Delivery, EventBus, QueueDepth, Settle, Subscription};

mod headers;
mod subscription;
mod tls;
mod topology;

use headers::*;
use subscription::*;
pub use tls::AmqpTls;
use topology::*;
pub use topology::{delete_namespace, Names};

/// The default namespace of every exchange and queue.
pub const DEFAULT_NAMESPACE: &str = "lanerunner";
const ATTEMPT_HEADER: &str = "x-attempt";
const REASON_HEADER: &str = "x-reason";
/// Unacknowledged deliveries one subscription holds at a time.
const PREFETCH: u16 = 32;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct RabbitMqBus {
    shared: Arc<Shared>,
    // Stops the supervisor (and so closes the connection) when the last clone goes.
    _stop: Arc<DropGuard>,
}

struct Shared {
    url: String,
    /// Under `amqps://`: a private CA (PEM) the broker's certificate is verified against,
    /// besides the system's roots, and the client certificate if the broker asks for one.
    tls: AmqpTls,
    names: Names,
    max_attempts: u32,
    redelivery_delay: Duration,
    /// The live connection and its confirm-mode publishing channel; `None` while down.
    live: watch::Sender<Option<Arc<Live>>>,
    stop: CancellationToken,
}

struct Live {
    conn: Connection,
    publisher: Channel,
}

fn backend_err(e: impl std::fmt::Display) -> BusError {
    BusError::Backend(e.to_string())
}

async fn open(url: &str, tls: &AmqpTls, names: &Names) -> Result<Live, lapin::Error> {
    let props = ConnectionProperties::default()
        .with_connection_name("lanerunner".into())
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    let conn = Connection::connect_with_config(url, props, tls.owned()).await?;
    let publisher = conn.create_channel().await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    declare_exchanges(&publisher, names).await?;
    Ok(Live { conn, publisher })
}

impl RabbitMqBus {
    /// Connects to `url` (`amqp://user:password@host:5672/%2f`) and declares the exchanges
    /// of `namespace`; fails if the broker cannot be reached now. Later outages are survived.
    pub async fn connect(
        url: &str,
        namespace: &str,
        max_attempts: u32,
        redelivery_delay: Duration,
    ) -> Result<Self, BusError> {
        Self::connect_with(
            url,
            AmqpTls::default(),
            namespace,
            max_attempts,
            redelivery_delay,
        )
        .await
    }

    /// As [`connect`](Self::connect); under `amqps://` the broker's certificate must chain
    /// to the system's roots or to `tls.ca` (PEM), and name the host; the client
    /// certificate of `tls`, if any, is presented.
    pub async fn connect_with(
        url: &str,
        tls: AmqpTls,
        namespace: &str,
        max_attempts: u32,
        redelivery_delay: Duration,
    ) -> Result<Self, BusError> {
        let names = Names::new(namespace);
        let live = tokio::time::timeout(Duration::from_secs(10), open(url, &tls, &names))
            .await
            .map_err(|_| BusError::Backend("connecting to rabbitmq timed out".into()))?
            .map_err(backend_err)?;
        let stop = CancellationToken::new();
        let (tx, _) = watch::channel(Some(Arc::new(live)));
        let shared = Arc::new(Shared {
            url: url.to_string(),
            tls,
            names,
            max_attempts: max_attempts.max(1),
            redelivery_delay,
            live: tx,
            stop: stop.clone(),
        });
        tokio::spawn(supervise(shared.clone()));
        Ok(Self {
            shared,
            _stop: Arc::new(stop.drop_guard()),
        })
    }

    /// The exchange and queue names this bus uses.
    pub fn names(&self) -> &Names {
        &self.shared.names
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.shared
            .live
            .borrow()
            .as_ref()
            .is_some_and(|l| l.conn.status().connected())
    }
}

/// Keeps a connection up: waits for the current one to fail, then reconnects with backoff.
async fn supervise(shared: Arc<Shared>) {
    loop {
        let current = shared.live.borrow().clone();
        if let Some(live) = current {
            let failed = Arc::new(Notify::new());
            let signal = failed.clone();
            live.conn.on_error(move |e| {
                tracing::warn!(error = %e, "rabbitmq connection lost");
                signal.notify_one();
            });
            // `on_error` only fires for errors after registration; poll the status too.
            loop {
                tokio::select! {
                    _ = shared.stop.cancelled() => {
                        let _ = live.conn.close(200, "shutting down").await;
                        shared.live.send_replace(None);
                        return;
                    }
                    _ = failed.notified() => break,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {
                        if !live.conn.status().connected() || !live.publisher.status().connected() {
                            break;
                        }
                    }
                }
            }
            shared.live.send_replace(None);
            let _ = live.conn.close(0, "reconnecting").await;
        }
        let mut backoff = BACKOFF_START;
        loop {
            if shared.stop.is_cancelled() {
                return;
            }
            match tokio::time::timeout(
                Duration::from_secs(10),
                open(&shared.url, &shared.tls, &shared.names),
            )
            .await
            {
                Ok(Ok(live)) => {
                    tracing::info!("rabbitmq connection re-established");
                    shared.live.send_replace(Some(Arc::new(live)));
                    break;
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "rabbitmq reconnect failed"),
                Err(_) => tracing::debug!("rabbitmq reconnect timed out"),
            }
            tokio::select! {
                _ = shared.stop.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
}

impl Shared {
    fn live(&self) -> Result<Arc<Live>, BusError> {
        self.live
            .borrow()
            .clone()
            .ok_or_else(|| BusError::Backend("rabbitmq is disconnected; reconnecting".into()))
    }

    /// Waits for a connection; `None` once the bus is stopping.
    async fn wait_live(&self) -> Option<Arc<Live>> {
        let mut rx = self.live.subscribe();
        tokio::select! {
            _ = self.stop.cancelled() => None,
            live = rx.wait_for(|l| l.as_ref().is_some_and(|l| l.conn.status().connected())) => {
                live.ok().and_then(|l| l.clone())
            }
        }
    }

    /// Publishes on the confirm channel and waits for the broker's confirmation.
    async fn publish_confirmed(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BusError> {
        let live = self.live()?;
        let confirm = live
            .publisher
            .basic_publish(
                exchange,
                routing_key,
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await
            .map_err(backend_err)?
            .await
            .map_err(backend_err)?;
        match confirm {
            Confirmation::Ack(_) | Confirmation::NotRequested => Ok(()),
            Confirmation::Nack(_) => Err(BusError::Backend(format!(
                "the broker refused a message for {exchange}/{routing_key}"
            ))),
        }
    }
}

#[async_trait]
impl EventBus for RabbitMqBus {
    async fn publish(&self, event: &EventEnvelope) -> Result<(), BusError> {
        let body = serde_json::to_vec(event).map_err(backend_err)?;
        let result = self
            .shared
            .publish_confirmed(
                &self.shared.names.exchange(),
                &event.event_type,
                &body,
                properties(event, 1, None),
            )
            .await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!("bus_published_total", "backend" => "rabbitmq", "result" => outcome)
            .increment(1);
        result
    }

    /// Sends the whole batch, then collects the confirms in order: one round trip's wait
    /// for the batch instead of one per event. The channel keeps the order; if the broker
    /// refuses event k, events after it may already be routed and are published again with
    /// it later (consumers deduplicate by id).
    async fn publish_batch(&self, events: &[EventEnvelope]) -> (usize, Option<BusError>) {
        if events.is_empty() {
            return (0, None);
        }
        let live = match self.shared.live() {
            Ok(live) => live,
            Err(e) => return (0, Some(e)),
        };
        let exchange = self.shared.names.exchange();
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let body = match serde_json::to_vec(event) {
                Ok(b) => b,
                Err(e) => {
                    pending.push(Err(backend_err(e)));
                    break;
                }
            };
            let sent = live
                .publisher
                .basic_publish(
                    &exchange,
                    &event.event_type,
                    BasicPublishOptions::default(),
                    &body,
                    properties(event, 1, None),
                )
                .await
                .map_err(backend_err);
            let failed = sent.is_err();
            pending.push(sent);
            if failed {
                break;
            }
        }
        let mut confirmed = 0;
        for sent in pending {
            let outcome = match sent {
                Ok(confirm) => match confirm.await {
                    Ok(Confirmation::Ack(_)) | Ok(Confirmation::NotRequested) => Ok(()),
                    Ok(Confirmation::Nack(_)) => {
                        Err(BusError::Backend("the broker refused a message".into()))
                    }
                    Err(e) => Err(backend_err(e)),
                },
                Err(e) => Err(e),
            };
            let result = if outcome.is_ok() { "ok" } else { "error" };
            metrics::counter!("bus_published_total", "backend" => "rabbitmq", "result" => result)
                .increment(1);
            if let Err(e) = outcome {
                return (confirmed, Some(e));
            }
            confirmed += 1;
        }
        (confirmed, None)
    }

    async fn subscribe(
        &self,
        group: &str,
        patterns: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError> {
        let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_string()).collect();
        let live = self.shared.live()?;
        let consumer = consume(&live, &self.shared.names, group, &patterns)
            .await
            .map_err(backend_err)?;
        Ok(Box::new(RabbitSubscription {
            shared: self.shared.clone(),
            group: group.to_string(),
            broadcast: false,
            patterns,
            consumer: Some(consumer),
        }))
    }

    async fn subscribe_broadcast(
        &self,
        patterns: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError> {
        let patterns: Vec<String> = patterns.iter().map(|p| (*p).to_string()).collect();
        let live = self.shared.live()?;
        let consumer = consume_broadcast(&live, &self.shared.names, &patterns)
            .await
            .map_err(backend_err)?;
        Ok(Box::new(RabbitSubscription {
            shared: self.shared.clone(),
            group: "(broadcast)".into(),
            broadcast: true,
            patterns,
            consumer: Some(consumer),
        }))
    }

    /// Message counts from passive declares (a missing queue counts as empty); `ready`
    /// excludes deliveries a consumer holds unacknowledged.
    async fn queue_depth(&self, group: &str) -> Result<QueueDepth, BusError> {
        let live = self.shared.live()?;
        let mut depth = QueueDepth::default();
        for (queue, slot) in [
            (self.shared.names.queue(group), &mut depth.ready),
            (self.shared.names.dead_queue(group), &mut depth.dead),
        ] {
            // A failed passive declare closes its channel: one channel per queue.
            let ch = live.conn.create_channel().await.map_err(backend_err)?;
            let passive = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            if let Ok(q) = ch
                .queue_declare(&queue, passive, FieldTable::default())
                .await
            {
                *slot = u64::from(q.message_count());
                let _ = ch.close(200, "counted").await;
            }
        }
        Ok(depth)
    }

    /// Reads the dead-letter queue without consuming it: every message is fetched
    /// unacknowledged and the channel is then closed, which returns them all to the queue.
    async fn dead_letters(&self, group: &str) -> Result<Vec<DeadLetter>, BusError> {
        let live = self.shared.live()?;
        let ch = live.conn.create_channel().await.map_err(backend_err)?;
        let queue = self.shared.names.dead_queue(group);
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        if ch
            .queue_declare(&queue, passive, FieldTable::default())
            .await
            .is_err()
        {
            // No such queue: the group never existed here. The failed declare closed `ch`.
            return Ok(Vec::new());
        }
        let mut letters = Vec::new();
        while let Some(msg) = ch
            .basic_get(&queue, BasicGetOptions { no_ack: false })
            .await
            .map_err(backend_err)?
        {
            let props = &msg.delivery.properties;
            match serde_json::from_slice::<EventEnvelope>(&msg.delivery.data) {
                Ok(event) => letters.push(DeadLetter {
                    event,
                    attempts: header_u32(props, ATTEMPT_HEADER).unwrap_or(1),
                    reason: header_string(props, REASON_HEADER)
                        .unwrap_or_else(|| "rejected by the broker".into()),
                }),
                Err(e) => tracing::warn!(queue = %queue, error = %e, "undecodable dead letter"),
            }
        }
        let _ = ch.close(200, "inspected").await;
        Ok(letters)
    }

    async fn replay_dead_letters(&self, group: &str) -> Result<usize, BusError> {
        let live = self.shared.live()?;
        let ch = live.conn.create_channel().await.map_err(backend_err)?;
        let dead = self.shared.names.dead_queue(group);
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        if ch
            .queue_declare(&dead, passive, FieldTable::default())
            .await
            .is_err()
        {
            return Ok(0);
        }
        let queue = self.shared.names.queue(group);
        let mut replayed = 0;
        while let Some(msg) = ch
            .basic_get(&dead, BasicGetOptions { no_ack: false })
            .await
            .map_err(backend_err)?
        {
            let Ok(event) = serde_json::from_slice::<EventEnvelope>(&msg.delivery.data) else {
                // Leave what cannot be read where an operator can still see it.
                msg.delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
                    .map_err(backend_err)?;
                break;
            };
            // Publish the copy before removing the dead letter: a crash in between
            // duplicates (harmless to an idempotent consumer) rather than loses.
            self.shared
                .publish_confirmed("", &queue, &msg.delivery.data, properties(&event, 1, None))
                .await?;
            msg.delivery
                .ack(BasicAckOptions::default())
                .await
                .map_err(backend_err)?;
            replayed += 1;
        }
        let _ = ch.close(200, "replayed").await;
        Ok(replayed)
    }

    async fn ping(&self) -> Result<(), BusError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(BusError::Backend("disconnected; reconnecting".into()))
        }
    }

    fn backend(&self) -> &'static str {
        "rabbitmq"
    }
}
