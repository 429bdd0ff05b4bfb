//! The load lifecycle as an explicit state machine.
//!
//! ```text
//! draft ─post→ posted ─cover→ covered ─dispatch→ dispatched ─arrive_pickup→ at_pickup
//!   ↑  ←unpost─┘  │                                                          │ depart_pickup
//!   │             └─expire→ expired                                          ↓
//!   │        closed ←close─ delivered ←deliver─ at_delivery ←arrive_delivery─ in_transit
//! cancel: from draft, posted, covered → cancelled; from dispatched or at_pickup →
//! cancelled with truck_ordered_not_used (a truck was sent for nothing: TONU is owed).
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadStatus {
    Draft,
    Posted,
    Covered,
    Dispatched,
    AtPickup,
    InTransit,
    AtDelivery,
    Delivered,
    Closed,
    /// `truck_ordered_not_used` when cancelled once a truck had been dispatched.
    Cancelled {
        truck_ordered_not_used: bool,
    },
    /// A posting whose pickup window passed while it was still on the board.
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoadEvent {
    Post,
    Unpost,
    Cover,
    Dispatch,
    ArrivePickup,
    DepartPickup,
    ArriveDelivery,
    Deliver,
    Close,
    Cancel,
    Expire,
}

impl LoadEvent {
    pub const ALL: [LoadEvent; 11] = [
        LoadEvent::Post,
        LoadEvent::Unpost,
        LoadEvent::Cover,
        LoadEvent::Dispatch,
        LoadEvent::ArrivePickup,
        LoadEvent::DepartPickup,
        LoadEvent::ArriveDelivery,
        LoadEvent::Deliver,
        LoadEvent::Close,
        LoadEvent::Cancel,
        LoadEvent::Expire,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoadEvent::Post => "post",
            LoadEvent::Unpost => "unpost",
            LoadEvent::Cover => "cover",
            LoadEvent::Dispatch => "dispatch",
            LoadEvent::ArrivePickup => "arrive_pickup",
            LoadEvent::DepartPickup => "depart_pickup",
            LoadEvent::ArriveDelivery => "arrive_delivery",
            LoadEvent::Deliver => "deliver",
            LoadEvent::Close => "close",
            LoadEvent::Cancel => "cancel",
            LoadEvent::Expire => "expire",
        }
    }
}

/// An event the current state does not accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} load cannot {event}", event = event.as_str())]
pub struct TransitionError {
    pub from: LoadStatus,
    pub event: LoadEvent,
}

impl LoadStatus {
    pub const ALL: [LoadStatus; 12] = [
        LoadStatus::Draft,
        LoadStatus::Posted,
        LoadStatus::Covered,
        LoadStatus::Dispatched,
        LoadStatus::AtPickup,
        LoadStatus::InTransit,
        LoadStatus::AtDelivery,
        LoadStatus::Delivered,
        LoadStatus::Closed,
        LoadStatus::Cancelled {
            truck_ordered_not_used: false,
        },
        LoadStatus::Cancelled {
            truck_ordered_not_used: true,
        },
        LoadStatus::Expired,
    ];

    pub fn transition(self, event: LoadEvent) -> Result<LoadStatus, TransitionError> {
        use LoadEvent as E;
        use LoadStatus as S;
        let next = match (self, event) {
            (S::Draft, E::Post) => S::Posted,
            (S::Posted, E::Unpost) => S::Draft,
            (S::Posted, E::Cover) => S::Covered,
            (S::Posted, E::Expire) => S::Expired,
            (S::Covered, E::Dispatch) => S::Dispatched,
            (S::Dispatched, E::ArrivePickup) => S::AtPickup,
            (S::AtPickup, E::DepartPickup) => S::InTransit,
            (S::InTransit, E::ArriveDelivery) => S::AtDelivery,
            (S::AtDelivery, E::Deliver) => S::Delivered,
            (S::Delivered, E::Close) => S::Closed,
            (S::Draft | S::Posted | S::Covered, E::Cancel) => S::Cancelled {
                truck_ordered_not_used: false,
            },
            (S::Dispatched | S::AtPickup, E::Cancel) => S::Cancelled {
                truck_ordered_not_used: true,
            },
            (from, event) => return Err(TransitionError { from, event }),
        };
        Ok(next)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LoadStatus::Draft => "draft",
            LoadStatus::Posted => "posted",
            LoadStatus::Covered => "covered",
            LoadStatus::Dispatched => "dispatched",
            LoadStatus::AtPickup => "at_pickup",
            LoadStatus::InTransit => "in_transit",
            LoadStatus::AtDelivery => "at_delivery",
            LoadStatus::Delivered => "delivered",
            LoadStatus::Closed => "closed",
            LoadStatus::Cancelled { .. } => "cancelled",
            LoadStatus::Expired => "expired",
        }
    }

    pub fn truck_ordered_not_used(self) -> bool {
        matches!(
            self,
            LoadStatus::Cancelled {
                truck_ordered_not_used: true
            }
        )
    }

    /// The broker may still change the load's terms.
    pub fn is_editable(self) -> bool {
        matches!(self, LoadStatus::Draft | LoadStatus::Posted)
    }

    /// Nothing can happen to the load any more.
    pub fn is_terminal(self) -> bool {
        LoadEvent::ALL.iter().all(|e| self.transition(*e).is_err())
    }

    /// Rebuilds a status from its stored name and TONU flag; `None` for a name no status
    /// has, or for the flag on a status other than cancelled (no transition sets it there).
    pub fn from_parts(name: &str, truck_ordered_not_used: bool) -> Option<LoadStatus> {
        Some(match name {
            "cancelled" => LoadStatus::Cancelled {
                truck_ordered_not_used,
            },
            _ if truck_ordered_not_used => return None,
            other => *LoadStatus::ALL
                .iter()
                .find(|s| s.as_str() == other && !matches!(s, LoadStatus::Cancelled { .. }))?,
        })
    }
}

impl fmt::Display for LoadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LoadEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LoadEvent::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown event `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use LoadEvent as E;
    use LoadStatus as S;

    const NO_TONU: S = S::Cancelled {
        truck_ordered_not_used: false,
    };
    const TONU: S = S::Cancelled {
        truck_ordered_not_used: true,
    };

    /// The whole table: every state × every event, the expected outcome (None = refused).
    fn expected(s: S, e: E) -> Option<S> {
        let table: &[(S, E, S)] = &[
            (S::Draft, E::Post, S::Posted),
            (S::Draft, E::Cancel, NO_TONU),
            (S::Posted, E::Unpost, S::Draft),
            (S::Posted, E::Cover, S::Covered),
            (S::Posted, E::Expire, S::Expired),
            (S::Posted, E::Cancel, NO_TONU),
            (S::Covered, E::Dispatch, S::Dispatched),
            (S::Covered, E::Cancel, NO_TONU),
            (S::Dispatched, E::ArrivePickup, S::AtPickup),
            (S::Dispatched, E::Cancel, TONU),
            (S::AtPickup, E::DepartPickup, S::InTransit),
            (S::AtPickup, E::Cancel, TONU),
            (S::InTransit, E::ArriveDelivery, S::AtDelivery),
            (S::AtDelivery, E::Deliver, S::Delivered),
            (S::Delivered, E::Close, S::Closed),
        ];
        table
            .iter()
            .find(|(from, ev, _)| *from == s && *ev == e)
            .map(|(_, _, to)| *to)
    }

    #[test]
    fn every_state_and_event_matches_the_table() {
        let mut allowed = 0;
        for s in S::ALL {
            for e in E::ALL {
                match (s.transition(e), expected(s, e)) {
                    (Ok(got), Some(want)) => {
                        assert_eq!(got, want, "{s} + {e:?}");
                        allowed += 1;
                    }
                    (Err(err), None) => {
                        assert_eq!(err, TransitionError { from: s, event: e });
                        assert!(err.to_string().contains(s.as_str()));
                    }
                    (got, want) => panic!("{s} + {e:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(allowed, 15);
    }

    #[test]
    fn terminal_states_and_editability() {
        for s in S::ALL {
            let terminal = matches!(s, S::Closed | S::Cancelled { .. } | S::Expired);
            assert_eq!(s.is_terminal(), terminal, "{s}");
        }
        assert!(S::Draft.is_editable() && S::Posted.is_editable());
        assert!(!S::Covered.is_editable());
    }

    #[test]
    fn statuses_round_trip_through_their_stored_parts() {
        for s in S::ALL {
            assert_eq!(
                S::from_parts(s.as_str(), s.truck_ordered_not_used()),
                Some(s)
            );
        }
        assert_eq!(S::from_parts("bogus", false), None);
        assert_eq!(S::from_parts("draft", true), None);
        for e in E::ALL {
            assert_eq!(e.as_str().parse::<E>().unwrap(), e);
        }
    }

    proptest! {
        /// Any sequence of events: the machine never leaves a terminal state, TONU is set
        /// exactly when a cancel follows a dispatch, and the happy path always closes.
        #[test]
        fn random_walks_respect_the_invariants(events in proptest::collection::vec(0usize..11, 0..40)) {
            let mut s = S::Draft;
            let mut dispatched = false;
            for i in events {
                let e = E::ALL[i];
                match s.transition(e) {
                    Ok(next) => {
                        prop_assert!(!s.is_terminal());
                        if next == S::Dispatched { dispatched = true; }
                        if next == S::Draft { dispatched = false; }
                        if let S::Cancelled { truck_ordered_not_used } = next {
                            prop_assert_eq!(truck_ordered_not_used, dispatched);
                        }
                        s = next;
                    }
                    Err(err) => prop_assert_eq!(err.from, s),
                }
            }
        }
    }

    #[test]
    fn the_happy_path_ends_closed() {
        let path = [
            E::Post,
            E::Cover,
            E::Dispatch,
            E::ArrivePickup,
            E::DepartPickup,
            E::ArriveDelivery,
            E::Deliver,
            E::Close,
        ];
        let end = path
            .iter()
            .try_fold(S::Draft, |s, e| s.transition(*e))
            .unwrap();
        assert_eq!(end, S::Closed);
    }
}
