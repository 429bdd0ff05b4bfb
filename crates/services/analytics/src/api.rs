//! The analytics service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Analytics`]. Lane rates are aggregates across companies, gated so no one
//! company's rates show; any organization holding `analytics:read` may read them.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use lanerunner_platform::http::scope::AnalyticsRead;
use lanerunner_platform::http::{Authorized, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::kpis::BrokerKpis;
use crate::service::{Analytics, LaneQuestion};
use crate::store::Quarantined;
use crate::views::{CarrierScorecard, LaneHistoryView, LaneView, MarketsView};

pub type AppState = Arc<Analytics>;

pub fn routes(analytics: Arc<Analytics>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(lane))
        .routes(routes!(lane_history))
        .routes(routes!(markets))
        .routes(routes!(quarantine))
        .routes(routes!(broker_kpis))
        .routes(routes!(carrier_scorecard))
        .with_state(analytics)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LaneParams {
    /// Origin market code, e.g. `CHI-IL`.
    pub origin: String,
    /// Destination market code, e.g. `DAL-TX`.
    pub destination: String,
    /// Equipment: `V`, `R`, `F`, `SD`, `PO`, `HS`, `TNK`, `CONT`.
    pub equipment: String,
    /// `spot` (default) or `contract`.
    pub kind: Option<String>,
    /// The last day counted (default today, UTC).
    pub as_of: Option<NaiveDate>,
}

impl From<LaneParams> for LaneQuestion {
    fn from(p: LaneParams) -> Self {
        LaneQuestion {
            origin: p.origin,
            destination: p.destination,
            equipment: p.equipment,
            kind: p.kind,
            as_of: p.as_of,
        }
    }
}

/// A lane's rates over 7, 15, 30, 60, 90 and 365 days: median and middle-50 % range per
/// mile and per load, reports and reporting companies, and the origin market's
/// load-to-truck ratio. A window with fewer reports or companies than the gate requires
/// (7 and 3 by default) is withheld.
#[utoipa::path(get, path = "/v1/analytics/lanes", tag = "analytics", security(("bearer" = [])),
    params(LaneParams),
    responses((status = 200, body = LaneView), (status = 422, body = Problem)))]
pub async fn lane(
    State(a): State<AppState>,
    _caller: Authorized<AnalyticsRead>,
    Query(q): Query<LaneParams>,
) -> Result<Json<LaneView>, Problem> {
    Ok(Json(a.lane(q.into())?))
}

/// A lane's last 13 months, oldest first, each month gated like a window.
#[utoipa::path(get, path = "/v1/analytics/lanes/history", tag = "analytics", security(("bearer" = [])),
    params(LaneParams),
    responses((status = 200, body = LaneHistoryView), (status = 422, body = Problem)))]
pub async fn lane_history(
    State(a): State<AppState>,
    _caller: Authorized<AnalyticsRead>,
    Query(q): Query<LaneParams>,
) -> Result<Json<LaneHistoryView>, Problem> {
    Ok(Json(a.history(q.into())?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MarketParams {
    /// Equipment: `V`, `R`, `F`, …
    pub equipment: String,
    /// `7d` (default), `15d`, `30d`, `60d`, `90d` or `365d`.
    pub window: Option<String>,
    /// The last day counted (default today, UTC).
    pub as_of: Option<NaiveDate>,
}

/// Where trucks are short: load and truck postings by origin market and their ratio,
/// tightest first (for a heat map).
#[utoipa::path(get, path = "/v1/analytics/markets", tag = "analytics", security(("bearer" = [])),
    params(MarketParams),
    responses((status = 200, body = MarketsView), (status = 422, body = Problem)))]
pub async fn markets(
    State(a): State<AppState>,
    _caller: Authorized<AnalyticsRead>,
    Query(q): Query<MarketParams>,
) -> Result<Json<MarketsView>, Problem> {
    Ok(Json(a.markets(q.equipment, q.window, q.as_of)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarantineParams {
    /// How many, 1–500 (default 100).
    pub limit: Option<i64>,
}

/// Your organization's events that analytics refused on ingestion, newest first, each with
/// its reason code and the payload as received.
#[utoipa::path(get, path = "/v1/analytics/quarantine", tag = "analytics", security(("bearer" = [])),
    params(QuarantineParams),
    responses((status = 200, body = Vec<Quarantined>), (status = 422, body = Problem)))]
pub async fn quarantine(
    State(a): State<AppState>,
    caller: Authorized<AnalyticsRead>,
    Query(q): Query<QuarantineParams>,
) -> Result<Json<Vec<Quarantined>>, Problem> {
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=500).contains(&n) => n,
        Some(_) => return Err(Problem::invalid_field("limit", "must be between 1 and 500")),
    };
    Ok(Json(a.quarantined(&caller, limit).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiParams {
    /// Loads posted from (RFC 3339; default 30 days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// Loads posted before (RFC 3339; default now). At most two years after `from`.
    pub to: Option<DateTime<Utc>>,
}

/// Your organization's KPIs over the loads it posted in the period: cover rate, time to
/// cover, booked against posted rate, expired and cancelled loads, on-time delivery.
#[utoipa::path(get, path = "/v1/analytics/kpis", tag = "analytics", security(("bearer" = [])),
    params(KpiParams),
    responses((status = 200, body = BrokerKpis), (status = 422, body = Problem)))]
pub async fn broker_kpis(
    State(a): State<AppState>,
    caller: Authorized<AnalyticsRead>,
    Query(q): Query<KpiParams>,
) -> Result<Json<BrokerKpis>, Problem> {
    Ok(Json(a.broker_kpis(caller.org, q.from, q.to).await?))
}

/// How each carrier did on your organization's loads posted in the period and booked to
/// it: loads, delivered, on time, cancelled after booking, paid, and booked against posted
/// rate. Most loads first.
#[utoipa::path(get, path = "/v1/analytics/carriers", tag = "analytics", security(("bearer" = [])),
    params(KpiParams),
    responses((status = 200, body = CarrierScorecard), (status = 422, body = Problem)))]
pub async fn carrier_scorecard(
    State(a): State<AppState>,
    caller: Authorized<AnalyticsRead>,
    Query(q): Query<KpiParams>,
) -> Result<Json<CarrierScorecard>, Problem> {
    Ok(Json(a.carrier_scorecard(caller.org, q.from, q.to).await?))
}
