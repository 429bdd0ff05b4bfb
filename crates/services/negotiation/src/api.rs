//! The negotiation service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Negotiations`]. Only a negotiation's two parties see it.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use lanerunner_platform::http::scope::{NegotiationsRead, NegotiationsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, MaskedJson, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::agent::{CarrierPolicyRequest, CarrierPolicyView, PolicyRequest, PolicyView};
use crate::lists::{ListRequest, ListedCarrierView};
use crate::service::Negotiations;
use crate::vetting::{VettingPolicy, VettingPolicyRequest};
use crate::views::{MoveRequest, NegotiationView, OpenRequest};

pub type AppState = Arc<Negotiations>;

pub fn routes(n: Arc<Negotiations>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(open, list))
        .routes(routes!(get_one))
        .routes(routes!(make_move))
        .routes(routes!(put_policy, get_policy, delete_policy))
        .routes(routes!(
            put_carrier_policy,
            get_carrier_policy,
            delete_carrier_policy
        ))
        .routes(routes!(list_carriers))
        .routes(routes!(get_vetting_policy, put_vetting_policy))
        .routes(routes!(put_listed, delete_listed))
        .with_state(n)
}

/// A carrier opens a negotiation on a posted load with its first move: an offer (or its
/// words, "can you do 2200?"), or Book Now at the posted rate. Deadline: the pickup time;
/// five offers a side.
#[utoipa::path(post, path = "/v1/negotiations", tag = "negotiations", security(("bearer" = [])),
    request_body = OpenRequest,
    responses((status = 201, body = NegotiationView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn open(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
    // An offer may come in words: a card number in them is masked, the offer kept.
    MaskedJson(body): MaskedJson<OpenRequest>,
) -> Result<(StatusCode, Json<NegotiationView>), Problem> {
    Ok((StatusCode::CREATED, Json(n.open(&caller, body).await?)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only those on this load.
    pub load_id: Option<Uuid>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// Your organization's negotiations, as broker or carrier, most recently changed first.
#[utoipa::path(get, path = "/v1/negotiations", tag = "negotiations", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = Vec<NegotiationView>), (status = 422, body = Problem)))]
pub async fn list(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsRead>,
    Query(q): Query<ListParams>,
) -> Result<Json<Vec<NegotiationView>>, Problem> {
    Ok(Json(
        n.list(caller.org, q.load_id, q.limit.unwrap_or(50)).await?,
    ))
}

/// One negotiation with every message in it.
#[utoipa::path(get, path = "/v1/negotiations/{id}", tag = "negotiations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The negotiation")),
    responses((status = 200, body = NegotiationView), (status = 404, body = Problem)))]
pub async fn get_one(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<NegotiationView>, Problem> {
    Ok(Json(n.view(caller.org, id.into()).await?))
}

/// A move by your side: offer or counter, accept the other side's standing offer, reject,
/// withdraw, Book Now — or a message in words read into one ("deal", "$2.45 a mile";
/// what it cannot read is asked back as a 422 and nothing is recorded).
#[utoipa::path(post, path = "/v1/negotiations/{id}/moves", tag = "negotiations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The negotiation")),
    request_body = MoveRequest,
    responses((status = 200, body = NegotiationView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn make_move(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
    Path(id): Path<Uuid>,
    MaskedJson(body): MaskedJson<MoveRequest>,
) -> Result<Json<NegotiationView>, Problem> {
    Ok(Json(n.act(&caller, id.into(), body).await?))
}

/// Puts your agent on one of your posted loads: it answers every carrier's offer on the
/// load within these limits, against the rate model's market signal, and says why.
/// Offers above `approval_above_cents` wait for you. Carriers never see it.
#[utoipa::path(put, path = "/v1/negotiations/policies/{load_id}", tag = "negotiations", security(("bearer" = [])),
    params(("load_id" = Uuid, Path, description = "Your load")),
    request_body = PolicyRequest,
    responses((status = 200, body = PolicyView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_policy(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
    Path(load_id): Path<Uuid>,
    ApiJson(body): ApiJson<PolicyRequest>,
) -> Result<Json<PolicyView>, Problem> {
    Ok(Json(n.put_policy(&caller, load_id, body).await?))
}

#[utoipa::path(get, path = "/v1/negotiations/policies/{load_id}", tag = "negotiations", security(("bearer" = [])),
    params(("load_id" = Uuid, Path, description = "Your load")),
    responses((status = 200, body = PolicyView), (status = 404, body = Problem)))]
pub async fn get_policy(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsRead>,
    Path(load_id): Path<Uuid>,
) -> Result<Json<PolicyView>, Problem> {
    Ok(Json(n.policy(&caller, load_id).await?))
}

/// Takes the agent off the load; negotiations on it continue by hand.
#[utoipa::path(delete, path = "/v1/negotiations/policies/{load_id}", tag = "negotiations", security(("bearer" = [])),
    params(("load_id" = Uuid, Path, description = "Your load")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_policy(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
    Path(load_id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    n.delete_policy(&caller, load_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Puts your carrier's agent on every negotiation you are in: it answers each broker's
/// counter within these rates a loaded mile, against the rate model's market signal, and
/// says why. Acceptances below `approval_below_cents` wait for you. Brokers never see it.
#[utoipa::path(put, path = "/v1/negotiations/carrier-policy", tag = "negotiations", security(("bearer" = [])),
    request_body = CarrierPolicyRequest,
    responses((status = 200, body = CarrierPolicyView), (status = 422, body = Problem)))]
pub async fn put_carrier_policy(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
    ApiJson(body): ApiJson<CarrierPolicyRequest>,
) -> Result<Json<CarrierPolicyView>, Problem> {
    Ok(Json(n.put_carrier_policy(&caller, body).await?))
}

#[utoipa::path(get, path = "/v1/negotiations/carrier-policy", tag = "negotiations", security(("bearer" = [])),
    responses((status = 200, body = CarrierPolicyView), (status = 404, body = Problem)))]
pub async fn get_carrier_policy(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsRead>,
) -> Result<Json<CarrierPolicyView>, Problem> {
    Ok(Json(n.carrier_policy(&caller).await?))
}

/// Takes your agent off; your negotiations continue by hand.
#[utoipa::path(delete, path = "/v1/negotiations/carrier-policy", tag = "negotiations", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_carrier_policy(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
) -> Result<StatusCode, Problem> {
    n.delete_carrier_policy(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your preferred and blocked carriers.
#[utoipa::path(get, path = "/v1/negotiations/carrier-lists", tag = "negotiations", security(("bearer" = [])),
    responses((status = 200, body = Vec<ListedCarrierView>), (status = 403, body = Problem)))]
pub async fn list_carriers(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsRead>,
) -> Result<Json<Vec<ListedCarrierView>>, Problem> {
    Ok(Json(n.listed(&caller).await?))
}

/// Puts a carrier on your `preferred` or `blocked` list. A blocked carrier cannot open or
/// move in negotiations on your loads, and your agent never deals with it.
#[utoipa::path(put, path = "/v1/negotiations/carrier-lists/{carrier_org_id}", tag = "negotiations", security(("bearer" = [])),
    params(("carrier_org_id" = Uuid, Path, description = "The carrier's organization")),
    request_body = ListRequest,
    responses((status = 200, body = ListedCarrierView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_listed(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
    Path(carrier): Path<Uuid>,
    ApiJson(body): ApiJson<ListRequest>,
) -> Result<Json<ListedCarrierView>, Problem> {
    Ok(Json(n.put_listed(&caller, carrier, body).await?))
}

/// Takes a carrier off your lists.
#[utoipa::path(delete, path = "/v1/negotiations/carrier-lists/{carrier_org_id}", tag = "negotiations", security(("bearer" = [])),
    params(("carrier_org_id" = Uuid, Path, description = "The carrier's organization")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_listed(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
    Path(carrier): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    n.delete_listed(&caller, carrier).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your rule for carriers no registry verified: whether they may book your loads, and
/// whether your private loads go only to verified carriers (defaults: yes and yes).
#[utoipa::path(get, path = "/v1/negotiations/vetting-policy", tag = "negotiations", security(("bearer" = [])),
    responses((status = 200, body = VettingPolicy), (status = 403, body = Problem)))]
pub async fn get_vetting_policy(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsRead>,
) -> Result<Json<VettingPolicy>, Problem> {
    Ok(Json(n.vetting_policy(&caller).await?))
}

/// Sets your vetting rule (admins). It applies to every open negotiation from the next
/// move on, and to your agent.
#[utoipa::path(put, path = "/v1/negotiations/vetting-policy", tag = "negotiations", security(("bearer" = [])),
    request_body = VettingPolicyRequest,
    responses((status = 200, body = VettingPolicy), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_vetting_policy(
    State(n): State<AppState>,
    caller: Authorized<NegotiationsWrite>,
    ApiJson(body): ApiJson<VettingPolicyRequest>,
) -> Result<Json<VettingPolicy>, Problem> {
    Ok(Json(n.put_vetting_policy(&caller, body).await?))
}
