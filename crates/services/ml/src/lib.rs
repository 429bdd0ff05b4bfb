//! The rate model service (`ml`): what a load should book at, from the rate model
//! (`lanerunner-ratemodel`) and the recent market.
//!
//! Layout: `events.rs` what it consumes, `market.rs` the recent market in memory (pure),
//! `quote.rs` a quote checked and resolved, `store.rs` its SQL, `service.rs` the served
//! model and the flows, `views.rs` what clients see, `api.rs` the thin handlers.
//!
//! Data flow: analytics checks every booking and posting and publishes it normalized
//! (`market.*_recorded.v1`). The consumer group `ml.ingest` keeps each record (the
//! training history, keyed by source id); the listener `ml.market` prices each new
//! booking with the served model before folding it into every instance's market, and
//! keeps that outcome for monitoring. Model versions live in the store; every instance
//! checks the active one every `ml.reload_interval_secs` and swaps it in whole, so a
//! publish or a rollback needs no restart, and a file that does not decode is refused
//! while the previous model keeps serving.

pub mod api;
pub mod error;
pub mod events;
mod market;
pub mod quote;
mod service;
mod store;
pub mod views;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_geo::Geocoder;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{
    ConsumerSource, ConsumerSpec, EventListener, ListenerSpec, Service, ServiceContext,
};
use lanerunner_platform::Tx;
use utoipa_axum::router::OpenApiRouter;

pub use service::{MlSettings, Rates, Served, MAX_BATCH};

pub const SERVICE: &str = "ml";

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct MlService {
    rates: Arc<Rates>,
}

impl MlService {
    pub async fn start(
        ctx: ServiceContext,
        settings: MlSettings,
        geocoder: Option<Arc<dyn Geocoder>>,
    ) -> anyhow::Result<Self> {
        let rates = Arc::new(Rates::open(&ctx, settings, geocoder).await?);
        let weak = Arc::downgrade(&rates);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(settings.reload_every);
            loop {
                tick.tick().await;
                let Some(rates) = weak.upgrade() else { break };
                if let Err(e) = rates.reload().await {
                    tracing::error!(error = %e, "the active rate model could not be loaded; the previous one keeps serving");
                }
            }
        });
        Ok(Self { rates })
    }

    pub fn rates(&self) -> &Arc<Rates> {
        &self.rates
    }
}

impl Service for MlService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.rates.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "ml.ingest".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(Ingest(Arc::downgrade(&self.rates))),
            source: ConsumerSource::Bus,
        }]
    }

    fn listeners(&self) -> Vec<ListenerSpec> {
        vec![ListenerSpec {
            name: "ml.market".into(),
            patterns: events::consumed_topics(),
            listener: Arc::new(MarketListener(Arc::downgrade(&self.rates))),
        }]
    }
}

/// `ml.ingest`: one instance keeps each record.
struct Ingest(Weak<Rates>);

#[async_trait]
impl EventHandler for Ingest {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(r) = self.0.upgrade() else {
            anyhow::bail!("the ml service is shutting down");
        };
        r.ingest(tx, event).await
    }
}

/// `ml.market`: every instance prices and folds each record.
struct MarketListener(Weak<Rates>);

#[async_trait]
impl EventListener for MarketListener {
    async fn on_event(&self, event: &EventEnvelope) -> anyhow::Result<()> {
        match self.0.upgrade() {
            Some(r) => r.apply(event).await,
            None => Ok(()),
        }
    }

    async fn on_subscribed(&self) -> anyhow::Result<()> {
        match self.0.upgrade() {
            Some(r) => r.rebuild().await,
            None => Ok(()),
        }
    }
}
