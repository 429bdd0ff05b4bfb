//! Dual control's HTTP API: the organization's setting, the requests a second person
//! decides, and the controls report.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::period::PeriodQuery;
use lanerunner_platform::http::scope::{PaymentsRead, PaymentsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::approvals::{Approvals, ControlsInput, Outcome, RejectInput};
use crate::views::{ApprovalView, ControlsView};

pub type AppState = Arc<Approvals>;

/// The most days one controls report covers.
const MAX_REPORT_DAYS: i64 = 366;

pub fn routes(approvals: Arc<Approvals>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(get_controls, put_controls))
        .routes(routes!(list_approvals))
        .routes(routes!(controls_report))
        .routes(routes!(get_approval))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .with_state(approvals)
}

/// `200` with what was done, or `202` with the request a second person must approve.
pub fn respond<T: Serialize>(outcome: Outcome<T>) -> Response {
    match outcome {
        Outcome::Done(done) => (StatusCode::OK, Json(done)).into_response(),
        Outcome::Pending(request) => (StatusCode::ACCEPTED, Json(request)).into_response(),
    }
}

/// Whether actions on money by hand need a second person's approval.
#[utoipa::path(get, path = "/v1/payments/controls", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = ControlsView), (status = 403, body = Problem)))]
pub async fn get_controls(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
) -> Result<Json<ControlsView>, Problem> {
    Ok(Json(s.controls(&caller).await?))
}

/// Turns dual control on (at once) or off (`202`: itself a request a second owner or admin
/// approves). Owners and admins.
#[utoipa::path(put, path = "/v1/payments/controls", tag = "payments", security(("bearer" = [])),
    request_body = ControlsInput,
    responses((status = 200, body = ControlsView), (status = 202, body = ApprovalView, description = "Turning it off waits for a second person"),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_controls(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    ApiJson(input): ApiJson<ControlsInput>,
) -> Result<Response, Problem> {
    Ok(respond(s.set_controls(&caller, input).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalsQuery {
    /// `pending` (default): requests still open; `all`: every request, newest first.
    pub status: Option<String>,
}

/// Requests under dual control, newest first.
#[utoipa::path(get, path = "/v1/payments/approvals", tag = "payments", security(("bearer" = [])),
    params(ApprovalsQuery, PageQuery),
    responses((status = 200, body = Page<ApprovalView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_approvals(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Query(filter): Query<ApprovalsQuery>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<ApprovalView>>, Problem> {
    let pending = match filter.status.as_deref() {
        None | Some("pending") => true,
        Some("all") => false,
        Some(_) => return Err(Problem::invalid_field("status", "must be pending or all")),
    };
    let cursor = q.cursor()?;
    let rows = s
        .list(&caller, pending, cursor.after, i64::from(cursor.limit) + 1)
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |a| a.id)))
}

#[utoipa::path(get, path = "/v1/payments/approvals/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request")),
    responses((status = 200, body = ApprovalView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_approval(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<ApprovalView>, Problem> {
    Ok(Json(s.get(&caller, id).await?))
}

/// A second person approves: the action is carried out as asked, once. The requester is
/// refused (`403 separation-of-duties`), as is an API key; a request already decided or
/// expired is `409`.
#[utoipa::path(post, path = "/v1/payments/approvals/{id}/approve", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request")),
    responses((status = 200, body = ApprovalView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn approve(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    Path(id): Path<Uuid>,
) -> Result<Json<ApprovalView>, Problem> {
    Ok(Json(s.approve(&caller, id).await?))
}

/// A second person rejects (with a reason), or the requester withdraws; nothing is done.
#[utoipa::path(post, path = "/v1/payments/approvals/{id}/reject", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The request")), request_body = RejectInput,
    responses((status = 200, body = ApprovalView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reject(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<RejectInput>,
) -> Result<Json<ApprovalView>, Problem> {
    Ok(Json(s.reject(&caller, id, input).await?))
}

/// The controls report (CSV): every request on money made or decided in the period — who
/// asked, who decided, when, why, and what it made.
#[utoipa::path(get, path = "/v1/payments/approvals/report", tag = "payments", security(("bearer" = [])),
    params(PeriodQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn controls_report(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, Problem> {
    let period = q.period(MAX_REPORT_DAYS)?;
    let csv = s.report(&caller, period.start(), period.end()).await?;
    let (from, to) = (period.from, period.to);
    let name = format!("attachment; filename=\"controls-{from}-{to}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv,
    )
        .into_response())
}
