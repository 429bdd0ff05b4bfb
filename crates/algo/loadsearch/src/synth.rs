//! Realistic postings and searches, deterministic from a seed and a "now": origins and
//! destinations drawn by population from a gazetteer, the equipment mix of a US load board,
//! pickups over the next 14 days, market-like rates. Shared by the `bench_search` example
//! (in-process index and SQL peers) and `lanerunner bench search` (the loads service over
//! HTTP), so both measure the same mix.

use crate::equipment::*;
use crate::{DestFilter, IndexedLoad, LoadSize, SearchQuery, SortBy};
use lanerunner_geo::{road_miles, Gazetteer, LatLon, Markets, Place, REGIONS};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// SplitMix64: small, fast, and the same sequence on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.f64() * n as f64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.f64().max(1e-300);
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    pub fn pick<T: Copy>(&mut self, weighted: &[(T, f64)]) -> T {
        let total: f64 = weighted.iter().map(|w| w.1).sum();
        let mut x = self.f64() * total;
        for &(v, w) in weighted {
            if x < w {
                return v;
            }
            x -= w;
        }
        weighted[weighted.len() - 1].0
    }
}

/// Places sampled in proportion to population.
pub struct PopulationSampler<'g> {
    places: Vec<&'g Place>,
    cumulative: Vec<f64>,
}

impl<'g> PopulationSampler<'g> {
    pub fn new(g: &'g Gazetteer, min_population: u64) -> Self {
        let places: Vec<&Place> = g
            .places()
            .iter()
            .filter(|p| p.population >= min_population)
            .collect();
        let mut acc = 0.0;
        let cumulative = places
            .iter()
            .map(|p| {
                acc += p.population as f64;
                acc
            })
            .collect();
        PopulationSampler { places, cumulative }
    }
    pub fn sample(&self, rng: &mut Rng) -> &'g Place {
        let x = rng.f64() * self.cumulative.last().copied().unwrap_or(0.0);
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.places[i.min(self.places.len() - 1)]
    }
}

fn state(code: &str) -> [u8; 2] {
    let b = code.as_bytes();
    [b[0], b[1]]
}

/// A point up to `miles` from `p` (shippers sit around the town, not on its centroid).
fn jitter(rng: &mut Rng, p: LatLon, miles: f64) -> LatLon {
    let r = miles * rng.f64().sqrt();
    let t = rng.range(0.0, std::f64::consts::TAU);
    let dlat = r * t.sin() / 69.0;
    let dlon = r * t.cos() / (69.0 * p.lat.to_radians().cos());
    LatLon::new(
        (p.lat + dlat).clamp(-89.9, 89.9),
        (p.lon + dlon).clamp(-179.9, 179.9),
    )
}

fn equipment_of(rng: &mut Rng) -> (u16, f64) {
    // (mask, base cents per mile): dry van 60%, reefer 20%, flatbed 15%, others 5%.
    let kind = rng.pick(&[(0u8, 60.0), (1, 20.0), (2, 15.0), (3, 5.0)]);
    match kind {
        0 => (
            if rng.chance(0.1) {
                DRY_VAN | REEFER
            } else {
                DRY_VAN
            },
            210.0,
        ),
        1 => (REEFER, 250.0),
        2 => (
            if rng.chance(0.3) {
                FLATBED | STEP_DECK
            } else {
                FLATBED
            },
            270.0,
        ),
        _ => (
            rng.pick(&[
                (STEP_DECK, 1.0),
                (POWER_ONLY, 1.0),
                (HOTSHOT, 1.0),
                (TANKER, 1.0),
                (CONESTOGA, 0.5),
                (CONTAINER, 0.5),
                (BOX_TRUCK, 0.5),
            ]),
            260.0,
        ),
    }
}

/// `n` active loads: posted in the 3 days before `now`, picking up in the 14 days after it
/// (Unix seconds).
pub fn loads(g: &Gazetteer, markets: &Markets, n: usize, seed: u64, now: i64) -> Vec<IndexedLoad> {
    let mut rng = Rng::new(seed);
    let sampler = PopulationSampler::new(g, 1_000);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let o = sampler.sample(&mut rng);
        let d = sampler.sample(&mut rng);
        let origin = jitter(&mut rng, o.point, 8.0);
        let dest = jitter(&mut rng, d.point, 8.0);
        let miles = road_miles(origin, dest);
        // Truckload is mostly regional and long haul; very short hops are rare.
        if miles < 40.0 && !rng.chance(0.1) {
            continue;
        }
        let (equipment, base_cpm) = equipment_of(&mut rng);
        // Short hauls pay more per mile; lognormal market noise (sigma 0.15).
        let cpm = base_cpm * (1.0 + 120.0 / (miles + 60.0)) * (0.15 * rng.normal()).exp();
        let rate_cents = ((cpm * miles).max(30_000.0) / 100.0).round() as i64 * 100;
        let full = !rng.chance(0.15);
        let weight_lbs = if full {
            rng.range(12_000.0, 45_000.0)
        } else {
            rng.range(1_000.0, 20_000.0)
        } as u32
            / 100
            * 100;
        let pickup_start = now + (rng.range(0.0, 14.0 * 24.0) as i64) * HOUR;
        let window = rng.pick(&[
            (0i64, 30.0),
            (2, 25.0),
            (4, 20.0),
            (8, 15.0),
            (24, 7.0),
            (48, 3.0),
        ]);
        let posted_at = now - rng.range(0.0, 3.0 * DAY as f64) as i64;
        let id = (u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())) & !(0xF << 76)
            | (4 << 76); // UUID v4 version nibble, for realism in PostgreSQL
        out.push(IndexedLoad {
            id,
            origin,
            dest,
            origin_state: state(&o.region),
            dest_state: state(&d.region),
            dest_market: markets.market_of_place(d).map(|m| m.0).unwrap_or(u16::MAX),
            equipment,
            pickup_start,
            pickup_end: pickup_start + window * HOUR,
            rate_cents,
            loaded_miles: miles as f32,
            weight_lbs,
            full,
            posted_at,
        });
    }
    out
}

/// A mixed set of load-board searches; pickup date ranges start 0–11 days after `now`.
pub fn queries(
    g: &Gazetteer,
    markets: &Markets,
    n: usize,
    seed: u64,
    now: i64,
) -> Vec<SearchQuery> {
    let mut rng = Rng::new(seed);
    // Searches start from where trucks are: populous places.
    let origins = PopulationSampler::new(g, 50_000);
    let dests = PopulationSampler::new(g, 20_000);
    let hubs: Vec<u16> = markets.hubs().iter().map(|m| m.id.0).collect();
    (0..n)
        .map(|_| {
            let o = origins.sample(&mut rng);
            let mut q = SearchQuery::near(
                jitter(&mut rng, o.point, 5.0),
                rng.pick(&[
                    (50.0, 2.0),
                    (75.0, 2.0),
                    (100.0, 3.0),
                    (150.0, 2.0),
                    (200.0, 1.0),
                    (250.0, 1.0),
                ]),
            );
            if rng.chance(0.5) {
                let d = dests.sample(&mut rng);
                q.dest = match rng.below(3) {
                    0 => DestFilter::Radius {
                        point: d.point,
                        radius_miles: rng.pick(&[
                            (100.0, 1.0),
                            (150.0, 1.0),
                            (200.0, 1.0),
                            (300.0, 1.0),
                        ]),
                    },
                    1 => {
                        let mut states = vec![state(&d.region)];
                        for _ in 0..rng.below(3) {
                            let us = &REGIONS[..51];
                            states.push(state(us[rng.below(us.len())].0));
                        }
                        DestFilter::States(states)
                    }
                    _ => {
                        let mut ms: Vec<u16> = markets
                            .market_of_place(d)
                            .map(|m| m.0)
                            .into_iter()
                            .collect();
                        for _ in 0..rng.below(3) {
                            ms.push(hubs[rng.below(hubs.len())]);
                        }
                        DestFilter::Markets(ms)
                    }
                };
            }
            q.equipment = rng.pick(&[
                (DRY_VAN, 55.0),
                (REEFER, 15.0),
                (DRY_VAN | REEFER, 10.0),
                (FLATBED | STEP_DECK, 12.0),
                (POWER_ONLY, 3.0),
                (0, 5.0),
            ]);
            if rng.chance(0.8) {
                let from = now + rng.below(12) as i64 * DAY;
                q.pickup_from = Some(from);
                q.pickup_to = Some(from + (1 + rng.below(3) as i64) * DAY);
            }
            if rng.chance(0.4) {
                q.min_rate_per_mile_cents =
                    Some(rng.pick(&[(150.0, 1.0), (200.0, 2.0), (250.0, 2.0), (300.0, 1.0)]));
            }
            if rng.chance(0.3) {
                q.max_weight_lbs = Some(rng.pick(&[(44_000, 1.0), (48_000, 1.0), (20_000, 0.5)]));
            }
            q.load_size = rng.pick(&[
                (LoadSize::Any, 85.0),
                (LoadSize::Full, 10.0),
                (LoadSize::Partial, 5.0),
            ]);
            q.sort = rng.pick(&[
                (SortBy::Age, 40.0),
                (SortBy::RatePerMile, 25.0),
                (SortBy::Deadhead, 25.0),
                (SortBy::PickupDate, 10.0),
            ]);
            q
        })
        .collect()
}
