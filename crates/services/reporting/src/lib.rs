//! The reporting service (`reporting`): reports per organization — lane rates, the
//! broker's KPIs, the carrier scorecard — as CSV and as PDF with charts, made on demand
//! or on schedules, downloaded or emailed.
//!
//! Layout: `request.rs` what a report asks for, checked (pure); `source.rs` the typed
//! client its figures come from (analytics); `document.rs` a report before it is a file,
//! `build.rs` figures into documents (pure), `render/` documents into CSV and PDF (pure);
//! `store.rs` its SQL, `service.rs` the flows, `views.rs` what clients see, `api.rs` the
//! thin handlers.
//!
//! Files go to the blob store (`reports/<org>/<report>/report.{csv,pdf}`); emails go
//! through the outbox to the mailer. Every instance polls for due schedules every
//! `reporting.schedule_poll_secs`; a run is claimed by compare-and-set on the schedule's
//! next run time, so one instance makes it, and recorded once per (schedule, due time).

pub mod api;
mod build;
/// Reports are written as the shared document model (`lanerunner-paper`).
pub use lanerunner_paper as document;
pub mod error;
pub mod render;
pub mod request;
mod service;
pub mod source;
mod store;
pub mod views;

use std::sync::Arc;

use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{Service, ServiceContext};
use utoipa_axum::router::OpenApiRouter;

pub use service::{Format, ReportingSettings, Reports};

pub const SERVICE: &str = "reporting";

lanerunner_core::id_type!(
    /// A report made (its CSV and PDF).
    ReportId
);
lanerunner_core::id_type!(
    /// A schedule that makes reports.
    ScheduleId
);

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct ReportingService {
    reports: Arc<Reports>,
}

impl ReportingService {
    pub async fn start(
        ctx: ServiceContext,
        settings: ReportingSettings,
        source: Arc<dyn source::ReportSource>,
    ) -> anyhow::Result<Self> {
        let reports = Arc::new(Reports::new(&ctx, source, settings));
        let weak = Arc::downgrade(&reports);
        let every = reports.poll_every();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(reports) = weak.upgrade() else { break };
                if let Err(e) = reports.run_due(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "looking for due report schedules failed");
                }
            }
        });
        Ok(Self { reports })
    }

    pub fn reports(&self) -> &Arc<Reports> {
        &self.reports
    }
}

impl Service for ReportingService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.reports.clone())
    }
}
