//! The market, one day at a time.
//!
//! Places are drawn by population, with freight hubs weighted up. Every market has an
//! imbalance in [-0.35, 0.35]: a positive one ships out more than it takes in (a headhaul
//! market), so loads leave it more often than they arrive and trucks pile up elsewhere.
//! Each day: the volume (weekday-heavy, seasonal), the diesel price (a mean-reverting walk),
//! the loads (lane, equipment, weight, lead time, contract or spot, broker, carrier), the
//! truck postings (where freight arrives), the tightness of every origin market that day
//! (its load-to-truck ratio over the national one) and, from all of it, the rate each load
//! booked at (`truth.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use lanerunner_core::market::{BookingRecord, PostingKind, PostingRecord, RateKind};
use lanerunner_geo::{road_miles, Gazetteer, Markets};
use lanerunner_loadsearch::synth::Rng;
use uuid::Uuid;

use crate::params::{ParamError, SimParams};
use crate::truth::{GroundTruth, RateInputs};

/// Equipment and its share of loads (a US load board's mix).
const EQUIPMENT: [(&str, f64); 8] = [
    ("V", 0.60),
    ("R", 0.20),
    ("F", 0.12),
    ("SD", 0.03),
    ("PO", 0.02),
    ("HS", 0.01),
    ("TNK", 0.01),
    ("CONT", 0.01),
];
/// Volume by weekday, Monday first (divided by their mean, so `loads_per_day` holds).
const WEEKDAY_VOLUME: [f64; 7] = [1.20, 1.15, 1.10, 1.10, 1.05, 0.50, 0.40];
/// Volume by month, January first.
const MONTH_VOLUME: [f64; 12] = [
    0.92, 0.95, 1.00, 1.02, 1.04, 1.05, 1.00, 1.00, 1.00, 1.03, 1.06, 1.00,
];
/// Reefer loads rise by this share in the produce season (April to July).
const PRODUCE_SEASON_REEFER_VOLUME: f64 = 0.6;
/// Truck postings per booked load.
const TRUCKS_PER_LOAD: f64 = 0.8;
/// Places smaller than this ship no truckloads here.
const MIN_POPULATION: u64 = 20_000;
const MIN_MILES: f64 = 30.0;
/// Coast to coast is about 3,000 road miles; beyond 3,500 is not one truckload move.
const MAX_MILES: f64 = 3_500.0;
const DIESEL_MEAN_CENTS: f64 = 380.0;

/// One simulated day.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub diesel_cents_per_gallon: u32,
    pub bookings: Vec<BookingRecord>,
    /// The day's load postings (one per booking) and truck postings.
    pub postings: Vec<PostingRecord>,
}

/// Cumulative weights for drawing an index.
struct Weighted(Vec<f64>);

impl Weighted {
    fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut acc = 0.0;
        Weighted(
            weights
                .into_iter()
                .map(|w| {
                    acc += w;
                    acc
                })
                .collect(),
        )
    }
    fn draw(&self, rng: &mut Rng) -> usize {
        let x = rng.f64() * self.0.last().copied().unwrap_or(0.0);
        self.0.partition_point(|&c| c <= x).min(self.0.len() - 1)
    }
}

struct Site {
    place: usize,
    market: usize,
}

/// A load drawn before its rate is known (the rate needs the whole day's tightness).
struct Draft {
    origin: usize,
    dest: usize,
    equipment: usize,
    miles: f64,
    weight: u32,
    booked_at: DateTime<Utc>,
    pickup: NaiveDate,
    contract: bool,
    broker: usize,
    carrier: usize,
}

pub struct Simulator {
    params: SimParams,
    truth: GroundTruth,
    rng: Rng,
    gazetteer: Gazetteer,
    market_codes: Vec<String>,
    sites: Vec<Site>,
    origins: Weighted,
    dests: Weighted,
    truck_homes: Weighted,
    imbalance: Vec<f64>,
    brokers: Vec<Uuid>,
    broker_weights: Weighted,
    carriers: Vec<Uuid>,
    carrier_weights: Weighted,
    diesel: f64,
    next_day: u32,
}

fn uuid(rng: &mut Rng) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Simulator {
    pub fn new(params: SimParams) -> Result<Self, ParamError> {
        Self::with_truth(params, GroundTruth::default())
    }

    pub fn with_truth(params: SimParams, truth: GroundTruth) -> Result<Self, ParamError> {
        params.validate()?;
        let mut rng = Rng::new(params.seed);
        let gazetteer = Gazetteer::embedded();
        let markets = Markets::key_market_areas(&gazetteer);
        let hubs = markets.hubs().len();
        let market_codes: Vec<String> = markets.all().iter().map(|m| m.code.clone()).collect();
        let imbalance: Vec<f64> = (0..market_codes.len())
            .map(|_| rng.range(-0.35, 0.35))
            .collect();
        let mut sites = Vec::new();
        let mut base = Vec::new();
        for (i, p) in gazetteer.places().iter().enumerate() {
            if p.population < MIN_POPULATION {
                continue;
            }
            let Some(m) = markets.market_of_place(p) else {
                continue;
            };
            let m = m.0 as usize;
            sites.push(Site {
                place: i,
                market: m,
            });
            base.push((p.population as f64 * if m < hubs { 1.5 } else { 1.0 }, m));
        }
        let origins = Weighted::new(base.iter().map(|(w, m)| w * (1.0 + imbalance[*m])));
        let dests = Weighted::new(base.iter().map(|(w, m)| w * (1.0 - imbalance[*m])));
        // Trucks empty out where freight arrives.
        let truck_homes = Weighted::new(base.iter().map(|(w, m)| w * (1.0 - imbalance[*m])));
        let brokers: Vec<Uuid> = (0..params.brokers).map(|_| uuid(&mut rng)).collect();
        // A few large brokers book most loads (Zipf-like).
        let broker_weights =
            Weighted::new((0..brokers.len()).map(|i| 1.0 / (i as f64 + 1.0).powf(0.8)));
        let carriers: Vec<Uuid> = (0..params.carriers).map(|_| uuid(&mut rng)).collect();
        // Fleet sizes from one truck to hundreds (Pareto), and loads in proportion.
        let carrier_weights = Weighted::new((0..carriers.len()).map(|_| {
            (1.0 / rng.f64().max(1e-9).powf(0.9))
                .floor()
                .clamp(1.0, 500.0)
        }));
        Ok(Simulator {
            params,
            truth,
            rng,
            gazetteer,
            market_codes,
            sites,
            origins,
            dests,
            truck_homes,
            imbalance,
            brokers,
            broker_weights,
            carriers,
            carrier_weights,
            diesel: DIESEL_MEAN_CENTS,
            next_day: 0,
        })
    }

    pub fn params(&self) -> &SimParams {
        &self.params
    }

    pub fn truth(&self) -> &GroundTruth {
        &self.truth
    }

    /// Each market's imbalance (code, value): positive ships out more than it takes in.
    pub fn imbalances(&self) -> impl Iterator<Item = (&str, f64)> {
        self.market_codes
            .iter()
            .map(String::as_str)
            .zip(self.imbalance.iter().copied())
    }

    fn equipment_weights(month: u32) -> Vec<f64> {
        EQUIPMENT
            .iter()
            .map(|(code, share)| {
                if *code == "R" && (4..=7).contains(&month) {
                    share * (1.0 + PRODUCE_SEASON_REEFER_VOLUME)
                } else {
                    *share
                }
            })
            .collect()
    }

    fn volume(&self, date: NaiveDate) -> f64 {
        let mean = WEEKDAY_VOLUME.iter().sum::<f64>() / 7.0;
        let weekday = WEEKDAY_VOLUME[date.weekday().num_days_from_monday() as usize] / mean;
        self.params.loads_per_day as f64 * weekday * MONTH_VOLUME[date.month0() as usize]
    }

    fn draft(&mut self, date: NaiveDate, equipment: &Weighted) -> Draft {
        let rng = &mut self.rng;
        let origin = self.origins.draw(rng);
        let o = self.gazetteer.places()[self.sites[origin].place].point;
        let (mut dest, mut miles) = (origin, 0.0);
        for _ in 0..20 {
            dest = self.dests.draw(rng);
            miles = road_miles(o, self.gazetteer.places()[self.sites[dest].place].point);
            if (MIN_MILES..=MAX_MILES).contains(&miles) {
                break;
            }
        }
        let miles = (miles.clamp(MIN_MILES, MAX_MILES) * 10.0).round() / 10.0;
        let eq = equipment.draw(rng);
        let weight = match EQUIPMENT[eq].0 {
            "R" => rng.range(28_000.0, 44_000.0),
            "F" | "SD" | "HS" => rng.range(25_000.0, 48_000.0),
            "TNK" => rng.range(35_000.0, 46_000.0),
            _ => rng.range(12_000.0, 45_000.0),
        }
        .round() as u32;
        let booked_at = date.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
            + Duration::seconds(rng.range(6.0 * 3600.0, 20.0 * 3600.0) as i64);
        let ahead = rng.pick(&[
            (0i64, 0.2),
            (1, 0.4),
            (2, 0.2),
            (3, 0.1),
            (4, 0.05),
            (5, 0.05),
        ]);
        Draft {
            origin,
            dest,
            equipment: eq,
            miles,
            weight,
            booked_at,
            pickup: date + Duration::days(ahead),
            contract: rng.chance(self.truth.contract_share),
            broker: self.broker_weights.draw(rng),
            carrier: self.carrier_weights.draw(rng),
        }
    }

    /// The next day, or `None` after the last.
    pub fn next_day(&mut self) -> Option<Day> {
        if self.next_day >= self.params.days {
            return None;
        }
        let date = self.params.start + Duration::days(self.next_day as i64);
        self.next_day += 1;
        let month = date.month();
        self.diesel += 0.03 * (DIESEL_MEAN_CENTS - self.diesel) + 2.5 * self.rng.normal();
        self.diesel = self.diesel.clamp(200.0, 700.0);
        let diesel = self.diesel.round() as u32;

        let n = (self.volume(date) * (1.0 + 0.05 * self.rng.normal()))
            .round()
            .max(1.0) as usize;
        let equipment = Weighted::new(Self::equipment_weights(month));
        let drafts: Vec<Draft> = (0..n).map(|_| self.draft(date, &equipment)).collect();

        // Trucks: posted where freight arrives, in the base equipment mix (so reefers run
        // short in the produce season).
        let base_mix = Weighted::new(EQUIPMENT.iter().map(|e| e.1));
        let trucks =
            (n as f64 * TRUCKS_PER_LOAD * (1.0 + 0.05 * self.rng.normal())).round() as usize;
        let mut postings = Vec::with_capacity(n + trucks);
        let mut truck_count: HashMap<usize, f64> = HashMap::new();
        let mut truck_eq = [0.0f64; EQUIPMENT.len()];
        for _ in 0..trucks {
            let home = self.truck_homes.draw(&mut self.rng);
            let eq = base_mix.draw(&mut self.rng);
            *truck_count.entry(self.sites[home].market).or_default() += 1.0;
            truck_eq[eq] += 1.0;
            let posted_at = date.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
                + Duration::seconds(self.rng.range(5.0 * 3600.0, 20.0 * 3600.0) as i64);
            let wants = self.rng.chance(0.3).then(|| {
                let d = self.dests.draw(&mut self.rng);
                self.market_codes[self.sites[d].market].clone()
            });
            let carrier = self.carrier_weights.draw(&mut self.rng);
            postings.push(PostingRecord {
                id: uuid(&mut self.rng),
                kind: PostingKind::Truck,
                posted_at,
                org_id: self.carriers[carrier],
                origin_market: self.market_codes[self.sites[home].market].clone(),
                dest_market: wants,
                equipment: EQUIPMENT[eq].0.to_owned(),
                ready_date: date + Duration::days(self.rng.pick(&[(0i64, 0.6), (1, 0.4)])),
            });
        }

        // Tightness: the origin market's load-to-truck ratio and the equipment's, each
        // against the national ratio (smoothed so a quiet market is not infinitely tight).
        let mut load_count: HashMap<usize, f64> = HashMap::new();
        let mut load_eq = [0.0f64; EQUIPMENT.len()];
        for d in &drafts {
            *load_count.entry(self.sites[d.origin].market).or_default() += 1.0;
            load_eq[d.equipment] += 1.0;
        }
        let national = (n as f64 + 3.0) / (trucks as f64 + 3.0);
        let tightness = |market: usize, eq: usize| {
            let l = load_count.get(&market).copied().unwrap_or(0.0);
            let t = truck_count.get(&market).copied().unwrap_or(0.0);
            let by_market = ((l + 3.0) / (t + 3.0)) / national;
            let by_eq = ((load_eq[eq] + 3.0) / (truck_eq[eq] + 3.0)) / national;
            by_market * by_eq
        };

        let mut bookings = Vec::with_capacity(n);
        for d in drafts {
            let (o_site, d_site) = (&self.sites[d.origin], &self.sites[d.dest]);
            let (op, dp) = (
                &self.gazetteer.places()[o_site.place],
                &self.gazetteer.places()[d_site.place],
            );
            let load_id = uuid(&mut self.rng);
            let lead_hours = ((d.pickup.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
                - d.booked_at)
                .num_minutes() as f64
                / 60.0)
                .max(0.0);
            let rate_cents = self.truth.rate_cents(&RateInputs {
                miles: d.miles,
                equipment: EQUIPMENT[d.equipment].0,
                month,
                tightness: tightness(o_site.market, d.equipment),
                origin_imbalance: self.imbalance[o_site.market],
                dest_imbalance: self.imbalance[d_site.market],
                lead_hours,
                weight_lbs: d.weight,
                diesel_cents: diesel as f64,
                contract: d.contract,
                noise: self.rng.normal(),
            });
            let origin_market = self.market_codes[o_site.market].clone();
            let dest_market = self.market_codes[d_site.market].clone();
            let equipment = EQUIPMENT[d.equipment].0.to_owned();
            postings.push(PostingRecord {
                id: load_id,
                kind: PostingKind::Load,
                posted_at: d.booked_at
                    - Duration::seconds(self.rng.range(900.0, 8.0 * 3600.0) as i64),
                org_id: self.brokers[d.broker],
                origin_market: origin_market.clone(),
                dest_market: Some(dest_market.clone()),
                equipment: equipment.clone(),
                ready_date: d.pickup,
            });
            bookings.push(BookingRecord {
                load_id,
                booked_at: d.booked_at,
                pickup_date: d.pickup,
                origin_city: op.name.clone(),
                origin_state: op.region.clone(),
                origin_lat: op.point.lat,
                origin_lon: op.point.lon,
                origin_market,
                dest_city: dp.name.clone(),
                dest_state: dp.region.clone(),
                dest_lat: dp.point.lat,
                dest_lon: dp.point.lon,
                dest_market,
                equipment,
                miles: d.miles,
                weight_lbs: d.weight,
                broker_org_id: self.brokers[d.broker],
                carrier_org_id: self.carriers[d.carrier],
                rate_kind: if d.contract {
                    RateKind::Contract
                } else {
                    RateKind::Spot
                },
                diesel_cents_per_gallon: diesel,
                rate_cents,
            });
        }
        bookings.sort_by_key(|b| (b.booked_at, b.load_id));
        postings.sort_by_key(|p| (p.posted_at, p.id));
        Some(Day {
            date,
            diesel_cents_per_gallon: diesel,
            bookings,
            postings,
        })
    }
}

impl Iterator for Simulator {
    type Item = Day;
    fn next(&mut self) -> Option<Day> {
        self.next_day()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn is_weekend(date: NaiveDate) -> bool {
        matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn params(days: u32, per_day: u32) -> SimParams {
        SimParams {
            seed: 11,
            start: "2026-01-05".parse().unwrap(),
            days,
            loads_per_day: per_day,
            brokers: 20,
            carriers: 200,
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_market_and_another_seed_another() {
        let a: Vec<Day> = Simulator::new(params(3, 300)).unwrap().collect();
        let b: Vec<Day> = Simulator::new(params(3, 300)).unwrap().collect();
        assert_eq!(a, b);
        let c: Vec<Day> = Simulator::new(SimParams {
            seed: 12,
            ..params(3, 300)
        })
        .unwrap()
        .collect();
        assert_ne!(a, c);
    }

    #[test]
    fn weekdays_carry_more_freight_than_weekends() {
        let days: Vec<Day> = Simulator::new(params(14, 500)).unwrap().collect();
        let mean = |weekend: bool| {
            let v: Vec<usize> = days
                .iter()
                .filter(|d| is_weekend(d.date) == weekend)
                .map(|d| d.bookings.len())
                .collect();
            v.iter().sum::<usize>() as f64 / v.len() as f64
        };
        assert!(
            mean(false) > 1.8 * mean(true),
            "{} vs {}",
            mean(false),
            mean(true)
        );
        let total: usize = days.iter().map(|d| d.bookings.len()).sum();
        assert!((total as f64 / 14.0 - 500.0).abs() < 60.0, "{total}");
    }

    #[test]
    fn reefers_are_a_bigger_share_in_the_produce_season() {
        let share = |start: &str| {
            let p = SimParams {
                start: start.parse().unwrap(),
                ..params(5, 800)
            };
            let days: Vec<Day> = Simulator::new(p).unwrap().collect();
            let all: Vec<&BookingRecord> = days.iter().flat_map(|d| &d.bookings).collect();
            all.iter().filter(|b| b.equipment == "R").count() as f64 / all.len() as f64
        };
        assert!(share("2026-06-01") > share("2026-01-12") + 0.05);
    }

    #[test]
    fn every_record_is_one_the_index_would_accept() {
        let days: Vec<Day> = Simulator::new(params(3, 400)).unwrap().collect();
        for b in days.iter().flat_map(|d| &d.bookings) {
            let rpm = b.rate_cents as f64 / b.miles;
            assert!((25.0..=5_000.0).contains(&rpm), "{rpm} {b:?}");
            assert!(b.miles >= MIN_MILES && b.miles <= 4_000.0, "{}", b.miles);
            assert!(b.pickup_date >= b.booked_at.date_naive());
            assert!(EQUIPMENT.iter().any(|e| e.0 == b.equipment));
        }
        let loads = days
            .iter()
            .flat_map(|d| &d.postings)
            .filter(|p| p.kind == PostingKind::Load)
            .count();
        assert_eq!(loads, days.iter().map(|d| d.bookings.len()).sum::<usize>());
    }

    #[test]
    fn headhaul_pays_more_than_the_way_back() {
        // Over a month, the rate per mile out of the most outbound-heavy busy market beats
        // the rate per mile into it, lane for lane (miles differ, so compare per-mile means
        // over the whole flow).
        let sim = Simulator::new(params(30, 2_000)).unwrap();
        let imbalance: HashMap<String, f64> =
            sim.imbalances().map(|(c, v)| (c.to_owned(), v)).collect();
        let days: Vec<Day> = sim.collect();
        let spot: Vec<&BookingRecord> = days
            .iter()
            .flat_map(|d| &d.bookings)
            .filter(|b| b.rate_kind == RateKind::Spot && b.equipment == "V" && b.miles > 300.0)
            .collect();
        // Pair lanes A→B and B→A where A ships out much more than B.
        let mut out = (0.0, 0.0);
        let mut back = (0.0, 0.0);
        for b in &spot {
            let d = imbalance[&b.origin_market] - imbalance[&b.dest_market];
            let rpm = b.rate_cents as f64 / b.miles;
            if d > 0.3 {
                out = (out.0 + rpm, out.1 + 1.0);
            } else if d < -0.3 {
                back = (back.0 + rpm, back.1 + 1.0);
            }
        }
        assert!(out.1 > 100.0 && back.1 > 100.0, "{out:?} {back:?}");
        assert!(
            out.0 / out.1 > 1.04 * back.0 / back.1,
            "{} vs {}",
            out.0 / out.1,
            back.0 / back.1
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert_eq!(
            Simulator::new(params(0, 10)).err(),
            Some(ParamError::Days(0))
        );
        assert_eq!(
            Simulator::new(params(1, 0)).err(),
            Some(ParamError::LoadsPerDay(0))
        );
        assert_eq!(
            Simulator::new(SimParams {
                brokers: 2,
                ..params(1, 1)
            })
            .err(),
            Some(ParamError::Brokers(2))
        );
    }
}
