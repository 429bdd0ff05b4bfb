//! The webhooks service's HTTP API. Reading the endpoints and the delivery log needs
//! `webhooks:read`; changing where the organization's data goes (endpoints, secrets,
//! replays, tests) needs `webhooks:write` and an owner or admin.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{WebhooksRead, WebhooksWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{DeliveryStatus, EndpointInput};
use crate::service::Webhooks;
use crate::views::{
    CreatedEndpoint, DeliveryDetail, DeliveryView, EndpointView, EventTypeView, RecoverRequest,
    RecoverView, RotateRequest, SecretView,
};

pub type AppState = Arc<Webhooks>;

pub fn routes(webhooks: Arc<Webhooks>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(event_types))
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(get_endpoint, put_endpoint, delete_endpoint))
        .routes(routes!(get_secret))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_endpoint))
        .routes(routes!(recover))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(replay_delivery))
        .with_state(webhooks)
}

/// The events an endpoint can subscribe to.
#[utoipa::path(get, path = "/v1/webhooks/event-types", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<EventTypeView>)))]
pub async fn event_types(
    State(s): State<AppState>,
    _caller: Authorized<WebhooksRead>,
) -> Json<Vec<EventTypeView>> {
    Json(s.event_types())
}

/// Your organization's endpoints, with how many deliveries of each are pending, delivered
/// and dead-lettered.
#[utoipa::path(get, path = "/v1/webhooks/endpoints", tag = "webhooks", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<EndpointView>), (status = 422, body = Problem)))]
pub async fn list_endpoints(
    State(s): State<AppState>,
    caller: Authorized<WebhooksRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<EndpointView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = s
        .endpoints(&caller, cursor.after, i64::from(cursor.limit) + 1)
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |r| r.id)))
}

/// Adds an endpoint. The answer carries its signing secret (`whsec_…`).
#[utoipa::path(post, path = "/v1/webhooks/endpoints", tag = "webhooks", security(("bearer" = [])),
    request_body = EndpointInput,
    responses((status = 201, body = CreatedEndpoint), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_endpoint(
    State(s): State<AppState>,
    caller: Authorized<WebhooksWrite>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> Result<(StatusCode, Json<CreatedEndpoint>), Problem> {
    caller.require_admin()?;
    Ok((StatusCode::CREATED, Json(s.create(&caller, input).await?)))
}

#[utoipa::path(get, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint")),
    responses((status = 200, body = EndpointView), (status = 404, body = Problem)))]
pub async fn get_endpoint(
    State(s): State<AppState>,
    caller: Authorized<WebhooksRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<EndpointView>, Problem> {
    Ok(Json(s.endpoint(&caller, id).await?))
}

/// Replaces the endpoint's URL, description, event types and whether it is disabled.
/// Pending deliveries go to the new URL.
#[utoipa::path(put, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint")), request_body = EndpointInput,
    responses((status = 200, body = EndpointView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_endpoint(
    State(s): State<AppState>,
    caller: Authorized<WebhooksWrite>,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> Result<Json<EndpointView>, Problem> {
    caller.require_admin()?;
    Ok(Json(s.update(&caller, id, input).await?))
}

/// Removes the endpoint, its deliveries and their log.
#[utoipa::path(delete, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_endpoint(
    State(s): State<AppState>,
    caller: Authorized<WebhooksWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    caller.require_admin()?;
    s.delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint's signing secret (owners and admins).
#[utoipa::path(get, path = "/v1/webhooks/endpoints/{id}/secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint")),
    responses((status = 200, body = SecretView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_secret(
    State(s): State<AppState>,
    caller: Authorized<WebhooksWrite>,
    Path(id): Path<Uuid>,
) -> Result<Json<SecretView>, Problem> {
    caller.require_admin()?;
    Ok(Json(s.secret(&caller, id).await?))
}

/// A new signing secret; the old one keeps signing beside it for the overlap (default 24
/// hours), so deliveries verify with either while the receiver moves over.
#[utoipa::path(post, path = "/v1/webhooks/endpoints/{id}/secret/rotate", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint")), request_body = RotateRequest,
    responses((status = 200, body = SecretView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Authorized<WebhooksWrite>,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<RotateRequest>,
) -> Result<Json<SecretView>, Problem> {
    caller.require_admin()?;
    Ok(Json(s.rotate(&caller, id, req.overlap_hours).await?))
}

/// Queues a `webhook.test.v1` message for the endpoint.
#[utoipa::path(post, path = "/v1/webhooks/endpoints/{id}/test", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint")),
    responses((status = 202, body = DeliveryView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn test_endpoint(
    State(s): State<AppState>,
    caller: Authorized<WebhooksWrite>,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, Json<DeliveryView>), Problem> {
    caller.require_admin()?;
    Ok((StatusCode::ACCEPTED, Json(s.test(&caller, id).await?)))
}

/// Replays every dead-lettered delivery of the endpoint created since a moment.
#[utoipa::path(post, path = "/v1/webhooks/endpoints/{id}/recover", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint")), request_body = RecoverRequest,
    responses((status = 200, body = RecoverView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn recover(
    State(s): State<AppState>,
    caller: Authorized<WebhooksWrite>,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<RecoverRequest>,
) -> Result<Json<RecoverView>, Problem> {
    caller.require_admin()?;
    Ok(Json(s.recover(&caller, id, req.since).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `dead`.
    pub status: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The endpoint's deliveries, newest first.
#[utoipa::path(get, path = "/v1/webhooks/endpoints/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The endpoint"), DeliveryQuery),
    responses((status = 200, body = Page<DeliveryView>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_deliveries(
    State(s): State<AppState>,
    caller: Authorized<WebhooksRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<Page<DeliveryView>>, Problem> {
    let status =
        match q.status.as_deref() {
            None | Some("") => None,
            Some(text) => Some(DeliveryStatus::parse(text).ok_or_else(|| {
                Problem::invalid_field("status", "one of pending, delivered, dead")
            })?),
        };
    let cursor = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    }
    .cursor()?;
    let rows = s
        .deliveries(
            &caller,
            id,
            status,
            cursor.after,
            i64::from(cursor.limit) + 1,
        )
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |r| r.id)))
}

/// A delivery: what it carries and every attempt at it.
#[utoipa::path(get, path = "/v1/webhooks/deliveries/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The delivery")),
    responses((status = 200, body = DeliveryDetail), (status = 404, body = Problem)))]
pub async fn get_delivery(
    State(s): State<AppState>,
    caller: Authorized<WebhooksRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<DeliveryDetail>, Problem> {
    Ok(Json(s.delivery(&caller, id).await?))
}

/// Sends the delivery again now, with the same `webhook-id` (a dead-lettered one, or one
/// the receiver lost).
#[utoipa::path(post, path = "/v1/webhooks/deliveries/{id}/replay", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The delivery")),
    responses((status = 202, body = DeliveryView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn replay_delivery(
    State(s): State<AppState>,
    caller: Authorized<WebhooksWrite>,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, Json<DeliveryView>), Problem> {
    caller.require_admin()?;
    Ok((StatusCode::ACCEPTED, Json(s.replay(&caller, id).await?)))
}
