//! The rate model service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Rates`]. Predictions are market figures, not any organization's data;
//! any caller holding `rates:read` may ask. Publishing and activating models is an
//! operator's act on the deployment (`lanerunner ml publish | activate | rollback`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use lanerunner_platform::http::scope::RatesRead;
use lanerunner_platform::http::{ApiJson, Authorized, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::quote::QuoteParams;
use crate::service::Rates;
use crate::views::{BatchView, ModelsView, MonitoringView, Prediction};

pub type AppState = Arc<Rates>;

pub fn routes(rates: Arc<Rates>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(predict, predict_batch))
        .routes(routes!(models))
        .routes(routes!(monitoring))
        .with_state(rates)
}

/// The predicted all-in rate for a load on a lane: rate and rate a mile, an interval
/// calibrated to hold 80 % of booked rates (wider, and said so, on a lane with few or no
/// recent bookings), the model version, and the recent comparable bookings behind it
/// (shown only when enough companies booked the lane).
#[utoipa::path(get, path = "/v1/rates/predict", tag = "rates", security(("bearer" = [])),
    params(QuoteParams),
    responses((status = 200, body = Prediction), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn predict(
    State(r): State<AppState>,
    _caller: Authorized<RatesRead>,
    Query(q): Query<QuoteParams>,
) -> Result<Json<Prediction>, Problem> {
    Ok(Json(r.predict(q).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BatchRequest {
    /// 1–500 quotes, each as `GET /v1/rates/predict` takes them.
    pub quotes: Vec<QuoteParams>,
}

/// Many lanes in one call: each quote gets its prediction or its own list of errors, in
/// the order asked.
#[utoipa::path(post, path = "/v1/rates/predict", tag = "rates", security(("bearer" = [])),
    request_body = BatchRequest,
    responses((status = 200, body = BatchView), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn predict_batch(
    State(r): State<AppState>,
    _caller: Authorized<RatesRead>,
    ApiJson(body): ApiJson<BatchRequest>,
) -> Result<Json<BatchView>, Problem> {
    Ok(Json(r.predict_batch(body.quotes).await?))
}

/// Published model versions with what each was trained on and how it scored, the active
/// one, the one this instance serves, and the activation history.
#[utoipa::path(get, path = "/v1/rates/models", tag = "rates", security(("bearer" = [])),
    responses((status = 200, body = ModelsView)))]
pub async fn models(
    State(r): State<AppState>,
    _caller: Authorized<RatesRead>,
) -> Result<Json<ModelsView>, Problem> {
    Ok(Json(r.models().await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonitoringParams {
    /// Days back, 1–365 (default 28).
    pub days: Option<u32>,
}

/// The served model's error on loads booked since (it priced each before its rate was
/// known): MAPE and interval coverage by day, against what calibration promised, and the
/// drift of booked rates from its training data.
#[utoipa::path(get, path = "/v1/rates/monitoring", tag = "rates", security(("bearer" = [])),
    params(MonitoringParams),
    responses((status = 200, body = MonitoringView), (status = 422, body = Problem)))]
pub async fn monitoring(
    State(r): State<AppState>,
    _caller: Authorized<RatesRead>,
    Query(q): Query<MonitoringParams>,
) -> Result<Json<MonitoringView>, Problem> {
    let days = q.days.unwrap_or(28);
    if !(1..=365).contains(&days) {
        return Err(Problem::invalid_field("days", "must be between 1 and 365"));
    }
    Ok(Json(r.monitoring(days).await?))
}
