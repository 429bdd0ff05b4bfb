//! The market history as files and streams carry it: what `lanerunner simulate` writes, what
//! the analytics service ingests, what the rate model trains on. The field order is the
//! column order of the CSV and Parquet files, so a peer (DuckDB, LightGBM, Spark) reads
//! the same columns we do.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a load was priced: on the spot market (negotiated per load) or under a contract
/// (a rate agreed for the lane for months).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    Spot,
    Contract,
}

impl RateKind {
    /// `spot` or `contract`, as clients write them.
    pub fn from_name(name: &str) -> Option<RateKind> {
        match name {
            "spot" => Some(RateKind::Spot),
            "contract" => Some(RateKind::Contract),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RateKind::Spot => "spot",
            RateKind::Contract => "contract",
        }
    }
}

/// One booked load: the lane, the freight, and the all-in rate it booked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingRecord {
    pub load_id: Uuid,
    pub booked_at: DateTime<Utc>,
    pub pickup_date: NaiveDate,
    pub origin_city: String,
    /// Two-letter state or province code.
    pub origin_state: String,
    pub origin_lat: f64,
    pub origin_lon: f64,
    /// Key market area code (`lanerunner_geo::Markets`), e.g. `CHI-IL`, or `TX-other`.
    pub origin_market: String,
    pub dest_city: String,
    pub dest_state: String,
    pub dest_lat: f64,
    pub dest_lon: f64,
    pub dest_market: String,
    /// Equipment short code: `V`, `R`, `F`, `SD`, `PO`, `HS`, `TNK`, `CONT`.
    pub equipment: String,
    /// Loaded road miles.
    pub miles: f64,
    pub weight_lbs: u32,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Uuid,
    pub rate_kind: RateKind,
    /// U.S. on-highway diesel average on the booking day, in cents per gallon.
    pub diesel_cents_per_gallon: u32,
    /// All-in rate (linehaul and fuel surcharge) in cents.
    pub rate_cents: i64,
}

impl BookingRecord {
    /// Hours from booking to the start of the pickup day (UTC), never negative.
    pub fn lead_time_hours(&self) -> f64 {
        let pickup = self
            .pickup_date
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        ((pickup - self.booked_at).num_minutes() as f64 / 60.0).max(0.0)
    }

    /// All-in rate per loaded mile, in cents (`None` for a zero-mile record).
    pub fn rate_per_mile_cents(&self) -> Option<f64> {
        (self.miles > 0.0).then(|| self.rate_cents as f64 / self.miles)
    }
}

/// What was offered on the board: a load or a truck posting. Load-to-truck ratios (market
/// tightness) are counted from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingKind {
    Load,
    Truck,
}

/// One posting. A truck posting has no destination when the carrier goes anywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostingRecord {
    pub id: Uuid,
    pub kind: PostingKind,
    pub posted_at: DateTime<Utc>,
    pub org_id: Uuid,
    pub origin_market: String,
    pub dest_market: Option<String>,
    pub equipment: String,
    /// The pickup day of a load, the first available day of a truck.
    pub ready_date: NaiveDate,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> BookingRecord {
        BookingRecord {
            load_id: Uuid::nil(),
            booked_at: "2026-03-02T15:30:00Z".parse().unwrap(),
            pickup_date: "2026-03-04".parse().unwrap(),
            origin_city: "Chicago".into(),
            origin_state: "IL".into(),
            origin_lat: 41.88,
            origin_lon: -87.63,
            origin_market: "CHI-IL".into(),
            dest_city: "Dallas".into(),
            dest_state: "TX".into(),
            dest_lat: 32.78,
            dest_lon: -96.8,
            dest_market: "DAL-TX".into(),
            equipment: "V".into(),
            miles: 925.0,
            weight_lbs: 38_000,
            broker_org_id: Uuid::nil(),
            carrier_org_id: Uuid::nil(),
            rate_kind: RateKind::Spot,
            diesel_cents_per_gallon: 389,
            rate_cents: 240_000,
        }
    }

    #[test]
    fn lead_time_counts_to_the_start_of_the_pickup_day() {
        assert_eq!(record().lead_time_hours(), 32.5);
        let mut late = record();
        late.booked_at = "2026-03-04T09:00:00Z".parse().unwrap();
        assert_eq!(late.lead_time_hours(), 0.0);
    }

    #[test]
    fn rate_per_mile_needs_miles() {
        assert!((record().rate_per_mile_cents().unwrap() - 259.459).abs() < 0.001);
        let mut zero = record();
        zero.miles = 0.0;
        assert_eq!(zero.rate_per_mile_cents(), None);
    }
}
