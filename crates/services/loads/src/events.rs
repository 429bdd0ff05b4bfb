//! What the loads service publishes. Payloads meant for carriers' eyes (`load.posted`,
//! `search.alert`) carry only public fields: never the broker's target or maximum rate.

use chrono::{DateTime, Utc};
use lanerunner_core::market::RateKind;
use lanerunner_core::EventType;
use serde::Serialize;
use uuid::Uuid;

use crate::views::PublicLoadView;

pub const LOAD_CREATED: EventType = EventType::new("load.created", 1);
pub const LOAD_UPDATED: EventType = EventType::new("load.updated", 1);
pub const LOAD_POSTED: EventType = EventType::new("load.posted", 1);
pub const LOAD_STATUS_CHANGED: EventType = EventType::new("load.status_changed", 1);
pub const TRUCK_POSTED: EventType = EventType::new("truck.posted", 1);
pub const TRUCK_REMOVED: EventType = EventType::new("truck.removed", 1);
/// A covered load with a known rate: what the market learns from (analytics, rates).
pub const LOAD_BOOKED: EventType = EventType::new("load.booked", 1);
pub const SEARCH_ALERT: EventType = EventType::new("search.alert", 1);
/// Consumed: a rate agreed in the negotiation service, which covers the load.
pub const NEGOTIATION_AGREED: EventType = EventType::new("negotiation.agreed", 1);
/// Consumed: a stop reached or left, or delivery confirmed, as tracking saw it.
pub const TRACKING_STOP_EVENT: EventType = EventType::new("tracking.stop_event", 1);

/// `negotiation.agreed.v1`, the fields covering the load needs (a tolerant type of this
/// crate's own, checked against the publisher by the contract tests).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct NegotiationAgreed {
    pub negotiation_id: Uuid,
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Uuid,
    pub total_cents: i64,
}

/// `tracking.stop_event.v1`, as the loads service reads it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StopEvent {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    /// `arrive_pickup`, `depart_pickup`, `arrive_delivery` or `deliver`.
    pub event: String,
    pub at: DateTime<Utc>,
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct LoadCreated<'a> {
    pub load_id: Uuid,
    pub reference: &'a str,
    pub created_by: Uuid,
    /// `api`, `import` or `copy`.
    pub via: &'a str,
}

#[derive(Debug, Serialize)]
pub struct StatusChanged<'a> {
    pub load_id: Uuid,
    pub from: &'a str,
    pub to: &'a str,
    pub event: &'a str,
    pub truck_ordered_not_used: bool,
    pub actor_id: Uuid,
    pub reason: Option<&'a str>,
    pub version: i64,
    /// `public` or `private`: a public load leaving `posted` leaves every carrier's board.
    pub visibility: &'a str,
}

/// `load.booked.v1`. Carries the load's public terms; never the broker's target or
/// maximum rate.
#[derive(Debug, Serialize)]
pub struct Booked {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    /// The agreed all-in rate.
    pub rate_cents: i64,
    pub rate_kind: RateKind,
    pub booked_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
    pub load: PublicLoadView,
}

#[derive(Debug, Serialize)]
pub struct SearchAlert<'a> {
    pub search_id: Uuid,
    pub search_name: &'a str,
    /// The carrier organization that saved the search.
    pub carrier_org_id: Uuid,
    pub user_id: Uuid,
    pub load_id: Uuid,
    pub deadhead_miles: f64,
    pub loaded_miles: f32,
    pub rate_per_mile_cents: f32,
}

#[derive(Debug, Serialize)]
pub struct TruckChanged {
    pub truck_id: Uuid,
}
