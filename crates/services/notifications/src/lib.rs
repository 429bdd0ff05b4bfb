//! The notifications service (`notifications`): people hear what matters to them, where
//! they are.
//!
//! - **Who and how**: each event that concerns people (a saved-search alert, a suggested
//!   match, an offer from the other side, a booking, a late truck, a signature or complete
//!   paperwork, an invoice) becomes a notice for the members of its organization who want
//!   it, by their preferences per kind of news and channel; quiet hours in each person's
//!   time zone hold emails and texts until morning; digests gather the rest, and a flood
//!   of immediate messages turns into a digest too. A notice is made once per person
//!   whatever repeats (`dedupe_key`).
//! - **Channels**: the in-app list (read state, live over the WebSocket), email (the
//!   platform's mailer: SMTP or the spool), text (the [`sms::SmsGateway`]: Twilio), and
//!   customers' systems through the webhooks service.
//! - **Texts back**: STOP, START and HELP as Twilio's keywords, recorded per number; "YES
//!   4821" takes the offer that text carried, through the negotiation service
//!   ([`desk::OfferDesk`]); delivery statuses from the provider's callbacks. Every inbound
//!   request is checked against the provider's signature first.
//!
//! Layout: `domain.rs` the rules and `sms.rs` the keywords (pure), `store.rs` the SQL,
//! `service.rs` the flows and the dispatcher, `api.rs` the handlers.

pub mod api;
pub mod desk;
pub mod domain;
pub mod error;
pub mod events;
mod personal_data;
pub mod phones;
mod retention;
mod service;
pub mod sms;
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

pub use phones::SEALED_FIELDS;
pub use service::{Notifications, Settings, INBOUND_PATH, STATUS_PATH, UNSUBSCRIBE_PATH};

pub const SERVICE: &str = "notifications";

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

/// How often numbers a previous version stored readable are looked for again.
const PHONE_CONVERSION_EVERY: Duration = Duration::from_secs(300);

pub struct NotificationsService {
    notifications: Arc<Notifications>,
}

impl NotificationsService {
    pub async fn start(
        ctx: ServiceContext,
        sms: Arc<dyn sms::SmsGateway>,
        desk: Option<Arc<dyn desk::OfferDesk>>,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        // Numbers stored readable by a previous version are sealed before anything is
        // served or consumed; then every few minutes (a rolling upgrade's old instances).
        let phones = phones::Phones(ctx.sealer.clone());
        phones.ready().await?;
        phones::convert(&ctx.db, &phones).await?;
        let notifications = Arc::new(Notifications::new(
            ctx.db.clone(),
            phones,
            ctx.outbox.clone(),
            sms,
            desk,
            settings,
        ));
        tokio::spawn(dispatcher(Arc::downgrade(&notifications)));
        tokio::spawn(phones::job(
            Arc::downgrade(&notifications),
            PHONE_CONVERSION_EVERY,
        ));
        if let Some(keep) = notifications.settings().inbound_text_retention {
            tokio::spawn(retention::job(Arc::downgrade(&notifications), keep));
        }
        Ok(Self { notifications })
    }

    pub fn notifications(&self) -> &Arc<Notifications> {
        &self.notifications
    }
}

/// Sends due emails and texts until the service is dropped: right after a wake (the
/// consumer wakes it before its transaction commits, so it looks twice more shortly
/// after), otherwise every `poll_every` (quiet hours and digests come due with time).
async fn dispatcher(weak: Weak<Notifications>) {
    let Some(first) = weak.upgrade() else { return };
    let permits = Arc::new(Semaphore::new(first.settings().concurrency.max(1)));
    let poll = first.settings().poll_every;
    let wake = first.wake();
    drop(first);
    let fresh = || [Duration::from_millis(10), Duration::from_millis(40)].into_iter();
    let mut recheck = fresh();
    loop {
        let Some(n) = weak.upgrade() else { break };
        let leased = match n.dispatch(&permits).await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "leasing notifications failed; will retry");
                0
            }
        };
        drop(n);
        if leased > 0 {
            recheck = fresh();
            if permits.available_permits() > 0 {
                continue;
            }
        }
        let wait = recheck.next().unwrap_or(poll);
        tokio::select! {
            _ = wake.notified() => recheck = fresh(),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

impl Service for NotificationsService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.notifications.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "notifications.notify".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(Notify(Arc::downgrade(&self.notifications))),
            source: ConsumerSource::Bus,
        }]
    }

    fn personal_data(&self) -> Option<Arc<dyn lanerunner_platform::personal_data::PersonalData>> {
        Some(Arc::new(personal_data::Export {
            db: self.notifications.db.clone(),
            phones: self.notifications.phones.clone(),
        }))
    }
}

/// `notifications.notify`: members from identity's events, and notices from the rest.
struct Notify(Weak<Notifications>);

#[async_trait]
impl EventHandler for Notify {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(n) = self.0.upgrade() else {
            anyhow::bail!("the notifications service is shutting down");
        };
        n.handle(tx, event).await
    }
}
