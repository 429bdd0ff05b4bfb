//! The tracking service (`tracking`): where a booked load's truck is, without a check call.
//!
//! - **Positions in**: from the driver's phone through a link (no account, scoped to one
//!   load, expiring), from a carrier's own system as signed webhooks (the Standard
//!   Webhooks scheme), from its ELD provider's webhooks (`telematics.rs`: Motive, adapted
//!   in the binary; the truck on each load named by the carrier), and from devices over
//!   MQTT (`devices.rs`). Each is validated (`domain/position.rs`) and kept; one that cannot
//!   be right is quarantined with its reason, never applied.
//! - **Status out**: the load's stops are geofences (`domain/geofence.rs`); entering the
//!   pickup's, leaving it, entering the delivery's publish `tracking.stop_event.v1`, which
//!   the loads service turns into the load's status. Delivery needs the driver's
//!   confirmation. Dwell and detention are kept per stop.
//! - **ETA** (`domain/eta.rs`) to the next stop with the driver's hours of service, and
//!   `tracking.late_risk.v1` once when it passes the stop's window.
//! - **Sharing**: an unguessable, expiring, revocable link shows the shipper the load's
//!   position, status and ETA only.
//!
//! Layout: `domain/` the rules (pure), `store.rs` the SQL, `service.rs` the flows,
//! `api.rs` the handlers, `views.rs` what clients see.

pub mod api;
pub mod devices;
pub mod domain;
pub mod error;
pub mod events;
pub mod service;
mod store;
pub mod telematics;
pub mod views;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{ConsumerSource, ConsumerSpec, Service, ServiceContext};
use lanerunner_platform::Tx;
use utoipa_axum::router::OpenApiRouter;

pub use service::{Settings, Tracking};

pub const SERVICE: &str = "tracking";

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct TrackingService {
    tracking: Arc<Tracking>,
}

impl TrackingService {
    /// `public_url`: where links point; `providers`: the telematics providers carriers
    /// may connect.
    pub async fn start(
        ctx: ServiceContext,
        settings: Settings,
        public_url: String,
        providers: Vec<Arc<dyn telematics::TelematicsProvider>>,
    ) -> anyhow::Result<Self> {
        let tracking = Arc::new(Tracking::new(
            ctx.db.clone(),
            ctx.outbox.clone(),
            ctx.streams.clone(),
            settings,
            public_url,
            providers,
        ));
        // Privacy: positions are deleted once kept long enough after tracking ended.
        let weak = Arc::downgrade(&tracking);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let Some(t) = weak.upgrade() else { break };
                if let Err(e) = t.purge_expired(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "deleting old positions failed; will retry");
                }
            }
        });
        Ok(Self { tracking })
    }

    pub fn tracking(&self) -> &Arc<Tracking> {
        &self.tracking
    }
}

impl Service for TrackingService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.tracking.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "tracking.loads".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(BookedLoads(Arc::downgrade(&self.tracking))),
            source: ConsumerSource::Bus,
        }]
    }
}

/// `tracking.loads`: bookings start tracking, delivery and cancellation end it.
struct BookedLoads(Weak<Tracking>);

#[async_trait]
impl EventHandler for BookedLoads {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(t) = self.0.upgrade() else {
            anyhow::bail!("the tracking service is shutting down");
        };
        t.handle(tx, event).await
    }
}
