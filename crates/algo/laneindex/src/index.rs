//! The index proper: each lane's reports kept in day order, aggregated at query time.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use lanerunner_core::market::{BookingRecord, PostingRecord, RateKind};
use serde::Serialize;
use uuid::Uuid;

use crate::markets::{MarketBoard, MarketTightness};
use crate::quantile::quartiles;
use crate::validate::{self, Reject, EQUIPMENT};
use crate::window::Window;

/// How many reports from how many different companies an aggregate needs before it is
/// shown (DAT: 7 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Gate {
    pub min_reports: u32,
    pub min_companies: u32,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            min_reports: 7,
            min_companies: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("min_companies must be at least 2 (one company's rates would be shown alone)")]
    TooFewCompanies,
    #[error("min_reports ({reports}) must be at least min_companies ({companies})")]
    ReportsBelowCompanies { reports: u32, companies: u32 },
}

impl Gate {
    /// A gate that cannot reveal a single company's rates.
    pub fn new(min_reports: u32, min_companies: u32) -> Result<Gate, GateError> {
        if min_companies < 2 {
            return Err(GateError::TooFewCompanies);
        }
        if min_reports < min_companies {
            return Err(GateError::ReportsBelowCompanies {
                reports: min_reports,
                companies: min_companies,
            });
        }
        Ok(Gate {
            min_reports,
            min_companies,
        })
    }
}

/// A lane as users name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct LaneKey {
    pub origin_market: String,
    pub dest_market: String,
    pub equipment: String,
    pub rate_kind: RateKind,
}

/// Low (25th percentile), median and high (75th percentile).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub low: f64,
    pub median: f64,
    pub high: f64,
}

/// A shown aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaneRates {
    pub reports: u32,
    pub companies: u32,
    /// All-in rate per loaded mile, in cents.
    pub rate_per_mile_cents: Spread,
    /// All-in rate per load, in cents.
    pub rate_cents: Spread,
}

/// An aggregate withheld because too few reports or companies stand behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Withheld {
    pub reports: u32,
    pub companies: u32,
    pub min_reports: u32,
    pub min_companies: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LaneAnswer {
    Shown(LaneRates),
    Withheld(Withheld),
}

impl LaneAnswer {
    pub fn shown(&self) -> Option<&LaneRates> {
        match self {
            LaneAnswer::Shown(r) => Some(r),
            LaneAnswer::Withheld(_) => None,
        }
    }
}

/// One month of a lane's history (`month` is its first day).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthPoint {
    pub month: NaiveDate,
    #[serde(flatten)]
    pub answer: LaneAnswer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct LaneId {
    origin: u32,
    dest: u32,
    equipment: u8,
    kind: RateKind,
}

#[derive(Debug, Clone, Copy)]
struct Report {
    day: i32,
    company: u32,
    rate_per_mile: f64,
    rate: f64,
}

/// Days since 1970-01-01: the index's day number.
pub(crate) fn day_number(d: NaiveDate) -> i32 {
    (d - NaiveDate::default()).num_days() as i32
}

/// Market codes interned to small integers (a few hundred markets, millions of reports).
#[derive(Debug, Default)]
pub(crate) struct Codes {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Codes {
    pub(crate) fn intern(&mut self, code: &str) -> u32 {
        if let Some(&id) = self.ids.get(code) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(code.to_owned());
        self.ids.insert(code.to_owned(), id);
        id
    }
    pub(crate) fn get(&self, code: &str) -> Option<u32> {
        self.ids.get(code).copied()
    }
    pub(crate) fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

pub(crate) fn equipment_id(code: &str) -> Option<u8> {
    EQUIPMENT.iter().position(|e| *e == code).map(|i| i as u8)
}

/// Every lane's reports and every market's postings.
#[derive(Debug, Default)]
pub struct LaneIndex {
    markets: Codes,
    companies: HashMap<Uuid, u32>,
    lanes: HashMap<LaneId, Vec<Report>>,
    board: MarketBoard,
    reports: u64,
}

impl LaneIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports ingested so far.
    pub fn len(&self) -> u64 {
        self.reports
    }

    pub fn is_empty(&self) -> bool {
        self.reports == 0
    }

    pub fn lane_count(&self) -> usize {
        self.lanes.len()
    }

    /// Checks `r` ([`validate::check`]) and adds it. Refused records change nothing.
    pub fn ingest(&mut self, r: &BookingRecord, now: DateTime<Utc>) -> Result<(), Reject> {
        validate::check(r, now)?;
        let equipment = equipment_id(&r.equipment).expect("validated equipment");
        let id = LaneId {
            origin: self.markets.intern(&r.origin_market),
            dest: self.markets.intern(&r.dest_market),
            equipment,
            kind: r.rate_kind,
        };
        let next = self.companies.len() as u32;
        let company = *self.companies.entry(r.broker_org_id).or_insert(next);
        let report = Report {
            day: day_number(r.booked_at.date_naive()),
            company,
            rate_per_mile: r.rate_cents as f64 / r.miles,
            rate: r.rate_cents as f64,
        };
        let reports = self.lanes.entry(id).or_default();
        // The stream delivers in time order, so this is almost always a push; a late
        // report slides in after the others of its day.
        if reports.last().is_none_or(|last| last.day <= report.day) {
            reports.push(report);
        } else {
            let at = reports.partition_point(|x| x.day <= report.day);
            reports.insert(at, report);
        }
        self.reports += 1;
        Ok(())
    }

    /// Checks `p` ([`validate::check_posting`]) and counts it toward its market.
    pub fn ingest_posting(&mut self, p: &PostingRecord, now: DateTime<Utc>) -> Result<(), Reject> {
        validate::check_posting(p, now)?;
        let market = self.markets.intern(&p.origin_market);
        let equipment = equipment_id(&p.equipment).expect("validated equipment");
        self.board.count(
            market,
            equipment,
            day_number(p.posted_at.date_naive()),
            p.kind,
        );
        Ok(())
    }

    fn lane_id(&self, key: &LaneKey) -> Option<LaneId> {
        Some(LaneId {
            origin: self.markets.get(&key.origin_market)?,
            dest: self.markets.get(&key.dest_market)?,
            equipment: equipment_id(&key.equipment)?,
            kind: key.rate_kind,
        })
    }

    /// The lane's rates over `window` ending on `as_of` (inclusive).
    pub fn lane(&self, key: &LaneKey, window: Window, as_of: NaiveDate, gate: Gate) -> LaneAnswer {
        let end = day_number(as_of);
        self.between(key, end - window.days() + 1, end, gate)
    }

    /// The lane's last 13 months, oldest first, each month as far as `as_of`.
    pub fn history(&self, key: &LaneKey, as_of: NaiveDate, gate: Gate) -> Vec<MonthPoint> {
        let this_month = as_of.with_day(1).expect("day 1 exists");
        (0..13)
            .rev()
            .map(|back| {
                let month = this_month - Months::new(back);
                let next = month + Months::new(1);
                let last = (next - chrono::Duration::days(1)).min(as_of);
                MonthPoint {
                    month,
                    answer: self.between(key, day_number(month), day_number(last), gate),
                }
            })
            .collect()
    }

    fn between(&self, key: &LaneKey, first: i32, last: i32, gate: Gate) -> LaneAnswer {
        let reports: &[Report] = self
            .lane_id(key)
            .and_then(|id| self.lanes.get(&id))
            .map_or(&[], |v| v.as_slice());
        let from = reports.partition_point(|r| r.day < first);
        let to = reports.partition_point(|r| r.day <= last);
        let window = &reports[from..to];
        let companies = self.distinct_companies(window);
        let count = window.len() as u32;
        if count < gate.min_reports || companies < gate.min_companies {
            return LaneAnswer::Withheld(Withheld {
                reports: count,
                companies,
                min_reports: gate.min_reports,
                min_companies: gate.min_companies,
            });
        }
        let spread = |values: &mut Vec<f64>| {
            let [low, median, high] = quartiles(values).expect("gated above zero reports");
            Spread { low, median, high }
        };
        let mut per_mile: Vec<f64> = window.iter().map(|r| r.rate_per_mile).collect();
        let mut all_in: Vec<f64> = window.iter().map(|r| r.rate).collect();
        LaneAnswer::Shown(LaneRates {
            reports: count,
            companies,
            rate_per_mile_cents: spread(&mut per_mile),
            rate_cents: spread(&mut all_in),
        })
    }

    fn distinct_companies(&self, window: &[Report]) -> u32 {
        // A bitset over the interned companies: linear in the window, no sorting.
        let mut seen = vec![0u64; self.companies.len().div_ceil(64)];
        let mut n = 0;
        for r in window {
            let (word, bit) = ((r.company / 64) as usize, 1u64 << (r.company % 64));
            if seen[word] & bit == 0 {
                seen[word] |= bit;
                n += 1;
            }
        }
        n
    }

    /// Load-to-truck ratios by origin market for `equipment` over `window`, tightest
    /// first; markets without a truck posting come first with no ratio.
    pub fn markets(
        &self,
        equipment: &str,
        window: Window,
        as_of: NaiveDate,
    ) -> Vec<MarketTightness> {
        let Some(eq) = equipment_id(equipment) else {
            return Vec::new();
        };
        let end = day_number(as_of);
        self.board
            .tightness(eq, end - window.days() + 1, end, |m| self.markets.name(m))
    }

    /// One market's load-to-truck figures (`None` for a market never seen).
    pub fn market(
        &self,
        market: &str,
        equipment: &str,
        window: Window,
        as_of: NaiveDate,
    ) -> Option<MarketTightness> {
        let m = self.markets.get(market)?;
        let eq = equipment_id(equipment)?;
        let end = day_number(as_of);
        Some(
            self.board
                .of(m, eq, end - window.days() + 1, end, self.markets.name(m)),
        )
    }

    /// The lanes with reports out of `origin_market` (all lanes when `None`).
    pub fn lanes(&self, origin_market: Option<&str>) -> Vec<LaneKey> {
        let origin = origin_market.map(|m| self.markets.get(m));
        if origin == Some(None) {
            return Vec::new();
        }
        let mut keys: Vec<LaneKey> = self
            .lanes
            .keys()
            .filter(|id| origin.is_none_or(|o| o == Some(id.origin)))
            .map(|id| LaneKey {
                origin_market: self.markets.name(id.origin).to_owned(),
                dest_market: self.markets.name(id.dest).to_owned(),
                equipment: EQUIPMENT[id.equipment as usize].to_owned(),
                rate_kind: id.kind,
            })
            .collect();
        keys.sort_by(|a, b| {
            (
                &a.origin_market,
                &a.dest_market,
                &a.equipment,
                a.rate_kind.as_str(),
            )
                .cmp(&(
                    &b.origin_market,
                    &b.dest_market,
                    &b.equipment,
                    b.rate_kind.as_str(),
                ))
        });
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::booking;

    fn now() -> DateTime<Utc> {
        "2026-07-01T00:00:00Z".parse().unwrap()
    }

    fn key() -> LaneKey {
        LaneKey {
            origin_market: "CHI-IL".into(),
            dest_market: "DAL-TX".into(),
            equipment: "V".into(),
            rate_kind: RateKind::Spot,
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn an_aggregate_needs_enough_reports_from_enough_companies() {
        let mut ix = LaneIndex::new();
        // Six reports from one broker: withheld, however many.
        for i in 0..6 {
            ix.ingest(&booking("2026-06-20", 200_000 + i * 1_000, 1), now())
                .unwrap();
        }
        let w = ix.lane(&key(), Window::Days30, day("2026-06-30"), Gate::default());
        assert_eq!(
            w,
            LaneAnswer::Withheld(Withheld {
                reports: 6,
                companies: 1,
                min_reports: 7,
                min_companies: 3
            })
        );
        // Seven reports, two companies: still withheld.
        ix.ingest(&booking("2026-06-21", 210_000, 2), now())
            .unwrap();
        assert!(ix
            .lane(&key(), Window::Days30, day("2026-06-30"), Gate::default())
            .shown()
            .is_none());
        // A third company: shown.
        ix.ingest(&booking("2026-06-22", 220_000, 3), now())
            .unwrap();
        let shown = ix.lane(&key(), Window::Days30, day("2026-06-30"), Gate::default());
        let rates = shown.shown().expect("8 reports from 3 companies");
        assert_eq!((rates.reports, rates.companies), (8, 3));
        // 200k..205k, 210k, 220k over 1000 miles: median of 8 is between 203 and 204.
        assert_eq!(rates.rate_per_mile_cents.median, 203.5);
        assert_eq!(rates.rate_cents.median, 203_500.0);
        assert!(rates.rate_per_mile_cents.low <= 203.5 && rates.rate_per_mile_cents.high >= 203.5);
    }

    #[test]
    fn windows_count_back_from_the_as_of_day_inclusive() {
        let mut ix = LaneIndex::new();
        let gate = Gate::new(2, 2).unwrap();
        ix.ingest(&booking("2026-06-24", 200_000, 1), now())
            .unwrap();
        ix.ingest(&booking("2026-06-30", 300_000, 2), now())
            .unwrap();
        ix.ingest(&booking("2026-05-01", 100_000, 3), now())
            .unwrap(); // late, out of order
        let seven = ix.lane(&key(), Window::Days7, day("2026-06-30"), gate);
        assert_eq!(seven.shown().unwrap().reports, 2);
        let day_after = ix.lane(&key(), Window::Days7, day("2026-07-01"), gate);
        assert!(
            day_after.shown().is_none(),
            "the 24th is 8 days back: {day_after:?}"
        );
        let ninety = ix.lane(&key(), Window::Days90, day("2026-06-30"), gate);
        assert_eq!(ninety.shown().unwrap().reports, 3);
        assert_eq!(ninety.shown().unwrap().rate_per_mile_cents.median, 200.0);
    }

    #[test]
    fn lanes_are_kept_apart_by_direction_equipment_and_kind() {
        let mut ix = LaneIndex::new();
        let gate = Gate::new(2, 2).unwrap();
        for (i, spoil) in [
            |_: &mut BookingRecord| {},
            |r: &mut BookingRecord| std::mem::swap(&mut r.origin_market, &mut r.dest_market),
            |r: &mut BookingRecord| r.equipment = "R".into(),
            |r: &mut BookingRecord| r.rate_kind = RateKind::Contract,
        ]
        .into_iter()
        .enumerate()
        {
            for company in [1, 2] {
                let mut r = booking("2026-06-20", 100_000 * (i as i64 + 1), company);
                spoil(&mut r);
                ix.ingest(&r, now()).unwrap();
            }
        }
        assert_eq!(ix.lane_count(), 4);
        let median = |k: LaneKey| {
            ix.lane(&k, Window::Days30, day("2026-06-30"), gate)
                .shown()
                .unwrap()
                .rate_cents
                .median
        };
        assert_eq!(median(key()), 100_000.0);
        assert_eq!(
            median(LaneKey {
                origin_market: "DAL-TX".into(),
                dest_market: "CHI-IL".into(),
                ..key()
            }),
            200_000.0
        );
        assert_eq!(
            median(LaneKey {
                equipment: "R".into(),
                ..key()
            }),
            300_000.0
        );
        assert_eq!(
            median(LaneKey {
                rate_kind: RateKind::Contract,
                ..key()
            }),
            400_000.0
        );
        assert_eq!(ix.lanes(Some("CHI-IL")).len(), 3);
        assert!(ix.lanes(Some("NOWHERE")).is_empty());
    }

    #[test]
    fn refused_reports_change_nothing() {
        let mut ix = LaneIndex::new();
        let mut bad = booking("2026-06-20", 200_000, 1);
        bad.miles = -3.0;
        assert_eq!(
            ix.ingest(&bad, now()).unwrap_err().code(),
            "miles-out-of-range"
        );
        assert!(ix.is_empty());
        assert_eq!(ix.lane_count(), 0);
    }

    #[test]
    fn history_has_thirteen_months_oldest_first() {
        let mut ix = LaneIndex::new();
        let gate = Gate::new(2, 2).unwrap();
        for (d, c) in [
            ("2025-06-03", 1),
            ("2025-06-20", 2),
            ("2026-06-01", 1),
            ("2026-06-02", 2),
        ] {
            ix.ingest(&booking(d, 200_000, c), now()).unwrap();
        }
        let h = ix.history(&key(), day("2026-06-15"), gate);
        assert_eq!(h.len(), 13);
        assert_eq!(h[0].month, day("2025-06-01"));
        assert_eq!(h[12].month, day("2026-06-01"));
        assert!(h[0].answer.shown().is_some());
        assert!(h[12].answer.shown().is_some());
        assert!(h[1..12].iter().all(|m| m.answer.shown().is_none()));
    }

    #[test]
    fn a_gate_that_could_show_one_company_alone_is_refused() {
        assert_eq!(Gate::new(7, 1), Err(GateError::TooFewCompanies));
        assert!(matches!(
            Gate::new(2, 3),
            Err(GateError::ReportsBelowCompanies { .. })
        ));
        assert_eq!(Gate::new(7, 3), Ok(Gate::default()));
    }
}
