//! The carriers service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Carriers`].

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use lanerunner_core::OrgId;
use lanerunner_platform::http::scope::{CarriersRead, CarriersWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::service::Carriers;
use crate::views::{AuthorityView, DeclareRequest};

pub type AppState = Arc<Carriers>;

pub fn routes(carriers: Arc<Carriers>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(declare, own_authority))
        .routes(routes!(carrier_authority))
        .routes(routes!(recheck))
        .with_state(carriers)
}

/// Your carrier organization's USDOT and MC numbers and insurance expiry, checked with the
/// registry at once (FMCSA when configured; otherwise recorded as self-declared and
/// unverified). Brokers decide whether unverified carriers may book their loads.
#[utoipa::path(put, path = "/v1/carriers/authority", tag = "carriers", security(("bearer" = [])),
    request_body = DeclareRequest,
    responses((status = 200, body = AuthorityView), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn declare(
    State(c): State<AppState>,
    caller: Authorized<CarriersWrite>,
    ApiJson(body): ApiJson<DeclareRequest>,
) -> Result<Json<AuthorityView>, Problem> {
    Ok(Json(c.declare(&caller, body).await?))
}

/// Your carrier organization's authority as last checked.
#[utoipa::path(get, path = "/v1/carriers/authority", tag = "carriers", security(("bearer" = [])),
    responses((status = 200, body = AuthorityView), (status = 404, body = Problem)))]
pub async fn own_authority(
    State(c): State<AppState>,
    caller: Authorized<CarriersRead>,
) -> Result<Json<AuthorityView>, Problem> {
    Ok(Json(c.authority(&caller, caller.org).await?))
}

/// A carrier's authority as last checked (brokers and shippers; a carrier sees only its
/// own).
#[utoipa::path(get, path = "/v1/carriers/{carrier_org_id}/authority", tag = "carriers", security(("bearer" = [])),
    params(("carrier_org_id" = Uuid, Path, description = "The carrier organization")),
    responses((status = 200, body = AuthorityView), (status = 404, body = Problem)))]
pub async fn carrier_authority(
    State(c): State<AppState>,
    caller: Authorized<CarriersRead>,
    Path(carrier): Path<Uuid>,
) -> Result<Json<AuthorityView>, Problem> {
    Ok(Json(c.authority(&caller, OrgId(carrier)).await?))
}

/// Checks a carrier's authority with the registry again now: before booking it, or after
/// renewing insurance. A change of standing reaches the brokers' negotiations.
#[utoipa::path(post, path = "/v1/carriers/{carrier_org_id}/authority/check", tag = "carriers", security(("bearer" = [])),
    params(("carrier_org_id" = Uuid, Path, description = "The carrier organization")),
    responses((status = 200, body = AuthorityView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn recheck(
    State(c): State<AppState>,
    caller: Authorized<CarriersWrite>,
    Path(carrier): Path<Uuid>,
) -> Result<Json<AuthorityView>, Problem> {
    Ok(Json(c.recheck(&caller, OrgId(carrier)).await?))
}
