//! The loads service: brokers' and shippers' loads and their lifecycle (draft → posted →
//! covered → … → closed), carriers' truck postings, the load board search over an
//! in-memory index, saved searches that raise alerts, and CSV import.
//!
//! Layout: `domain/` is pure (validation, the rules of text and dates, state machine,
//! equipment, CSV format, the filters of both searches), `store/` is its SQL (rows decoded
//! strictly), `creation.rs`, `lifecycle.rs`, `capacity.rs` and `saved.rs` hold the flows,
//! `board.rs` the in-memory board, `views.rs` what clients see, `api/` the thin handlers.

mod alerts;
pub mod api;
#[cfg(feature = "bench")]
pub mod bench;
mod board;
mod board_snapshots;
mod capacity;
mod creation;
pub mod domain;
pub mod error;
pub mod events;
mod lifecycle;
mod negotiated;
mod saved;
mod service;
mod snapshot;
mod store;
pub mod tracked;
mod view_codec;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

pub use board::ViewStats;
pub use board_snapshots::KEY as BOARD_SNAPSHOT_KEY;
pub use domain::TruckSearchParams;
pub use lifecycle::Actor;
pub use saved::SavedSearchView;
pub use service::{BoardStart, Loads};

use lanerunner_geo::Geocoder;
use lanerunner_platform::config::LoadsConfig;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{
    ConsumerSource, ConsumerSpec, ListenerSpec, Service, ServiceContext,
};
use utoipa_axum::router::OpenApiRouter;

pub const SERVICE: &str = "loads";

/// How often stale postings are expired.
const EXPIRY_SWEEP: Duration = Duration::from_secs(60);

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct LoadsService {
    loads: Arc<Loads>,
}

impl LoadsService {
    /// Starts the service with the geocoder the binary built for it (`None`: the offline
    /// gazetteer). The service names no geocoding backend: Google's client is chosen and
    /// built by the binary from `maps.*`. A remote geocoder is synchronous and may block for
    /// its timeout, so validation that geocodes runs under `spawn_blocking` when
    /// `Geo::is_remote()` (markets stay those of the gazetteer whichever geocoder runs).
    pub async fn start(
        ctx: ServiceContext,
        settings: LoadsConfig,
        geocoder: Option<Arc<dyn Geocoder>>,
    ) -> anyhow::Result<Self> {
        let geo = domain::Geo::with_geocoder(geocoder);
        let loads = Arc::new(Loads::open(ctx, &settings, geo).await?);
        match loads.index_saved_search_origins().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(searches = n, "indexed the origins of saved searches"),
            Err(e) => {
                tracing::warn!(error = %e, "indexing saved-search origins failed; they stay checked for every load")
            }
        }
        let weak = Arc::downgrade(&loads);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EXPIRY_SWEEP);
            loop {
                tick.tick().await;
                let Some(loads) = weak.upgrade() else { break };
                if let Err(e) = loads.expire_overdue(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "expiring stale postings failed");
                }
            }
        });
        let every = settings.board_snapshot_interval_secs;
        if every > 0 {
            let weak = Arc::downgrade(&loads);
            tokio::spawn(async move {
                let period = std::time::Duration::from_secs(every);
                let mut tick =
                    tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                loop {
                    tick.tick().await;
                    let Some(loads) = weak.upgrade() else { break };
                    match loads.claim_board_snapshot(period).await {
                        Ok(true) => {
                            if let Err(e) = loads.write_board_snapshot().await {
                                tracing::warn!(error = %e, "writing the board snapshot failed");
                            }
                        }
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "claiming the board snapshot failed"),
                    }
                }
            });
        }
        Ok(Self { loads })
    }

    pub fn loads(&self) -> &Arc<Loads> {
        &self.loads
    }
}

impl Service for LoadsService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.loads.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![
            ConsumerSpec {
                group: alerts::GROUP.into(),
                patterns: vec![events::LOAD_POSTED.topic()],
                handler: Arc::new(alerts::SearchAlerts(Arc::downgrade(&self.loads))),
                source: ConsumerSource::Bus,
            },
            ConsumerSpec {
                group: negotiated::GROUP.into(),
                patterns: vec![events::NEGOTIATION_AGREED.topic()],
                handler: Arc::new(negotiated::NegotiatedBookings(Arc::downgrade(&self.loads))),
                source: ConsumerSource::Bus,
            },
            ConsumerSpec {
                group: tracked::GROUP.into(),
                patterns: vec![events::TRACKING_STOP_EVENT.topic()],
                handler: Arc::new(tracked::TrackedLoads(Arc::downgrade(&self.loads))),
                source: ConsumerSource::Bus,
            },
        ]
    }

    fn listeners(&self) -> Vec<ListenerSpec> {
        vec![ListenerSpec {
            name: "loads.board".into(),
            patterns: [
                events::LOAD_POSTED,
                events::LOAD_UPDATED,
                events::LOAD_STATUS_CHANGED,
            ]
            .iter()
            .map(|t| t.topic())
            .collect(),
            listener: Arc::new(board::BoardListener(Arc::downgrade(&self.loads))),
        }]
    }
}
