//! The outgoing webhooks service (`webhooks`): customers' systems (a TMS, an accounting
//! package) hear what happens to their loads, signed and at least once.
//!
//! - **Endpoints** per organization, subscribed to event kinds from a catalog
//!   (`domain::CATALOG`); nothing outside it ever leaves.
//! - **Signed** per the Standard Webhooks specification (`signature.rs`): `webhook-id`,
//!   `webhook-timestamp`, `webhook-signature`, verifiable with Svix's libraries.
//! - **Delivered at least once**, in order per endpoint and aggregate (a load's events
//!   arrive in the order they happened), with exponential backoff and a dead-letter state;
//!   replay of one delivery or of everything dead since a moment; secret rotation with an
//!   overlap in which both secrets sign; a log of every attempt.
//!
//! Layout: `domain.rs` the rules and `signature.rs` the signing (pure), `store.rs` the SQL,
//! `service.rs` the flows and the dispatcher, `api.rs` the handlers. The HTTP client is the
//! [`sender::Sender`] seam.

pub mod api;
pub mod domain;
pub mod error;
pub mod events;
pub mod sender;
mod service;
pub mod signature;
mod store;
pub mod views;

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{ConsumerSource, ConsumerSpec, Service, ServiceContext};
use lanerunner_platform::Tx;
use tokio::sync::Semaphore;
use utoipa_axum::router::OpenApiRouter;

pub use service::{Settings, Webhooks};

pub const SERVICE: &str = "webhooks";

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct WebhooksService {
    webhooks: Arc<Webhooks>,
}

impl WebhooksService {
    pub async fn start(
        ctx: ServiceContext,
        sender: Arc<dyn sender::Sender>,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        let webhooks = Arc::new(Webhooks::new(ctx.db.clone(), sender, settings));
        tokio::spawn(dispatcher(Arc::downgrade(&webhooks)));
        Ok(Self { webhooks })
    }

    pub fn webhooks(&self) -> &Arc<Webhooks> {
        &self.webhooks
    }
}

/// Sends due deliveries until the service is dropped. After a wake that found nothing
/// (the consumer wakes it before its transaction commits) it looks again shortly; idle, it
/// polls. Once an hour it purges settled deliveries past their retention.
async fn dispatcher(weak: Weak<Webhooks>) {
    let Some(first) = weak.upgrade() else { return };
    let permits = Arc::new(Semaphore::new(first.settings().concurrency.max(1)));
    let poll = first.settings().poll_every;
    let wake = first.wake();
    drop(first);
    let mut last_purge = tokio::time::Instant::now();
    let mut recheck = [Duration::from_millis(10), Duration::from_millis(40)].into_iter();
    loop {
        let Some(w) = weak.upgrade() else { break };
        let leased = match w.dispatch(&permits).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "leasing webhook deliveries failed; will retry");
                0
            }
        };
        if last_purge.elapsed() > Duration::from_secs(3600) {
            last_purge = tokio::time::Instant::now();
            match w.purge().await {
                Ok(n) if n > 0 => tracing::info!(
                    removed = n,
                    "settled webhook deliveries past retention purged"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging old webhook deliveries failed"),
            }
        }
        drop(w);
        if leased > 0 {
            recheck = [Duration::from_millis(10), Duration::from_millis(40)].into_iter();
            if permits.available_permits() > 0 {
                continue;
            }
        }
        let wait = recheck.next().unwrap_or(poll);
        tokio::select! {
            _ = wake.notified() => {
                recheck = [Duration::from_millis(10), Duration::from_millis(40)].into_iter();
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

impl Service for WebhooksService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.webhooks.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "webhooks.deliver".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(Deliver(Arc::downgrade(&self.webhooks))),
            source: ConsumerSource::Bus,
        }]
    }
}

/// `webhooks.deliver`: each catalog event into a delivery per subscribed endpoint.
struct Deliver(Weak<Webhooks>);

#[async_trait]
impl EventHandler for Deliver {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(w) = self.0.upgrade() else {
            anyhow::bail!("the webhooks service is shutting down");
        };
        w.handle(tx, event).await
    }
}
