//! This instance's in-memory state: every projected load and truck, the open loads in a
//! [`LoadIndex`] and the available trucks in a `TruckIndex`. Built from the tables at
//! start-up, kept current by the consumer and the broadcast listener (both apply the same
//! idempotent, order-insensitive merges, so hearing an event twice changes nothing).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lanerunner_matching::{LoadFacts, TruckFacts, TruckIndex};
use uuid::Uuid;

use crate::domain::facts::{key, load_facts, truck_facts};
use crate::domain::load_index::IndexedLoad;
use crate::domain::{Destinations, LoadChange, LoadIndex, LoadRecord, TruckChange, TruckRecord};
use crate::events::{LoadTerms, TruckPosting, Visibility};

/// An open load as queries need it.
#[derive(Debug, Clone)]
pub struct OpenLoad {
    pub broker_org_id: Uuid,
    pub terms: LoadTerms,
    pub facts: LoadFacts,
}

/// An available truck as queries need it.
#[derive(Debug, Clone)]
pub struct AvailableTruck {
    pub posting: TruckPosting,
    pub facts: TruckFacts,
}

#[derive(Default)]
pub struct Board {
    loads: HashMap<Uuid, LoadRecord>,
    open: HashMap<Uuid, OpenLoad>,
    load_index: LoadIndex,
    trucks: HashMap<Uuid, TruckRecord>,
    available: HashMap<Uuid, AvailableTruck>,
    truck_index: TruckIndex,
}

impl Board {
    pub fn load_record(&self, id: Uuid) -> Option<&LoadRecord> {
        self.loads.get(&id)
    }

    pub fn open_load(&self, id: Uuid) -> Option<&OpenLoad> {
        self.open.get(&id)
    }

    pub fn truck_record(&self, id: Uuid) -> Option<&TruckRecord> {
        self.trucks.get(&id)
    }

    pub fn available_truck(&self, id: Uuid) -> Option<&AvailableTruck> {
        self.available.get(&id)
    }

    pub fn load_index(&self) -> &LoadIndex {
        &self.load_index
    }

    pub fn truck_index(&self) -> &TruckIndex {
        &self.truck_index
    }

    pub fn open_loads_of(&self, broker_org: Uuid) -> impl Iterator<Item = &OpenLoad> {
        self.open
            .values()
            .filter(move |l| l.broker_org_id == broker_org)
    }

    /// Ids of the available trucks, as the matching crates key them.
    pub fn truck_ids(&self) -> impl Iterator<Item = u128> + '_ {
        self.available.keys().map(|id| key(*id))
    }

    pub fn available_count(&self) -> usize {
        self.available.len()
    }

    pub fn apply_load(&mut self, id: Uuid, broker_org: Uuid, change: LoadChange) {
        let rec = self
            .loads
            .entry(id)
            .or_insert_with(|| LoadRecord::new(id, broker_org));
        if rec.apply(change) {
            let rec = rec.clone();
            self.reindex_load(&rec);
        }
    }

    pub fn merge_load(&mut self, stored: &LoadRecord) {
        let rec = self
            .loads
            .entry(stored.load_id)
            .or_insert_with(|| LoadRecord::new(stored.load_id, stored.broker_org_id));
        rec.merge(stored);
        let rec = rec.clone();
        self.reindex_load(&rec);
    }

    fn reindex_load(&mut self, rec: &LoadRecord) {
        let open = rec
            .terms
            .as_ref()
            .filter(|_| rec.is_open())
            .and_then(|t| load_facts(t).ok().map(|f| (t, f)));
        match open {
            Some((terms, facts)) => {
                self.load_index.upsert(IndexedLoad {
                    facts: facts.clone(),
                    public: terms.visibility == Visibility::Public,
                });
                self.open.insert(
                    rec.load_id,
                    OpenLoad {
                        broker_org_id: rec.broker_org_id,
                        terms: terms.clone(),
                        facts,
                    },
                );
            }
            None => {
                self.load_index.remove(key(rec.load_id));
                self.open.remove(&rec.load_id);
            }
        }
    }

    pub fn apply_truck(
        &mut self,
        id: Uuid,
        carrier_org: Uuid,
        change: TruckChange,
        now: DateTime<Utc>,
        destinations: &Destinations,
    ) {
        let rec = self
            .trucks
            .entry(id)
            .or_insert_with(|| TruckRecord::new(id, carrier_org));
        if rec.apply(change) {
            let rec = rec.clone();
            self.reindex_truck(&rec, now, destinations);
        }
    }

    pub fn merge_truck(&mut self, stored: &TruckRecord, now: DateTime<Utc>, d: &Destinations) {
        let rec = self
            .trucks
            .entry(stored.truck_id)
            .or_insert_with(|| TruckRecord::new(stored.truck_id, stored.carrier_org_id));
        rec.merge(stored);
        let rec = rec.clone();
        self.reindex_truck(&rec, now, d);
    }

    fn reindex_truck(&mut self, rec: &TruckRecord, now: DateTime<Utc>, d: &Destinations) {
        match rec.posting.as_ref().filter(|_| rec.is_available(now)) {
            Some(posting) => {
                let facts = truck_facts(posting, d);
                self.truck_index.upsert(facts.clone());
                self.available.insert(
                    rec.truck_id,
                    AvailableTruck {
                        posting: posting.clone(),
                        facts,
                    },
                );
            }
            None => {
                self.truck_index.remove(key(rec.truck_id));
                self.available.remove(&rec.truck_id);
            }
        }
    }

    /// Takes trucks whose availability has ended out of the index.
    pub fn sweep_expired(&mut self, now: DateTime<Utc>) -> usize {
        let expired: Vec<Uuid> = self
            .available
            .iter()
            .filter(|(_, t)| t.posting.available_until < now)
            .map(|(id, _)| *id)
            .collect();
        for id in &expired {
            self.truck_index.remove(key(*id));
            self.available.remove(id);
        }
        expired.len()
    }
}
