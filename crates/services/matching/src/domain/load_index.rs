//! Ranked loads for one truck: the mirror of `lanerunner_matching::TruckIndex`. Open loads
//! sit in 1° grid cells by pickup; a query visits the cells within the truck's deadhead
//! limit, checks feasibility, scores the survivors and keeps the best `k`.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use lanerunner_geo::{road_miles, LatLon};
use lanerunner_matching::{
    check, cost, score, Feasible, LoadFacts, MatchParams, Scored, TruckFacts,
};

const CELL_DEG: f64 = 1.0;
/// Fewest road miles one degree of latitude can span (great-circle 69 miles × circuity
/// ≥ 1), so a deadhead limit converts to a cell span that never misses a load.
const MILES_PER_DEG_LAT: f64 = 69.0;

/// An indexed load with what a query filters on.
#[derive(Debug, Clone)]
pub struct IndexedLoad {
    pub facts: LoadFacts,
    pub public: bool,
}

#[derive(Default)]
pub struct LoadIndex {
    cells: HashMap<(i32, i32), Vec<IndexedLoad>>,
    where_is: HashMap<u128, (i32, i32)>,
}

#[derive(Debug, Clone)]
pub struct RankedLoad {
    pub load_id: u128,
    pub feasible: Feasible,
    pub scored: Scored,
}

fn cell_of(p: LatLon) -> (i32, i32) {
    (
        (p.lat / CELL_DEG).floor() as i32,
        (p.lon / CELL_DEG).floor() as i32,
    )
}

struct ByCost<'a> {
    cost_cents: f64,
    load: &'a LoadFacts,
    feasible: Feasible,
}

impl PartialEq for ByCost<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ByCost<'_> {}
impl PartialOrd for ByCost<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByCost<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cost_cents
            .total_cmp(&other.cost_cents)
            .then(self.load.id.cmp(&other.load.id))
    }
}

impl LoadIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.where_is.len()
    }

    pub fn is_empty(&self) -> bool {
        self.where_is.is_empty()
    }

    /// Adds or replaces a load; a load whose pickup is not a coordinate is not indexed.
    pub fn upsert(&mut self, load: IndexedLoad) -> bool {
        self.remove(load.facts.id);
        if !load.facts.origin.is_valid() {
            return false;
        }
        let cell = cell_of(load.facts.origin);
        self.where_is.insert(load.facts.id, cell);
        self.cells.entry(cell).or_default().push(load);
        true
    }

    pub fn remove(&mut self, id: u128) -> Option<IndexedLoad> {
        let cell = self.where_is.remove(&id)?;
        let bucket = self.cells.get_mut(&cell)?;
        let at = bucket.iter().position(|l| l.facts.id == id)?;
        let load = bucket.swap_remove(at);
        if bucket.is_empty() {
            self.cells.remove(&cell);
        }
        Some(load)
    }

    /// Loads whose pickup is within `miles` road miles of `at` (and pass `keep`).
    pub fn near(
        &self,
        at: LatLon,
        miles: f64,
        keep: impl Fn(&IndexedLoad) -> bool,
    ) -> Vec<&IndexedLoad> {
        let mut out = Vec::new();
        if !at.is_valid() || !miles.is_finite() || miles < 0.0 {
            return out;
        }
        let reach_lat = miles / MILES_PER_DEG_LAT;
        let pole_lat = (at.lat.abs() + reach_lat).min(89.0);
        let reach_lon = reach_lat / pole_lat.to_radians().cos();
        let (lat0, lon0) = cell_of(LatLon::new(at.lat - reach_lat, at.lon - reach_lon));
        let (lat1, lon1) = cell_of(LatLon::new(at.lat + reach_lat, at.lon + reach_lon));
        for la in lat0..=lat1 {
            for lo in lon0..=lon1 {
                let Some(bucket) = self.cells.get(&(la, lo)) else {
                    continue;
                };
                out.extend(
                    bucket
                        .iter()
                        .filter(|l| keep(l) && road_miles(at, l.facts.origin) <= miles),
                );
            }
        }
        out
    }

    /// The `k` best feasible loads for `truck` among those `keep` accepts, best first.
    pub fn rank_for_truck(
        &self,
        truck: &TruckFacts,
        k: usize,
        params: &MatchParams,
        now: i64,
        keep: impl Fn(&IndexedLoad) -> bool,
    ) -> Vec<RankedLoad> {
        if k == 0 {
            return Vec::new();
        }
        let mut heap: BinaryHeap<ByCost> = BinaryHeap::with_capacity(k + 1);
        for l in self.near(truck.position, truck.max_deadhead_miles, |l| {
            keep(l) && truck.trailer.can_haul(l.facts.trailer)
        }) {
            let Ok(f) = check(truck, &l.facts, params, now) else {
                continue;
            };
            let c = cost(truck, &l.facts, &f, params);
            if !c.is_finite() {
                continue;
            }
            let candidate = ByCost {
                cost_cents: c,
                load: &l.facts,
                feasible: f,
            };
            if heap.len() == k && heap.peek().is_some_and(|worst| candidate >= *worst) {
                continue;
            }
            heap.push(candidate);
            if heap.len() > k {
                heap.pop();
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .map(|b| RankedLoad {
                load_id: b.load.id,
                scored: score(truck, b.load, &b.feasible, params),
                feasible: b.feasible,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanerunner_matching::Trailer;
    use proptest::prelude::*;

    const H: i64 = 3600;

    fn truck(at: LatLon, reach: f64) -> TruckFacts {
        TruckFacts {
            id: 1,
            trailer: Trailer::DryVan,
            position: at,
            available_at: 0,
            drive_hours_left: 11.0,
            max_weight_lbs: 45_000,
            trailer_length_ft: 53,
            team: false,
            hazmat: false,
            max_deadhead_miles: reach,
            min_rate_per_mile_cents: 200,
            destination: None,
            lane_history: 0,
        }
    }

    fn load(id: u128, from: LatLon) -> LoadFacts {
        let to = LatLon::new(29.76, -95.37);
        let miles = road_miles(from, to);
        LoadFacts {
            id,
            trailer: Trailer::DryVan,
            origin: from,
            destination: to,
            pickup_start: 2 * H,
            pickup_end: 8 * H,
            delivery_end: 72 * H,
            weight_lbs: 40_000,
            length_ft: 53,
            team_required: false,
            hazmat: false,
            rate_cents: (miles * 250.0) as i64 + (id as i64 % 7) * 1000,
            loaded_miles: miles,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// The index returns exactly the best `k` of scoring every load.
        #[test]
        fn ranking_equals_scoring_every_load(
            spots in prop::collection::vec((28.0f64..36.0, -100.0f64..-93.0, any::<bool>()), 0..60),
            reach in 20.0f64..400.0,
            k in 1usize..8,
        ) {
            let p = MatchParams::default();
            let t = truck(LatLon::new(32.78, -96.8), reach);
            let mut index = LoadIndex::new();
            let loads: Vec<IndexedLoad> = spots.iter().enumerate().map(|(i, (lat, lon, public))| IndexedLoad {
                facts: load(i as u128 + 1, LatLon::new(*lat, *lon)),
                public: *public,
            }).collect();
            for l in &loads {
                index.upsert(l.clone());
            }
            let mut expected: Vec<(f64, u128)> = loads.iter().filter(|l| l.public).filter_map(|l| {
                check(&t, &l.facts, &p, 0).ok().map(|f| (score(&t, &l.facts, &f, &p).cost_cents, l.facts.id))
            }).collect();
            expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            expected.truncate(k);
            let got: Vec<u128> = index.rank_for_truck(&t, k, &p, 0, |l| l.public).iter().map(|r| r.load_id).collect();
            prop_assert_eq!(got, expected.iter().map(|e| e.1).collect::<Vec<_>>());
        }
    }

    #[test]
    fn removed_and_moved_loads_are_found_where_they_are_now() {
        let p = MatchParams::default();
        let mut index = LoadIndex::new();
        let dallas = LatLon::new(32.78, -96.8);
        index.upsert(IndexedLoad {
            facts: load(7, dallas),
            public: true,
        });
        let t = truck(dallas, 100.0);
        assert_eq!(index.rank_for_truck(&t, 5, &p, 0, |_| true).len(), 1);
        index.upsert(IndexedLoad {
            facts: load(7, LatLon::new(45.0, -120.0)),
            public: true,
        });
        assert_eq!(index.len(), 1);
        assert!(index.rank_for_truck(&t, 5, &p, 0, |_| true).is_empty());
        index.remove(7);
        assert!(index.is_empty());
        let mut nan = load(8, dallas);
        nan.origin.lat = f64::NAN;
        assert!(!index.upsert(IndexedLoad {
            facts: nan,
            public: true
        }));
    }
}
