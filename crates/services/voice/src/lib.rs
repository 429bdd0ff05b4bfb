//! The voice service (`voice`): the AI agent that answers carriers' calls on a broker's
//! line, as HappyRobot's does, on LaneRunner's own data and inside the broker's limits.
//!
//! A call (Twilio's voice webhooks, answered in TwiML; or a simulated call by text, the
//! embedded default): the greeting with the recording notice, the MC number by speech or
//! keypad, the carrier vetted (its authority from the carriers service, the broker's
//! vetting from the negotiation service), the load by reference number or by lane and
//! equipment, the pitch, and the caller's words read by the same offer parser as chat and
//! answered by the broker's agent within its policy ([`desk::DealDesk`]). An agreement
//! books the load; a request for a person, an answer that needs approval, or speech that
//! cannot be understood twice hands the call to the line's transfer number (`<Dial>`).
//! Afterwards the call keeps its transcript, outcome, sentiment and summary, on the load
//! and the carrier, and `voice.call_completed.v1` tells the rest of LaneRunner.
//!
//! Outreach (`outreach.rs`): the agent also calls the best-matched carriers of a load that
//! gave a dispatch number, and negotiates the same way once they answer.
//!
//! Check calls (`check_calls.rs`): a load on the road with no recent position gets a call
//! to its carrier's dispatch number — where is the truck, when will it deliver, anything
//! wrong.
//!
//! Layout: `understand.rs` reads what was said, `script.rs` what the agent says,
//! `debrief.rs` outcome, sentiment and summary, `twiml.rs` the provider's XML (all pure);
//! `store.rs` the SQL, `service.rs` the flows, `api.rs` the handlers.

pub mod api;
mod check_calls;
pub mod debrief;
pub mod desk;
pub mod error;
pub mod events;
mod numbers;
mod outreach;
mod retention;
pub mod script;
mod service;
mod store;
pub mod twiml;
pub mod understand;
pub mod views;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{ConsumerSource, ConsumerSpec, Service, ServiceContext};
use lanerunner_platform::Tx;
use utoipa_axum::router::OpenApiRouter;

pub use numbers::SEALED_FIELDS;
pub use service::{Calls, Heard, Settings, INBOUND_PATH, STATUS_PATH};

pub const SERVICE: &str = "voice";

lanerunner_core::id_type!(
    /// A phone call (or a simulated one) with the agent.
    CallId
);

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct VoiceService {
    calls: Arc<Calls>,
}

impl VoiceService {
    pub async fn start(
        ctx: ServiceContext,
        desk: Arc<dyn desk::DealDesk>,
        telephony: Arc<dyn desk::Telephony>,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        let (check_calls, keep) = (settings.check_calls, settings.transcript_retention);
        let calls = Arc::new(Calls::new(
            ctx.db.clone(),
            ctx.outbox.clone(),
            desk,
            telephony,
            numbers::Numbers(ctx.sealer.clone()),
            settings,
        ));
        if let Some((after, every)) = check_calls {
            tokio::spawn(check_calls::sweeper(Arc::downgrade(&calls), after, every));
        }
        if let Some(keep) = keep {
            tokio::spawn(retention::job(Arc::downgrade(&calls), keep));
        }
        Ok(Self { calls })
    }

    pub fn calls(&self) -> &Arc<Calls> {
        &self.calls
    }
}

impl Service for VoiceService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.calls.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "voice.board".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(Board(Arc::downgrade(&self.calls))),
            source: ConsumerSource::Bus,
        }]
    }
}

/// `voice.board`: the loads and carriers callers ask about.
struct Board(Weak<Calls>);

#[async_trait]
impl EventHandler for Board {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(c) = self.0.upgrade() else {
            anyhow::bail!("the voice service is shutting down");
        };
        c.project(tx, event).await
    }
}
