//! Events into market records: pure, so every rule is unit-tested. A record that cannot be
//! built or fails the index's checks (`lanerunner_laneindex::validate`) becomes a
//! [`Refused`] with a stable code, which the consumer quarantines.

use chrono::{DateTime, Utc};
use lanerunner_core::market::{BookingRecord, PostingKind, PostingRecord};
use lanerunner_core::EventEnvelope;
use lanerunner_geo::{Gazetteer, LatLon, Markets};
use lanerunner_laneindex::validate;
use uuid::Uuid;

use crate::events::{
    Booked, LoadTerms, Place, TruckPosted, LOAD_BOOKED, LOAD_POSTED, TRUCK_POSTED,
};

/// Why an event was quarantined.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub code: &'static str,
    pub reason: String,
}

impl Refused {
    fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Refused {
            code,
            reason: reason.into(),
        }
    }
}

impl From<validate::Reject> for Refused {
    fn from(r: validate::Reject) -> Self {
        Refused::new(r.code(), r.to_string())
    }
}

/// What one event adds to the market.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Booking(BookingRecord),
    Posting(PostingRecord),
}

/// The gazetteer and markets that place a truck's origin in a market (the loads service
/// already names the markets of a load's lane).
pub struct Places {
    pub gazetteer: Gazetteer,
    pub markets: Markets,
}

impl Places {
    pub fn embedded() -> Self {
        let gazetteer = Gazetteer::embedded();
        let markets = Markets::key_market_areas(&gazetteer);
        Places { gazetteer, markets }
    }

    fn market_of(&self, p: &Place) -> Option<String> {
        let id = self
            .markets
            .market_of(&self.gazetteer, LatLon::new(p.lat, p.lon))?;
        self.markets.get(id).map(|m| m.code.clone())
    }

    pub fn is_market(&self, code: &str) -> bool {
        self.markets.by_code(code).is_some()
    }
}

/// Reads `event` into a record, judged at `now`. `Ok(None)` for a topic analytics does not
/// follow.
pub fn read(
    event: &EventEnvelope,
    places: &Places,
    now: DateTime<Utc>,
) -> Result<Option<Record>, Refused> {
    let parse_error =
        |e: serde_json::Error| Refused::new("unreadable", format!("{}: {e}", event.event_type));
    let record = if event.is(LOAD_BOOKED) {
        let b: Booked = serde_json::from_value(event.payload.clone()).map_err(parse_error)?;
        Record::Booking(booking(b)?)
    } else if event.is(LOAD_POSTED) {
        let t: LoadTerms = serde_json::from_value(event.payload.clone()).map_err(parse_error)?;
        Record::Posting(load_posting(t, event.occurred_at)?)
    } else if event.is(TRUCK_POSTED) {
        let t: TruckPosted = serde_json::from_value(event.payload.clone()).map_err(parse_error)?;
        Record::Posting(truck_posting(t, places)?)
    } else {
        return Ok(None);
    };
    match &record {
        Record::Booking(b) => validate::check(b, now)?,
        Record::Posting(p) => validate::check_posting(p, now)?,
    }
    Ok(Some(record))
}

fn lane(t: &LoadTerms) -> Result<&crate::events::Lane, Refused> {
    t.lane
        .as_ref()
        .ok_or_else(|| Refused::new("no-lane", "the load's places are in no known market"))
}

fn ends(t: &LoadTerms) -> Result<(&crate::events::Stop, &crate::events::Stop), Refused> {
    let first = t.stops.iter().find(|s| s.kind == "pickup");
    let last = t.stops.iter().rev().find(|s| s.kind == "delivery");
    match (first, last) {
        (Some(f), Some(l)) => Ok((f, l)),
        _ => Err(Refused::new(
            "no-stops",
            "a load needs a pickup and a delivery",
        )),
    }
}

/// The city part of a place label (`Dallas, TX` → `Dallas`).
fn city(label: &str) -> String {
    label.split(',').next().unwrap_or(label).trim().to_owned()
}

fn booking(b: Booked) -> Result<BookingRecord, Refused> {
    if b.load.id != b.load_id || b.load.broker_org_id != b.broker_org_id {
        return Err(Refused::new(
            "inconsistent",
            "the booking and its load name different ids",
        ));
    }
    let lane = lane(&b.load)?;
    let (pickup, delivery) = ends(&b.load)?;
    Ok(BookingRecord {
        load_id: b.load_id,
        booked_at: b.booked_at,
        pickup_date: pickup.window.start.date_naive(),
        origin_city: city(&pickup.location.label),
        origin_state: pickup.location.state.clone(),
        origin_lat: pickup.location.lat,
        origin_lon: pickup.location.lon,
        origin_market: lane.origin_market.clone(),
        dest_city: city(&delivery.location.label),
        dest_state: delivery.location.state.clone(),
        dest_lat: delivery.location.lat,
        dest_lon: delivery.location.lon,
        dest_market: lane.dest_market.clone(),
        equipment: b.load.equipment.clone(),
        miles: b.load.loaded_miles,
        weight_lbs: b.load.weight_lbs,
        broker_org_id: b.broker_org_id,
        // A carrier off the platform has no organization here; the nil id says so.
        carrier_org_id: b.carrier_org_id.unwrap_or(Uuid::nil()),
        rate_kind: b.rate_kind,
        // The loads service does not know the diesel price; the rate model joins its own
        // series on the booking day. Zero means "not recorded".
        diesel_cents_per_gallon: 0,
        rate_cents: b.rate_cents,
    })
}

fn load_posting(t: LoadTerms, occurred_at: DateTime<Utc>) -> Result<PostingRecord, Refused> {
    let lane = lane(&t)?;
    let (pickup, _) = ends(&t)?;
    Ok(PostingRecord {
        id: t.id,
        kind: PostingKind::Load,
        posted_at: t.posted_at.unwrap_or(occurred_at),
        org_id: t.broker_org_id,
        origin_market: lane.origin_market.clone(),
        dest_market: Some(lane.dest_market.clone()),
        equipment: t.equipment.clone(),
        ready_date: pickup.window.start.date_naive(),
    })
}

fn truck_posting(t: TruckPosted, places: &Places) -> Result<PostingRecord, Refused> {
    let origin = places
        .market_of(&t.available_at)
        .ok_or_else(|| Refused::new("no-market", "the truck's place is in no known market"))?;
    Ok(PostingRecord {
        id: t.id,
        kind: PostingKind::Truck,
        posted_at: t.updated_at,
        org_id: t.carrier_org_id,
        origin_market: origin,
        dest_market: None,
        equipment: t.equipment,
        ready_date: t.available_from.date_naive(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanerunner_core::OrgId;
    use serde_json::json;

    fn booked_payload() -> serde_json::Value {
        json!({
            "load_id": "00000000-0000-0000-0000-000000000001",
            "broker_org_id": "00000000-0000-0000-0000-0000000000b1",
            "carrier_org_id": null,
            "rate_cents": 250000, "rate_kind": "spot",
            "booked_at": "2026-06-01T15:00:00Z",
            "load": {
                "id": "00000000-0000-0000-0000-000000000001",
                "broker_org_id": "00000000-0000-0000-0000-0000000000b1",
                "stops": [
                    {"kind": "pickup", "location": {"label": "Dallas, TX", "lat": 32.78, "lon": -96.8, "state": "TX"},
                     "window": {"start": "2026-06-03T08:00:00Z", "end": "2026-06-03T14:00:00Z"}},
                    {"kind": "delivery", "location": {"label": "Atlanta, GA", "lat": 33.75, "lon": -84.39, "state": "GA"},
                     "window": {"start": "2026-06-05T09:00:00Z", "end": "2026-06-05T09:00:00Z"}}],
                "equipment": "V", "weight_lbs": 40000, "loaded_miles": 781.2,
                "lane": {"origin_market": "DAL-TX", "dest_market": "ATL-GA"},
                "max_rate_cents": 999
            }
        })
    }

    fn event(kind: lanerunner_core::EventType, payload: serde_json::Value) -> EventEnvelope {
        EventEnvelope::new(
            kind,
            Some(OrgId(Uuid::from_u128(0xb1))),
            Uuid::nil(),
            &payload,
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-06-02T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_booking_becomes_a_market_record() {
        let places = Places::embedded();
        let Some(Record::Booking(b)) =
            read(&event(LOAD_BOOKED, booked_payload()), &places, now()).unwrap()
        else {
            panic!("a booking")
        };
        assert_eq!(
            (b.origin_market.as_str(), b.dest_market.as_str()),
            ("DAL-TX", "ATL-GA")
        );
        assert_eq!(
            (b.origin_city.as_str(), b.dest_state.as_str()),
            ("Dallas", "GA")
        );
        assert_eq!(b.pickup_date.to_string(), "2026-06-03");
        assert_eq!(
            (b.rate_cents, b.miles, b.carrier_org_id),
            (250_000, 781.2, Uuid::nil())
        );
    }

    #[test]
    fn bad_events_are_refused_with_their_reason() {
        let places = Places::embedded();
        let refuse = |spoil: &dyn Fn(&mut serde_json::Value)| {
            let mut p = booked_payload();
            spoil(&mut p);
            read(&event(LOAD_BOOKED, p), &places, now())
                .unwrap_err()
                .code
        };
        assert_eq!(refuse(&|p| p["rate_cents"] = json!("lots")), "unreadable");
        assert_eq!(refuse(&|p| p["load"]["lane"] = json!(null)), "no-lane");
        assert_eq!(refuse(&|p| p["load"]["stops"] = json!([])), "no-stops");
        assert_eq!(
            refuse(&|p| p["load"]["id"] = json!("00000000-0000-0000-0000-000000000002")),
            "inconsistent"
        );
        assert_eq!(refuse(&|p| p["rate_cents"] = json!(0)), "rate-out-of-range");
        assert_eq!(
            refuse(&|p| p["load"]["equipment"] = json!("boat")),
            "unknown-equipment"
        );
        assert_eq!(
            refuse(&|p| p["booked_at"] = json!("2027-01-01T00:00:00Z")),
            "dated-in-future"
        );
    }

    #[test]
    fn a_truck_is_placed_in_its_market_and_other_topics_are_ignored() {
        let places = Places::embedded();
        let truck = json!({"id": "00000000-0000-0000-0000-0000000000c1", "carrier_org_id": "00000000-0000-0000-0000-0000000000c2",
            "equipment": "R", "available_at": {"label": "Chicago, IL", "lat": 41.88, "lon": -87.63, "state": "IL"},
            "available_from": "2026-06-01T06:00:00Z", "updated_at": "2026-06-01T05:00:00Z"});
        let Some(Record::Posting(p)) = read(&event(TRUCK_POSTED, truck), &places, now()).unwrap()
        else {
            panic!("a posting")
        };
        assert_eq!(
            (p.kind, p.origin_market.as_str(), p.equipment.as_str()),
            (PostingKind::Truck, "CHI-IL", "R")
        );
        let other = event(
            lanerunner_core::EventType::new("load.created", 1),
            json!({}),
        );
        assert_eq!(read(&other, &places, now()), Ok(None));
    }
}
