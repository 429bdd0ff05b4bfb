//! What clients see.

use chrono::{DateTime, NaiveDate, Utc};
use lanerunner_laneindex::{LaneAnswer, LaneKey, MarketTightness, MonthPoint, Window};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WindowView {
    #[schema(value_type = String, example = "30d")]
    pub window: Window,
    /// `{"status": "shown", reports, companies, rate_per_mile_cents: {low, median, high},
    /// rate_cents: {…}}`, or `{"status": "withheld", reports, companies, min_reports,
    /// min_companies}` when too few reports or companies stand behind it.
    #[schema(value_type = Object)]
    pub rates: LaneAnswer,
    /// Load and truck postings in the origin market over the window, and their ratio.
    #[schema(value_type = Object)]
    pub origin_market: Option<MarketTightness>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LaneView {
    #[schema(value_type = Object)]
    pub lane: LaneKey,
    pub as_of: NaiveDate,
    pub windows: Vec<WindowView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LaneHistoryView {
    #[schema(value_type = Object)]
    pub lane: LaneKey,
    pub as_of: NaiveDate,
    /// Thirteen months, oldest first; each shown or withheld like a window.
    #[schema(value_type = Vec<Object>)]
    pub months: Vec<MonthPoint>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MarketsView {
    pub equipment: String,
    #[schema(value_type = String, example = "7d")]
    pub window: Window,
    pub as_of: NaiveDate,
    /// Tightest first: `{market, loads, trucks, load_to_truck}`.
    #[schema(value_type = Vec<Object>)]
    pub markets: Vec<MarketTightness>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CarrierScorecard {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Most loads first.
    pub carriers: Vec<crate::kpis::CarrierScore>,
}
