//! The in-process bus: one process, queues in memory. Durable within the process lifetime
//! only; the outbox is what makes events survive a crash (unpublished rows are relayed
//! again at the next start).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_core::event::topic_matches;
use lanerunner_core::EventEnvelope;
use tokio::sync::Notify;

use super::{BusError, DeadLetter, Delivery, EventBus, QueueDepth, Settle, Subscription};

#[derive(Clone)]
pub struct InMemoryBus {
    inner: Arc<Inner>,
}

struct Inner {
    groups: Mutex<HashMap<String, Arc<GroupQueue>>>,
    max_attempts: u32,
    redelivery_delay: Duration,
}

struct GroupQueue {
    patterns: Mutex<Vec<String>>,
    ready: Mutex<VecDeque<(EventEnvelope, u32)>>,
    dead: Mutex<Vec<DeadLetter>>,
    notify: Notify,
}

impl InMemoryBus {
    pub fn new(max_attempts: u32, redelivery_delay: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                groups: Mutex::new(HashMap::new()),
                max_attempts: max_attempts.max(1),
                redelivery_delay,
            }),
        }
    }
}

impl Default for InMemoryBus {
    fn default() -> Self {
        Self::new(5, Duration::from_millis(200))
    }
}

#[async_trait]
impl EventBus for InMemoryBus {
    async fn publish(&self, event: &EventEnvelope) -> Result<(), BusError> {
        let groups: Vec<Arc<GroupQueue>> = self
            .inner
            .groups
            .lock()
            .expect("bus lock")
            .values()
            .cloned()
            .collect();
        for group in groups {
            let matches = group
                .patterns
                .lock()
                .expect("bus lock")
                .iter()
                .any(|p| topic_matches(p, &event.event_type));
            if matches {
                group
                    .ready
                    .lock()
                    .expect("bus lock")
                    .push_back((event.clone(), 1));
                group.notify.notify_one();
            }
        }
        metrics::counter!("bus_published_total", "backend" => "in-process", "result" => "ok")
            .increment(1);
        Ok(())
    }

    async fn subscribe(
        &self,
        group: &str,
        patterns: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError> {
        let queue = {
            let mut groups = self.inner.groups.lock().expect("bus lock");
            groups
                .entry(group.to_string())
                .or_insert_with(|| {
                    Arc::new(GroupQueue {
                        patterns: Mutex::new(Vec::new()),
                        ready: Mutex::new(VecDeque::new()),
                        dead: Mutex::new(Vec::new()),
                        notify: Notify::new(),
                    })
                })
                .clone()
        };
        {
            let mut bound = queue.patterns.lock().expect("bus lock");
            for p in patterns {
                if !bound.iter().any(|b| b == p) {
                    bound.push((*p).to_string());
                }
            }
        }
        Ok(Box::new(MemorySubscription {
            queue,
            inner: self.inner.clone(),
        }))
    }

    async fn subscribe_broadcast(
        &self,
        patterns: &[&str],
    ) -> Result<Box<dyn Subscription>, BusError> {
        // A group of its own, removed when the subscription is dropped.
        let group = format!("broadcast.{}", uuid::Uuid::new_v4().simple());
        let inner = self.subscribe(&group, patterns).await?;
        Ok(Box::new(BroadcastSubscription {
            inner,
            group,
            bus: self.inner.clone(),
        }))
    }

    async fn queue_depth(&self, group: &str) -> Result<QueueDepth, BusError> {
        let groups = self.inner.groups.lock().expect("bus lock");
        Ok(groups
            .get(group)
            .map(|g| QueueDepth {
                ready: g.ready.lock().expect("bus lock").len() as u64,
                dead: g.dead.lock().expect("bus lock").len() as u64,
            })
            .unwrap_or_default())
    }

    async fn dead_letters(&self, group: &str) -> Result<Vec<DeadLetter>, BusError> {
        let groups = self.inner.groups.lock().expect("bus lock");
        Ok(groups
            .get(group)
            .map(|g| g.dead.lock().expect("bus lock").clone())
            .unwrap_or_default())
    }

    async fn replay_dead_letters(&self, group: &str) -> Result<usize, BusError> {
        let queue = self
            .inner
            .groups
            .lock()
            .expect("bus lock")
            .get(group)
            .cloned();
        let Some(queue) = queue else { return Ok(0) };
        let dead: Vec<DeadLetter> = std::mem::take(&mut *queue.dead.lock().expect("bus lock"));
        let n = dead.len();
        queue
            .ready
            .lock()
            .expect("bus lock")
            .extend(dead.into_iter().map(|d| (d.event, 1)));
        for _ in 0..n {
            queue.notify.notify_one();
        }
        Ok(n)
    }

    fn backend(&self) -> &'static str {
        "in-process"
    }
}

struct MemorySubscription {
    queue: Arc<GroupQueue>,
    inner: Arc<Inner>,
}

#[async_trait]
impl Subscription for MemorySubscription {
    async fn next(&mut self) -> Option<Delivery> {
        loop {
            // Register interest before checking, so a publish between the check and the
            // wait is not missed.
            let notified = self.queue.notify.notified();
            if let Some(delivery) = self.pop() {
                return Some(delivery);
            }
            notified.await;
        }
    }

    async fn try_next(&mut self) -> Option<Delivery> {
        self.pop()
    }
}

impl MemorySubscription {
    fn pop(&self) -> Option<Delivery> {
        let (event, attempt) = self.queue.ready.lock().expect("bus lock").pop_front()?;
        let settle = MemorySettle {
            queue: self.queue.clone(),
            inner: self.inner.clone(),
            event: event.clone(),
            attempt,
        };
        Some(Delivery::new(event, attempt, Box::new(settle)))
    }
}

struct BroadcastSubscription {
    inner: Box<dyn Subscription>,
    group: String,
    bus: Arc<Inner>,
}

#[async_trait]
impl Subscription for BroadcastSubscription {
    async fn next(&mut self) -> Option<Delivery> {
        // Settled on arrival: a broadcast delivery is never redelivered or dead-lettered.
        let delivery = self.inner.next().await?;
        let (event, attempt) = (delivery.event.clone(), delivery.attempt);
        delivery.ack().await;
        Some(Delivery::new(event, attempt, Box::new(Settled)))
    }
}

/// A broadcast delivery, already settled with the queue.
struct Settled;

#[async_trait]
impl Settle for Settled {
    async fn ack(self: Box<Self>) {}

    async fn nack(self: Box<Self>, reason: String) {
        tracing::debug!(%reason, "broadcast delivery dropped");
    }

    async fn dead_letter(self: Box<Self>, reason: String) {
        tracing::debug!(%reason, "broadcast delivery dropped");
    }
}

impl Drop for BroadcastSubscription {
    fn drop(&mut self) {
        if let Ok(mut groups) = self.bus.groups.lock() {
            groups.remove(&self.group);
        }
    }
}

struct MemorySettle {
    queue: Arc<GroupQueue>,
    inner: Arc<Inner>,
    event: EventEnvelope,
    attempt: u32,
}

#[async_trait]
impl Settle for MemorySettle {
    async fn ack(self: Box<Self>) {
        metrics::counter!("bus_consumed_total", "backend" => "in-process", "result" => "ack")
            .increment(1);
    }

    async fn nack(self: Box<Self>, reason: String) {
        metrics::counter!("bus_consumed_total", "backend" => "in-process", "result" => "nack")
            .increment(1);
        let this = *self;
        if this.attempt >= this.inner.max_attempts {
            this.bury(reason);
            return;
        }
        let delay = this.inner.redelivery_delay * this.attempt;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            this.queue
                .ready
                .lock()
                .expect("bus lock")
                .push_back((this.event, this.attempt + 1));
            this.queue.notify.notify_one();
        });
    }

    async fn dead_letter(self: Box<Self>, reason: String) {
        metrics::counter!("bus_consumed_total", "backend" => "in-process", "result" => "dead_letter")
            .increment(1);
        self.bury(reason);
    }
}

impl MemorySettle {
    fn bury(self, reason: String) {
        tracing::warn!(event_id = %self.event.id, event_type = %self.event.event_type, attempts = self.attempt, %reason, "dead-lettered");
        self.queue.dead.lock().expect("bus lock").push(DeadLetter {
            event: self.event,
            attempts: self.attempt,
            reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanerunner_core::EventType;
    use uuid::Uuid;

    fn event(kind: EventType) -> EventEnvelope {
        EventEnvelope::new(kind, None, Uuid::now_v7(), &serde_json::json!({"n": 1})).unwrap()
    }

    const A: EventType = EventType::new("identity.user_registered", 1);
    const B: EventType = EventType::new("loads.load_posted", 1);

    #[tokio::test]
    async fn each_group_gets_each_matching_event_once() {
        let bus = InMemoryBus::default();
        let mut g1 = bus.subscribe("g1", &["identity.#"]).await.unwrap();
        let mut g2 = bus.subscribe("g2", &["#"]).await.unwrap();
        bus.publish(&event(A)).await.unwrap();
        bus.publish(&event(B)).await.unwrap();

        let d = g1.next().await.unwrap();
        assert_eq!(d.event.event_type, "identity.user_registered.v1");
        d.ack().await;
        let first = g2.next().await.unwrap();
        let second = g2.next().await.unwrap();
        assert_eq!(first.event.event_type, "identity.user_registered.v1");
        assert_eq!(second.event.event_type, "loads.load_posted.v1");
        // g1 did not bind loads.#, so nothing more is waiting for it.
        let waited = tokio::time::timeout(Duration::from_millis(50), g1.next()).await;
        assert!(waited.is_err());
    }

    #[tokio::test]
    async fn members_of_one_group_share_the_work() {
        let bus = InMemoryBus::default();
        let mut m1 = bus.subscribe("g", &["#"]).await.unwrap();
        let mut m2 = bus.subscribe("g", &["#"]).await.unwrap();
        bus.publish(&event(A)).await.unwrap();
        bus.publish(&event(A)).await.unwrap();
        let a = m1.next().await.unwrap();
        let b = m2.next().await.unwrap();
        assert_ne!(a.event.id, b.event.id);
    }

    #[tokio::test]
    async fn refused_deliveries_are_retried_then_dead_lettered() {
        let bus = InMemoryBus::new(3, Duration::from_millis(1));
        let mut sub = bus.subscribe("g", &["#"]).await.unwrap();
        let e = event(A);
        bus.publish(&e).await.unwrap();
        for expected_attempt in 1..=3 {
            let d = sub.next().await.unwrap();
            assert_eq!(d.attempt, expected_attempt);
            d.nack("handler failed").await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let dead = bus.dead_letters("g").await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].event.id, e.id);
        assert_eq!(dead[0].attempts, 3);
    }
}
