//! The analytics service: the market's bookings and postings from the event stream into
//! the lane rate index (`lanerunner-laneindex`), and lane rates, 13-month history and
//! load-to-truck ratios by market over HTTP.
//!
//! Layout: `events.rs` what it consumes (tolerant types), `ingest.rs` events into market
//! records or a quarantine reason (pure), `store.rs` its SQL, `service.rs` the index and the
//! flows, `views.rs` what clients see, `api.rs` the thin handlers.
//!
//! Data flow: the consumer group `analytics.ingest` stores each accepted record (keyed by
//! its source id, so redelivery is a no-op) or quarantines the event with its reason; the
//! listener `analytics.index` folds the same record into every instance's in-memory index;
//! at start-up the index is rebuilt from the stored records. Every accepted record is also
//! queued for the Parquet archive (`archive.rs`), written through the blob seam.

pub mod api;
pub mod archive;
pub mod error;
pub mod events;
pub mod ingest;
pub mod kpis;
mod service;
mod store;
pub mod views;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{
    ConsumerSource, ConsumerSpec, EventListener, ListenerSpec, Service, ServiceContext,
};
use lanerunner_platform::Tx;
use utoipa_axum::router::OpenApiRouter;

pub use service::{Analytics, AnalyticsSettings, LaneQuestion};
pub use store::Quarantined;

pub const SERVICE: &str = "analytics";

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct AnalyticsService {
    analytics: Arc<Analytics>,
}

impl AnalyticsService {
    pub async fn start(ctx: ServiceContext, settings: AnalyticsSettings) -> anyhow::Result<Self> {
        let analytics = Arc::new(Analytics::open(&ctx, settings).await?);
        let (weak, blobs) = (Arc::downgrade(&analytics), ctx.blobs.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(settings.archive_every);
            loop {
                tick.tick().await;
                let Some(a) = weak.upgrade() else { break };
                if let Err(e) = a.archive(&blobs).await {
                    tracing::warn!(error = %format!("{e:#}"), "writing the Parquet archive failed; the records stay queued");
                }
            }
        });
        Ok(Self { analytics })
    }

    pub fn analytics(&self) -> &Arc<Analytics> {
        &self.analytics
    }
}

impl Service for AnalyticsService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.analytics.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "analytics.ingest".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(Ingest(Arc::downgrade(&self.analytics))),
            source: ConsumerSource::AuditStream,
        }]
    }

    fn listeners(&self) -> Vec<ListenerSpec> {
        vec![ListenerSpec {
            name: "analytics.index".into(),
            patterns: events::consumed_topics(),
            listener: Arc::new(Index(Arc::downgrade(&self.analytics))),
        }]
    }
}

/// `analytics.ingest`: one instance stores each record or quarantines the event. A refused
/// event is not an error (it is kept, with its reason), so nothing is retried for it.
struct Ingest(Weak<Analytics>);

#[async_trait]
impl EventHandler for Ingest {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(a) = self.0.upgrade() else {
            anyhow::bail!("the analytics service is shutting down");
        };
        a.ingest(tx, event).await
    }
}

/// `analytics.index`: every instance folds every record into its own index.
struct Index(Weak<Analytics>);

#[async_trait]
impl EventListener for Index {
    async fn on_event(&self, event: &EventEnvelope) -> anyhow::Result<()> {
        if let Some(a) = self.0.upgrade() {
            a.apply(event);
        }
        Ok(())
    }

    async fn on_subscribed(&self) -> anyhow::Result<()> {
        if let Some(a) = self.0.upgrade() {
            a.rebuild().await?;
        }
        Ok(())
    }
}
