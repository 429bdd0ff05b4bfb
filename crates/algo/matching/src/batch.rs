//! The whole market at once: every feasible pair is scored, and the assignment that covers
//! the most loads, and among those costs the least, is solved exactly.

use std::collections::HashMap;

use lanerunner_assignment::{solve_sparse, SparseCost};
use serde::Serialize;

use crate::feasibility::{check, Feasible};
use crate::model::{LoadFacts, MatchParams, TruckFacts};
use crate::score::{cost, score, Scored};
use crate::unassigned::{Refusal, UnassignedLoad, UnassignedTruck};

#[derive(Debug, Clone, Serialize)]
pub struct MatchedPair {
    pub truck_id: u128,
    pub load_id: u128,
    pub feasible: Feasible,
    pub scored: Scored,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unassigned<Reason> {
    pub id: u128,
    pub reason: Reason,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchAssignment {
    pub pairs: Vec<MatchedPair>,
    /// Sum of the pairs' costs, in cents.
    pub objective_cents: f64,
    pub unassigned_loads: Vec<Unassigned<UnassignedLoad>>,
    pub unassigned_trucks: Vec<Unassigned<UnassignedTruck>>,
    /// How many (truck, load) pairs passed every feasibility rule.
    pub feasible_pairs: usize,
}

/// The optimal assignment of `trucks` to `loads` at `now`.
///
/// Covering a load matters more than any score difference, so the objective is the
/// solver's: the largest number of pairs, then the least total cost. A load or truck left
/// out says why: no feasible partner (with the most common rule that refused it), or every
/// feasible partner was worth more elsewhere.
pub fn assign_market(
    trucks: &[TruckFacts],
    loads: &[LoadFacts],
    params: &MatchParams,
    now: i64,
) -> BatchAssignment {
    let mut triplets = Vec::new();
    let mut found: HashMap<(usize, usize), Feasible> = HashMap::new();
    let mut load_refusals: Vec<HashMap<Refusal, usize>> = vec![HashMap::new(); loads.len()];
    let mut truck_has_option = vec![false; trucks.len()];
    let mut load_has_option = vec![false; loads.len()];
    for (ti, t) in trucks.iter().enumerate() {
        for (li, l) in loads.iter().enumerate() {
            match check(t, l, params, now) {
                Ok(f) => {
                    let c = cost(t, l, &f, params);
                    if !c.is_finite() {
                        *load_refusals[li].entry(Refusal::Unscorable).or_default() += 1;
                        continue;
                    }
                    triplets.push((ti, li, c));
                    truck_has_option[ti] = true;
                    load_has_option[li] = true;
                    found.insert((ti, li), f);
                }
                Err(why) => *load_refusals[li].entry(Refusal::from(&why)).or_default() += 1,
            }
        }
    }
    let feasible_pairs = triplets.len();
    let solution = SparseCost::from_triplets(trucks.len(), loads.len(), &triplets)
        .map(|m| solve_sparse(&m))
        .unwrap_or_else(|_| lanerunner_assignment::Assignment::empty());
    let mut truck_used = vec![false; trucks.len()];
    let mut load_used = vec![false; loads.len()];
    let mut pairs = Vec::with_capacity(solution.pairs.len());
    for (ti, li) in solution.pairs {
        let feasible = found
            .remove(&(ti, li))
            .expect("the solver returns only given pairs");
        let scored = score(&trucks[ti], &loads[li], &feasible, params);
        truck_used[ti] = true;
        load_used[li] = true;
        pairs.push(MatchedPair {
            truck_id: trucks[ti].id,
            load_id: loads[li].id,
            feasible,
            scored,
        });
    }
    let objective_cents = pairs.iter().map(|p| p.scored.cost_cents).sum();
    let unassigned_loads = loads
        .iter()
        .enumerate()
        .filter(|(i, _)| !load_used[*i])
        .map(|(i, l)| Unassigned {
            id: l.id,
            reason: if load_has_option[i] {
                UnassignedLoad::TrucksNeededElsewhere
            } else if trucks.is_empty() {
                UnassignedLoad::NoTrucksAvailable
            } else {
                // The most common rule; ties go to the rule whose text sorts first, so the
                // answer does not depend on hash order.
                let top = load_refusals[i]
                    .iter()
                    .max_by_key(|(rule, n)| (**n, std::cmp::Reverse(rule.to_string())));
                UnassignedLoad::NoFeasibleTruck {
                    rule: top.map(|(rule, _)| *rule),
                    refused: top.map_or(0, |(_, n)| *n),
                    trucks: trucks.len(),
                }
            },
        })
        .collect();
    let unassigned_trucks = trucks
        .iter()
        .enumerate()
        .filter(|(i, _)| !truck_used[*i])
        .map(|(i, t)| Unassigned {
            id: t.id,
            reason: if truck_has_option[i] {
                UnassignedTruck::LoadsWentElsewhere
            } else {
                UnassignedTruck::NoFeasibleLoad
            },
        })
        .collect();
    BatchAssignment {
        pairs,
        objective_cents,
        unassigned_loads,
        unassigned_trucks,
        feasible_pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feasibility::tests::{load, truck, CHICAGO, DALLAS, FORT_WORTH, HOUSTON};
    use proptest::prelude::*;

    #[test]
    fn each_load_gets_its_nearest_truck_when_that_is_optimal() {
        let p = MatchParams::default();
        let mut t1 = truck(DALLAS);
        t1.id = 1;
        let mut t2 = truck(FORT_WORTH);
        t2.id = 2;
        let mut l1 = load(DALLAS, HOUSTON);
        l1.id = 10;
        let mut l2 = load(FORT_WORTH, HOUSTON);
        l2.id = 20;
        let r = assign_market(&[t1, t2], &[l1, l2], &p, 0);
        let mut got: Vec<(u128, u128)> = r.pairs.iter().map(|p| (p.truck_id, p.load_id)).collect();
        got.sort();
        assert_eq!(got, [(1, 10), (2, 20)]);
        assert!(r.unassigned_loads.is_empty());
    }

    #[test]
    fn empty_markets_and_all_infeasible_markets_answer_with_reasons() {
        let p = MatchParams::default();
        let r = assign_market(&[], &[load(DALLAS, HOUSTON)], &p, 0);
        assert!(r.pairs.is_empty());
        assert_eq!(
            r.unassigned_loads[0].reason,
            UnassignedLoad::NoTrucksAvailable
        );
        assert_eq!(
            r.unassigned_loads[0].reason.to_string(),
            "no trucks are available"
        );
        let r = assign_market(&[truck(CHICAGO)], &[load(DALLAS, HOUSTON)], &p, 0);
        assert!(r.pairs.is_empty());
        assert_eq!(
            r.unassigned_loads[0].reason,
            UnassignedLoad::NoFeasibleTruck {
                rule: Some(Refusal::BeyondDeadhead),
                refused: 1,
                trucks: 1
            }
        );
        assert_eq!(
            r.unassigned_loads[0].reason.to_string(),
            "no feasible truck: beyond the carriers' deadhead limit (1 of 1 trucks)"
        );
        assert_eq!(
            r.unassigned_trucks[0].reason,
            UnassignedTruck::NoFeasibleLoad
        );
        let r = assign_market(&[], &[], &p, 0);
        assert!(r.pairs.is_empty() && r.objective_cents == 0.0);
    }

    #[test]
    fn nan_coordinates_never_reach_the_solver() {
        let p = MatchParams::default();
        let mut bad = truck(DALLAS);
        bad.id = 66;
        bad.position.lat = f64::NAN;
        let mut good = truck(FORT_WORTH);
        good.id = 7;
        let r = assign_market(&[bad, good], &[load(DALLAS, HOUSTON)], &p, 0);
        assert_eq!(r.pairs.len(), 1);
        assert_eq!(r.pairs[0].truck_id, 7);
        assert!(r.objective_cents.is_finite());
        assert_eq!(
            r.unassigned_trucks,
            [Unassigned {
                id: 66,
                reason: UnassignedTruck::NoFeasibleLoad
            }]
        );
    }

    fn brute_best(costs: &[Vec<Option<f64>>]) -> (usize, f64) {
        // Max cardinality, then min cost, over every injective partial map rows → cols.
        fn go(
            r: usize,
            costs: &[Vec<Option<f64>>],
            used: &mut Vec<bool>,
            n: usize,
            c: f64,
            best: &mut (usize, f64),
        ) {
            if r == costs.len() {
                if n > best.0 || (n == best.0 && c < best.1 - 1e-9) {
                    *best = (n, c);
                }
                return;
            }
            go(r + 1, costs, used, n, c, best);
            for j in 0..used.len() {
                if let (false, Some(x)) = (used[j], costs[r][j]) {
                    used[j] = true;
                    go(r + 1, costs, used, n + 1, c + x, best);
                    used[j] = false;
                }
            }
        }
        let mut best = (0, 0.0);
        go(
            0,
            costs,
            &mut vec![false; costs.first().map_or(0, |r| r.len())],
            0,
            0.0,
            &mut best,
        );
        best
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn market_assignment_is_optimal_against_brute_force(
            truck_spots in prop::collection::vec((31.0f64..34.0, -98.0f64..-95.0, 0i64..6), 0..5),
            load_spots in prop::collection::vec((31.0f64..34.0, -98.0f64..-95.0, 0i64..6), 0..5),
        ) {
            let p = MatchParams::default();
            let trucks: Vec<TruckFacts> = truck_spots.iter().enumerate().map(|(i, (lat, lon, avail))| {
                let mut t = truck(lanerunner_geo::LatLon { lat: *lat, lon: *lon });
                t.id = i as u128;
                t.available_at = avail * 3600;
                t
            }).collect();
            let loads: Vec<LoadFacts> = load_spots.iter().enumerate().map(|(i, (lat, lon, start))| {
                let mut l = load(lanerunner_geo::LatLon { lat: *lat, lon: *lon }, HOUSTON);
                l.id = 100 + i as u128;
                l.pickup_start = start * 3600;
                l.pickup_end = l.pickup_start + 3 * 3600;
                l
            }).collect();
            let costs: Vec<Vec<Option<f64>>> = trucks.iter().map(|t| loads.iter().map(|l| {
                check(t, l, &p, 0).ok().map(|f| score(t, l, &f, &p).cost_cents)
            }).collect()).collect();
            let (n, c) = brute_best(&costs);
            let r = assign_market(&trucks, &loads, &p, 0);
            prop_assert_eq!(r.pairs.len(), n);
            prop_assert!((r.objective_cents - c).abs() < 1e-6 * (1.0 + c.abs()), "{} vs {}", r.objective_cents, c);
        }
    }
}
