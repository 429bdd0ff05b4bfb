//! `GET /v1/loads/search` and `/v1/searches` (carriers' saved searches).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanerunner_platform::http::scope::{LoadsRead, LoadsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Problem};
use serde::Deserialize;
use uuid::Uuid;

use super::AppState;
use crate::domain::SearchParams;
use crate::saved::SavedSearchView;
use crate::views::SearchPageView;

/// The load board: posted public loads near `origin`, each with its deadhead and loaded
/// miles and rate per mile. An unknown place → 422 with `suggestions`.
#[utoipa::path(get, path = "/v1/loads/search", tag = "loads", security(("bearer" = [])), params(SearchParams),
    responses((status = 200, body = SearchPageView), (status = 422, body = Problem)))]
pub async fn search_loads(
    State(loads): State<AppState>,
    _caller: Authorized<LoadsRead>,
    Query(p): Query<SearchParams>,
) -> Result<Response, Problem> {
    let page = loads.search_async(p).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page.to_json()).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveSearchBody {
    pub name: String,
    /// The same parameters as `GET /v1/loads/search` (without `cursor`).
    pub params: SearchParams,
}

/// Carriers: save a search; each newly posted load that matches raises `search.alert.v1`.
#[utoipa::path(post, path = "/v1/searches", tag = "searches", security(("bearer" = [])), request_body = SaveSearchBody,
    responses((status = 201, body = SavedSearchView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn save_search(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    ApiJson(body): ApiJson<SaveSearchBody>,
) -> Result<(StatusCode, Json<SavedSearchView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(loads.save_search(&caller, &body.name, body.params).await?),
    ))
}

#[utoipa::path(get, path = "/v1/searches", tag = "searches", security(("bearer" = [])),
    responses((status = 200, body = Vec<SavedSearchView>)))]
pub async fn list_searches(
    State(loads): State<AppState>,
    caller: Authorized<LoadsRead>,
) -> Result<Json<Vec<SavedSearchView>>, Problem> {
    Ok(Json(loads.saved_searches(caller.org).await?))
}

#[utoipa::path(delete, path = "/v1/searches/{id}", tag = "searches", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_search(
    State(loads): State<AppState>,
    caller: Authorized<LoadsWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    loads.delete_search(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
