//! Realtime: a WebSocket at `GET /v1/realtime` on which a signed-in client hears its
//! organization's events (load status changes, postings, search alerts, match suggestions)
//! as they happen, whichever instance it is connected to.
//!
//! The path of an event: the service that caused it commits it to its outbox; the bus
//! delivers it to the consumer group `realtime.fanout` (one instance takes it, idempotently);
//! that instance publishes it to its organization's channel on the platform's [`Fanout`]
//! (Redis pub/sub when the cache is Redis, so every instance hears it; in process
//! otherwise; the service never names which) — and
//! each instance pushes it to its own sockets of that organization.

mod feed;
mod socket;

use std::sync::Arc;

use lanerunner_platform::db::Migrations;
pub use lanerunner_platform::fanout::{Fanout, Push};
use lanerunner_platform::service::{ConsumerSource, ConsumerSpec, Service, ServiceContext};
use utoipa_axum::router::OpenApiRouter;

pub const SERVICE: &str = "realtime";

/// The consumer group that moves domain events onto the fan-out.
pub const FANOUT_GROUP: &str = "realtime.fanout";

/// Only the platform's tables (outbox, processed events): realtime keeps no state of its own.
pub fn migrations() -> Migrations {
    Migrations::platform()
}

pub struct RealtimeService {
    fanout: Arc<dyn Fanout>,
    ctx: ServiceContext,
}

impl RealtimeService {
    pub async fn start(ctx: ServiceContext) -> anyhow::Result<Self> {
        Ok(Self {
            fanout: ctx.fanout.clone(),
            ctx,
        })
    }

    pub fn fanout(&self) -> &Arc<dyn Fanout> {
        &self.fanout
    }
}

impl Service for RealtimeService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        socket::routes(self.fanout.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: FANOUT_GROUP.into(),
            patterns: feed::FEED.iter().map(|(p, _)| p.to_string()).collect(),
            handler: Arc::new(feed::ToFanout(self.fanout.clone())),
            source: ConsumerSource::Bus,
        }]
    }
}

impl std::fmt::Debug for RealtimeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealtimeService")
            .field("fanout", &self.fanout.backend())
            .field("cache", &self.ctx.cache.backend())
            .finish()
    }
}
