//! `/v1/trucks`: carriers' truck postings; brokers and shippers search them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use lanerunner_core::TruckId;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{TrucksRead, TrucksWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use uuid::Uuid;

use super::AppState;
use crate::domain::{TruckInput, TruckSearchParams};
use crate::views::TruckView;

#[utoipa::path(post, path = "/v1/trucks", tag = "trucks", security(("bearer" = [])), request_body = TruckInput,
    responses((status = 201, body = TruckView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_truck(
    State(loads): State<AppState>,
    caller: Authorized<TrucksWrite>,
    ApiJson(input): ApiJson<TruckInput>,
) -> Result<(StatusCode, Json<TruckView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(loads.create_truck(&caller, input).await?),
    ))
}

#[utoipa::path(get, path = "/v1/trucks", tag = "trucks", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<TruckView>)))]
pub async fn list_trucks(
    State(loads): State<AppState>,
    caller: Authorized<TrucksRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<TruckView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = loads
        .trucks(caller.org, cursor.after.map(TruckId), cursor.limit)
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |t| t.id)))
}

#[utoipa::path(get, path = "/v1/trucks/{id}", tag = "trucks", security(("bearer" = [])),
    responses((status = 200, body = TruckView), (status = 404, body = Problem)))]
pub async fn get_truck(
    State(loads): State<AppState>,
    caller: Authorized<TrucksRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<TruckView>, Problem> {
    Ok(Json(loads.truck(caller.org, TruckId(id)).await?))
}

#[utoipa::path(put, path = "/v1/trucks/{id}", tag = "trucks", security(("bearer" = [])), request_body = TruckInput,
    responses((status = 200, body = TruckView), (status = 404, body = Problem)))]
pub async fn update_truck(
    State(loads): State<AppState>,
    caller: Authorized<TrucksWrite>,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<TruckInput>,
) -> Result<Json<TruckView>, Problem> {
    Ok(Json(loads.update_truck(&caller, TruckId(id), input).await?))
}

#[utoipa::path(delete, path = "/v1/trucks/{id}", tag = "trucks", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_truck(
    State(loads): State<AppState>,
    caller: Authorized<TrucksWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    loads.delete_truck(&caller, TruckId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Brokers and shippers: available trucks near a pickup, nearest first (a filtered scan).
#[utoipa::path(get, path = "/v1/trucks/search", tag = "trucks", security(("bearer" = [])), params(TruckSearchParams),
    responses((status = 200, body = Vec<TruckView>), (status = 422, body = Problem)))]
pub async fn search_trucks(
    State(loads): State<AppState>,
    caller: Authorized<TrucksRead>,
    Query(p): Query<TruckSearchParams>,
) -> Result<Json<Vec<TruckView>>, Problem> {
    Ok(Json(loads.search_trucks(&caller, p).await?))
}
