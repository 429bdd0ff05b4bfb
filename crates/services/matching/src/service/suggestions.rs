//! Suggestions: as the consumer projects a newly posted load (or a posted or changed
//! truck), the best partners are published as `match.suggested` in the same transaction.

use chrono::{DateTime, Utc};
use lanerunner_core::{EventEnvelope, LoadId, OrgId, TruckId};
use lanerunner_matching::{LoadFacts, TruckFacts};
use lanerunner_platform::outbox;
use lanerunner_platform::Tx;
use uuid::Uuid;

use super::Matching;
use crate::domain::facts::{load_facts, truck_facts, uuid_of};
use crate::events::{
    MatchSuggested, SuggestedTerm, SuggestionSource, LOAD_POSTED, MATCH_SUGGESTED,
};
use crate::projection::Incoming;
use crate::store;

/// Suggestions published per new load or truck.
pub const SUGGESTIONS_PER_EVENT: usize = 5;

/// What to publish, decided under the board lock and enqueued after it is released.
struct Suggestion {
    org: OrgId,
    payload: MatchSuggested,
}

impl Matching {
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
                let mut rec = store::lock_load(tx, OrgId(*broker_org), LoadId(*id)).await?;
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
                let mut rec = store::lock_truck(tx, OrgId(*carrier_org), TruckId(*id)).await?;
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
                org: OrgId(broker_org),
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
                org: OrgId(carrier_org),
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
}

pub(super) async fn enqueue(
    tx: &mut Tx,
    org: OrgId,
    payload: MatchSuggested,
) -> anyhow::Result<()> {
    let event = EventEnvelope::new(MATCH_SUGGESTED, Some(org), payload.load_id, &payload)?;
    outbox::enqueue(tx, &event).await?;
    Ok(())
}
