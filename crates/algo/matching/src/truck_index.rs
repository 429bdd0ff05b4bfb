//! Ranked trucks for one load, fast enough for every page view: trucks sit in the matching
//! grid by position; a query visits only the cells within reach of the pickup (the largest
//! deadhead any indexed truck accepts), checks feasibility cheapest rule first, scores the
//! survivors and keeps the best `k`.

use lanerunner_geo::LatLon;

use crate::feasibility::{check, Feasible};
use crate::grid::{GridIndex, Placed, Ranked, TopK};
use crate::model::{LoadFacts, MatchParams, TruckFacts};
use crate::score::{cost, score, Scored};

/// Road miles per degree of great-circle arc: 69.09 statute miles × the circuity factor.
const ROAD_MILES_PER_DEG: f64 = 69.09 * lanerunner_geo::ROAD_CIRCUITY_FACTOR;

impl Placed for TruckFacts {
    fn id(&self) -> u128 {
        self.id
    }
    fn place(&self) -> LatLon {
        self.position
    }
}

#[derive(Default)]
pub struct TruckIndex {
    grid: GridIndex<TruckFacts>,
    max_deadhead_miles: f64,
}

#[derive(Debug, Clone)]
pub struct RankedTruck {
    pub truck_id: u128,
    pub feasible: Feasible,
    pub scored: Scored,
}

impl TruckIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.grid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grid.is_empty()
    }

    /// Adds or replaces a truck. Trucks with invalid positions are not indexed.
    pub fn upsert(&mut self, truck: TruckFacts) -> bool {
        if !truck.max_deadhead_miles.is_finite() {
            self.grid.remove(truck.id);
            return false;
        }
        let reach = truck.max_deadhead_miles;
        let indexed = self.grid.upsert(truck);
        if indexed {
            self.max_deadhead_miles = self.max_deadhead_miles.max(reach);
        }
        indexed
    }

    pub fn remove(&mut self, id: u128) -> Option<TruckFacts> {
        self.grid.remove(id)
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
        let cos_lat = load.origin.lat.to_radians().cos();
        let mut best = TopK::new(k);
        for truck in self.grid.candidates(load.origin, self.max_deadhead_miles) {
            // Cheap refusals before the full check: equipment, weight, and an
            // equirectangular distance (within 1% of great-circle at these ranges; the 3%
            // margin keeps every truck the exact check would accept).
            if !truck.trailer.can_haul(load.trailer) || truck.max_weight_lbs < load.weight_lbs {
                continue;
            }
            let dy = truck.position.lat - load.origin.lat;
            let dx = (truck.position.lon - load.origin.lon) * cos_lat;
            let approx_road = (dx * dx + dy * dy).sqrt() * ROAD_MILES_PER_DEG;
            if approx_road * 0.97 > truck.max_deadhead_miles {
                continue;
            }
            let Ok(feasible) = check(truck, load, params, now) else {
                continue;
            };
            best.offer(Ranked {
                cost_cents: cost(truck, load, &feasible, params),
                item: truck,
                feasible,
            });
        }
        best.into_sorted()
            .map(|r| RankedTruck {
                truck_id: r.item.id,
                scored: score(r.item, load, &r.feasible, params),
                feasible: r.feasible,
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
