//! `GET /v1/places`: place names as they are typed, for forms that ask for a place.

use axum::extract::{Query, State};
use axum::Json;
use lanerunner_platform::http::scope::LoadsRead;
use lanerunner_platform::http::{Authorized, Problem, Violations};
use serde::{Deserialize, Serialize};

use super::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceQuery {
    /// What was typed: the start of a place name, optionally a comma and the start of the
    /// state or province ("portland, m"). 1–100 characters.
    pub q: Option<String>,
    /// 1–20, default 8.
    pub limit: Option<usize>,
}

/// A known place: what the loads and trucks forms accept as `place`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlaceView {
    /// "Dallas, TX".
    pub label: String,
    pub state: String,
    pub lat: f64,
    pub lon: f64,
    pub population: u64,
}

/// Places whose name starts with `q`, most populous first (the gazetteer the offline
/// geocoder uses: US and Canadian places of 1,000 people or more).
#[utoipa::path(get, path = "/v1/places", tag = "places", security(("bearer" = [])), params(PlaceQuery),
    responses((status = 200, body = Vec<PlaceView>), (status = 422, body = Problem)))]
pub async fn complete_places(
    State(loads): State<AppState>,
    _caller: Authorized<LoadsRead>,
    Query(p): Query<PlaceQuery>,
) -> Result<Json<Vec<PlaceView>>, Problem> {
    let mut v = Violations::default();
    let q = p.q.unwrap_or_default();
    let chars = q.trim().chars().count();
    if !(1..=100).contains(&chars) {
        v.add("q", "must be 1 to 100 characters");
    } else if q.chars().any(char::is_control) {
        v.add("q", "must not contain control characters");
    }
    let limit = p.limit.unwrap_or(8);
    if !(1..=20).contains(&limit) {
        v.add("limit", "must be between 1 and 20");
    }
    v.into_result(()).map_err(|i| Problem::validation(i.0))?;
    Ok(Json(
        loads
            .places()
            .complete(&q, limit)
            .into_iter()
            .map(|p| PlaceView {
                label: p.label(),
                state: p.region.clone(),
                lat: p.point.lat,
                lon: p.point.lon,
                population: p.population,
            })
            .collect(),
    ))
}
