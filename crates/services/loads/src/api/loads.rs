//! `/v1/loads`: brokers' and shippers' loads. A carrier (or another broker) reaching a
//! load route sees only the public view of a posted public load, and changes nothing.

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanerunner_core::LoadId;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{LoadsRead, LoadsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use serde::Deserialize;
use uuid::Uuid;

use super::{etag, if_match, AppState};
use crate::domain::{BookingInput, LoadEvent, LoadInput};
use crate::views::{AnyLoadView, HistoryView, LoadView};

/// Create a draft load. `Idempotency-Key` makes retries safe: the same key with the same
/// body returns the first response; with another body, 422.
#[utoipa::path(post, path = "/v1/loads", tag = "loads", security(("bearer" = [])), request_body = LoadInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry key, unique per request")),
    responses((status = 201, body = LoadView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_load(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<LoadInput>,
) -> Result<Response, Problem> {
    let created = loads
        .create(&caller, input, idempotency_key(&headers)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        etag(created.version),
        Json(created.body),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/loads", tag = "loads", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<LoadView>)))]
pub async fn list_loads(
    State(loads): State<AppState>,
    caller: Authorized<LoadsRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<LoadView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = loads
        .list(caller.org, cursor.after.map(LoadId), cursor.limit)
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |l| l.id())))
}

/// Bulk import (`Content-Type: text/csv`; columns in the crate docs and docs/loads.md).
/// All or nothing: any bad row → 422 `import-rejected` with `rows: [{row, errors}]`.
/// `Idempotency-Key` makes a resent file answer with the first import's loads.
#[utoipa::path(post, path = "/v1/loads/import", tag = "loads", security(("bearer" = [])), request_body(content = String, content_type = "text/csv"),
    params(("Idempotency-Key" = Option<String>, Header, description = "retry key, unique per file sent")),
    responses((status = 201, body = Vec<LoadView>), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn import_loads(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    headers: HeaderMap,
    body: String,
) -> Result<Response, Problem> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("text/csv") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Expected Content-Type: text/csv",
        ));
    }
    let created = loads
        .import(&caller, &body, idempotency_key(&headers)?)
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// The `Idempotency-Key` header, trimmed; empty is none.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, Problem> {
    match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => Ok(None),
        // Not ignored: a retry must not create a second load because its key was odd.
        Some(Err(_)) => Err(Problem::invalid_field(
            "Idempotency-Key",
            "must be printable ASCII",
        )),
        Some(Ok(k)) => Ok(Some(k.trim()).filter(|k| !k.is_empty())),
    }
}

/// The caller's own load in full (with `ETag`), or a posted public load's public view.
#[utoipa::path(get, path = "/v1/loads/{id}", tag = "loads", security(("bearer" = [])),
    responses((status = 200, body = AnyLoadView), (status = 404, body = Problem)))]
pub async fn get_load(
    State(loads): State<AppState>,
    caller: Authorized<LoadsRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, Problem> {
    Ok(match loads.get(&caller, LoadId(id)).await? {
        AnyLoadView::Owner(v) => (etag(v.version), Json(v)).into_response(),
        AnyLoadView::Public(v) => Json(v).into_response(),
    })
}

/// Replace a draft or posted load's terms. `If-Match: "<version>"` is required.
#[utoipa::path(put, path = "/v1/loads/{id}", tag = "loads", security(("bearer" = [])), request_body = LoadInput,
    responses((status = 200, body = LoadView), (status = 409, body = Problem), (status = 412, body = Problem), (status = 428, body = Problem)))]
pub async fn update_load(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<LoadInput>,
) -> Result<Response, Problem> {
    let v = loads
        .update(&caller, LoadId(id), if_match(&headers)?, input)
        .await?;
    Ok((etag(v.version), Json(v)).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub event: LoadEvent,
    #[serde(default)]
    pub reason: Option<String>,
    /// With `cover` only: the carrier and the agreed all-in rate (default: the posted rate).
    /// A booking with a known rate is published as `load.booked.v1`.
    #[serde(default)]
    pub booking: Option<BookingInput>,
}

async fn apply(
    loads: AppState,
    caller: Authorized<LoadsWrite>,
    id: LoadId,
    headers: &HeaderMap,
    event: LoadEvent,
    reason: Option<String>,
    booking: Option<BookingInput>,
) -> Result<Response, Problem> {
    let v = loads
        .change_status(&caller, id, event, reason, booking, if_match(headers)?)
        .await?;
    Ok((etag(v.version), Json(v)).into_response())
}

/// Put a draft on the board. `If-Match` is honoured when sent.
#[utoipa::path(post, path = "/v1/loads/{id}/post", tag = "loads", security(("bearer" = [])),
    responses((status = 200, body = LoadView), (status = 409, body = Problem)))]
pub async fn post_load(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    apply(
        loads,
        caller,
        LoadId(id),
        &headers,
        LoadEvent::Post,
        None,
        None,
    )
    .await
}

#[utoipa::path(post, path = "/v1/loads/{id}/unpost", tag = "loads", security(("bearer" = [])),
    responses((status = 200, body = LoadView), (status = 409, body = Problem)))]
pub async fn unpost_load(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    apply(
        loads,
        caller,
        LoadId(id),
        &headers,
        LoadEvent::Unpost,
        None,
        None,
    )
    .await
}

/// Cancel with a reason; after dispatch the load is marked truck-ordered-not-used.
#[utoipa::path(post, path = "/v1/loads/{id}/cancel", tag = "loads", security(("bearer" = [])), request_body = ReasonBody,
    responses((status = 200, body = LoadView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel_load(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Response, Problem> {
    apply(
        loads,
        caller,
        LoadId(id),
        &headers,
        LoadEvent::Cancel,
        body.reason,
        None,
    )
    .await
}

/// Any lifecycle event: post, unpost, cover, dispatch, arrive_pickup, depart_pickup,
/// arrive_delivery, deliver, close, cancel. Illegal ones → 409 naming `current_state`.
#[utoipa::path(post, path = "/v1/loads/{id}/status", tag = "loads", security(("bearer" = [])), request_body = StatusBody,
    responses((status = 200, body = LoadView), (status = 409, body = Problem)))]
pub async fn change_status(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Response, Problem> {
    apply(
        loads,
        caller,
        LoadId(id),
        &headers,
        body.event,
        body.reason,
        body.booking,
    )
    .await
}

/// A new draft with the same terms.
#[utoipa::path(post, path = "/v1/loads/{id}/copy", tag = "loads", security(("bearer" = [])),
    responses((status = 201, body = LoadView), (status = 404, body = Problem)))]
pub async fn copy_load(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    Path(id): Path<Uuid>,
) -> Result<Response, Problem> {
    let v = loads.copy(&caller, LoadId(id)).await?;
    Ok((StatusCode::CREATED, etag(v.version), Json(v)).into_response())
}

#[utoipa::path(get, path = "/v1/loads/{id}/history", tag = "loads", security(("bearer" = [])),
    responses((status = 200, body = Vec<HistoryView>), (status = 404, body = Problem)))]
pub async fn load_history(
    State(loads): State<AppState>,
    caller: Authorized<LoadsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<HistoryView>>, Problem> {
    Ok(Json(loads.history(caller.org, LoadId(id)).await?))
}
