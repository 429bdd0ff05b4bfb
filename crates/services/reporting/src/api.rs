//! The reporting service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Reports`]. Everything is the caller's organization's own.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanerunner_platform::http::scope::{ReportsRead, ReportsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::service::{File, Format, Reports};
use crate::views::{NewReport, NewSchedule, RunView, ScheduleView};

pub type AppState = Arc<Reports>;

pub fn routes(reports: Arc<Reports>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(create_report, list_reports))
        .routes(routes!(get_report))
        .routes(routes!(report_csv))
        .routes(routes!(report_pdf))
        .routes(routes!(create_schedule, list_schedules))
        .routes(routes!(delete_schedule))
        .with_state(reports)
}

/// Makes a report now: lane rates, your KPIs or your carrier scorecard, as CSV and as a
/// PDF with charts. Answers once both files are stored; `email_to` also sends each
/// address a link.
#[utoipa::path(post, path = "/v1/reports", tag = "reports", security(("bearer" = [])),
    request_body = NewReport,
    responses((status = 201, body = RunView), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn create_report(
    State(r): State<AppState>,
    caller: Authorized<ReportsWrite>,
    ApiJson(body): ApiJson<NewReport>,
) -> Result<(StatusCode, Json<RunView>), Problem> {
    Ok((StatusCode::CREATED, Json(r.create(&caller, body).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// Your organization's reports, newest first, whether asked for or scheduled.
#[utoipa::path(get, path = "/v1/reports", tag = "reports", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = Vec<RunView>), (status = 422, body = Problem)))]
pub async fn list_reports(
    State(r): State<AppState>,
    caller: Authorized<ReportsRead>,
    Query(q): Query<ListParams>,
) -> Result<Json<Vec<RunView>>, Problem> {
    Ok(Json(r.list(caller.org, q.limit.unwrap_or(50)).await?))
}

#[utoipa::path(get, path = "/v1/reports/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report")),
    responses((status = 200, body = RunView), (status = 404, body = Problem)))]
pub async fn get_report(
    State(r): State<AppState>,
    caller: Authorized<ReportsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<RunView>, Problem> {
    Ok(Json(r.get(caller.org, id.into()).await?))
}

fn download(file: File) -> Response {
    (
        [
            (header::CONTENT_TYPE, file.format.content_type().to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file.name),
            ),
        ],
        file.bytes,
    )
        .into_response()
}

/// The report as CSV: one row per fact, raw values (cents, ratios, RFC 3339 times).
#[utoipa::path(get, path = "/v1/reports/{id}/csv", tag = "reports", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn report_csv(
    State(r): State<AppState>,
    caller: Authorized<ReportsRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, Problem> {
    Ok(download(r.file(caller.org, id.into(), Format::Csv).await?))
}

/// The report as a PDF with its charts.
#[utoipa::path(get, path = "/v1/reports/{id}/pdf", tag = "reports", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The report")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn report_pdf(
    State(r): State<AppState>,
    caller: Authorized<ReportsRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, Problem> {
    Ok(download(r.file(caller.org, id.into(), Format::Pdf).await?))
}

/// Sends a report on a schedule: daily, weekly or monthly from `starts_at`, each run
/// covering the days before it, to the recipients by email. Viewers cannot.
#[utoipa::path(post, path = "/v1/reports/schedules", tag = "reports", security(("bearer" = [])),
    request_body = NewSchedule,
    responses((status = 201, body = ScheduleView), (status = 422, body = Problem)))]
pub async fn create_schedule(
    State(r): State<AppState>,
    caller: Authorized<ReportsWrite>,
    ApiJson(body): ApiJson<NewSchedule>,
) -> Result<(StatusCode, Json<ScheduleView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(r.create_schedule(&caller, body).await?),
    ))
}

#[utoipa::path(get, path = "/v1/reports/schedules", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = Vec<ScheduleView>)))]
pub async fn list_schedules(
    State(r): State<AppState>,
    caller: Authorized<ReportsRead>,
) -> Result<Json<Vec<ScheduleView>>, Problem> {
    Ok(Json(r.schedules(caller.org).await?))
}

/// Stops a schedule; the reports it made stay.
#[utoipa::path(delete, path = "/v1/reports/schedules/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The schedule")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_schedule(
    State(r): State<AppState>,
    caller: Authorized<ReportsWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    r.delete_schedule(&caller, id.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}
