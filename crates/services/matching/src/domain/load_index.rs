//! Ranked loads for one truck: the mirror of `lanerunner_matching::TruckIndex`, on the same
//! grid. Open loads sit in cells by pickup; a query visits the cells within the truck's
//! deadhead limit, checks feasibility, scores the survivors and keeps the best `k`.

use lanerunner_geo::{road_miles, LatLon};
use lanerunner_matching::{
    check, cost, score, Feasible, GridIndex, LoadFacts, MatchParams, Placed, Ranked, Scored, TopK,
    TruckFacts,
};

/// An indexed load with what a query filters on.
#[derive(Debug, Clone)]
pub struct IndexedLoad {
    pub facts: LoadFacts,
    pub public: bool,
}

impl Placed for IndexedLoad {
    fn id(&self) -> u128 {
        self.facts.id
    }
    fn place(&self) -> LatLon {
        self.facts.origin
    }
}

#[derive(Default)]
pub struct LoadIndex {
    grid: GridIndex<IndexedLoad>,
}

#[derive(Debug, Clone)]
pub struct RankedLoad {
    pub load_id: u128,
    pub feasible: Feasible,
    pub scored: Scored,
}

impl LoadIndex {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.grid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grid.is_empty()
    }

    /// Adds or replaces a load; a load whose pickup is not a coordinate is not indexed.
    pub fn upsert(&mut self, load: IndexedLoad) -> bool {
        self.grid.upsert(load)
    }

    pub fn remove(&mut self, id: u128) -> Option<IndexedLoad> {
        self.grid.remove(id)
    }

    /// Loads whose pickup is within `miles` road miles of `at` (and pass `keep`).
    pub fn near(
        &self,
        at: LatLon,
        miles: f64,
        keep: impl Fn(&IndexedLoad) -> bool,
    ) -> Vec<&IndexedLoad> {
        self.grid
            .candidates(at, miles)
            .filter(|l| keep(l) && road_miles(at, l.facts.origin) <= miles)
            .collect()
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
        let mut best = TopK::new(k);
        for l in self.near(truck.position, truck.max_deadhead_miles, |l| {
            keep(l) && truck.trailer.can_haul(l.facts.trailer)
        }) {
            let Ok(feasible) = check(truck, &l.facts, params, now) else {
                continue;
            };
            best.offer(Ranked {
                cost_cents: cost(truck, &l.facts, &feasible, params),
                item: l,
                feasible,
            });
        }
        best.into_sorted()
            .map(|r| RankedLoad {
                load_id: r.item.facts.id,
                scored: score(truck, &r.item.facts, &r.feasible, params),
                feasible: r.feasible,
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
