//! Ranked matches for one load (trucks) or one truck (public loads, and its best reload
//! chain), read from the board.

use std::collections::HashSet;

use chrono::Utc;
use lanerunner_matching::{best_chain, LoadFacts};
use lanerunner_platform::http::Caller;
use uuid::Uuid;

use super::Matching;
use crate::domain::facts::uuid_of;
use crate::error::{MatchingError, Result};
use crate::views::{
    terms, ChainView, LoadMatchView, LoadMatchesView, Timing, TruckMatchView, TruckMatchesView,
};

/// Most matches one query returns.
pub const MAX_LIMIT: usize = 50;
/// The reload search starts from this many best first loads...
const RELOAD_FIRST_LEGS: usize = 8;
/// ...and looks at this many loads in all (first legs plus loads near their deliveries).
const RELOAD_CANDIDATES: usize = 40;

impl Matching {
    /// Ranked feasible trucks for one of the caller's open loads.
    pub fn load_matches(&self, caller: &Caller, id: Uuid, limit: usize) -> Result<LoadMatchesView> {
        let limit = limit.clamp(1, MAX_LIMIT);
        for attempt in 0..2 {
            let now = Utc::now();
            {
                let b = self.read();
                let rec = b
                    .load_record(id)
                    .filter(|r| r.broker_org_id == Uuid::from(caller.org))
                    .ok_or(MatchingError::NotFound("load"))?;
                let Some(open) = b.open_load(id) else {
                    return Err(MatchingError::NotOpen {
                        what: "load",
                        status: rec.status.clone().unwrap_or_else(|| "unknown".into()),
                        open: "posted",
                    });
                };
                let ranked = b.truck_index().rank_for_load(
                    &open.facts,
                    limit,
                    &self.params,
                    now.timestamp(),
                );
                let trucks: Vec<_> = ranked
                    .iter()
                    .filter_map(|r| {
                        b.available_truck(uuid_of(r.truck_id))
                            .filter(|t| t.posting.available_until >= now)
                            .map(|t| (t, r))
                    })
                    .collect();
                // A truck whose availability ended since the last sweep: sweep, rank again.
                if trucks.len() == ranked.len() || attempt == 1 {
                    return Ok(LoadMatchesView {
                        load_id: id,
                        available_trucks: b.available_count(),
                        matches: trucks
                            .into_iter()
                            .enumerate()
                            .map(|(i, (t, r))| TruckMatchView {
                                rank: i as u32 + 1,
                                truck_id: t.posting.id,
                                carrier_org_id: t.posting.carrier_org_id,
                                equipment: t.posting.equipment.code().to_string(),
                                available_at: t.posting.available_at.clone(),
                                available_from: t.posting.available_from,
                                destination: t.posting.destination.clone(),
                                cost_cents: r.scored.cost_cents,
                                timing: Timing::from(&r.feasible),
                                terms: terms(&r.scored),
                            })
                            .collect(),
                    });
                }
            }
            self.sweep_expired();
        }
        unreachable!("the second attempt always returns")
    }

    /// Ranked feasible public loads, and the best reload chain, for one of the caller's
    /// trucks.
    pub fn truck_matches(
        &self,
        caller: &Caller,
        id: Uuid,
        limit: usize,
    ) -> Result<TruckMatchesView> {
        let limit = limit.clamp(1, MAX_LIMIT);
        let now = Utc::now();
        let b = self.read();
        let rec = b
            .truck_record(id)
            .filter(|r| r.carrier_org_id == Uuid::from(caller.org))
            .ok_or(MatchingError::NotFound("truck"))?;
        let truck = match b.available_truck(id) {
            Some(t) if t.posting.available_until >= now => t,
            _ => {
                return Err(MatchingError::NotOpen {
                    what: "truck",
                    status: if rec.removed {
                        "removed"
                    } else {
                        "no longer available"
                    }
                    .into(),
                    open: "available",
                })
            }
        };
        let public = |l: &crate::domain::load_index::IndexedLoad| l.public;
        let ranked = b.load_index().rank_for_truck(
            &truck.facts,
            limit.max(RELOAD_FIRST_LEGS),
            &self.params,
            now.timestamp(),
            public,
        );
        // Reload candidates: the best first loads, then public loads picked up near their
        // deliveries, in the order found, up to RELOAD_CANDIDATES.
        let mut seen: HashSet<u128> = HashSet::new();
        let mut candidates: Vec<LoadFacts> = Vec::new();
        for r in ranked.iter().take(RELOAD_FIRST_LEGS) {
            if let Some(l) = b.open_load(uuid_of(r.load_id)) {
                seen.insert(r.load_id);
                candidates.push(l.facts.clone());
            }
        }
        let firsts = candidates.clone();
        'legs: for first in &firsts {
            for next in
                b.load_index()
                    .near(first.destination, truck.facts.max_deadhead_miles, |l| {
                        l.public && truck.facts.trailer.can_haul(l.facts.trailer)
                    })
            {
                if candidates.len() >= RELOAD_CANDIDATES {
                    break 'legs;
                }
                if seen.insert(next.facts.id) {
                    candidates.push(next.facts.clone());
                }
            }
        }
        let chain = best_chain(
            &truck.facts,
            &candidates,
            2,
            3,
            &self.params,
            now.timestamp(),
        );
        let matches = ranked
            .iter()
            .take(limit)
            .filter_map(|r| Some((b.open_load(uuid_of(r.load_id))?, r)))
            .enumerate()
            .map(|(i, (l, r))| {
                let first = &l.terms.stops[0];
                let last = &l.terms.stops[l.terms.stops.len() - 1];
                LoadMatchView {
                    rank: i as u32 + 1,
                    load_id: l.terms.id,
                    broker_org_id: l.broker_org_id,
                    reference: l.terms.reference.clone(),
                    origin: first.location.clone(),
                    destination: last.location.clone(),
                    pickup_start: first.window.start,
                    pickup_end: first.window.end,
                    delivery_by: last.window.end,
                    equipment: l.terms.equipment.code().to_string(),
                    weight_lbs: l.terms.weight_lbs,
                    all_in_rate_cents: l.terms.all_in_rate_cents.map(lanerunner_core::Cents),
                    loaded_miles: l.terms.loaded_miles,
                    cost_cents: r.scored.cost_cents,
                    timing: Timing::from(&r.feasible),
                    terms: terms(&r.scored),
                }
            })
            .collect();
        Ok(TruckMatchesView {
            truck_id: id,
            matches,
            reload_chain: chain.as_ref().and_then(ChainView::new),
        })
    }
}
