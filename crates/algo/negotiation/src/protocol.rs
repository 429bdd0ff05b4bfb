//! The alternating-offers protocol and its state machine.
//!
//! A negotiation is `open` until it is `agreed`, `rejected`, `withdrawn` or `expired`.
//! While open, either party may make the first offer; after that the parties alternate
//! (the side whose offer stands waits for an answer), each may make at most
//! [`Terms::max_offers_per_side`] offers, and nothing happens at or after the deadline.
//! A carrier may Book Now at the posted rate at any point while open. Accepting takes the
//! standing offer of the other side, unless it has expired.
//!
//! [`Negotiation::apply`] changes nothing when it refuses a move: a refused move leaves no
//! trace, and what it returns on success are the events to record, in order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Side;

/// The largest all-in rate or accessorial a move may carry: $100,000, far above any
/// truckload, so a slip of the keyboard is refused rather than agreed.
pub const MAX_RATE_CENTS: i64 = 10_000_000;
pub const MAX_ACCESSORIAL_CENTS: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Accessorial {
    FuelSurcharge,
    Detention,
    Layover,
    Lumper,
    /// Truck ordered, not used.
    Tonu,
}

/// What a negotiation is held to, fixed when it opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    /// No move at or after it (the service sets it from the pickup time).
    pub deadline: DateTime<Utc>,
    /// Offers each side may make (DAT allows five bids and five counters).
    pub max_offers_per_side: u32,
    /// The load's posted all-in rate, which a carrier may Book Now at; `None`: no Book Now.
    pub posted_rate_cents: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub by: Side,
    /// The all-in linehaul rate.
    pub rate_cents: i64,
    pub accessorials: Vec<(Accessorial, i64)>,
    /// After it the offer cannot be accepted (`None`: until the deadline).
    pub expires_at: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

impl Offer {
    /// Rate and accessorials together: what is agreed when the offer is accepted.
    pub fn total_cents(&self) -> i64 {
        self.rate_cents + self.accessorials.iter().map(|(_, c)| c).sum::<i64>()
    }

    fn open_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Agreed,
    Rejected,
    Withdrawn,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Agreed => "agreed",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
            Status::Expired => "expired",
        }
    }
}

/// What a party asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "move", rename_all = "snake_case")]
pub enum Move {
    /// The carrier takes the posted rate as it stands.
    BookNow,
    /// An offer, or a counter to the standing one.
    Offer {
        rate_cents: i64,
        #[serde(default)]
        accessorials: Vec<(Accessorial, i64)>,
        #[serde(default)]
        expires_at: Option<DateTime<Utc>>,
    },
    /// Takes the other side's standing offer.
    Accept,
    /// Ends the negotiation: no deal.
    Reject,
    /// Ends the negotiation: the party walks away (its standing offer goes with it).
    Withdraw,
}

/// What happened, to record (and publish) in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Offered {
        offer: Offer,
    },
    Agreed {
        by: Side,
        rate_cents: i64,
        total_cents: i64,
        book_now: bool,
    },
    Rejected {
        by: Side,
    },
    Withdrawn {
        by: Side,
    },
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("the negotiation is {} and takes no more moves", .0.as_str())]
    Closed(Status),
    #[error("the deadline has passed")]
    PastDeadline,
    #[error("it is the {}'s turn: the {}'s offer stands", .0.other().as_str(), .0.as_str())]
    OutOfTurn(Side),
    #[error("the {side} has made all {limit} offers it may", side = .0.as_str(), limit = .1)]
    OfferLimit(Side, u32),
    #[error("there is no offer from the other side to accept")]
    NothingToAccept,
    #[error("the offer to accept expired")]
    OfferExpired,
    #[error("only a carrier can Book Now")]
    BookNowIsTheCarriers,
    #[error("this load has no posted rate to Book Now at")]
    NoPostedRate,
    #[error("{field} must be between {min} and {max} cents")]
    AmountOutOfRange {
        field: &'static str,
        min: i64,
        max: i64,
    },
    #[error("each accessorial may appear once")]
    RepeatedAccessorial,
    #[error("an offer's expiry must be after now and no later than the deadline")]
    BadExpiry,
    #[error("a negotiation needs a deadline after now and an offer limit of 1 to 100")]
    BadTerms,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Negotiation {
    pub terms: Terms,
    pub opened_at: DateTime<Utc>,
    pub status: Status,
    /// Every offer, oldest first.
    pub offers: Vec<Offer>,
    /// The agreed total, once agreed.
    pub agreed_cents: Option<i64>,
}

impl Negotiation {
    pub fn open(terms: Terms, now: DateTime<Utc>) -> Result<Self, ProtocolError> {
        if terms.deadline <= now || !(1..=100).contains(&terms.max_offers_per_side) {
            return Err(ProtocolError::BadTerms);
        }
        if let Some(posted) = terms.posted_rate_cents {
            check_amount("posted_rate_cents", posted, 1, MAX_RATE_CENTS)?;
        }
        Ok(Negotiation {
            terms,
            opened_at: now,
            status: Status::Open,
            offers: Vec::new(),
            agreed_cents: None,
        })
    }

    /// The offer that stands: the last one, while open.
    pub fn standing(&self) -> Option<&Offer> {
        (self.status == Status::Open)
            .then(|| self.offers.last())
            .flatten()
    }

    /// Who answers next: the side facing the standing offer; `None` before any offer
    /// (either may open) or once closed.
    pub fn turn(&self) -> Option<Side> {
        self.standing().map(|o| o.by.other())
    }

    pub fn offers_by(&self, side: Side) -> u32 {
        self.offers.iter().filter(|o| o.by == side).count() as u32
    }

    /// Whether `side` may still make an offer (its turn, under its limit, open, in time).
    pub fn may_offer(&self, side: Side, now: DateTime<Utc>) -> bool {
        self.status == Status::Open
            && now < self.terms.deadline
            && self.turn() != Some(side.other())
            && self.offers_by(side) < self.terms.max_offers_per_side
    }

    /// Closes an open negotiation whose deadline has come.
    pub fn expire_if_due(&mut self, now: DateTime<Utc>) -> Option<Event> {
        (self.status == Status::Open && now >= self.terms.deadline).then(|| {
            self.status = Status::Expired;
            Event::Expired
        })
    }

    /// Applies `mv` made by `by` at `now`: the events it caused, or why it is refused (and
    /// then nothing changed).
    pub fn apply(
        &mut self,
        by: Side,
        mv: Move,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, ProtocolError> {
        if self.status != Status::Open {
            return Err(ProtocolError::Closed(self.status));
        }
        if now >= self.terms.deadline {
            return Err(ProtocolError::PastDeadline);
        }
        let event = match mv {
            Move::BookNow => {
                if by != Side::Carrier {
                    return Err(ProtocolError::BookNowIsTheCarriers);
                }
                let rate = self
                    .terms
                    .posted_rate_cents
                    .ok_or(ProtocolError::NoPostedRate)?;
                self.agree(by, rate, rate, true)
            }
            Move::Offer {
                rate_cents,
                accessorials,
                expires_at,
            } => {
                check_amount("rate_cents", rate_cents, 1, MAX_RATE_CENTS)?;
                for (i, (kind, cents)) in accessorials.iter().enumerate() {
                    check_amount("accessorials", *cents, 0, MAX_ACCESSORIAL_CENTS)?;
                    if accessorials[..i].iter().any(|(k, _)| k == kind) {
                        return Err(ProtocolError::RepeatedAccessorial);
                    }
                }
                if expires_at.is_some_and(|e| e <= now || e > self.terms.deadline) {
                    return Err(ProtocolError::BadExpiry);
                }
                if self.turn() == Some(by.other()) {
                    return Err(ProtocolError::OutOfTurn(by));
                }
                let limit = self.terms.max_offers_per_side;
                if self.offers_by(by) >= limit {
                    return Err(ProtocolError::OfferLimit(by, limit));
                }
                let offer = Offer {
                    by,
                    rate_cents,
                    accessorials,
                    expires_at,
                    at: now,
                };
                self.offers.push(offer.clone());
                Event::Offered { offer }
            }
            Move::Accept => {
                let standing = self.standing().ok_or(ProtocolError::NothingToAccept)?;
                if standing.by == by {
                    return Err(ProtocolError::NothingToAccept);
                }
                if !standing.open_at(now) {
                    return Err(ProtocolError::OfferExpired);
                }
                let (rate, total) = (standing.rate_cents, standing.total_cents());
                self.agree(by, rate, total, false)
            }
            Move::Reject => {
                self.status = Status::Rejected;
                Event::Rejected { by }
            }
            Move::Withdraw => {
                self.status = Status::Withdrawn;
                Event::Withdrawn { by }
            }
        };
        Ok(vec![event])
    }

    fn agree(&mut self, by: Side, rate_cents: i64, total_cents: i64, book_now: bool) -> Event {
        self.status = Status::Agreed;
        self.agreed_cents = Some(total_cents);
        Event::Agreed {
            by,
            rate_cents,
            total_cents,
            book_now,
        }
    }
}

fn check_amount(field: &'static str, v: i64, min: i64, max: i64) -> Result<(), ProtocolError> {
    if (min..=max).contains(&v) {
        Ok(())
    } else {
        Err(ProtocolError::AmountOutOfRange { field, min, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(h: i64) -> DateTime<Utc> {
        "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(h)
    }

    fn open(limit: u32) -> Negotiation {
        Negotiation::open(
            Terms {
                deadline: t(10),
                max_offers_per_side: limit,
                posted_rate_cents: Some(200_000),
            },
            t(0),
        )
        .unwrap()
    }

    fn offer(rate: i64) -> Move {
        Move::Offer {
            rate_cents: rate,
            accessorials: vec![],
            expires_at: None,
        }
    }

    #[test]
    fn offers_alternate_and_accepting_agrees_on_the_standing_total() {
        let mut n = open(3);
        assert_eq!(n.turn(), None);
        n.apply(Side::Carrier, offer(230_000), t(1)).unwrap();
        assert_eq!(
            n.apply(Side::Carrier, offer(225_000), t(1)),
            Err(ProtocolError::OutOfTurn(Side::Carrier))
        );
        assert_eq!(
            n.apply(Side::Carrier, Move::Accept, t(1)),
            Err(ProtocolError::NothingToAccept)
        );
        n.apply(
            Side::Broker,
            Move::Offer {
                rate_cents: 210_000,
                accessorials: vec![(Accessorial::FuelSurcharge, 5_000)],
                expires_at: None,
            },
            t(2),
        )
        .unwrap();
        let events = n.apply(Side::Carrier, Move::Accept, t(3)).unwrap();
        assert_eq!(
            events,
            [Event::Agreed {
                by: Side::Carrier,
                rate_cents: 210_000,
                total_cents: 215_000,
                book_now: false
            }]
        );
        assert_eq!((n.status, n.agreed_cents), (Status::Agreed, Some(215_000)));
        assert_eq!(
            n.apply(Side::Broker, Move::Withdraw, t(3)),
            Err(ProtocolError::Closed(Status::Agreed))
        );
    }

    #[test]
    fn limits_deadlines_expiries_and_book_now_hold() {
        let mut n = open(1);
        n.apply(Side::Broker, offer(190_000), t(1)).unwrap();
        n.apply(Side::Carrier, offer(220_000), t(1)).unwrap();
        assert_eq!(
            n.apply(Side::Broker, offer(200_000), t(2)),
            Err(ProtocolError::OfferLimit(Side::Broker, 1))
        );
        assert_eq!(
            n.apply(Side::Broker, Move::BookNow, t(2)),
            Err(ProtocolError::BookNowIsTheCarriers)
        );
        let before = n.clone();
        assert_eq!(
            n.apply(Side::Broker, Move::Accept, t(10)),
            Err(ProtocolError::PastDeadline)
        );
        assert_eq!(n, before, "a refused move changes nothing");
        assert_eq!(n.expire_if_due(t(10)), Some(Event::Expired));
        assert_eq!(n.expire_if_due(t(11)), None);

        let mut n = open(3);
        let e = Move::Offer {
            rate_cents: 210_000,
            accessorials: vec![],
            expires_at: Some(t(2)),
        };
        n.apply(Side::Broker, e, t(1)).unwrap();
        assert_eq!(
            n.apply(Side::Carrier, Move::Accept, t(2)),
            Err(ProtocolError::OfferExpired)
        );
        let events = n.apply(Side::Carrier, Move::BookNow, t(2)).unwrap();
        assert!(matches!(
            events[0],
            Event::Agreed {
                total_cents: 200_000,
                book_now: true,
                ..
            }
        ));
    }

    #[test]
    fn absurd_amounts_and_terms_are_refused() {
        let mut n = open(3);
        for bad in [0, -5, MAX_RATE_CENTS + 1] {
            assert!(matches!(
                n.apply(Side::Broker, offer(bad), t(1)),
                Err(ProtocolError::AmountOutOfRange {
                    field: "rate_cents",
                    ..
                })
            ));
        }
        let twice = Move::Offer {
            rate_cents: 1,
            accessorials: vec![(Accessorial::Lumper, 1), (Accessorial::Lumper, 2)],
            expires_at: None,
        };
        assert_eq!(
            n.apply(Side::Broker, twice, t(1)),
            Err(ProtocolError::RepeatedAccessorial)
        );
        let late = Move::Offer {
            rate_cents: 1,
            accessorials: vec![],
            expires_at: Some(t(11)),
        };
        assert_eq!(
            n.apply(Side::Broker, late, t(1)),
            Err(ProtocolError::BadExpiry)
        );
        assert!(n.offers.is_empty());
        let terms = Terms {
            deadline: t(0),
            max_offers_per_side: 3,
            posted_rate_cents: None,
        };
        assert_eq!(Negotiation::open(terms, t(0)), Err(ProtocolError::BadTerms));
    }
}
