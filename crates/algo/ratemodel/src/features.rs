//! The features, in one table: what a pricing analyst looks at when quoting a lane. The
//! same function builds them for training (from the market as it stood at each booking)
//! and for serving (from the market as it stands now), so the two cannot drift apart.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::state::{MarketState, StateView};

/// How a feature is split on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Numeric,
    /// A code from a vocabulary; `NaN` when unknown.
    Categorical,
}

/// Every feature, in column order: (name, kind).
pub const FEATURES: [(&str, Kind); 21] = [
    ("miles", Kind::Numeric),
    ("origin_lat", Kind::Numeric),
    ("origin_lon", Kind::Numeric),
    ("dest_lat", Kind::Numeric),
    ("dest_lon", Kind::Numeric),
    ("origin_market", Kind::Categorical),
    ("dest_market", Kind::Categorical),
    ("equipment", Kind::Categorical),
    ("contract", Kind::Numeric),
    ("pickup_weekday", Kind::Numeric),
    ("month", Kind::Numeric),
    ("lead_hours", Kind::Numeric),
    ("weight_lbs", Kind::Numeric),
    ("diesel_cents", Kind::Numeric),
    // ln(cents a mile) on this lane and equipment over the last 30 days; NaN when none.
    ("lane_log_rpm_30d", Kind::Numeric),
    ("lane_reports_30d", Kind::Numeric),
    // ln(cents a mile) of everything leaving the origin / entering the destination market.
    ("origin_out_log_rpm_30d", Kind::Numeric),
    ("dest_in_log_rpm_30d", Kind::Numeric),
    // Load-to-truck ratio over the last 24 h: the origin market's and the equipment's,
    // each over the national one.
    ("origin_tightness_24h", Kind::Numeric),
    ("equipment_tightness_24h", Kind::Numeric),
    ("national_ltr_24h", Kind::Numeric),
];

pub const N_FEATURES: usize = FEATURES.len();

/// The column of `name`.
pub fn column(name: &str) -> Option<usize> {
    FEATURES.iter().position(|(n, _)| *n == name)
}

/// Column of the lane's report count (the conformal intervals group by it).
pub const LANE_REPORTS: usize = 15;

/// One row of features.
pub type Row = [f64; N_FEATURES];

/// The categorical vocabularies: a market or equipment code's position is its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vocab {
    pub markets: Vec<String>,
    pub equipment: Vec<String>,
}

impl Vocab {
    fn code(list: &[String], s: &str) -> f64 {
        list.binary_search_by(|c| c.as_str().cmp(s))
            .map_or(f64::NAN, |i| i as f64)
    }

    pub fn market(&self, code: &str) -> f64 {
        Self::code(&self.markets, code)
    }

    pub fn equipment(&self, code: &str) -> f64 {
        Self::code(&self.equipment, code)
    }

    /// From codes seen in training, sorted so lookups are binary searches.
    pub fn from_codes<'a>(
        markets: impl IntoIterator<Item = &'a str>,
        equipment: impl IntoIterator<Item = &'a str>,
    ) -> Vocab {
        let sorted = |it: &mut dyn Iterator<Item = &'a str>| {
            let mut v: Vec<String> = it.map(str::to_owned).collect();
            v.sort();
            v.dedup();
            v
        };
        Vocab {
            markets: sorted(&mut markets.into_iter()),
            equipment: sorted(&mut equipment.into_iter()),
        }
    }
}

/// A load to price, as the caller describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote<'a> {
    pub origin_lat: f64,
    pub origin_lon: f64,
    pub origin_market: &'a str,
    pub dest_lat: f64,
    pub dest_lon: f64,
    pub dest_market: &'a str,
    pub equipment: &'a str,
    pub miles: f64,
    pub weight_lbs: u32,
    pub contract: bool,
    pub pickup_date: NaiveDate,
    /// When the rate is asked for (the booking time in training).
    pub at: DateTime<Utc>,
    pub diesel_cents: f64,
}

impl Quote<'_> {
    pub fn lead_hours(&self) -> f64 {
        let pickup = self
            .pickup_date
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        ((pickup - self.at).num_minutes() as f64 / 60.0).max(0.0)
    }
}

/// The features of `q` against the market as `state` holds it at `q.at`.
pub fn row(q: &Quote, vocab: &Vocab, state: &MarketState) -> Row {
    let v: StateView = state.view(q.origin_market, q.dest_market, q.equipment, q.at);
    [
        q.miles,
        q.origin_lat,
        q.origin_lon,
        q.dest_lat,
        q.dest_lon,
        vocab.market(q.origin_market),
        vocab.market(q.dest_market),
        vocab.equipment(q.equipment),
        f64::from(u8::from(q.contract)),
        f64::from(q.pickup_date.weekday().num_days_from_monday()),
        f64::from(q.pickup_date.month()),
        q.lead_hours(),
        f64::from(q.weight_lbs),
        q.diesel_cents,
        v.lane_log_rpm,
        v.lane_reports,
        v.origin_out_log_rpm,
        v.dest_in_log_rpm,
        v.origin_tightness,
        v.equipment_tightness,
        v.national_ltr,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lane_report_column_is_the_one_named_so() {
        assert_eq!(column("lane_reports_30d"), Some(LANE_REPORTS));
        let mut names: Vec<&str> = FEATURES.iter().map(|f| f.0).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), N_FEATURES, "feature names are unique");
    }

    #[test]
    fn unknown_codes_are_missing_not_a_neighbour() {
        let v = Vocab::from_codes(["DAL-TX", "ATL-GA", "ATL-GA"], ["V", "R"]);
        assert_eq!(v.markets, ["ATL-GA", "DAL-TX"]);
        assert_eq!(v.market("DAL-TX"), 1.0);
        assert!(v.market("XXX").is_nan());
        assert_eq!(v.equipment("V"), 1.0);
        assert!(v.equipment("ZZ").is_nan());
    }
}
