//! Batch runs: the exact assignment of a broker's open loads to the available trucks,
//! stored and published, and the reasons for what was left unassigned.

use lanerunner_core::RunId;
use std::collections::HashSet;

use chrono::Utc;
use lanerunner_core::{OrgKind, Role};
use lanerunner_matching::{assign_market, LoadFacts, UnassignedLoad};
use lanerunner_platform::http::Caller;
use uuid::Uuid;

use super::suggestions::enqueue;
use super::Matching;
use crate::domain::facts::uuid_of;
use crate::error::{MatchingError, Result};
use crate::events::{MatchSuggested, SuggestedTerm, SuggestionSource};
use crate::store;
use crate::views::{
    terms, RunPairView, RunView, Timing, UnassignedLoadReason, UnassignedLoadView,
    UnassignedTruckView,
};

/// Up to this many available trucks, a run gives the solver every truck (so every
/// unassigned load's reason counts every truck); above it, each load's best trucks.
const FULL_MARKET_TRUCKS: usize = 2_000;

impl Matching {
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
                .open_loads_of(caller.org.into())
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
        store::insert_run(
            &mut tx,
            caller.org,
            RunId(run.id),
            caller.actor_id(),
            now,
            &body,
        )
        .await?;
        for (i, p) in run.pairs.iter().enumerate() {
            enqueue(
                &mut tx,
                caller.org,
                MatchSuggested {
                    load_id: p.load_id,
                    truck_id: p.truck_id,
                    broker_org_id: caller.org.into(),
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
        let body = store::get_run(&self.db, caller.org, RunId(id))
            .await?
            .ok_or(MatchingError::NotFound("run"))?;
        // A stored run this build cannot read (say, a reason code it does not know) is a
        // fault to see in the logs, never something to paper over with a default.
        let mut body = body;
        add_legacy_reason_codes(&mut body);
        serde_json::from_value(body).map_err(|e| {
            tracing::error!(run_id = %id, error = %e, "stored matching run does not decode");
            MatchingError::Internal(anyhow::Error::from(e).context(format!("stored run {id}")))
        })
    }
}

/// Runs stored before reasons had codes carry only the words, which the solver wrote from a
/// fixed set of phrases: give each entry without a code the code its words were written
/// for. Words outside that set stay without a code, so such a run fails to decode (and is
/// logged) rather than being read as something it was not.
fn add_legacy_reason_codes(run: &mut serde_json::Value) {
    fn load_code(reason: &str) -> Option<&'static str> {
        match reason {
            "no trucks are available" => Some("no_trucks_available"),
            "every feasible truck is assigned to a load that needs it more" => {
                Some("trucks_needed_elsewhere")
            }
            r if r.starts_with("no feasible truck") => Some("no_feasible_truck"),
            _ => None,
        }
    }
    fn truck_code(reason: &str) -> Option<&'static str> {
        match reason {
            "no feasible load" => Some("no_feasible_load"),
            "its feasible loads went to better-placed trucks" => Some("loads_went_elsewhere"),
            _ => None,
        }
    }
    for (list, code_of) in [
        (
            "unassigned_loads",
            load_code as fn(&str) -> Option<&'static str>,
        ),
        ("unassigned_trucks", truck_code),
    ] {
        let Some(entries) = run.get_mut(list).and_then(|v| v.as_array_mut()) else {
            continue;
        };
        for entry in entries {
            let Some(obj) = entry.as_object_mut() else {
                continue;
            };
            if obj.contains_key("reason_code") {
                continue;
            }
            if let Some(code) = obj.get("reason").and_then(|r| r.as_str()).and_then(code_of) {
                obj.insert("reason_code".into(), code.into());
            }
        }
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
    fn runs_stored_before_reason_codes_get_the_code_of_their_words_and_no_other() {
        let mut run = serde_json::json!({
            "unassigned_loads": [
                {"load_id": Uuid::nil(), "reason": "no feasible truck: too heavy (3 of 4 trucks)"},
                {"load_id": Uuid::nil(), "reason": "no trucks are available"},
                {"load_id": Uuid::nil(), "reason": "something else entirely"}
            ],
            "unassigned_trucks": [{"truck_id": Uuid::nil(), "reason": "no feasible load"}]
        });
        add_legacy_reason_codes(&mut run);
        assert_eq!(
            run["unassigned_loads"][0]["reason_code"],
            "no_feasible_truck"
        );
        assert_eq!(
            run["unassigned_loads"][1]["reason_code"],
            "no_trucks_available"
        );
        assert!(run["unassigned_loads"][2].get("reason_code").is_none());
        assert_eq!(
            run["unassigned_trucks"][0]["reason_code"],
            "no_feasible_load"
        );
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
