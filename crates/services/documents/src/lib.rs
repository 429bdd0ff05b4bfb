//! The documents service (`documents`): a load's paperwork, from booking to invoice.
//!
//! - **Generated**: a booking (`load.booked.v1`, which a rate agreed in negotiation also
//!   produces) brings a rate confirmation and a bill of lading, rendered as PDFs on the
//!   broker's letterhead (`paperwork.rs`, through `lanerunner-paper`). A sweep generates
//!   them after the event is recorded, since storing a file is I/O outside that
//!   transaction.
//! - **Uploaded**: proof of delivery, lumper receipts, insurance certificates, signed bills
//!   of lading; who attached what and when.
//! - **Signed**: a party signs a rate confirmation over its SHA-256; the signed version is
//!   a new document, never changed, and any copy can be checked against what was recorded.
//! - **The checklist** (`domain.rs`): what is missing before the load can be invoiced;
//!   `documents.checklist_completed.v1` when nothing is.
//!
//! Layout: `domain.rs` the rules and `paperwork.rs` the documents' content (pure),
//! `template.rs` an organization's letterhead, `store.rs` the SQL, `service.rs` the flows,
//! `api.rs` the handlers. The bytes go to the storage service through [`files::FileStore`].

pub mod api;
pub mod domain;
pub mod error;
pub mod events;
pub mod files;
pub mod paperwork;
mod service;
mod store;
pub mod template;
pub mod views;

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{ConsumerSource, ConsumerSpec, Service, ServiceContext};
use lanerunner_platform::Tx;
use utoipa_axum::router::OpenApiRouter;

pub use service::{sha256_hex, Documents, SYSTEM_ACTOR};

pub const SERVICE: &str = "documents";

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct DocumentsService {
    documents: Arc<Documents>,
}

impl DocumentsService {
    /// `generate_every`: how often the sweep looks for bookings whose paperwork is due.
    pub async fn start(
        ctx: ServiceContext,
        files: Arc<dyn files::FileStore>,
        generate_every: Duration,
    ) -> anyhow::Result<Self> {
        let documents = Arc::new(Documents::new(ctx.db.clone(), files, ctx.outbox.clone()));
        let weak = Arc::downgrade(&documents);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(generate_every);
            loop {
                tick.tick().await;
                let Some(d) = weak.upgrade() else { break };
                if let Err(e) = d.generate_due().await {
                    tracing::warn!(error = %e, "the paperwork sweep failed; will retry");
                }
                if let Err(e) = d.render_invoices().await {
                    tracing::warn!(error = %e, "rendering invoices failed; will retry");
                }
            }
        });
        Ok(Self { documents })
    }

    pub fn documents(&self) -> &Arc<Documents> {
        &self.documents
    }
}

impl Service for DocumentsService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.documents.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "documents.paperwork".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(Paperwork(Arc::downgrade(&self.documents))),
            source: ConsumerSource::Bus,
        }]
    }
}

/// `documents.paperwork`: bookings, status changes and parties' names into the store.
struct Paperwork(Weak<Documents>);

#[async_trait]
impl EventHandler for Paperwork {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(d) = self.0.upgrade() else {
            anyhow::bail!("the documents service is shutting down");
        };
        d.handle(tx, event).await
    }
}
