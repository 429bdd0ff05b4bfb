//! Reloads: for one truck, the best chain of two or three loads, each picked up after the
//! previous delivery, maximising revenue minus the cost of the empty miles between them.

use serde::Serialize;

use crate::feasibility::check;
use crate::model::{LoadFacts, MatchParams, TruckFacts};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    pub load_ids: Vec<u128>,
    pub revenue_cents: i64,
    pub empty_miles: f64,
    /// Revenue minus the empty miles' cost, in cents.
    pub value_cents: f64,
    /// When the truck is empty after the last delivery.
    pub empty_at: i64,
}

/// The best chain of `min_len..=max_len` loads from `candidates` (each at most once), or
/// `None` when no chain of `min_len` is feasible. Exact over `candidates`: every feasible
/// sequence is considered; feasibility (windows, hours of service, deadhead limits) keeps
/// the branching small, and the caller passes the loads near the truck's path.
pub fn best_chain(
    truck: &TruckFacts,
    candidates: &[LoadFacts],
    min_len: usize,
    max_len: usize,
    params: &MatchParams,
    now: i64,
) -> Option<Chain> {
    let mut best: Option<Chain> = None;
    let mut path = Vec::with_capacity(max_len);
    extend(
        truck,
        candidates,
        min_len.max(1),
        max_len.min(3),
        params,
        now,
        &mut path,
        0,
        0.0,
        now,
        &mut best,
    );
    best
}

#[allow(clippy::too_many_arguments)]
fn extend(
    at: &TruckFacts,
    candidates: &[LoadFacts],
    min_len: usize,
    max_len: usize,
    params: &MatchParams,
    now: i64,
    path: &mut Vec<usize>,
    revenue: i64,
    empty_miles: f64,
    empty_at: i64,
    best: &mut Option<Chain>,
) {
    if path.len() >= min_len {
        let value = revenue as f64 - empty_miles * params.empty_mile_cost_cents;
        if best.as_ref().is_none_or(|b| value > b.value_cents) {
            *best = Some(Chain {
                load_ids: path.iter().map(|i| candidates[*i].id).collect(),
                revenue_cents: revenue,
                empty_miles,
                value_cents: value,
                empty_at,
            });
        }
    }
    if path.len() == max_len {
        return;
    }
    for (i, load) in candidates.iter().enumerate() {
        if path.contains(&i) {
            continue;
        }
        let Ok(f) = check(at, load, params, now) else {
            continue;
        };
        let mut next = at.clone();
        next.position = load.destination;
        next.available_at = f.empty_at;
        next.drive_hours_left = 11.0 - f.clock_after.driven_today;
        path.push(i);
        extend(
            &next,
            candidates,
            min_len,
            max_len,
            params,
            now,
            path,
            revenue + load.rate_cents,
            empty_miles + f.deadhead_miles,
            f.empty_at,
            best,
        );
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feasibility::tests::{load, truck, CHICAGO, DALLAS, FORT_WORTH, H, HOUSTON};

    #[test]
    fn chains_a_reload_from_the_first_delivery() {
        let p = MatchParams::default();
        let mut out = load(DALLAS, HOUSTON);
        out.id = 1;
        let mut back = load(HOUSTON, FORT_WORTH);
        back.id = 2;
        back.pickup_start = 12 * H;
        back.pickup_end = 30 * H;
        back.delivery_end = 60 * H;
        let mut unreachable = load(CHICAGO, DALLAS);
        unreachable.id = 3;
        let chain = best_chain(&truck(DALLAS), &[unreachable, back, out], 2, 3, &p, 0).unwrap();
        assert_eq!(chain.load_ids, [1, 2]);
        assert!(chain.value_cents > 0.0);
    }

    #[test]
    fn no_chain_when_the_reload_window_closes_before_delivery() {
        let p = MatchParams::default();
        let mut out = load(DALLAS, HOUSTON);
        out.id = 1;
        let mut back = load(HOUSTON, FORT_WORTH);
        back.id = 2;
        back.pickup_start = 0;
        back.pickup_end = 3 * H;
        assert_eq!(best_chain(&truck(DALLAS), &[out, back], 2, 3, &p, 0), None);
    }
}
