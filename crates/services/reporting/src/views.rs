//! What clients send and see.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::request::ReportParams;
use crate::store::{RunRow, ScheduleRow};

/// `POST /v1/reports`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewReport {
    /// `lane_rates`, `broker_kpis` or `carrier_scorecard`.
    pub kind: String,
    /// Lane rate reports: `lanes` (1–20). The others: `from` and `to`, or the trailing
    /// `period_days` (default 30).
    #[serde(flatten)]
    pub params: ReportParams,
    /// Also email a link to the report to these addresses (at most 20).
    #[serde(default)]
    pub email_to: Vec<String>,
}

/// `POST /v1/reports/schedules`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewSchedule {
    /// What the email's subject calls it, e.g. "Monday lanes".
    pub name: String,
    pub kind: String,
    /// As for `POST /v1/reports`, but a period is always the trailing `period_days`
    /// before each run.
    #[serde(flatten)]
    pub params: ReportParams,
    /// `daily`, `weekly` or `monthly`, counted from `starts_at`.
    pub cadence: String,
    /// The first run (default now); later runs keep its time of day.
    pub starts_at: Option<DateTime<Utc>>,
    /// Who receives each report (1–20 addresses).
    pub recipients: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FileLink {
    /// Relative to the API's address; needs the same credentials.
    pub href: String,
    pub bytes: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportFiles {
    pub csv: FileLink,
    pub pdf: FileLink,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunView {
    #[schema(value_type = String, format = Uuid)]
    pub id: crate::ReportId,
    pub kind: String,
    pub title: String,
    #[schema(value_type = Object)]
    pub params: ReportParams,
    /// `ready`, or `failed` with `error`.
    pub status: String,
    pub error: Option<String>,
    /// The schedule that made it; `null` when asked for.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub schedule_id: Option<crate::ScheduleId>,
    pub emailed_to: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The CSV and the PDF, when ready.
    pub files: Option<ReportFiles>,
}

impl RunView {
    pub fn new(r: RunRow) -> Self {
        let link = |ext: &str, bytes: Option<i64>| FileLink {
            href: format!("/v1/reports/{}/{ext}", r.id),
            bytes: bytes.unwrap_or(0),
        };
        let files = (r.status == "ready").then(|| ReportFiles {
            csv: link("csv", r.csv_bytes),
            pdf: link("pdf", r.pdf_bytes),
        });
        RunView {
            id: r.id,
            kind: r.kind,
            title: r.title,
            params: r.params.0,
            status: r.status,
            error: r.error,
            schedule_id: r.schedule_id,
            emailed_to: r.emailed_to.0,
            created_at: r.created_at,
            files,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    #[schema(value_type = String, format = Uuid)]
    pub id: crate::ScheduleId,
    pub name: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub params: ReportParams,
    pub cadence: String,
    pub recipients: Vec<String>,
    pub first_run_at: DateTime<Utc>,
    pub next_run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl ScheduleView {
    pub fn new(s: ScheduleRow) -> Self {
        ScheduleView {
            id: s.id,
            name: s.name,
            kind: s.kind,
            params: s.params.0,
            cadence: s.cadence,
            recipients: s.recipients.0,
            first_run_at: s.first_run_at,
            next_run_at: s.next_run_at,
            created_at: s.created_at,
        }
    }
}
