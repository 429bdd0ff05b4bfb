//! Projection records and how each event changes them. Delivery is at least once and not
//! necessarily in order (redelivery after a failure, several relays), so every merge is
//! idempotent and an older event never undoes a newer one.
//!
//! Loads: status and terms are versioned separately. `load.status_changed` and
//! `load.updated` carry the load's version; `load.posted` does not, but it never carries
//! new terms either (terms change only through `load.updated`, which carries them), so it
//! only fills terms not yet known. Trucks: postings are ordered by their `updated_at`;
//! removal is final because the loads service never reuses a truck id.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::events::{LoadTerms, TruckPosting};

/// The status in which a load is open for matching.
pub const OPEN_STATUS: &str = "posted";

#[derive(Debug, Clone, PartialEq)]
pub struct LoadRecord {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    /// `None` until a status is known.
    pub status: Option<String>,
    /// 0 when the status was inferred from `load.posted` (which has no version).
    pub status_version: i64,
    pub terms: Option<LoadTerms>,
    /// 0 when the terms came from `load.posted`.
    pub terms_version: i64,
}

#[derive(Debug, Clone)]
pub enum LoadChange {
    Posted(LoadTerms),
    Updated {
        version: i64,
        status: String,
        terms: LoadTerms,
    },
    StatusChanged {
        version: i64,
        to: String,
    },
}

impl LoadRecord {
    pub fn new(load_id: Uuid, broker_org_id: Uuid) -> Self {
        LoadRecord {
            load_id,
            broker_org_id,
            status: None,
            status_version: 0,
            terms: None,
            terms_version: 0,
        }
    }

    /// Applies `change`; returns whether anything changed.
    pub fn apply(&mut self, change: LoadChange) -> bool {
        let before = self.clone();
        match change {
            LoadChange::Posted(terms) => {
                if self.terms.is_none() {
                    self.terms = Some(terms);
                }
                if self.status.is_none() {
                    self.status = Some(OPEN_STATUS.to_string());
                }
            }
            LoadChange::Updated {
                version,
                status,
                terms,
            } => {
                if version > self.terms_version {
                    self.terms = Some(terms);
                    self.terms_version = version;
                }
                if version > self.status_version {
                    self.status = Some(status);
                    self.status_version = version;
                }
            }
            LoadChange::StatusChanged { version, to } => {
                if version > self.status_version {
                    self.status = Some(to);
                    self.status_version = version;
                }
            }
        }
        *self != before
    }

    /// Folds in another copy of the same load's record (the stored one, at a resync):
    /// each part keeps the newer version.
    pub fn merge(&mut self, other: &LoadRecord) {
        if other.status.is_some()
            && (self.status.is_none() || other.status_version > self.status_version)
        {
            self.status = other.status.clone();
            self.status_version = other.status_version;
        }
        if other.terms.is_some()
            && (self.terms.is_none() || other.terms_version > self.terms_version)
        {
            self.terms = other.terms.clone();
            self.terms_version = other.terms_version;
        }
    }

    /// Posted, with its terms known: matching offers it.
    pub fn is_open(&self) -> bool {
        self.status.as_deref() == Some(OPEN_STATUS) && self.terms.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TruckRecord {
    pub truck_id: Uuid,
    pub carrier_org_id: Uuid,
    pub posting: Option<TruckPosting>,
    pub removed: bool,
}

#[derive(Debug, Clone)]
pub enum TruckChange {
    Posted(TruckPosting),
    Removed,
}

impl TruckRecord {
    pub fn new(truck_id: Uuid, carrier_org_id: Uuid) -> Self {
        TruckRecord {
            truck_id,
            carrier_org_id,
            posting: None,
            removed: false,
        }
    }

    pub fn apply(&mut self, change: TruckChange) -> bool {
        let before = self.clone();
        match change {
            TruckChange::Posted(p) => {
                let newer = self
                    .posting
                    .as_ref()
                    .is_none_or(|held| p.updated_at > held.updated_at);
                if !self.removed && newer {
                    self.posting = Some(p);
                }
            }
            TruckChange::Removed => {
                self.removed = true;
                self.posting = None;
            }
        }
        *self != before
    }

    /// Folds in another copy of the same truck's record.
    pub fn merge(&mut self, other: &TruckRecord) {
        if other.removed {
            self.apply(TruckChange::Removed);
        } else if let Some(p) = &other.posting {
            self.apply(TruckChange::Posted(p.clone()));
        }
    }

    /// Not removed and its availability has not ended.
    pub fn is_available(&self, now: DateTime<Utc>) -> bool {
        !self.removed
            && self
                .posting
                .as_ref()
                .is_some_and(|p| p.available_until >= now)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::events::{Place, Stop, TruckDestination, Visibility, Window};
    use chrono::TimeZone;
    use lanerunner_matching::Trailer;
    use proptest::prelude::*;

    pub fn terms(id: Uuid, rate: i64) -> LoadTerms {
        let t = |h: i64| Utc.timestamp_opt(1_800_000_000 + h * 3600, 0).unwrap();
        let place = |label: &str, lat, lon| Place {
            label: label.into(),
            lat,
            lon,
            state: "TX".into(),
        };
        LoadTerms {
            id,
            reference: "R".into(),
            stops: vec![
                Stop {
                    kind: "pickup".into(),
                    location: place("Dallas, TX", 32.78, -96.8),
                    window: Window {
                        start: t(2),
                        end: t(6),
                    },
                },
                Stop {
                    kind: "delivery".into(),
                    location: place("Houston, TX", 29.76, -95.37),
                    window: Window {
                        start: t(20),
                        end: t(20),
                    },
                },
            ],
            equipment: Trailer::DryVan,
            trailer_length_ft: 53,
            weight_lbs: 40_000,
            hazmat: false,
            team: false,
            all_in_rate_cents: Some(rate),
            loaded_miles: 280.0,
            commodity: "paper".into(),
            visibility: Visibility::Public,
        }
    }

    fn status_of(version: i64) -> String {
        if version % 2 == 0 {
            "posted".into()
        } else {
            format!("s{version}")
        }
    }

    /// The events of one load: a version names one state, whichever event carries it.
    fn change(kind: u8, version: i64) -> LoadChange {
        let id = Uuid::from_u128(1);
        match kind {
            0 => LoadChange::Posted(terms(id, 0)),
            1 => LoadChange::Updated {
                version,
                status: status_of(version),
                terms: terms(id, version),
            },
            _ => LoadChange::StatusChanged {
                version,
                to: status_of(version),
            },
        }
    }

    proptest! {
        /// Whatever order the events arrive in, and however often each is repeated, the
        /// record holds the newest versioned status and terms.
        #[test]
        fn load_records_converge_in_any_order(
            events in prop::collection::vec((0u8..3, 1i64..6), 1..10)
                .prop_flat_map(|v| Just(v).prop_shuffle()),
        ) {
            let id = Uuid::from_u128(1);
            let mut r = LoadRecord::new(id, Uuid::from_u128(9));
            for (k, v) in &events {
                r.apply(change(*k, *v));
            }
            let newest_status = events.iter().filter(|(k, _)| *k != 0).map(|(_, v)| *v).max();
            let newest_terms = events.iter().filter(|(k, _)| *k == 1).map(|(_, v)| *v).max();
            let posted = events.iter().any(|(k, _)| *k == 0);
            match newest_status {
                Some(v) => {
                    prop_assert_eq!(r.status_version, v);
                    prop_assert_eq!(r.status.clone(), Some(status_of(v)));
                }
                None => prop_assert_eq!(r.status.as_deref(), posted.then_some("posted")),
            }
            match newest_terms {
                Some(v) => {
                    prop_assert_eq!(r.terms_version, v);
                    prop_assert_eq!(r.terms.clone(), Some(terms(id, v)));
                }
                None => prop_assert_eq!(r.terms.clone(), posted.then(|| terms(id, 0))),
            }
        }
    }

    #[test]
    fn a_late_posting_does_not_reopen_a_covered_load_or_replace_newer_terms() {
        let id = Uuid::from_u128(1);
        let mut r = LoadRecord::new(id, Uuid::from_u128(9));
        r.apply(LoadChange::StatusChanged {
            version: 2,
            to: "posted".into(),
        });
        r.apply(LoadChange::Updated {
            version: 3,
            status: "posted".into(),
            terms: terms(id, 300),
        });
        r.apply(LoadChange::StatusChanged {
            version: 4,
            to: "covered".into(),
        });
        assert!(!r.apply(LoadChange::Posted(terms(id, 100))));
        assert_eq!(r.status.as_deref(), Some("covered"));
        assert_eq!(r.terms.as_ref().unwrap().all_in_rate_cents, Some(300));
        assert!(!r.is_open());
    }

    #[test]
    fn a_posting_alone_opens_a_load_until_a_versioned_status_says_otherwise() {
        let id = Uuid::from_u128(1);
        let mut r = LoadRecord::new(id, Uuid::from_u128(9));
        r.apply(LoadChange::Posted(terms(id, 100)));
        assert!(r.is_open());
        r.apply(LoadChange::StatusChanged {
            version: 1,
            to: "cancelled".into(),
        });
        assert!(!r.is_open());
    }

    fn posting(updated: i64, until: i64) -> TruckPosting {
        TruckPosting {
            id: Uuid::from_u128(5),
            carrier_org_id: Uuid::from_u128(6),
            equipment: Trailer::DryVan,
            trailer_length_ft: None,
            available_at: Place {
                label: "Dallas, TX".into(),
                lat: 32.78,
                lon: -96.8,
                state: "TX".into(),
            },
            available_from: Utc.timestamp_opt(0, 0).unwrap(),
            available_until: Utc.timestamp_opt(until, 0).unwrap(),
            destination: TruckDestination::Anywhere,
            max_deadhead_miles: 100,
            min_rate_per_mile_cents: None,
            team: false,
            updated_at: Utc.timestamp_opt(updated, 0).unwrap(),
        }
    }

    #[test]
    fn trucks_keep_the_newest_posting_and_stay_removed() {
        let mut t = TruckRecord::new(Uuid::from_u128(5), Uuid::from_u128(6));
        assert!(t.apply(TruckChange::Posted(posting(20, 100))));
        assert!(!t.apply(TruckChange::Posted(posting(10, 999))));
        assert_eq!(t.posting.as_ref().unwrap().updated_at.timestamp(), 20);
        assert!(t.is_available(Utc.timestamp_opt(50, 0).unwrap()));
        assert!(!t.is_available(Utc.timestamp_opt(101, 0).unwrap()));
        assert!(t.apply(TruckChange::Removed));
        assert!(!t.apply(TruckChange::Posted(posting(30, 100))));
        assert!(!t.is_available(Utc.timestamp_opt(50, 0).unwrap()));
    }
}
