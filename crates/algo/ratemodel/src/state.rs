//! The market as the model sees it at a moment: recent lane rates and the load-to-truck
//! balance, kept in time buckets (days for the 30-day rates, hours for the 24-hour
//! balance) so a view costs a few dozen additions whatever the volume, and memory stays
//! bounded by the windows.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use lanerunner_core::market::{BookingRecord, PostingKind, PostingRecord};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
/// The lane-rate window, in day buckets.
const RATE_DAYS: i64 = 30;
/// The balance window, in hour buckets.
const BALANCE_HOURS: i64 = 24;
/// Added to both counts of a load-to-truck ratio, so a quiet market is not infinitely
/// tight (the smoothing the simulator's ground truth uses as well).
const SMOOTHING: f64 = 3.0;

/// Sums and counts by time bucket, oldest first.
#[derive(Debug, Clone, Default)]
struct Buckets(VecDeque<(i64, f64, f64)>);

impl Buckets {
    /// Adds `value` to `bucket`, dropping buckets older than `keep` before it. An event
    /// older than the newest bucket (late delivery) still lands in its own bucket.
    fn add(&mut self, bucket: i64, value: f64, keep: i64) {
        match self.0.iter().rposition(|b| b.0 <= bucket) {
            Some(i) if self.0[i].0 == bucket => {
                self.0[i].1 += value;
                self.0[i].2 += 1.0;
            }
            Some(i) => self.0.insert(i + 1, (bucket, value, 1.0)),
            None => self.0.push_front((bucket, value, 1.0)),
        }
        let newest = self.0.back().map_or(bucket, |b| b.0);
        while self.0.front().is_some_and(|b| b.0 < newest - keep) {
            self.0.pop_front();
        }
    }

    /// (sum, count) over buckets in `[from, to]`.
    fn total(&self, from: i64, to: i64) -> (f64, f64) {
        let mut sum = (0.0, 0.0);
        for &(b, s, n) in self.0.iter().rev() {
            if b < from {
                break;
            }
            if b <= to {
                sum.0 += s;
                sum.1 += n;
            }
        }
        sum
    }
}

/// What the features read off the market state for one lane at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StateView {
    pub lane_log_rpm: f64,
    pub lane_reports: f64,
    pub origin_out_log_rpm: f64,
    pub dest_in_log_rpm: f64,
    pub origin_tightness: f64,
    pub equipment_tightness: f64,
    pub national_ltr: f64,
}

/// The recent market, fed bookings and postings as they happen.
#[derive(Debug, Clone, Default)]
pub struct MarketState {
    /// ln(cents a mile) by day: `lane|o|d|eq`, `out|o|eq`, `in|d|eq`.
    rates: HashMap<String, Buckets>,
    /// Posting counts by hour: `L|market`, `T|market`, `LE|eq`, `TE|eq`, `L`, `T`.
    postings: HashMap<String, Buckets>,
}

fn lane_key(o: &str, d: &str, eq: &str) -> String {
    format!("lane|{o}|{d}|{eq}")
}

impl MarketState {
    pub fn record_booking(&mut self, b: &BookingRecord) {
        let Some(rpm) = b.rate_per_mile_cents().filter(|r| *r > 0.0) else {
            return;
        };
        let (value, day) = (rpm.ln(), b.booked_at.timestamp().div_euclid(DAY));
        for key in [
            lane_key(&b.origin_market, &b.dest_market, &b.equipment),
            format!("out|{}|{}", b.origin_market, b.equipment),
            format!("in|{}|{}", b.dest_market, b.equipment),
        ] {
            self.rates
                .entry(key)
                .or_default()
                .add(day, value, RATE_DAYS);
        }
    }

    pub fn record_posting(&mut self, p: &PostingRecord) {
        let side = match p.kind {
            PostingKind::Load => "L",
            PostingKind::Truck => "T",
        };
        let hour = p.posted_at.timestamp().div_euclid(HOUR);
        for key in [
            format!("{side}|{}", p.origin_market),
            format!("{side}E|{}", p.equipment),
            side.to_owned(),
        ] {
            self.postings
                .entry(key)
                .or_default()
                .add(hour, 0.0, BALANCE_HOURS);
        }
    }

    fn mean_rate(&self, key: &str, day: i64) -> (f64, f64) {
        match self.rates.get(key) {
            Some(b) => {
                let (s, n) = b.total(day - RATE_DAYS, day);
                (if n > 0.0 { s / n } else { f64::NAN }, n)
            }
            None => (f64::NAN, 0.0),
        }
    }

    fn count(&self, key: &str, hour: i64) -> f64 {
        self.postings
            .get(key)
            .map_or(0.0, |b| b.total(hour - BALANCE_HOURS, hour).1)
    }

    /// The lane `origin → dest` for `equipment` as it stood at `at`: rates of the last 30
    /// days (by whole days) and the balance of the last 24 hours (by whole hours).
    pub fn view(&self, origin: &str, dest: &str, equipment: &str, at: DateTime<Utc>) -> StateView {
        let (day, hour) = (
            at.timestamp().div_euclid(DAY),
            at.timestamp().div_euclid(HOUR),
        );
        let (lane_log_rpm, lane_reports) = self.mean_rate(&lane_key(origin, dest, equipment), day);
        let ratio = |l: f64, t: f64| (l + SMOOTHING) / (t + SMOOTHING);
        let national = ratio(self.count("L", hour), self.count("T", hour));
        StateView {
            lane_log_rpm,
            lane_reports,
            origin_out_log_rpm: self.mean_rate(&format!("out|{origin}|{equipment}"), day).0,
            dest_in_log_rpm: self.mean_rate(&format!("in|{dest}|{equipment}"), day).0,
            origin_tightness: ratio(
                self.count(&format!("L|{origin}"), hour),
                self.count(&format!("T|{origin}"), hour),
            ) / national,
            equipment_tightness: ratio(
                self.count(&format!("LE|{equipment}"), hour),
                self.count(&format!("TE|{equipment}"), hour),
            ) / national,
            national_ltr: national,
        }
    }

    /// How many lane, market and balance series are held (bounded by the windows).
    pub fn series(&self) -> usize {
        self.rates.len() + self.postings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use lanerunner_core::market::RateKind;
    use uuid::Uuid;

    fn booking(at: DateTime<Utc>, rate_cents: i64) -> BookingRecord {
        BookingRecord {
            load_id: Uuid::nil(),
            booked_at: at,
            pickup_date: at.date_naive(),
            origin_city: "Dallas".into(),
            origin_state: "TX".into(),
            origin_lat: 32.8,
            origin_lon: -96.8,
            origin_market: "DAL-TX".into(),
            dest_city: "Atlanta".into(),
            dest_state: "GA".into(),
            dest_lat: 33.7,
            dest_lon: -84.4,
            dest_market: "ATL-GA".into(),
            equipment: "V".into(),
            miles: 100.0,
            weight_lbs: 30_000,
            broker_org_id: Uuid::nil(),
            carrier_org_id: Uuid::nil(),
            rate_kind: RateKind::Spot,
            diesel_cents_per_gallon: 380,
            rate_cents,
        }
    }

    fn posting(kind: PostingKind, market: &str, at: DateTime<Utc>) -> PostingRecord {
        PostingRecord {
            id: Uuid::nil(),
            kind,
            posted_at: at,
            org_id: Uuid::nil(),
            origin_market: market.into(),
            dest_market: None,
            equipment: "V".into(),
            ready_date: at.date_naive(),
        }
    }

    #[test]
    fn lane_rates_cover_thirty_days_and_forget_older_ones() {
        let t0: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
        let mut s = MarketState::default();
        assert!(s.view("DAL-TX", "ATL-GA", "V", t0).lane_log_rpm.is_nan());
        s.record_booking(&booking(t0, 20_000)); // 200 ¢/mi
        s.record_booking(&booking(t0 + Duration::days(10), 30_000));
        let v = s.view("DAL-TX", "ATL-GA", "V", t0 + Duration::days(11));
        assert_eq!(v.lane_reports, 2.0);
        assert!((v.lane_log_rpm - (200f64.ln() + 300f64.ln()) / 2.0).abs() < 1e-12);
        assert!((v.origin_out_log_rpm - v.lane_log_rpm).abs() < 1e-12);
        assert!(s.view("DAL-TX", "ATL-GA", "R", t0).lane_log_rpm.is_nan());
        let later = s.view("DAL-TX", "ATL-GA", "V", t0 + Duration::days(35));
        assert_eq!(
            later.lane_reports, 1.0,
            "the first report is out of the window"
        );
        // A late event lands in its own day and is still counted.
        s.record_booking(&booking(t0 + Duration::days(5), 25_000));
        let v = s.view("DAL-TX", "ATL-GA", "V", t0 + Duration::days(11));
        assert_eq!(v.lane_reports, 3.0);
    }

    #[test]
    fn tightness_is_loads_over_trucks_against_the_nation() {
        let t0: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
        let mut s = MarketState::default();
        for _ in 0..9 {
            s.record_posting(&posting(PostingKind::Load, "DAL-TX", t0));
        }
        for m in [
            "ATL-GA", "ATL-GA", "ATL-GA", "ATL-GA", "ATL-GA", "ATL-GA", "ATL-GA", "ATL-GA",
            "ATL-GA",
        ] {
            s.record_posting(&posting(PostingKind::Truck, m, t0));
        }
        let v = s.view("DAL-TX", "X", "V", t0 + Duration::hours(1));
        assert_eq!(v.national_ltr, 1.0);
        assert_eq!(v.origin_tightness, 12.0 / 3.0);
        let atl = s.view("ATL-GA", "X", "V", t0 + Duration::hours(1));
        assert_eq!(atl.origin_tightness, 3.0 / 12.0);
        // A day later the balance is forgotten.
        let v = s.view("DAL-TX", "X", "V", t0 + Duration::hours(30));
        assert_eq!(v.origin_tightness, 1.0);
    }
}
