//! Ranked trucks for one load, fast enough for every page view: trucks sit in 1° grid cells
//! by position; a query visits only the cells within reach of the pickup (the largest
//! deadhead any indexed truck accepts), checks feasibility cheapest rule first, scores the
//! survivors and keeps the best `k`.

use std::collections::{BinaryHeap, HashMap};

use lanerunner_geo::LatLon;

use crate::feasibility::{check, Feasible};
use crate::model::{LoadFacts, MatchParams, TruckFacts};
use crate::score::{cost, score, Scored};

const CELL_DEG: f64 = 1.0;
/// Road miles per degree of latitude, with the circuity factor, as an upper bound for
/// converting a deadhead limit into a cell span.
const MILES_PER_DEG_LAT: f64 = 69.0;
/// Road miles per degree of great-circle arc: 69.09 statute miles × the circuity factor.
const ROAD_MILES_PER_DEG: f64 = 69.09 * lanerunner_geo::ROAD_CIRCUITY_FACTOR;

#[derive(Default)]
pub struct TruckIndex {
    cells: HashMap<(i32, i32), Vec<TruckFacts>>,
    where_is: HashMap<u128, (i32, i32)>,
    max_deadhead_miles: f64,
}

#[derive(Debug, Clone)]
pub struct RankedTruck {
    pub truck_id: u128,
    pub feasible: Feasible,
    pub scored: Scored,
}

fn cell_of(p: LatLon) -> (i32, i32) {
    (
        (p.lat / CELL_DEG).floor() as i32,
        (p.lon / CELL_DEG).floor() as i32,
    )
}

/// Heap entry ordered by cost, so the heap's top is the worst of the best `k` so far.
struct ByCost<'a> {
    cost_cents: f64,
    truck: &'a TruckFacts,
    feasible: Feasible,
}

impl PartialEq for ByCost<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for ByCost<'_> {}
impl PartialOrd for ByCost<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByCost<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.cost_cents
            .total_cmp(&other.cost_cents)
            .then(self.truck.id.cmp(&other.truck.id))
    }
}

impl TruckIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.where_is.len()
    }

    pub fn is_empty(&self) -> bool {
        self.where_is.is_empty()
    }

    /// Adds or replaces a truck. Trucks with invalid positions are not indexed.
    pub fn upsert(&mut self, truck: TruckFacts) -> bool {
        self.remove(truck.id);
        if !truck.position.is_valid() || !truck.max_deadhead_miles.is_finite() {
            return false;
        }
        let cell = cell_of(truck.position);
        self.max_deadhead_miles = self.max_deadhead_miles.max(truck.max_deadhead_miles);
        self.where_is.insert(truck.id, cell);
        self.cells.entry(cell).or_default().push(truck);
        true
    }

    pub fn remove(&mut self, id: u128) -> Option<TruckFacts> {
        let cell = self.where_is.remove(&id)?;
        let bucket = self.cells.get_mut(&cell)?;
        let at = bucket.iter().position(|t| t.id == id)?;
        let truck = bucket.swap_remove(at);
        if bucket.is_empty() {
            self.cells.remove(&cell);
        }
        Some(truck)
    }

    /// The `k` best feasible trucks for `load`, best first.
    pub fn rank_for_load(
        &self,
        load: &LoadFacts,
        k: usize,
        params: &MatchParams,
        now: i64,
    ) -> Vec<RankedTruck> {
        if k == 0 || !load.origin.is_valid() {
            return Vec::new();
        }
        let reach_lat = self.max_deadhead_miles / MILES_PER_DEG_LAT;
        // Longitude degrees shrink toward the poles; use the cell row nearest the pole.
        let pole_lat = (load.origin.lat.abs() + reach_lat).min(89.0);
        let reach_lon = reach_lat / pole_lat.to_radians().cos();
        let (lat0, lon0) = cell_of(LatLon {
            lat: load.origin.lat - reach_lat,
            lon: load.origin.lon - reach_lon,
        });
        let (lat1, lon1) = cell_of(LatLon {
            lat: load.origin.lat + reach_lat,
            lon: load.origin.lon + reach_lon,
        });
        let cos_lat = load.origin.lat.to_radians().cos();
        let mut heap: BinaryHeap<ByCost> = BinaryHeap::with_capacity(k + 1);
        for la in lat0..=lat1 {
            for lo in lon0..=lon1 {
                let Some(bucket) = self.cells.get(&(la, lo)) else {
                    continue;
                };
                for truck in bucket {
                    // Cheap refusals before the full check: equipment, weight, and an
                    // equirectangular distance (within 1% of great-circle at these ranges;
                    // the 3% margin keeps every truck the exact check would accept).
                    if !truck.trailer.can_haul(load.trailer)
                        || truck.max_weight_lbs < load.weight_lbs
                    {
                        continue;
                    }
                    let dy = truck.position.lat - load.origin.lat;
                    let dx = (truck.position.lon - load.origin.lon) * cos_lat;
                    let approx_road = (dx * dx + dy * dy).sqrt() * ROAD_MILES_PER_DEG;
                    if approx_road * 0.97 > truck.max_deadhead_miles {
                        continue;
                    }
                    let Ok(f) = check(truck, load, params, now) else {
                        continue;
                    };
                    let c = cost(truck, load, &f, params);
                    if !c.is_finite() {
                        continue;
                    }
                    let candidate = ByCost {
                        cost_cents: c,
                        truck,
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
            }
        }
        heap.into_sorted_vec()
            .into_iter()
            .map(|b| RankedTruck {
                truck_id: b.truck.id,
                scored: score(b.truck, load, &b.feasible, params),
                feasible: b.feasible,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feasibility::tests::{load, truck, DALLAS, HOUSTON};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn ranking_equals_scoring_every_truck(
            spots in prop::collection::vec((28.0f64..36.0, -100.0f64..-93.0, 20.0f64..400.0), 0..60),
            k in 1usize..8,
        ) {
            let p = MatchParams::default();
            let mut index = TruckIndex::new();
            let trucks: Vec<TruckFacts> = spots.iter().enumerate().map(|(i, (lat, lon, reach))| {
                let mut t = truck(LatLon { lat: *lat, lon: *lon });
                t.id = i as u128;
                t.max_deadhead_miles = *reach;
                t
            }).collect();
            for t in &trucks {
                index.upsert(t.clone());
            }
            let l = load(DALLAS, HOUSTON);
            let mut expected: Vec<(f64, u128)> = trucks.iter().filter_map(|t| {
                check(t, &l, &p, 0).ok().map(|f| (score(t, &l, &f, &p).cost_cents, t.id))
            }).collect();
            expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            expected.truncate(k);
            let got: Vec<u128> = index.rank_for_load(&l, k, &p, 0).iter().map(|r| r.truck_id).collect();
            prop_assert_eq!(got, expected.iter().map(|e| e.1).collect::<Vec<_>>());
        }
    }

    #[test]
    fn removed_and_moved_trucks_are_ranked_where_they_are_now() {
        let p = MatchParams::default();
        let mut index = TruckIndex::new();
        let mut t = truck(DALLAS);
        t.id = 5;
        index.upsert(t.clone());
        assert_eq!(
            index.rank_for_load(&load(DALLAS, HOUSTON), 3, &p, 0).len(),
            1
        );
        t.position = LatLon {
            lat: 45.0,
            lon: -120.0,
        };
        index.upsert(t);
        assert_eq!(index.len(), 1);
        assert!(index
            .rank_for_load(&load(DALLAS, HOUSTON), 3, &p, 0)
            .is_empty());
        index.remove(5);
        assert!(index.is_empty());
    }
}
