//! `/v1/matching/runs`: batch assignment of a broker's open loads.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use lanerunner_platform::http::scope::{MatchingRead, MatchingWrite};
use lanerunner_platform::http::{Authorized, Problem};
use uuid::Uuid;

use super::AppState;
use crate::views::RunView;

/// Assign your organization's posted loads to the available trucks: the most loads covered
/// and, among such assignments, the least total cost, exactly. Each assigned pair is also
/// published as a `match.suggested.v1` event. Every load left out says why.
#[utoipa::path(post, path = "/v1/matching/runs", tag = "matching", security(("bearer" = [])),
    responses((status = 201, body = RunView), (status = 403, body = Problem)))]
pub async fn create_run(
    State(matching): State<AppState>,
    caller: Authorized<MatchingWrite>,
) -> Result<(StatusCode, Json<RunView>), Problem> {
    Ok((StatusCode::CREATED, Json(matching.run(&caller).await?)))
}

#[utoipa::path(get, path = "/v1/matching/runs/{id}", tag = "matching", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "the run")),
    responses((status = 200, body = RunView), (status = 404, body = Problem)))]
pub async fn get_run(
    State(matching): State<AppState>,
    caller: Authorized<MatchingRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<RunView>, Problem> {
    Ok(Json(matching.get_run(&caller, id).await?))
}
