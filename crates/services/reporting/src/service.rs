//! The reporting flows: make a report now, keep schedules, and run what is due.
//!
//! A report is made whole before anything is recorded: its figures are read, its CSV and
//! PDF written to the blob store, and then, in one transaction, its row and the emails
//! that announce it (through the outbox, so a recorded report is never left unannounced
//! and an unrecorded one is never announced).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use lanerunner_core::tenancy::Role;
use lanerunner_core::OrgId;
use lanerunner_platform::blob::Blobs;
use lanerunner_platform::http::{Caller, FieldError};
use lanerunner_platform::mail::{email_requested, EmailMessage};
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::Db;
use sqlx::types::Json;

use crate::build;
use crate::document::Document;
use crate::error::{ReportError, Result, Violations};
use crate::render;
use crate::request::{self, Cadence, ReportKind, ReportParams};
use crate::source::{ReportSource, SourceError};
use crate::store::{self, NewRun, ScheduleRow};
use crate::views::{NewReport, NewSchedule, RunView, ScheduleView};
use crate::{ReportId, ScheduleId};

/// The reporting service's own settings (`reporting.*`, and where links point).
#[derive(Debug, Clone)]
pub struct ReportingSettings {
    /// The address links in emails start with (`public_url`).
    pub public_url: String,
    /// How often each instance looks for due schedules.
    pub poll_every: std::time::Duration,
}

/// The two files of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Pdf,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Pdf => "pdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }
}

/// A report's file, ready to download.
pub struct File {
    pub name: String,
    pub format: Format,
    pub bytes: Vec<u8>,
}

/// How many due schedules one poll takes on.
const DUE_BATCH: i64 = 16;
/// A schedule's first run may be set at most this far back (a clock a little behind) or
/// ahead.
const START_SLACK_PAST: Duration = Duration::days(1);
const START_AHEAD: Duration = Duration::days(366);

pub struct Reports {
    db: Db,
    reader: Db,
    blobs: Blobs,
    outbox: OutboxSignal,
    source: Arc<dyn ReportSource>,
    settings: ReportingSettings,
}

fn blob_key(org: OrgId, id: ReportId, format: Format) -> String {
    format!("reports/{org}/{id}/report.{}", format.extension())
}

impl Reports {
    pub fn new(
        ctx: &ServiceContext,
        source: Arc<dyn ReportSource>,
        settings: ReportingSettings,
    ) -> Self {
        Reports {
            db: ctx.db.clone(),
            reader: ctx.read_db.clone(),
            blobs: ctx.blobs.clone(),
            outbox: ctx.outbox.clone(),
            source,
            settings,
        }
    }

    pub fn poll_every(&self) -> std::time::Duration {
        self.settings.poll_every
    }

    /// Makes a report now, stores its files, emails `email_to` a link to it.
    pub async fn create(&self, caller: &Caller, req: NewReport) -> Result<RunView> {
        let mut v = Violations::default();
        let kind = check_kind(&req.kind, &mut v);
        if let Some(kind) = kind {
            req.params.check(kind, false, &mut v);
        }
        let recipients = request::check_recipients("email_to", &req.email_to, &mut v);
        let kind = v
            .into_result(kind)?
            .expect("a kind when nothing is invalid");
        let now = Utc::now();
        let doc = self.compose(caller.org, kind, &req.params, now).await?;
        let id = ReportId::new();
        let sizes = self.store_files(caller.org, id, &doc).await?;
        let run = NewRun {
            id,
            org: caller.org,
            kind: kind.as_str(),
            params: &req.params,
            title: &doc.title,
            schedule: None,
            requested_by: caller.user_id(),
            outcome: Ok(sizes),
            emailed_to: &recipients,
            at: now,
        };
        self.record(&run, &doc.title, &doc.subtitle).await?;
        self.get(caller.org, id).await
    }

    /// The organization's report `id`.
    pub async fn get(&self, org: OrgId, id: ReportId) -> Result<RunView> {
        // From the primary: a client reads the report it has just asked for.
        let row = store::run(&self.db, org, id)
            .await?
            .ok_or(ReportError::NotFound("report"))?;
        Ok(RunView::new(row))
    }

    pub async fn list(&self, org: OrgId, limit: i64) -> Result<Vec<RunView>> {
        let mut v = Violations::default();
        if !(1..=200).contains(&limit) {
            v.add("limit", "must be 1–200");
        }
        v.into_result(())?;
        Ok(store::runs(&self.reader, org, limit)
            .await?
            .into_iter()
            .map(RunView::new)
            .collect())
    }

    /// One of the report's files.
    pub async fn file(&self, org: OrgId, id: ReportId, format: Format) -> Result<File> {
        let row = store::run(&self.db, org, id)
            .await?
            .ok_or(ReportError::NotFound("report"))?;
        if row.status != "ready" {
            return Err(ReportError::NotFound("file of a report that failed"));
        }
        let bytes = self
            .blobs
            .get(&blob_key(org, id, format))
            .await
            .map_err(|e| ReportError::Unavailable(format!("the file store: {e:#}")))?;
        Ok(File {
            name: format!(
                "{}-{}.{}",
                row.kind.replace('_', "-"),
                row.created_at.format("%Y-%m-%d"),
                format.extension()
            ),
            format,
            bytes,
        })
    }

    pub async fn create_schedule(&self, caller: &Caller, req: NewSchedule) -> Result<ScheduleView> {
        if caller.role == Role::Viewer {
            return Err(ReportError::ViewerCannotSchedule);
        }
        let mut v = Violations::default();
        let name = request::check_name(&req.name, &mut v);
        let kind = check_kind(&req.kind, &mut v);
        if let Some(kind) = kind {
            req.params.check(kind, true, &mut v);
        }
        let cadence = Cadence::from_name(&req.cadence);
        if cadence.is_none() {
            v.add("cadence", "must be daily, weekly or monthly");
        }
        let recipients = request::check_recipients("recipients", &req.recipients, &mut v);
        if recipients.is_empty() && req.recipients.is_empty() {
            v.add(
                "recipients",
                "name at least one address to send the report to",
            );
        }
        let now = Utc::now();
        let first = req.starts_at.unwrap_or(now);
        if first < now - START_SLACK_PAST {
            v.add("starts_at", "must not be in the past");
        } else if first > now + START_AHEAD {
            v.add("starts_at", "must be within a year");
        }
        let (kind, cadence) = v.into_result((kind, cadence))?;
        let (kind, cadence) = (kind.expect("checked"), cadence.expect("checked"));
        if kind == ReportKind::LaneRates {
            // A lane that does not exist fails now, not at 6 a.m. next Monday.
            self.lanes(&req.params).await?;
        }
        let row = ScheduleRow {
            id: ScheduleId::new(),
            org_id: caller.org,
            name,
            kind: kind.as_str().into(),
            params: Json(req.params),
            cadence: cadence.as_str().into(),
            recipients: Json(recipients),
            first_run_at: first,
            next_run_at: first,
            created_by: caller.user_id(),
            created_at: now,
        };
        store::insert_schedule(&self.db, &row).await?;
        Ok(ScheduleView::new(row))
    }

    pub async fn schedules(&self, org: OrgId) -> Result<Vec<ScheduleView>> {
        Ok(store::schedules(&self.db, org)
            .await?
            .into_iter()
            .map(ScheduleView::new)
            .collect())
    }

    pub async fn delete_schedule(&self, caller: &Caller, id: ScheduleId) -> Result<()> {
        if caller.role == Role::Viewer {
            return Err(ReportError::ViewerCannotSchedule);
        }
        if store::delete_schedule(&self.db, caller.org, id).await? {
            Ok(())
        } else {
            Err(ReportError::NotFound("schedule"))
        }
    }

    /// Makes every run due at `now` that this instance claims; returns how many it made.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut made = 0;
        for s in store::due(&self.db, now, DUE_BATCH).await? {
            let (Some(kind), Some(cadence)) = (
                ReportKind::from_name(&s.kind),
                Cadence::from_name(&s.cadence),
            ) else {
                tracing::error!(schedule = %s.id, kind = %s.kind, cadence = %s.cadence, "a stored schedule names what this version does not know");
                continue;
            };
            let due = s.next_run_at;
            let next = cadence.next_after(s.first_run_at, due, now);
            if !store::move_next_run(&self.db, s.id, due, next).await? {
                continue; // another instance took this run
            }
            match self.run_schedule(&s, kind, due).await {
                Ok(()) => made += 1,
                Err(e) => {
                    // Not made and not recorded (the figures or the file store were
                    // unreachable): give the run back, to be tried at the next poll.
                    tracing::warn!(schedule = %s.id, error = %e, "a scheduled report could not be made; it will be retried");
                    store::move_next_run(&self.db, s.id, next, due).await?;
                }
            }
        }
        Ok(made)
    }

    /// The run of `s` due at `due`: made and recorded, or recorded as failed when its
    /// question no longer has an answer (a market code since retired); `Err` leaves
    /// nothing behind.
    async fn run_schedule(
        &self,
        s: &ScheduleRow,
        kind: ReportKind,
        due: DateTime<Utc>,
    ) -> Result<()> {
        let id = ReportId::new();
        let now = Utc::now();
        let (outcome, title, subtitle, emailed) =
            match self.compose(s.org_id, kind, &s.params, due).await {
                Ok(doc) => {
                    let sizes = self.store_files(s.org_id, id, &doc).await?;
                    (Ok(sizes), doc.title, doc.subtitle, s.recipients.0.clone())
                }
                Err(ReportError::Invalid(fields)) => {
                    let reason = fields
                        .iter()
                        .map(|f| format!("{}: {}", f.field, f.message))
                        .collect::<Vec<_>>()
                        .join("; ");
                    (
                        Err(reason),
                        kind.title().to_string(),
                        String::new(),
                        Vec::new(),
                    )
                }
                Err(e) => return Err(e),
            };
        let title = format!("{} - {title}", s.name);
        let run = NewRun {
            id,
            org: s.org_id,
            kind: kind.as_str(),
            params: &s.params,
            title: &title,
            schedule: Some((s.id, due)),
            requested_by: s.created_by,
            outcome,
            emailed_to: &emailed,
            at: now,
        };
        self.record(&run, &title, &subtitle).await
    }

    /// Records the run and, in the same transaction, asks for its emails.
    async fn record(&self, run: &NewRun<'_>, title: &str, subtitle: &str) -> Result<()> {
        let mut tx = self.db.begin().await?;
        if store::insert_run(&mut tx, run).await? {
            for to in run.emailed_to {
                let message = self.email(run.id, to, title, subtitle);
                outbox::enqueue(&mut tx, &email_requested(Some(run.org), &message)).await?;
            }
        }
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }

    fn email(&self, id: ReportId, to: &str, title: &str, subtitle: &str) -> EmailMessage {
        let base = self.settings.public_url.trim_end_matches('/');
        EmailMessage::new(
            to,
            format!("LaneRunner report: {title}"),
            format!(
                "{title}\n{subtitle}\n\nYour report is ready.\n\n\
                 PDF: {base}/v1/reports/{id}/pdf\nCSV: {base}/v1/reports/{id}/csv\n\n\
                 Sign in to LaneRunner to open it: the links work for members of your \
                 organization only.\n"
            ),
        )
    }

    async fn store_files(
        &self,
        org: OrgId,
        id: ReportId,
        doc: &Document,
    ) -> Result<(usize, usize)> {
        let csv = render::csv::render(&doc.data);
        let pdf = render::pdf::render(doc);
        let sizes = (csv.len(), pdf.len());
        for (format, bytes) in [(Format::Csv, csv), (Format::Pdf, pdf)] {
            self.blobs
                .put(&blob_key(org, id, format), bytes)
                .await
                .map_err(|e| ReportError::Unavailable(format!("the file store: {e:#}")))?;
        }
        Ok(sizes)
    }

    /// The report `kind` of `org` as of `at`.
    async fn compose(
        &self,
        org: OrgId,
        kind: ReportKind,
        params: &ReportParams,
        at: DateTime<Utc>,
    ) -> Result<Document> {
        let source = self.source.as_ref();
        let made_at = Utc::now();
        Ok(match kind {
            ReportKind::LaneRates => build::lane_rates(&self.lanes(params).await?, made_at),
            ReportKind::BrokerKpis => {
                let period = params.period(at);
                let months = build::months_of(period);
                let parts: Vec<_> = months.iter().map(|m| (m.from, m.to)).collect();
                let (total, each) = source
                    .broker_kpis(org, period.from, period.to, &parts)
                    .await?;
                let months: Vec<_> = months.into_iter().zip(each).collect();
                build::broker_kpis(period, &total, &months, made_at)
            }
            ReportKind::CarrierScorecard => {
                let period = params.period(at);
                let card = source
                    .carrier_scorecard(org, period.from, period.to)
                    .await?;
                build::carrier_scorecard(period, &card, made_at)
            }
        })
    }

    /// Every lane's figures, or every problem with every lane.
    async fn lanes(&self, params: &ReportParams) -> Result<Vec<crate::source::LaneFigures>> {
        let mut figures = Vec::new();
        let mut invalid = Vec::new();
        for (i, lane) in params.lanes.iter().enumerate() {
            match self.source.lane(lane).await {
                Ok(f) => figures.push(f),
                Err(SourceError::Invalid(fields)) => {
                    invalid.extend(prefixed(fields, &format!("lanes[{i}].")))
                }
                Err(e) => return Err(e.into()),
            }
        }
        if invalid.is_empty() {
            Ok(figures)
        } else {
            Err(ReportError::Invalid(invalid))
        }
    }
}

fn check_kind(kind: &str, v: &mut Violations) -> Option<ReportKind> {
    let k = ReportKind::from_name(kind);
    if k.is_none() {
        v.add(
            "kind",
            "must be lane_rates, broker_kpis or carrier_scorecard",
        );
    }
    k
}

fn prefixed(fields: Vec<FieldError>, prefix: &str) -> impl Iterator<Item = FieldError> + '_ {
    fields.into_iter().map(move |f| FieldError {
        field: format!("{prefix}{}", f.field),
        message: f.message,
    })
}

impl From<SourceError> for ReportError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::Invalid(fields) => ReportError::Invalid(fields),
            SourceError::Unavailable(detail) => ReportError::Unavailable(detail),
        }
    }
}
