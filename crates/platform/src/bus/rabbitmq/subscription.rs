//! Consuming: a group's queue (acknowledged, redelivered with a growing delay, dead-lettered
//! after the last attempt) and broadcast queues (no acknowledgement, nothing kept).

use super::*;

/// Opens a channel of its own for one subscription and starts consuming `group`'s queue.
pub(super) async fn consume(
    live: &Live,
    names: &Names,
    group: &str,
    patterns: &[String],
) -> Result<(Channel, lapin::Consumer), lapin::Error> {
    let ch = live.conn.create_channel().await?;
    declare_group(&ch, names, group, patterns).await?;
    ch.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
    let consumer = ch
        .basic_consume(
            &names.queue(group),
            "",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((ch, consumer))
}

/// A queue of this connection alone (server-named, exclusive, deleted with the
/// connection), bound to `patterns`, consumed without acknowledgements: a broadcast
/// subscriber gets every matching event while it is connected and nothing is kept for it.
pub(super) async fn consume_broadcast(
    live: &Live,
    names: &Names,
    patterns: &[String],
) -> Result<(Channel, lapin::Consumer), lapin::Error> {
    let ch = live.conn.create_channel().await?;
    declare_exchanges(&ch, names).await?;
    let private = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..Default::default()
    };
    let queue = ch.queue_declare("", private, FieldTable::default()).await?;
    for pattern in patterns {
        ch.queue_bind(
            queue.name().as_str(),
            &names.exchange(),
            pattern,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    let no_ack = BasicConsumeOptions {
        no_ack: true,
        ..Default::default()
    };
    let consumer = ch
        .basic_consume(queue.name().as_str(), "", no_ack, FieldTable::default())
        .await?;
    Ok((ch, consumer))
}

pub(super) struct RabbitSubscription {
    pub(super) shared: Arc<Shared>,
    pub(super) group: String,
    /// A broadcast subscription: its own exclusive queue, no acknowledgements.
    pub(super) broadcast: bool,
    pub(super) patterns: Vec<String>,
    pub(super) consumer: Option<(Channel, lapin::Consumer)>,
}

#[async_trait]
impl Subscription for RabbitSubscription {
    async fn next(&mut self) -> Option<Delivery> {
        let mut backoff = BACKOFF_START;
        loop {
            if self.consumer.is_none() {
                // Disconnected: wait for the supervisor, then consume again.
                let live = self.shared.wait_live().await?;
                let attached = if self.broadcast {
                    // Events published while disconnected are lost to this subscriber.
                    consume_broadcast(&live, &self.shared.names, &self.patterns).await
                } else {
                    consume(&live, &self.shared.names, &self.group, &self.patterns).await
                };
                match attached {
                    Ok(c) => {
                        tracing::info!(group = %self.group, "rabbitmq consumer re-attached");
                        self.consumer = Some(c);
                        backoff = BACKOFF_START;
                    }
                    Err(e) => {
                        tracing::debug!(group = %self.group, error = %e, "re-attaching the consumer failed");
                        tokio::select! {
                            _ = self.shared.stop.cancelled() => return None,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                }
            }
            let (_, consumer) = self.consumer.as_mut().expect("consumer attached");
            let item = tokio::select! {
                _ = self.shared.stop.cancelled() => return None,
                item = consumer.next() => item,
            };
            match item {
                Some(Ok(d)) => {
                    if let Some(delivery) = self.decode(d).await {
                        return Some(delivery);
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(group = %self.group, error = %e, "rabbitmq consumer failed");
                    self.consumer = None;
                }
                None => self.consumer = None,
            }
        }
    }

    async fn try_next(&mut self) -> Option<Delivery> {
        loop {
            let (_, consumer) = self.consumer.as_mut()?;
            // Polling a stream once and dropping the `next()` future loses nothing.
            match consumer.next().now_or_never()? {
                Some(Ok(d)) => {
                    if let Some(delivery) = self.decode(d).await {
                        return Some(delivery);
                    }
                }
                // Let `next` report the failure and re-attach.
                Some(Err(_)) | None => return None,
            }
        }
    }
}

impl RabbitSubscription {
    /// The envelope of `delivery`, ready to settle; `None` for a poison message (not an
    /// envelope), which goes straight to the dead-letter queue.
    async fn decode(&self, delivery: lapin::message::Delivery) -> Option<Delivery> {
        let event = match serde_json::from_slice::<EventEnvelope>(&delivery.data) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(group = %self.group, error = %e, "undecodable delivery dead-lettered");
                let _ = delivery
                    .acker
                    .reject(BasicRejectOptions { requeue: false })
                    .await;
                return None;
            }
        };
        let attempt = header_u32(&delivery.properties, ATTEMPT_HEADER)
            .unwrap_or(1)
            .max(1);
        if self.broadcast {
            return Some(Delivery::new(event, attempt, Box::new(Unacknowledged)));
        }
        let settle = RabbitSettle {
            shared: self.shared.clone(),
            group: self.group.clone(),
            acker: delivery.acker,
            body: delivery.data,
            event: event.clone(),
            attempt,
        };
        Some(Delivery::new(event, attempt, Box::new(settle)))
    }
}

/// A broadcast delivery: consumed with `no_ack`, so there is nothing to settle.
pub(super) struct Unacknowledged;

#[async_trait]
impl Settle for Unacknowledged {
    async fn ack(self: Box<Self>) {}

    async fn nack(self: Box<Self>, reason: String) {
        tracing::debug!(%reason, "broadcast delivery dropped");
    }

    async fn dead_letter(self: Box<Self>, reason: String) {
        tracing::debug!(%reason, "broadcast delivery dropped");
    }
}

pub(super) struct RabbitSettle {
    shared: Arc<Shared>,
    group: String,
    acker: lapin::acker::Acker,
    body: Vec<u8>,
    event: EventEnvelope,
    attempt: u32,
}

#[async_trait]
impl Settle for RabbitSettle {
    async fn ack(self: Box<Self>) {
        metrics::counter!("bus_consumed_total", "backend" => "rabbitmq", "result" => "ack")
            .increment(1);
        if let Err(e) = self.acker.ack(BasicAckOptions::default()).await {
            // The channel went away: the broker redelivers, the idempotent consumer skips it.
            tracing::warn!(group = %self.group, event_id = %self.event.id, error = %e, "ack lost");
        }
    }

    async fn nack(self: Box<Self>, reason: String) {
        metrics::counter!("bus_consumed_total", "backend" => "rabbitmq", "result" => "nack")
            .increment(1);
        let this = *self;
        if this.attempt >= this.shared.max_attempts {
            this.bury(reason).await;
            return;
        }
        // Hold the delivery (unacknowledged, so a crash loses nothing) through the delay,
        // without blocking the subscription.
        let delay = this.shared.redelivery_delay * this.attempt;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let props = properties(&this.event, this.attempt + 1, None);
            let published = this
                .shared
                .publish_confirmed("", &this.shared.names.queue(&this.group), &this.body, props)
                .await;
            this.settle_after(published).await;
        });
    }

    async fn dead_letter(self: Box<Self>, reason: String) {
        metrics::counter!("bus_consumed_total", "backend" => "rabbitmq", "result" => "dead_letter")
            .increment(1);
        self.bury(reason).await;
    }
}

impl RabbitSettle {
    /// Publishes the delivery to the dead-letter exchange with its reason, then settles the
    /// original (see [`Self::settle_after`]).
    async fn bury(self, reason: String) {
        tracing::warn!(group = %self.group, event_id = %self.event.id, event_type = %self.event.event_type, attempts = self.attempt, %reason, "dead-lettered");
        let props = properties(&self.event, self.attempt, Some(&reason));
        let published = self
            .shared
            .publish_confirmed(
                &self.shared.names.dead_letter_exchange(),
                &self.group,
                &self.body,
                props,
            )
            .await;
        self.settle_after(published).await;
    }

    /// Acknowledges the original once its successor is safely published; otherwise hands it
    /// back to the broker, which delivers it again (same attempt number).
    async fn settle_after(self, published: Result<(), BusError>) {
        let settled = match published {
            Ok(()) => self.acker.ack(BasicAckOptions::default()).await,
            Err(e) => {
                tracing::warn!(group = %self.group, event_id = %self.event.id, error = %e, "republish failed; requeueing");
                self.acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
            }
        };
        if let Err(e) = settled {
            tracing::warn!(group = %self.group, event_id = %self.event.id, error = %e, "settling a delivery failed");
        }
    }
}
