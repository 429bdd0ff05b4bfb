//! The reporting service's SQL, one text for both backends. Every read and change of a
//! report or a schedule names its organization; only the scheduler's own queries (what is
//! due, claiming a run) cross organizations, and they return what to run, not data.

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, UserId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;

use crate::request::ReportParams;
use crate::{ReportId, ScheduleId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: ReportId,
    pub org_id: OrgId,
    pub kind: String,
    pub params: Json<ReportParams>,
    pub title: String,
    pub schedule_id: Option<ScheduleId>,
    pub status: String,
    pub error: Option<String>,
    pub csv_bytes: Option<i64>,
    pub pdf_bytes: Option<i64>,
    pub emailed_to: Json<Vec<String>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: ScheduleId,
    pub org_id: OrgId,
    pub name: String,
    pub kind: String,
    pub params: Json<ReportParams>,
    pub cadence: String,
    pub recipients: Json<Vec<String>>,
    pub first_run_at: DateTime<Utc>,
    pub next_run_at: DateTime<Utc>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// What a run records besides its row's identity.
pub struct NewRun<'a> {
    pub id: ReportId,
    pub org: OrgId,
    pub kind: &'a str,
    pub params: &'a ReportParams,
    pub title: &'a str,
    pub schedule: Option<(ScheduleId, DateTime<Utc>)>,
    pub requested_by: Option<UserId>,
    /// `Ok((csv_bytes, pdf_bytes))`, or why it failed.
    pub outcome: Result<(usize, usize), String>,
    pub emailed_to: &'a [String],
    pub at: DateTime<Utc>,
}

/// Records a run; `false` when the schedule's run for that due time is already recorded.
pub async fn insert_run(tx: &mut Tx, run: &NewRun<'_>) -> sqlx::Result<bool> {
    let (status, error, csv, pdf) = match &run.outcome {
        Ok((csv, pdf)) => ("ready", None, Some(*csv as i64), Some(*pdf as i64)),
        Err(e) => ("failed", Some(e.as_str()), None, None),
    };
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO report_runs (id, org_id, kind, params, title, schedule_id, due_at, requested_by, \
         status, error, csv_bytes, pdf_bytes, emailed_to, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (schedule_id, due_at) DO NOTHING"
    )
    .bind(run.id)
    .bind(run.org)
    .bind(run.kind)
    .bind(Json(run.params))
    .bind(run.title)
    .bind(run.schedule.map(|s| s.0))
    .bind(run.schedule.map(|s| s.1))
    .bind(run.requested_by)
    .bind(status)
    .bind(error)
    .bind(csv)
    .bind(pdf)
    .bind(Json(run.emailed_to))
    .bind(run.at)
    .execute(c)
    .await
    .map(|d| d.rows_affected() == 1)
    })
}

const RUN_COLUMNS: &str =
    "id, org_id, kind, params, title, schedule_id, status, error, csv_bytes, \
                           pdf_bytes, emailed_to, created_at";

pub async fn run(db: &Db, org: OrgId, id: ReportId) -> sqlx::Result<Option<RunRow>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM report_runs WHERE org_id = $1 AND id = $2");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(p)
        .await)
}

/// The organization's reports, newest first.
pub async fn runs(db: &Db, org: OrgId, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM report_runs WHERE org_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(limit)
        .fetch_all(p)
        .await)
}

pub async fn insert_schedule(db: &Db, s: &ScheduleRow) -> sqlx::Result<()> {
    on_db!(db, |p| sqlx::query(
        "INSERT INTO report_schedules (id, org_id, name, kind, params, cadence, recipients, \
         first_run_at, next_run_at, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(s.id)
    .bind(s.org_id)
    .bind(&s.name)
    .bind(&s.kind)
    .bind(&s.params)
    .bind(&s.cadence)
    .bind(&s.recipients)
    .bind(s.first_run_at)
    .bind(s.next_run_at)
    .bind(s.created_by)
    .bind(s.created_at)
    .execute(p)
    .await
    .map(|_| ()))
}

const SCHEDULE_COLUMNS: &str =
    "id, org_id, name, kind, params, cadence, recipients, first_run_at, \
                                next_run_at, created_by, created_at";

pub async fn schedules(db: &Db, org: OrgId) -> sqlx::Result<Vec<ScheduleRow>> {
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM report_schedules WHERE org_id = $1 ORDER BY created_at, id"
    );
    on_db!(db, |p| sqlx::query_as(&sql).bind(org).fetch_all(p).await)
}

/// Whether there was such a schedule to delete.
pub async fn delete_schedule(db: &Db, org: OrgId, id: ScheduleId) -> sqlx::Result<bool> {
    on_db!(db, |p| sqlx::query(
        "DELETE FROM report_schedules WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .execute(p)
    .await
    .map(|d| d.rows_affected() == 1))
}

/// Schedules whose next run is due at `now`, the longest waiting first.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<ScheduleRow>> {
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM report_schedules WHERE next_run_at <= $1 \
         ORDER BY next_run_at, id LIMIT $2"
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(p)
        .await)
}

/// Moves the schedule's next run from `from` to `to` if no one else has: the instance
/// that wins makes the run due at `from`. Moving it back releases a run that could not be
/// made.
pub async fn move_next_run(
    db: &Db,
    id: ScheduleId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_db!(db, |p| sqlx::query(
        "UPDATE report_schedules SET next_run_at = $3 WHERE id = $1 AND next_run_at = $2"
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .execute(p)
    .await
    .map(|d| d.rows_affected() == 1))
}
