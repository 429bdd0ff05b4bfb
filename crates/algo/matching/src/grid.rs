//! The one spatial index of matching: items (trucks by position, loads by pickup) sit in 1°
//! grid cells; a query visits only the cells that can hold a point within a road distance of
//! where it stands, and keeps the best `k` by cost. [`crate::TruckIndex`] (trucks for a
//! load) and the matching service's load index (loads for a truck) are both this grid.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use lanerunner_geo::LatLon;

use crate::feasibility::Feasible;

const CELL_DEG: f64 = 1.0;

/// What the grid needs of an item: a stable id and where it is.
pub trait Placed {
    fn id(&self) -> u128;
    fn place(&self) -> LatLon;
}

/// Items in 1° cells, each id at most once.
pub struct GridIndex<T> {
    cells: HashMap<(i32, i32), Vec<T>>,
    where_is: HashMap<u128, (i32, i32)>,
}

impl<T> Default for GridIndex<T> {
    fn default() -> Self {
        Self {
            cells: HashMap::new(),
            where_is: HashMap::new(),
        }
    }
}

fn cell_of(p: LatLon) -> (i32, i32) {
    (
        (p.lat / CELL_DEG).floor() as i32,
        (p.lon / CELL_DEG).floor() as i32,
    )
}

impl<T: Placed> GridIndex<T> {
    pub fn len(&self) -> usize {
        self.where_is.len()
    }

    pub fn is_empty(&self) -> bool {
        self.where_is.is_empty()
    }

    /// Adds or replaces an item; one whose place is not a coordinate is removed, not indexed.
    pub fn upsert(&mut self, item: T) -> bool {
        self.remove(item.id());
        if !item.place().is_valid() {
            return false;
        }
        let cell = cell_of(item.place());
        self.where_is.insert(item.id(), cell);
        self.cells.entry(cell).or_default().push(item);
        true
    }

    pub fn remove(&mut self, id: u128) -> Option<T> {
        let cell = self.where_is.remove(&id)?;
        let bucket = self.cells.get_mut(&cell)?;
        let at = bucket.iter().position(|t| t.id() == id)?;
        let item = bucket.swap_remove(at);
        if bucket.is_empty() {
            self.cells.remove(&cell);
        }
        Some(item)
    }

    /// Every item in a cell that can hold a point within `miles` road miles of `at`: a
    /// superset of the items that near, which callers narrow with the exact distance.
    pub fn candidates(&self, at: LatLon, miles: f64) -> impl Iterator<Item = &T> {
        let span = (at.is_valid() && miles.is_finite() && miles >= 0.0).then(|| {
            let (reach_lat, reach_lon) = lanerunner_geo::reach_box(at, miles);
            let lo = cell_of(LatLon {
                lat: at.lat - reach_lat,
                lon: at.lon - reach_lon,
            });
            let hi = cell_of(LatLon {
                lat: at.lat + reach_lat,
                lon: at.lon + reach_lon,
            });
            (lo, hi)
        });
        span.into_iter()
            .flat_map(move |((lat0, lon0), (lat1, lon1))| {
                (lat0..=lat1)
                    .flat_map(move |la| (lon0..=lon1).map(move |lo| (la, lo)))
                    .filter_map(|cell| self.cells.get(&cell))
                    .flatten()
            })
    }
}

/// One ranked candidate: what it costs and why it is feasible.
pub struct Ranked<'a, T> {
    pub cost_cents: f64,
    pub item: &'a T,
    pub feasible: Feasible,
}

/// Ordered by cost, then id, so ties rank the same way every time.
struct ByCost<'a, T: Placed>(Ranked<'a, T>);

impl<T: Placed> PartialEq for ByCost<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T: Placed> Eq for ByCost<'_, T> {}
impl<T: Placed> PartialOrd for ByCost<'_, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Placed> Ord for ByCost<'_, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .cost_cents
            .total_cmp(&other.0.cost_cents)
            .then(self.0.item.id().cmp(&other.0.item.id()))
    }
}

/// The best `k` candidates by cost: a max-heap whose top is the worst kept so far.
pub struct TopK<'a, T: Placed> {
    k: usize,
    heap: BinaryHeap<ByCost<'a, T>>,
}

impl<'a, T: Placed> TopK<'a, T> {
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Keeps `candidate` if it is among the best `k` so far (a non-finite cost never is).
    pub fn offer(&mut self, candidate: Ranked<'a, T>) {
        if self.k == 0 || !candidate.cost_cents.is_finite() {
            return;
        }
        let candidate = ByCost(candidate);
        if self.heap.len() == self.k && self.heap.peek().is_some_and(|worst| candidate >= *worst) {
            return;
        }
        self.heap.push(candidate);
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    /// Best first.
    pub fn into_sorted(self) -> impl Iterator<Item = Ranked<'a, T>> {
        self.heap.into_sorted_vec().into_iter().map(|b| b.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanerunner_geo::road_miles;
    use proptest::prelude::*;

    struct Pin(u128, LatLon);
    impl Placed for Pin {
        fn id(&self) -> u128 {
            self.0
        }
        fn place(&self) -> LatLon {
            self.1
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// The cells visited never miss an item within reach, anywhere on the continent.
        #[test]
        fn candidates_hold_every_item_within_reach(
            pins in prop::collection::vec((15.0f64..70.0, -170.0f64..-50.0), 0..80),
            at in (15.0f64..70.0, -170.0f64..-50.0),
            miles in 0.0f64..800.0,
        ) {
            let mut grid = GridIndex::default();
            for (i, (lat, lon)) in pins.iter().enumerate() {
                grid.upsert(Pin(i as u128, LatLon { lat: *lat, lon: *lon }));
            }
            let at = LatLon { lat: at.0, lon: at.1 };
            let seen: std::collections::HashSet<u128> = grid.candidates(at, miles).map(|p| p.0).collect();
            for (i, (lat, lon)) in pins.iter().enumerate() {
                if road_miles(at, LatLon { lat: *lat, lon: *lon }) <= miles {
                    prop_assert!(seen.contains(&(i as u128)), "pin {i} within {miles} mi missed");
                }
            }
        }
    }

    #[test]
    fn an_item_moves_and_leaves_with_its_id() {
        let mut grid = GridIndex::default();
        let dallas = LatLon {
            lat: 32.78,
            lon: -96.80,
        };
        grid.upsert(Pin(1, dallas));
        grid.upsert(Pin(
            1,
            LatLon {
                lat: 45.0,
                lon: -120.0,
            },
        ));
        assert_eq!(grid.len(), 1);
        assert_eq!(grid.candidates(dallas, 50.0).count(), 0);
        assert!(!grid.upsert(Pin(
            1,
            LatLon {
                lat: f64::NAN,
                lon: 0.0
            }
        )));
        assert!(grid.is_empty());
        assert!(grid.remove(1).is_none());
    }
}
