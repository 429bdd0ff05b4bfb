//! What analytics consumes: the loads service's `load.booked.v1` (the market's rates),
//! `load.posted.v1` and `truck.posted.v1` (the market's supply and demand). Tolerant types
//! of this crate's own: only the fields analytics uses, unknown fields ignored. A contract
//! test (`tests/event_contracts.rs`) reads what the loads service publishes with them.

use chrono::{DateTime, Utc};
use lanerunner_core::market::RateKind;
use lanerunner_core::EventType;
use serde::Deserialize;
use uuid::Uuid;

pub const LOAD_BOOKED: EventType = EventType::new("load.booked", 1);
pub const LOAD_POSTED: EventType = EventType::new("load.posted", 1);
pub const TRUCK_POSTED: EventType = EventType::new("truck.posted", 1);
/// For the broker's own KPIs: delivered, cancelled, expired.
pub const LOAD_STATUS_CHANGED: EventType = EventType::new("load.status_changed", 1);

/// What analytics publishes: each market record it accepted, normalized and checked (the
/// payload is `lanerunner_core::market::BookingRecord` / `PostingRecord`), so the rate
/// model and any other reader of the market need not parse the loads service's events or
/// repeat the checks. Published once per record, however often its source event arrives.
pub const BOOKING_RECORDED: EventType = EventType::new("market.booking_recorded", 1);
pub const POSTING_RECORDED: EventType = EventType::new("market.posting_recorded", 1);

pub fn consumed_topics() -> Vec<String> {
    [LOAD_BOOKED, LOAD_POSTED, TRUCK_POSTED, LOAD_STATUS_CHANGED]
        .iter()
        .map(|t| t.topic())
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
pub struct Place {
    pub label: String,
    pub lat: f64,
    pub lon: f64,
    pub state: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Stop {
    /// `pickup` or `delivery`.
    pub kind: String,
    pub location: Place,
    pub window: Window,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Lane {
    pub origin_market: String,
    pub dest_market: String,
}

/// The public terms of a load, as far as the market needs them.
#[derive(Debug, Clone, Deserialize)]
pub struct LoadTerms {
    pub id: Uuid,
    pub broker_org_id: Uuid,
    pub stops: Vec<Stop>,
    pub equipment: String,
    pub weight_lbs: u32,
    pub loaded_miles: f64,
    #[serde(default)]
    pub all_in_rate_cents: Option<i64>,
    #[serde(default)]
    pub lane: Option<Lane>,
    #[serde(default)]
    pub posted_at: Option<DateTime<Utc>>,
}

/// `load.booked.v1`.
#[derive(Debug, Clone, Deserialize)]
pub struct Booked {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    #[serde(default)]
    pub carrier_org_id: Option<Uuid>,
    pub rate_cents: i64,
    pub rate_kind: RateKind,
    pub booked_at: DateTime<Utc>,
    #[serde(default)]
    pub posted_at: Option<DateTime<Utc>>,
    pub load: LoadTerms,
}

/// `load.status_changed.v1`, the fields the KPIs use.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusChanged {
    pub load_id: Uuid,
    pub to: String,
}

/// `truck.posted.v1`, the fields the market counts.
#[derive(Debug, Clone, Deserialize)]
pub struct TruckPosted {
    pub id: Uuid,
    pub carrier_org_id: Uuid,
    pub equipment: String,
    pub available_at: Place,
    pub available_from: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
