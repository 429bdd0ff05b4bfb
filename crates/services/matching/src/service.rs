//! The matching service's flows: the projection, the queries, the batch runs and the
//! suggestions they publish.

use std::collections::HashSet;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use lanerunner_core::{EventEnvelope, OrgId, OrgKind, Role};
use lanerunner_matching::{
    assign_market, best_chain, LoadFacts, MatchParams, TruckFacts, UnassignedLoad,
};
use lanerunner_platform::http::Caller;
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::{Db, Tx};
use uuid::Uuid;

use crate::board::Board;
use crate::domain::facts::{load_facts, truck_facts, uuid_of};
use crate::domain::Destinations;
use crate::error::{MatchingError, Result};
use crate::events::{
    MatchSuggested, SuggestedTerm, SuggestionSource, LOAD_POSTED, MATCH_SUGGESTED,
};
use crate::projection::Incoming;
use crate::store;
use crate::views::{
    terms, ChainView, LoadMatchView, LoadMatchesView, RunPairView, RunView, Timing, TruckMatchView,
    TruckMatchesView, UnassignedLoadReason, UnassignedLoadView, UnassignedTruckView,
};

/// Suggestions published per new load or truck.
pub const SUGGESTIONS_PER_EVENT: usize = 5;
/// Most matches one query returns.
pub const MAX_LIMIT: usize = 50;
/// The reload search starts from this many best first loads...
const RELOAD_FIRST_LEGS: usize = 8;
/// ...and looks at this many loads in all (first legs plus loads near their deliveries).
const RELOAD_CANDIDATES: usize = 40;
/// Up to this many available trucks, a run gives the solver every truck (so every
/// unassigned load's reason counts every truck); above it, each load's best trucks.
const FULL_MARKET_TRUCKS: usize = 2_000;

pub struct Matching {
    db: Db,
    outbox: OutboxSignal,
    params: MatchParams,
    destinations: Destinations,
    board: RwLock<Board>,
}

/// What to publish, decided under the board lock and enqueued after it is released.
struct Suggestion {
    org: Uuid,
    payload: MatchSuggested,
}

impl Matching {
    pub async fn open(ctx: &ServiceContext) -> anyhow::Result<Self> {
        let m = Matching {
            db: ctx.db.clone(),
            outbox: ctx.outbox.clone(),
            params: MatchParams::default(),
            destinations: Destinations::embedded(),
            board: RwLock::new(Board::default()),
        };
        m.resync().await?;
        Ok(m)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Board> {
        self.board.read().expect("board lock")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Board> {
        self.board.write().expect("board lock")
    }

    /// Folds every stored record into the board (start-up, after subscribing, and
    /// periodically: an instance may have missed events another instance consumed while it
    /// was starting).
    pub async fn resync(&self) -> anyhow::Result<()> {
        let loads = store::all_loads(&self.db).await?;
        let trucks = store::all_trucks(&self.db).await?;
        let now = Utc::now();
        let mut b = self.write();
        for l in &loads {
            b.merge_load(l);
        }
        for t in &trucks {
            b.merge_truck(t, now, &self.destinations);
        }
        b.sweep_expired(now);
        tracing::debug!(
            loads = loads.len(),
            trucks = trucks.len(),
            "matching board resynchronised"
        );
        Ok(())
    }

    pub fn sweep_expired(&self) -> usize {
        self.write().sweep_expired(Utc::now())
    }

    pub fn apply_to_board(&self, incoming: Incoming) {
        let mut b = self.write();
        match incoming {
            Incoming::Load {
                id,
                broker_org,
                change,
            } => b.apply_load(id, broker_org, change),
            Incoming::Truck {
                id,
                carrier_org,
                change,
            } => b.apply_truck(id, carrier_org, change, Utc::now(), &self.destinations),
        }
    }

    /// The consumer's work for one event, inside its transaction.
    pub async fn project(
        &self,
        tx: &mut Tx,
        event: &EventEnvelope,
        incoming: Incoming,
    ) -> anyhow::Result<()> {
        let now = Utc::now();
        let suggestions = match &incoming {
            Incoming::Load {
                id,
                broker_org,
                change,
            } => {
                let mut rec = store::lock_load(tx, *id, *broker_org).await?;
                if rec.apply(change.clone()) {
                    store::save_load(tx, &rec).await?;
                }
                let facts = rec.terms.as_ref().and_then(|t| load_facts(t).ok());
                match facts {
                    Some(facts) if event.is(LOAD_POSTED) && rec.is_open() => {
                        self.suggest_trucks(*id, rec.broker_org_id, &facts, now)
                    }
                    _ => Vec::new(),
                }
            }
            Incoming::Truck {
                id,
                carrier_org,
                change,
            } => {
                let mut rec = store::lock_truck(tx, *id, *carrier_org).await?;
                let changed = rec.apply(change.clone());
                if changed {
                    store::save_truck(tx, &rec).await?;
                }
                match &rec.posting {
                    Some(p) if changed && rec.is_available(now) => {
                        let facts = truck_facts(p, &self.destinations);
                        self.suggest_loads(*id, rec.carrier_org_id, &facts, now)
                    }
                    _ => Vec::new(),
                }
            }
        };
        self.apply_to_board(incoming);
        // The consumer runner wakes the outbox relay once this transaction commits.
        for s in suggestions {
            enqueue(tx, s.org, s.payload).await?;
        }
        Ok(())
    }

    /// The best trucks for a newly posted load, as suggestions to its broker.
    fn suggest_trucks(
        &self,
        load_id: Uuid,
        broker_org: Uuid,
        facts: &LoadFacts,
        now: DateTime<Utc>,
    ) -> Vec<Suggestion> {
        let b = self.read();
        b.truck_index()
            .rank_for_load(facts, SUGGESTIONS_PER_EVENT, &self.params, now.timestamp())
            .iter()
            .filter_map(|r| {
                let truck = b.available_truck(uuid_of(r.truck_id))?;
                (truck.posting.available_until >= now).then_some((truck, r))
            })
            .enumerate()
            .map(|(i, (truck, r))| Suggestion {
                org: broker_org,
                payload: MatchSuggested {
                    load_id,
                    truck_id: truck.posting.id,
                    broker_org_id: broker_org,
                    carrier_org_id: truck.posting.carrier_org_id,
                    source: SuggestionSource::LoadPosted,
                    rank: i as u32 + 1,
                    run_id: None,
                    cost_cents: r.scored.cost_cents,
                    deadhead_miles: r.feasible.deadhead_miles,
                    terms: r.scored.terms.iter().map(SuggestedTerm::from).collect(),
                },
            })
            .collect()
    }

    /// The best public loads for a newly posted (or changed) truck, to its carrier.
    fn suggest_loads(
        &self,
        truck_id: Uuid,
        carrier_org: Uuid,
        facts: &TruckFacts,
        now: DateTime<Utc>,
    ) -> Vec<Suggestion> {
        let b = self.read();
        b.load_index()
            .rank_for_truck(
                facts,
                SUGGESTIONS_PER_EVENT,
                &self.params,
                now.timestamp(),
                |l| l.public,
            )
            .iter()
            .filter_map(|r| Some((b.open_load(uuid_of(r.load_id))?, r)))
            .enumerate()
            .map(|(i, (load, r))| Suggestion {
                org: carrier_org,
                payload: MatchSuggested {
                    load_id: load.terms.id,
                    truck_id,
                    broker_org_id: load.broker_org_id,
                    carrier_org_id: carrier_org,
                    source: SuggestionSource::TruckPosted,
                    rank: i as u32 + 1,
                    run_id: None,
                    cost_cents: r.scored.cost_cents,
                    deadhead_miles: r.feasible.deadhead_miles,
                    terms: r.scored.terms.iter().map(SuggestedTerm::from).collect(),
                },
            })
            .collect()
    }

    /// Ranked feasible trucks for one of the caller's open loads.
    pub fn load_matches(&self, caller: &Caller, id: Uuid, limit: usize) -> Result<LoadMatchesView> {
        let limit = limit.clamp(1, MAX_LIMIT);
        for attempt in 0..2 {
            let now = Utc::now();
            {
                let b = self.read();
                let rec = b
                    .load_record(id)
                    .filter(|r| r.broker_org_id == caller.org.0)
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
            .filter(|r| r.carrier_org_id == caller.org.0)
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

    /// The exact batch assignment of the caller's open loads to the available trucks;
    /// stored, and published as one `match.suggested` per assigned pair.
    pub async fn run(&self, caller: &Caller) -> Result<RunView> {
        if caller.org_kind == OrgKind::Carrier {
            return Err(MatchingError::Forbidden(
                "batch runs assign a broker's or shipper's loads; carriers see matches per truck",
            ));
        }
        if !matches!(caller.role, Role::Owner | Role::Admin | Role::Dispatcher) {
            return Err(MatchingError::Forbidden(
                "your role may not start matching runs",
            ));
        }
        let now = Utc::now();
        self.sweep_expired();
        let (loads, trucks, carriers, available) = {
            let b = self.read();
            let mut loads: Vec<LoadFacts> = b
                .open_loads_of(caller.org.0)
                .map(|l| l.facts.clone())
                .collect();
            loads.sort_by_key(|l| l.id);
            let available = b.available_count();
            let ids: Vec<u128> = if available <= FULL_MARKET_TRUCKS {
                b.truck_ids().collect()
            } else {
                // Each load's best |loads| trucks hold an optimal assignment: a load matched
                // outside its own best |loads| always has a free truck among them (the
                // other loads use at most |loads| - 1), no worse, to swap to.
                let mut set = HashSet::new();
                for l in &loads {
                    for r in
                        b.truck_index()
                            .rank_for_load(l, loads.len(), &self.params, now.timestamp())
                    {
                        set.insert(r.truck_id);
                    }
                }
                set.into_iter().collect()
            };
            let mut trucks = Vec::with_capacity(ids.len());
            let mut carriers = std::collections::HashMap::with_capacity(ids.len());
            for id in ids {
                if let Some(t) = b.available_truck(uuid_of(id)) {
                    carriers.insert(id, t.posting.carrier_org_id);
                    trucks.push(t.facts.clone());
                }
            }
            trucks.sort_by_key(|t| t.id);
            (loads, trucks, carriers, available)
        };
        let result = assign_market(&trucks, &loads, &self.params, now.timestamp());
        let run = RunView {
            id: Uuid::now_v7(),
            created_at: now,
            loads: loads.len(),
            available_trucks: available,
            trucks_considered: trucks.len(),
            feasible_pairs: result.feasible_pairs,
            objective_cents: result.objective_cents,
            pairs: result
                .pairs
                .iter()
                .map(|p| RunPairView {
                    load_id: uuid_of(p.load_id),
                    truck_id: uuid_of(p.truck_id),
                    carrier_org_id: carriers.get(&p.truck_id).copied().unwrap_or_default(),
                    cost_cents: p.scored.cost_cents,
                    timing: Timing::from(&p.feasible),
                    terms: terms(&p.scored),
                })
                .collect(),
            unassigned_loads: result
                .unassigned_loads
                .iter()
                .map(|u| whole_board_reason(uuid_of(u.id), &u.reason, trucks.len(), available))
                .collect(),
            unassigned_trucks: result
                .unassigned_trucks
                .iter()
                .map(|u| UnassignedTruckView {
                    truck_id: uuid_of(u.id),
                    reason_code: u.reason.into(),
                    reason: u.reason.to_string(),
                })
                .collect(),
        };
        let body = serde_json::to_value(&run).map_err(anyhow::Error::from)?;
        let mut tx = self.db.begin().await?;
        store::insert_run(&mut tx, run.id, caller.org.0, caller.actor_id(), now, &body).await?;
        for (i, p) in run.pairs.iter().enumerate() {
            enqueue(
                &mut tx,
                caller.org.0,
                MatchSuggested {
                    load_id: p.load_id,
                    truck_id: p.truck_id,
                    broker_org_id: caller.org.0,
                    carrier_org_id: p.carrier_org_id,
                    source: SuggestionSource::Run,
                    rank: i as u32 + 1,
                    run_id: Some(run.id),
                    cost_cents: p.cost_cents,
                    deadhead_miles: p.timing.deadhead_miles,
                    terms: p
                        .terms
                        .iter()
                        .map(|t| SuggestedTerm {
                            name: t.name.clone(),
                            cost_cents: t.cost_cents,
                            detail: t.detail.clone(),
                        })
                        .collect(),
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.outbox.committed();
        tracing::info!(run_id = %run.id, loads = run.loads, pairs = run.pairs.len(), objective_cents = run.objective_cents, "matching run");
        Ok(run)
    }

    pub async fn get_run(&self, caller: &Caller, id: Uuid) -> Result<RunView> {
        let body = store::get_run(&self.db, caller.org.0, id)
            .await?
            .ok_or(MatchingError::NotFound("run"))?;
        // A stored run this build cannot read (say, a reason code it does not know) is a
        // fault to see in the logs, never something to paper over with a default.
        serde_json::from_value(body).map_err(|e| {
            tracing::error!(run_id = %id, error = %e, "stored matching run does not decode");
            MatchingError::Internal(anyhow::Error::from(e).context(format!("stored run {id}")))
        })
    }
}

/// A run's unassigned load, explained in terms of the whole board. `assign_market` explains
/// a load from the `considered` trucks it was given; when that was fewer than the
/// `available` trucks on the board (none at all, or each load's best few on a large
/// board), "no truck among those considered" means no feasible truck among the available
/// ones.
fn whole_board_reason(
    load_id: Uuid,
    reason: &UnassignedLoad,
    considered: usize,
    available: usize,
) -> UnassignedLoadView {
    let no_truck_on_board = || UnassignedLoadView {
        load_id,
        reason_code: UnassignedLoadReason::NoFeasibleTruck,
        reason: format!("no feasible truck among the {available} available trucks"),
    };
    let as_given = |reason_code| UnassignedLoadView {
        load_id,
        reason_code,
        reason: reason.to_string(),
    };
    match reason {
        UnassignedLoad::NoTrucksAvailable if available > 0 => no_truck_on_board(),
        UnassignedLoad::NoTrucksAvailable => as_given(UnassignedLoadReason::NoTrucksAvailable),
        UnassignedLoad::NoFeasibleTruck { .. } if considered < available => no_truck_on_board(),
        UnassignedLoad::NoFeasibleTruck { .. } => as_given(UnassignedLoadReason::NoFeasibleTruck),
        UnassignedLoad::TrucksNeededElsewhere => {
            as_given(UnassignedLoadReason::TrucksNeededElsewhere)
        }
    }
}

async fn enqueue(tx: &mut Tx, org: Uuid, payload: MatchSuggested) -> anyhow::Result<()> {
    let event = EventEnvelope::new(MATCH_SUGGESTED, Some(OrgId(org)), payload.load_id, &payload)?;
    outbox::enqueue(tx, &event).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanerunner_matching::Refusal;

    fn no_feasible(refused: usize, trucks: usize) -> UnassignedLoad {
        UnassignedLoad::NoFeasibleTruck {
            rule: Some(Refusal::Hazmat),
            refused,
            trucks,
        }
    }

    #[test]
    fn a_load_refused_by_every_truck_on_the_board_keeps_the_solvers_reason() {
        let v = whole_board_reason(Uuid::nil(), &no_feasible(3, 3), 3, 3);
        assert_eq!(v.reason_code, UnassignedLoadReason::NoFeasibleTruck);
        assert_eq!(v.reason, "no feasible truck: hazmat (3 of 3 trucks)");
    }

    #[test]
    fn a_load_refused_by_the_trucks_considered_is_explained_against_the_whole_board() {
        let v = whole_board_reason(Uuid::nil(), &no_feasible(2, 2), 2, 2_500);
        assert_eq!(v.reason_code, UnassignedLoadReason::NoFeasibleTruck);
        assert_eq!(
            v.reason,
            "no feasible truck among the 2500 available trucks"
        );
    }

    #[test]
    fn no_trucks_given_is_no_trucks_available_only_when_the_board_is_empty() {
        let v = whole_board_reason(Uuid::nil(), &UnassignedLoad::NoTrucksAvailable, 0, 0);
        assert_eq!(v.reason_code, UnassignedLoadReason::NoTrucksAvailable);
        assert_eq!(v.reason, "no trucks are available");
        let v = whole_board_reason(Uuid::nil(), &UnassignedLoad::NoTrucksAvailable, 0, 7);
        assert_eq!(v.reason_code, UnassignedLoadReason::NoFeasibleTruck);
        assert_eq!(v.reason, "no feasible truck among the 7 available trucks");
    }

    #[test]
    fn a_load_outbid_for_its_trucks_says_so_whatever_the_board() {
        for available in [1, 5_000] {
            let v = whole_board_reason(
                Uuid::nil(),
                &UnassignedLoad::TrucksNeededElsewhere,
                1,
                available,
            );
            assert_eq!(v.reason_code, UnassignedLoadReason::TrucksNeededElsewhere);
            assert_eq!(
                v.reason,
                "every feasible truck is assigned to a load that needs it more"
            );
        }
    }

    #[test]
    fn reason_codes_are_stable_snake_case_and_unknown_codes_do_not_decode() {
        let json = serde_json::to_value(UnassignedLoadReason::TrucksNeededElsewhere).unwrap();
        assert_eq!(json, "trucks_needed_elsewhere");
        let back: UnassignedLoadReason = serde_json::from_value(json).unwrap();
        assert_eq!(back, UnassignedLoadReason::TrucksNeededElsewhere);
        assert!(
            serde_json::from_value::<UnassignedLoadReason>("no trucks are available".into())
                .is_err()
        );
        assert!(
            serde_json::from_value::<UnassignedTruckView>(serde_json::json!({
                "truck_id": Uuid::nil(), "reason_code": "gone_fishing", "reason": "?"
            }))
            .is_err()
        );
    }
}
