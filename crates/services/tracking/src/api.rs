//! Tracking's HTTP API: the load's broker and carrier read where the truck is and make
//! links; the driver reports through its link (no account); the shipper watches through
//! its link; a carrier's system, or its ELD provider, posts signed positions.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use lanerunner_platform::http::scope::{TrackingRead, TrackingWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::service::{
    CheckInInput, LinkKind, PositionInput, ProviderAccountInput, Tracking, VehicleInput,
    WebhookBatch,
};
use crate::views::{
    LinkView, NewLinkView, Outcome, PositionView, ProviderAccountView, ProviderReceipt, SharedView,
    TrackingView,
};

pub type AppState = Arc<Tracking>;

pub fn routes(t: Arc<Tracking>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(get_tracking))
        .routes(routes!(list_positions))
        .routes(routes!(create_link, list_links))
        .routes(routes!(revoke_link))
        .routes(routes!(driver_position))
        .routes(routes!(driver_check_in))
        .routes(routes!(shared))
        .routes(routes!(rotate_secret))
        .routes(routes!(webhook))
        .routes(routes!(carrier_score))
        .routes(routes!(device_credentials))
        .routes(routes!(list_providers))
        .routes(routes!(connect_provider, disconnect_provider))
        .routes(routes!(assign_vehicle, unassign_vehicle))
        .routes(routes!(provider_webhook))
        .with_state(t)
}

/// Where the load's truck is: its last applied position, each stop with arrival,
/// departure, dwell and detention, and the ETA to the next stop. For the load's broker
/// and carrier.
#[utoipa::path(get, path = "/v1/loads/{id}/tracking", tag = "tracking", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load")),
    responses((status = 200, body = TrackingView), (status = 404, body = Problem)))]
pub async fn get_tracking(
    State(s): State<AppState>,
    caller: Authorized<TrackingRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<TrackingView>, Problem> {
    Ok(Json(s.view(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Limit {
    /// At most 500 (default 100).
    pub limit: Option<i64>,
}

/// The load's latest positions, newest first, with the reason for each one not applied.
#[utoipa::path(get, path = "/v1/loads/{id}/tracking/positions", tag = "tracking", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load"), Limit),
    responses((status = 200, body = Vec<PositionView>), (status = 404, body = Problem)))]
pub async fn list_positions(
    State(s): State<AppState>,
    caller: Authorized<TrackingRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<Limit>,
) -> Result<Json<Vec<PositionView>>, Problem> {
    Ok(Json(
        s.positions(&caller, id, q.limit.unwrap_or(100)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// `driver`: the driver reports positions and check-ins with it, no account needed,
    /// until two days after the last stop's window. `share`: the shipper watches the load
    /// (the broker's, for `hours`, default a week).
    pub kind: LinkKind,
    #[serde(default)]
    pub hours: Option<i64>,
}

/// Makes a link for the load; its token is in the answer this once (only its hash is kept).
#[utoipa::path(post, path = "/v1/loads/{id}/tracking/links", tag = "tracking", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load")), request_body = LinkInput,
    responses((status = 201, body = NewLinkView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_link(
    State(s): State<AppState>,
    caller: Authorized<TrackingWrite>,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<LinkInput>,
) -> Result<(StatusCode, Json<NewLinkView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(s.create_link(&caller, id, input.kind, input.hours).await?),
    ))
}

/// Your organization's links for the load.
#[utoipa::path(get, path = "/v1/loads/{id}/tracking/links", tag = "tracking", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load")),
    responses((status = 200, body = Vec<LinkView>), (status = 404, body = Problem)))]
pub async fn list_links(
    State(s): State<AppState>,
    caller: Authorized<TrackingRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<LinkView>>, Problem> {
    Ok(Json(s.links(&caller, id).await?))
}

/// Revokes a link at once: it answers `410` from then on.
#[utoipa::path(delete, path = "/v1/loads/{id}/tracking/links/{link}", tag = "tracking", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load"), ("link" = Uuid, Path, description = "The link")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_link(
    State(s): State<AppState>,
    caller: Authorized<TrackingWrite>,
    Path((id, link)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, Problem> {
    s.revoke_link(&caller, id, link).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The driver's phone reports a position (the token is the link's; no account). A
/// position that cannot be right (out of range, from the future, stale, out of order, a
/// repeat, a jump no truck could make) is kept with its reason and not applied.
#[utoipa::path(post, path = "/v1/track/driver/{token}/positions", tag = "tracking",
    params(("token" = String, Path, description = "The driver link's token")), request_body = PositionInput,
    responses((status = 200, body = Outcome), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 410, body = Problem), (status = 422, body = Problem)))]
pub async fn driver_position(
    State(s): State<AppState>,
    Path(token): Path<String>,
    ApiJson(p): ApiJson<PositionInput>,
) -> Result<Json<Outcome>, Problem> {
    Ok(Json(s.driver_position(&token, p).await?))
}

/// The driver checks in without a fix: `arrived`, `departed`, or `delivered` (at the
/// delivery stop only: `409 not-at-delivery` elsewhere).
#[utoipa::path(post, path = "/v1/track/driver/{token}/check-ins", tag = "tracking",
    params(("token" = String, Path, description = "The driver link's token")), request_body = CheckInInput,
    responses((status = 200, body = Outcome), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 410, body = Problem), (status = 422, body = Problem)))]
pub async fn driver_check_in(
    State(s): State<AppState>,
    Path(token): Path<String>,
    ApiJson(c): ApiJson<CheckInInput>,
) -> Result<Json<Outcome>, Problem> {
    Ok(Json(s.driver_check_in(&token, c.event).await?))
}

/// What a share link shows the shipper: the load's position, status and ETA, nothing
/// else. `410` once it expired or was revoked.
#[utoipa::path(get, path = "/v1/track/{token}", tag = "tracking",
    params(("token" = String, Path, description = "The share link's token")),
    responses((status = 200, body = SharedView), (status = 404, body = Problem), (status = 410, body = Problem)))]
pub async fn shared(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<SharedView>, Problem> {
    Ok(Json(s.shared(&token).await?))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SecretView {
    /// `whsec_...`: sign position webhooks with it (Standard Webhooks). Shown this once.
    pub secret: String,
    pub url: String,
}

/// Makes (or replaces) your organization's secret for signed position webhooks.
#[utoipa::path(post, path = "/v1/tracking/webhook-secret", tag = "tracking", security(("bearer" = [])),
    responses((status = 200, body = SecretView), (status = 403, body = Problem)))]
pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Authorized<TrackingWrite>,
) -> Result<Json<SecretView>, Problem> {
    let secret = s.rotate_secret(&caller).await?;
    Ok(Json(SecretView {
        secret,
        url: format!("/v1/tracking/webhooks/{}", caller.org),
    }))
}

/// Positions from a carrier's own system for one of its loads, signed with its secret
/// (`webhook-id`, `webhook-timestamp`, `webhook-signature`), checked before the body is
/// read: `400 webhook-rejected` for a bad or stale signature, nothing applied.
#[utoipa::path(post, path = "/v1/tracking/webhooks/{org}", tag = "tracking",
    params(("org" = Uuid, Path, description = "The carrier's organization")),
    request_body(content = WebhookBatch, content_type = "application/json"),
    responses((status = 200, body = Vec<Outcome>), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn webhook(
    State(s): State<AppState>,
    Path(org): Path<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<Outcome>>, Problem> {
    Ok(Json(s.webhook(org, &headers, &body).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Days {
    /// The window, 1 to 365 days (default 90).
    pub days: Option<i64>,
}

/// A carrier's tracking score over its loads delivered in the window: the share tracked
/// from pickup to delivery, and the share on time at the delivery.
#[utoipa::path(get, path = "/v1/tracking/carriers/{org}/score", tag = "tracking", security(("bearer" = [])),
    params(("org" = Uuid, Path, description = "The carrier's organization"), Days),
    responses((status = 200, body = crate::domain::score::Score), (status = 422, body = Problem)))]
pub async fn carrier_score(
    State(s): State<AppState>,
    _caller: Authorized<TrackingRead>,
    Path(org): Path<Uuid>,
    Query(q): Query<Days>,
) -> Result<Json<crate::domain::score::Score>, Problem> {
    Ok(Json(s.score(org, q.days.unwrap_or(90)).await?))
}

/// Opens (or re-keys) your carrier's account on the device gateway (MQTT): devices and
/// ELD gateways publish positions under your topic only. The password is shown once.
/// `409 no-device-gateway` when the deployment has none.
#[utoipa::path(post, path = "/v1/tracking/device-credentials", tag = "tracking", security(("bearer" = [])),
    responses((status = 200, body = crate::devices::DeviceCredentials), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn device_credentials(
    State(s): State<AppState>,
    caller: Authorized<TrackingWrite>,
) -> Result<Json<crate::devices::DeviceCredentials>, Problem> {
    Ok(Json(s.device_credentials(&caller).await?))
}

/// Your connected telematics providers, with the URL each one's webhook must point at.
#[utoipa::path(get, path = "/v1/tracking/providers", tag = "tracking", security(("bearer" = [])),
    responses((status = 200, body = Vec<ProviderAccountView>)))]
pub async fn list_providers(
    State(s): State<AppState>,
    caller: Authorized<TrackingRead>,
) -> Result<Json<Vec<ProviderAccountView>>, Problem> {
    Ok(Json(s.connected_providers(&caller).await?))
}

/// Connects (or re-keys) your account with a telematics provider (`motive`): the secret it
/// signs its webhooks with. Point the provider's `vehicle_location_updated` webhook at the
/// `webhook_url` answered. Owners and admins.
#[utoipa::path(put, path = "/v1/tracking/providers/{provider}", tag = "tracking", security(("bearer" = [])),
    params(("provider" = String, Path, description = "`motive`")),
    request_body = ProviderAccountInput,
    responses((status = 200, body = ProviderAccountView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn connect_provider(
    State(s): State<AppState>,
    caller: Authorized<TrackingWrite>,
    Path(provider): Path<String>,
    ApiJson(input): ApiJson<ProviderAccountInput>,
) -> Result<Json<ProviderAccountView>, Problem> {
    Ok(Json(s.connect_provider(&caller, &provider, input).await?))
}

/// Disconnects it: its webhooks are refused from then on.
#[utoipa::path(delete, path = "/v1/tracking/providers/{provider}", tag = "tracking", security(("bearer" = [])),
    params(("provider" = String, Path, description = "`motive`")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn disconnect_provider(
    State(s): State<AppState>,
    caller: Authorized<TrackingWrite>,
    Path(provider): Path<String>,
) -> Result<StatusCode, Problem> {
    s.disconnect_provider(&caller, &provider).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Names the truck on your load as your telematics provider knows it: its positions then
/// track the load. The load's carrier, while it is tracked; `409 provider-not-connected`
/// before the provider is connected.
#[utoipa::path(put, path = "/v1/loads/{id}/tracking/vehicle", tag = "tracking", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load")),
    request_body = VehicleInput,
    responses((status = 200, body = TrackingView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn assign_vehicle(
    State(s): State<AppState>,
    caller: Authorized<TrackingWrite>,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<VehicleInput>,
) -> Result<Json<TrackingView>, Problem> {
    Ok(Json(s.assign_vehicle(&caller, id, Some(input)).await?))
}

/// Forgets the load's truck: its provider's positions no longer track the load.
#[utoipa::path(delete, path = "/v1/loads/{id}/tracking/vehicle", tag = "tracking", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load")),
    responses((status = 200, body = TrackingView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn unassign_vehicle(
    State(s): State<AppState>,
    caller: Authorized<TrackingWrite>,
    Path(id): Path<Uuid>,
) -> Result<Json<TrackingView>, Problem> {
    Ok(Json(s.assign_vehicle(&caller, id, None).await?))
}

/// A telematics provider's webhook for a carrier, in the provider's own JSON and signature
/// (Motive: `X-KT-Webhook-Signature`, HMAC-SHA1 of the body under the shared secret),
/// checked before the body is read: `400 webhook-rejected`, nothing applied, when it does
/// not hold. Each vehicle's position goes to the loads that vehicle hauls.
#[utoipa::path(post, path = "/v1/tracking/providers/{provider}/{org}", tag = "tracking",
    params(("provider" = String, Path, description = "`motive`"),
        ("org" = Uuid, Path, description = "The carrier's organization")),
    request_body(content = String, content_type = "application/json", description = "The provider's JSON"),
    responses((status = 200, body = ProviderReceipt), (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn provider_webhook(
    State(s): State<AppState>,
    Path((provider, org)): Path<(String, Uuid)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ProviderReceipt>, Problem> {
    Ok(Json(
        s.provider_webhook(&provider, org, &headers, &body).await?,
    ))
}
