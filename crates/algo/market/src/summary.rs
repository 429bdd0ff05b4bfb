//! What a run produced: loads, lanes, the rate distribution.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use chrono::NaiveDate;

use crate::sim::Day;

#[derive(Debug, Default)]
pub struct Summary {
    pub days: u32,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
    pub bookings: u64,
    pub postings: u64,
    pub contract: u64,
    pub by_equipment: BTreeMap<String, u64>,
    lanes: HashSet<(String, String, String)>,
    rate_per_mile: Vec<f32>,
}

impl Summary {
    pub fn add(&mut self, day: &Day) {
        self.days += 1;
        self.first = self.first.or(Some(day.date));
        self.last = Some(day.date);
        self.postings += day.postings.len() as u64;
        for b in &day.bookings {
            self.bookings += 1;
            if b.rate_kind == lanerunner_core::market::RateKind::Contract {
                self.contract += 1;
            }
            *self.by_equipment.entry(b.equipment.clone()).or_default() += 1;
            if !self.lanes.contains(&(
                b.origin_market.clone(),
                b.dest_market.clone(),
                b.equipment.clone(),
            )) {
                self.lanes.insert((
                    b.origin_market.clone(),
                    b.dest_market.clone(),
                    b.equipment.clone(),
                ));
            }
            self.rate_per_mile
                .push((b.rate_cents as f64 / b.miles) as f32);
        }
    }

    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// The 10th, 50th and 90th percentile of the all-in rate per mile, in cents.
    pub fn rate_per_mile_percentiles(&self) -> Option<[f32; 3]> {
        if self.rate_per_mile.is_empty() {
            return None;
        }
        let mut v = self.rate_per_mile.clone();
        v.sort_by(f32::total_cmp);
        let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
        Some([at(0.1), at(0.5), at(0.9)])
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return writeln!(f, "no days simulated");
        };
        writeln!(f, "days        {} ({first} to {last})", self.days)?;
        writeln!(
            f,
            "bookings    {} ({} contract), {} postings",
            self.bookings, self.contract, self.postings
        )?;
        writeln!(
            f,
            "lanes       {} (origin market, destination market, equipment)",
            self.lanes()
        )?;
        if let Some([p10, p50, p90]) = self.rate_per_mile_percentiles() {
            writeln!(
                f,
                "rate/mile   p10 ${:.2}  p50 ${:.2}  p90 ${:.2}",
                p10 / 100.0,
                p50 / 100.0,
                p90 / 100.0
            )?;
        }
        let eq: Vec<String> = self
            .by_equipment
            .iter()
            .map(|(e, n)| {
                format!(
                    "{e} {:.1}%",
                    *n as f64 * 100.0 / self.bookings.max(1) as f64
                )
            })
            .collect();
        writeln!(f, "equipment   {}", eq.join(", "))
    }
}
