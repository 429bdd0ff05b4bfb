//! Ingestion checks: a booking or posting that cannot be a real one is refused with a
//! reason (the analytics service quarantines it with that reason), never dropped silently
//! and never allowed to skew a lane's rates.

use chrono::{DateTime, Duration, Utc};
use lanerunner_core::market::{BookingRecord, PostingRecord};

/// Equipment codes the index knows (the load board's short codes).
pub const EQUIPMENT: [&str; 8] = ["V", "R", "F", "SD", "PO", "HS", "TNK", "CONT"];

/// Loaded miles beyond this are not one truckload move in North America.
pub const MAX_MILES: f64 = 4_000.0;
/// All-in rates beyond $100,000 are a units mistake (cents for dollars), not a load.
pub const MAX_RATE_CENTS: i64 = 10_000_000;
/// Per-mile bounds outside which a report is implausible (25 ¢ to $50 a mile; very short
/// hauls pay a minimum charge, hence the high ceiling).
pub const RATE_PER_MILE_CENTS: (f64, f64) = (25.0, 5_000.0);
/// How far in the future a report's time may be (clock skew between services).
pub const MAX_FUTURE: Duration = Duration::hours(1);

/// Why a record was refused: a stable `code` for the quarantine and a readable message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Reject {
    #[error("{0} market is empty")]
    MissingMarket(&'static str),
    #[error("unknown equipment {0:?}")]
    UnknownEquipment(String),
    #[error("miles {0} is not between 0 and {MAX_MILES}")]
    Miles(f64),
    #[error("rate {0} cents is not between 1 and {MAX_RATE_CENTS}")]
    Rate(i64),
    #[error("{0:.1} cents a mile is implausible")]
    RatePerMile(f64),
    #[error("dated {0}, in the future")]
    Future(DateTime<Utc>),
    #[error("the pickup is {0} days before the booking")]
    PickupBeforeBooking(i64),
}

impl Reject {
    pub fn code(&self) -> &'static str {
        match self {
            Reject::MissingMarket(_) => "missing-market",
            Reject::UnknownEquipment(_) => "unknown-equipment",
            Reject::Miles(_) => "miles-out-of-range",
            Reject::Rate(_) => "rate-out-of-range",
            Reject::RatePerMile(_) => "rate-per-mile-implausible",
            Reject::Future(_) => "dated-in-future",
            Reject::PickupBeforeBooking(_) => "pickup-before-booking",
        }
    }
}

fn equipment(code: &str) -> Result<(), Reject> {
    if EQUIPMENT.contains(&code) {
        Ok(())
    } else {
        Err(Reject::UnknownEquipment(code.to_owned()))
    }
}

/// Whether `r` may enter the index, judged at `now`.
pub fn check(r: &BookingRecord, now: DateTime<Utc>) -> Result<(), Reject> {
    if r.origin_market.trim().is_empty() {
        return Err(Reject::MissingMarket("origin"));
    }
    if r.dest_market.trim().is_empty() {
        return Err(Reject::MissingMarket("destination"));
    }
    equipment(&r.equipment)?;
    if !(r.miles > 0.0 && r.miles <= MAX_MILES) {
        return Err(Reject::Miles(r.miles));
    }
    if !(1..=MAX_RATE_CENTS).contains(&r.rate_cents) {
        return Err(Reject::Rate(r.rate_cents));
    }
    let rpm = r.rate_cents as f64 / r.miles;
    if !(RATE_PER_MILE_CENTS.0..=RATE_PER_MILE_CENTS.1).contains(&rpm) {
        return Err(Reject::RatePerMile(rpm));
    }
    if r.booked_at > now + MAX_FUTURE {
        return Err(Reject::Future(r.booked_at));
    }
    // A load booked after it was picked up is a late entry; a week late is a bad record.
    let late = (r.booked_at.date_naive() - r.pickup_date).num_days();
    if late > 7 {
        return Err(Reject::PickupBeforeBooking(late));
    }
    Ok(())
}

/// Whether a posting may count toward a market's load-to-truck ratio.
pub fn check_posting(p: &PostingRecord, now: DateTime<Utc>) -> Result<(), Reject> {
    if p.origin_market.trim().is_empty() {
        return Err(Reject::MissingMarket("origin"));
    }
    equipment(&p.equipment)?;
    if p.posted_at > now + MAX_FUTURE {
        return Err(Reject::Future(p.posted_at));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use lanerunner_core::market::RateKind;
    use uuid::Uuid;

    pub fn booking(day: &str, rate_cents: i64, broker: u128) -> BookingRecord {
        let booked_at: DateTime<Utc> = format!("{day}T14:00:00Z").parse().unwrap();
        BookingRecord {
            load_id: Uuid::new_v4(),
            booked_at,
            pickup_date: booked_at.date_naive() + Duration::days(2),
            origin_city: "Chicago".into(),
            origin_state: "IL".into(),
            origin_lat: 41.88,
            origin_lon: -87.63,
            origin_market: "CHI-IL".into(),
            dest_city: "Dallas".into(),
            dest_state: "TX".into(),
            dest_lat: 32.78,
            dest_lon: -96.8,
            dest_market: "DAL-TX".into(),
            equipment: "V".into(),
            miles: 1_000.0,
            weight_lbs: 40_000,
            broker_org_id: Uuid::from_u128(broker),
            carrier_org_id: Uuid::from_u128(9_999),
            rate_kind: RateKind::Spot,
            diesel_cents_per_gallon: 380,
            rate_cents,
        }
    }

    #[test]
    fn implausible_reports_are_refused_with_their_reason() {
        let now: DateTime<Utc> = "2026-06-30T00:00:00Z".parse().unwrap();
        let ok = booking("2026-06-01", 250_000, 1);
        assert_eq!(check(&ok, now), Ok(()));
        type Spoil = Box<dyn Fn(&mut BookingRecord)>;
        let cases: Vec<(Spoil, &str)> = vec![
            (Box::new(|r| r.origin_market.clear()), "missing-market"),
            (Box::new(|r| r.dest_market = " ".into()), "missing-market"),
            (Box::new(|r| r.equipment = "XX".into()), "unknown-equipment"),
            (Box::new(|r| r.miles = 0.0), "miles-out-of-range"),
            (Box::new(|r| r.miles = f64::NAN), "miles-out-of-range"),
            (Box::new(|r| r.miles = 5_000.0), "miles-out-of-range"),
            (Box::new(|r| r.rate_cents = 0), "rate-out-of-range"),
            (Box::new(|r| r.rate_cents = 25_000_000), "rate-out-of-range"),
            (
                Box::new(|r| r.rate_cents = 10_000),
                "rate-per-mile-implausible",
            ),
            (
                Box::new(|r| r.booked_at = "2026-07-02T00:00:00Z".parse().unwrap()),
                "dated-in-future",
            ),
            (
                Box::new(|r| r.pickup_date = "2026-05-01".parse().unwrap()),
                "pickup-before-booking",
            ),
        ];
        for (spoil, code) in cases {
            let mut r = ok.clone();
            spoil(&mut r);
            assert_eq!(check(&r, now).unwrap_err().code(), code, "{r:?}");
        }
    }
}
