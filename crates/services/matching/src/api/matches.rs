//! `GET /v1/loads/{id}/matches` and `GET /v1/trucks/{id}/matches`.

use axum::extract::{Path, Query, State};
use axum::Json;
use lanerunner_platform::http::scope::MatchingRead;
use lanerunner_platform::http::{Authorized, Problem};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use crate::service::MAX_LIMIT;
use crate::views::{LoadMatchesView, TruckMatchesView};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchQuery {
    /// How many matches, 1–50 (default 10).
    pub limit: Option<usize>,
}

impl MatchQuery {
    fn limit(&self) -> Result<usize, Problem> {
        match self.limit {
            None => Ok(10),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(Problem::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )),
        }
    }
}

/// Feasible trucks for one of your organization's posted loads, best first, each with the
/// terms of its score. Trucks that cannot take the load (equipment, size, team, hazmat,
/// deadhead limit, pickup window, delivery appointment under hours of service) never appear.
#[utoipa::path(get, path = "/v1/loads/{id}/matches", tag = "matching", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the load"), MatchQuery),
    responses((status = 200, body = LoadMatchesView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn load_matches(
    State(matching): State<AppState>,
    caller: Authorized<MatchingRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<MatchQuery>,
) -> Result<Json<LoadMatchesView>, Problem> {
    let limit = q.limit()?;
    Ok(Json(matching.load_matches(&caller, id, limit)?))
}

/// Feasible public loads for one of your organization's trucks, best first, with the best
/// reload chain (two or three loads back to back).
#[utoipa::path(get, path = "/v1/trucks/{id}/matches", tag = "matching", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the truck"), MatchQuery),
    responses((status = 200, body = TruckMatchesView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn truck_matches(
    State(matching): State<AppState>,
    caller: Authorized<MatchingRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<MatchQuery>,
) -> Result<Json<TruckMatchesView>, Problem> {
    let limit = q.limit()?;
    Ok(Json(matching.truck_matches(&caller, id, limit)?))
}
