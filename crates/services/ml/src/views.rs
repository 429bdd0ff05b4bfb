//! What clients see.

use chrono::{DateTime, NaiveDate, Utc};
use lanerunner_platform::http::FieldError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlaceView {
    /// "Dallas, TX".
    pub label: String,
    /// The key market area it prices in, e.g. `DAL-TX`.
    pub market: String,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntervalView {
    pub low_cents: i64,
    pub high_cents: i64,
    /// The share of booked rates the interval is calibrated to hold (0.8).
    pub coverage: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportView {
    /// Bookings on this lane, equipment and rate kind in the last 30 days.
    pub lane_reports_30d: u32,
    /// `unseen` (no report in 30 days), `thin` (1–4), `some` (5–19) or `busy` (20+): the
    /// interval is calibrated separately for each, so an unseen lane's is wider.
    pub level: String,
    /// Said plainly when the lane is unseen or thin.
    pub note: Option<String>,
}

/// A recent booking on the lane, without who booked it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comparable {
    pub booked_on: NaiveDate,
    pub pickup_date: NaiveDate,
    pub origin: String,
    pub destination: String,
    pub miles: f64,
    pub rate_cents: i64,
    pub rate_per_mile_cents: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComparablesView {
    /// Bookings and distinct brokers on the lane in the last 30 days.
    pub reports: u32,
    pub companies: u32,
    /// The most recent ten, shown only when enough reports from enough companies stand
    /// behind them (the lane analytics gate), so no one company's rates are exposed.
    pub bookings: Vec<Comparable>,
    pub withheld: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Prediction {
    pub model_version: String,
    pub origin: PlaceView,
    pub destination: PlaceView,
    pub equipment: String,
    /// `spot` or `contract`.
    pub kind: String,
    pub pickup: NaiveDate,
    pub weight_lbs: u32,
    /// Road miles.
    pub miles: f64,
    /// Predicted all-in rate (linehaul and fuel).
    pub rate_cents: i64,
    pub rate_per_mile_cents: i64,
    pub interval: IntervalView,
    pub support: SupportView,
    pub comparables: ComparablesView,
}

/// One quote of a batch: its prediction, or every reason it could not be priced.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchView {
    /// In the order asked.
    pub results: Vec<BatchItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelView {
    pub version: String,
    pub published_at: DateTime<Utc>,
    pub active: bool,
    /// What it was trained on and how it scored (`lanerunner_ratemodel::Provenance`).
    #[schema(value_type = Object)]
    pub provenance: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivationView {
    pub version: String,
    pub activated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelsView {
    pub active: Option<String>,
    /// The version this instance is serving (it follows `active` within the reload interval).
    pub serving: Option<String>,
    pub models: Vec<ModelView>,
    /// Newest first.
    pub activations: Vec<ActivationView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayView {
    pub date: NaiveDate,
    pub loads: u32,
    pub mape: f64,
    pub coverage: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonitoringView {
    pub model_version: Option<String>,
    pub days: u32,
    /// Loads booked in the period that the model priced before their rate was known.
    pub loads: u32,
    pub mape: Option<f64>,
    pub coverage: Option<f64>,
    /// The model's MAPE on its own calibration loads: what `mape` is expected to be.
    pub expected_mape: Option<f64>,
    /// `mape` over `expected_mape`.
    pub error_ratio: Option<f64>,
    /// Population stability of the booked ln(rate a mile) against training: < 0.1 stable,
    /// > 0.25 moved.
    pub drift_psi: Option<f64>,
    /// `stable`, `watch`, `drifting`, or `insufficient-data` (fewer than 50 loads).
    pub status: String,
    pub daily: Vec<DayView>,
}
