//! The carriers service (`carriers`): each carrier's operating authority — USDOT and MC
//! numbers, authority, out-of-service orders, insurance — checked against a registry and
//! kept current, so brokers book only carriers fit to haul.
//!
//! Layout: `domain.rs` a declaration and the judgement of a registry's record into a
//! standing with its reasons (pure); `registry.rs` the seam to the registry (FMCSA's
//! QCMobile at scale, adapted in the binary; embedded, the carrier's word, unverified);
//! `store.rs` its SQL, `service.rs` the flows, `views.rs` what clients see, `api.rs` the
//! thin handlers.
//!
//! Every change of standing is published as `carrier.standing.v1`; the negotiation service
//! keeps it and refuses to book a carrier that fails, or an unverified one where the broker
//! says so. Every instance sweeps for due re-checks every `carriers.sweep_poll_secs`; a
//! check is recorded by compare-and-set, so a declaration made meanwhile wins.

pub mod api;
pub mod domain;
pub mod error;
pub mod events;
pub mod registry;
mod service;
mod store;
pub mod views;

use std::sync::Arc;

use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{Service, ServiceContext};
use utoipa_axum::router::OpenApiRouter;

pub use service::{Carriers, CarriersSettings};

pub const SERVICE: &str = "carriers";

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct CarriersService {
    carriers: Arc<Carriers>,
}

impl CarriersService {
    pub async fn start(
        ctx: ServiceContext,
        registry: Arc<dyn registry::AuthorityRegistry>,
        settings: CarriersSettings,
    ) -> anyhow::Result<Self> {
        let carriers = Arc::new(Carriers::new(&ctx, registry, settings));
        let weak = Arc::downgrade(&carriers);
        let every = carriers.sweep_every();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(c) = weak.upgrade() else { break };
                if let Err(e) = c.sweep(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "re-checking carriers' authority failed");
                }
            }
        });
        Ok(Self { carriers })
    }

    pub fn carriers(&self) -> &Arc<Carriers> {
        &self.carriers
    }
}

impl Service for CarriersService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.carriers.clone())
    }
}
