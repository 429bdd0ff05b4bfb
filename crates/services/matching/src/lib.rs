//! The matching service: a projection of the loads service's open loads and available
//! trucks (its own tables, fed by events), an in-memory board over it, ranked matches
//! with explanations for a load or a truck, reload chains, exact batch assignment runs,
//! and `match.suggested` events as loads and trucks arrive.
//!
//! Layout: `domain/` is pure (record merges, facts, the load index), `store.rs` its SQL,
//! `projection.rs` the consumer and listener, `board.rs` the in-memory state,
//! `service/` the flows (`suggestions.rs`, `matches.rs`, `runs.rs`, the board's upkeep in
//! `mod.rs`), `views.rs` what clients see, `api/` the thin handlers. The
//! matching rules and the solver are the `lanerunner-matching` and
//! `lanerunner-assignment` crates.

pub mod api;
mod board;
pub mod domain;
pub mod error;
pub mod events;
mod projection;
mod service;
mod store;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{
    ConsumerSource, ConsumerSpec, ListenerSpec, Service, ServiceContext,
};
use utoipa_axum::router::OpenApiRouter;

pub use service::Matching;

pub const SERVICE: &str = "matching";

/// How often trucks whose availability ended leave the board.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// How often the board folds in the stored projection (events another instance consumed
/// while this one was not yet listening).
const RESYNC_EVERY: Duration = Duration::from_secs(300);

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct MatchingService {
    matching: Arc<Matching>,
}

impl MatchingService {
    pub async fn start(ctx: ServiceContext) -> anyhow::Result<Self> {
        let matching = Arc::new(Matching::open(&ctx).await?);
        let weak = Arc::downgrade(&matching);
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(SWEEP_EVERY);
            let mut resync = tokio::time::interval(RESYNC_EVERY);
            resync.tick().await;
            loop {
                tokio::select! {
                    _ = sweep.tick() => {
                        let Some(m) = weak.upgrade() else { break };
                        m.sweep_expired();
                    }
                    _ = resync.tick() => {
                        let Some(m) = weak.upgrade() else { break };
                        if let Err(e) = m.resync().await {
                            tracing::warn!(error = %e, "matching board resync failed");
                        }
                    }
                }
            }
        });
        Ok(Self { matching })
    }

    pub fn matching(&self) -> &Arc<Matching> {
        &self.matching
    }
}

impl Service for MatchingService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.matching.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "matching.projection".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(projection::ProjectionConsumer(Arc::downgrade(
                &self.matching,
            ))),
            source: ConsumerSource::Bus,
        }]
    }

    fn listeners(&self) -> Vec<ListenerSpec> {
        vec![ListenerSpec {
            name: "matching.board".into(),
            patterns: events::consumed_topics(),
            listener: Arc::new(projection::BoardListener(Arc::downgrade(&self.matching))),
        }]
    }
}
