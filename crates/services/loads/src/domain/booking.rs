//! What a covered load was booked at: stated by the broker when covering the load
//! (`event: cover` with `booking`), or agreed in the negotiation service
//! (`negotiated.rs`).

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use serde::Deserialize;
use uuid::Uuid;

use super::Violations;

/// The most a single truckload booking may be: $100,000 all-in. Anything above is a typo
/// (cents for dollars), not a load.
pub const MAX_BOOKED_RATE_CENTS: i64 = 10_000_000;

/// The booking as stored with the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking {
    /// The carrier that took the load, when it is on LaneRunner.
    pub carrier_org_id: Option<OrgId>,
    /// The agreed all-in rate; `None` when the load had no posted rate and none was given.
    pub rate_cents: Option<i64>,
    pub booked_at: DateTime<Utc>,
}

/// `booking` on a cover request.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    pub carrier_org_id: Option<Uuid>,
    /// Agreed all-in rate in cents; defaults to the load's posted all-in rate.
    pub rate_cents: Option<i64>,
}

impl BookingInput {
    /// The booking this input makes, or what is wrong with it. `posted_rate_cents` is the
    /// load's posted all-in rate, the default for an unstated rate. A carrier cannot be the
    /// broker itself.
    pub fn validate(
        self,
        broker: OrgId,
        posted_rate_cents: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Booking, Violations> {
        let mut v = Violations::default();
        if let Some(rate) = self.rate_cents {
            if !(1..=MAX_BOOKED_RATE_CENTS).contains(&rate) {
                v.add(
                    "booking.rate_cents",
                    format!("must be between 1 and {MAX_BOOKED_RATE_CENTS} cents"),
                );
            }
        }
        let carrier = self.carrier_org_id.map(OrgId);
        if carrier == Some(broker) {
            v.add(
                "booking.carrier_org_id",
                "is the broker's own organization; name the carrier that took the load",
            );
        }
        v.into_result(Booking {
            carrier_org_id: carrier,
            rate_cents: self.rate_cents.or(posted_rate_cents),
            booked_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROKER: OrgId = OrgId(Uuid::from_u128(1));
    const CARRIER: Uuid = Uuid::from_u128(2);

    fn now() -> DateTime<Utc> {
        "2026-12-03T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_unstated_rate_is_the_posted_rate() {
        let b = BookingInput {
            carrier_org_id: Some(CARRIER),
            rate_cents: None,
        }
        .validate(BROKER, Some(250_000), now())
        .unwrap();
        assert_eq!(b.rate_cents, Some(250_000));
        assert_eq!(b.carrier_org_id, Some(OrgId(CARRIER)));
        let none = BookingInput::default()
            .validate(BROKER, None, now())
            .unwrap();
        assert_eq!(none.rate_cents, None);
    }

    #[test]
    fn a_stated_rate_wins_over_the_posted_one() {
        let b = BookingInput {
            carrier_org_id: None,
            rate_cents: Some(231_000),
        }
        .validate(BROKER, Some(250_000), now())
        .unwrap();
        assert_eq!(b.rate_cents, Some(231_000));
    }

    #[test]
    fn absurd_rates_and_self_booking_are_refused_together() {
        for rate in [0, -5, MAX_BOOKED_RATE_CENTS + 1] {
            let v = BookingInput {
                carrier_org_id: Some(BROKER.0),
                rate_cents: Some(rate),
            }
            .validate(BROKER, None, now())
            .unwrap_err();
            assert_eq!(
                v.fields(),
                ["booking.rate_cents", "booking.carrier_org_id"],
                "{rate}"
            );
        }
    }
}
