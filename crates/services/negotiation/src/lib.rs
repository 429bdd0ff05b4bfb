//! The negotiation service (`negotiation`): rate negotiations between a load's broker and
//! the carriers that want it, under the alternating-offers protocol of
//! `lanerunner-negotiation`, by API or in free text, with exactly one agreement per load.
//!
//! Layout: `events.rs` what it consumes and publishes, `store.rs` its SQL, `service.rs`
//! the flows, `views.rs` what clients see, `api.rs` the thin handlers. The consumer group
//! `negotiation.loads` keeps its own projection of the loads it may negotiate.
//!
//! An agreement publishes `negotiation.agreed.v1`, on which the loads service covers the
//! load. A broker may put an agent on a load (`agent.rs`): the consumer group
//! `negotiation.agent` answers carriers' offers within its policy, against the market
//! signal of the rate model (`market.rs`). A carrier deals only when `vetting.rs` clears it:
//! not blocked, in the broker's network for a private load, and with a standing (kept from
//! the carriers service's `carrier.standing.v1`) the broker accepts.

pub mod agent;
pub mod api;
pub mod error;
pub mod events;
pub mod language;
pub mod lists;
pub mod market;
pub mod phone;
mod service;
mod store;
pub mod vetting;
pub mod views;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{ConsumerSource, ConsumerSpec, Service, ServiceContext};
use lanerunner_platform::Tx;
use utoipa_axum::router::OpenApiRouter;

pub use service::{Negotiations, OFFERS_PER_SIDE};

pub const SERVICE: &str = "negotiation";

/// How often negotiations past their deadline are closed as expired.
const EXPIRY_SWEEP: std::time::Duration = std::time::Duration::from_secs(60);

lanerunner_core::id_type!(
    /// A negotiation between a load's broker and one carrier.
    NegotiationId
);

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct NegotiationService {
    negotiations: Arc<Negotiations>,
}

impl NegotiationService {
    pub async fn start(
        ctx: ServiceContext,
        market: Arc<dyn market::MarketSource>,
        language: Option<Arc<dyn language::LanguageModel>>,
    ) -> anyhow::Result<Self> {
        let negotiations = Arc::new(Negotiations::new(&ctx, market, language));
        let weak = Arc::downgrade(&negotiations);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EXPIRY_SWEEP);
            loop {
                tick.tick().await;
                let Some(n) = weak.upgrade() else { break };
                if let Err(e) = n.expire_due(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "expiring negotiations past their deadline failed");
                }
            }
        });
        Ok(Self { negotiations })
    }

    pub fn negotiations(&self) -> &Arc<Negotiations> {
        &self.negotiations
    }
}

impl Service for NegotiationService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.negotiations.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![
            ConsumerSpec {
                group: "negotiation.loads".into(),
                patterns: events::consumed_topics(),
                handler: Arc::new(Loads(Arc::downgrade(&self.negotiations))),
                source: ConsumerSource::Bus,
            },
            ConsumerSpec {
                group: agent::GROUP.into(),
                patterns: vec![events::NEGOTIATION_UPDATED.topic()],
                handler: Arc::new(Agents(Arc::downgrade(&self.negotiations))),
                source: ConsumerSource::Bus,
            },
        ]
    }
}

/// `negotiation.loads`: the loads projection.
struct Loads(Weak<Negotiations>);

#[async_trait]
impl EventHandler for Loads {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(n) = self.0.upgrade() else {
            anyhow::bail!("the negotiation service is shutting down");
        };
        n.project(tx, event).await
    }
}

/// `negotiation.agent`: the brokers' agents answer carriers' offers.
struct Agents(Weak<Negotiations>);

#[async_trait]
impl EventHandler for Agents {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(n) = self.0.upgrade() else {
            anyhow::bail!("the negotiation service is shutting down");
        };
        n.agent_turn(tx, event).await
    }
}
