//! What the tracking service consumes (tolerant types of its own, checked against the
//! publishers by the contract tests) and what it publishes.

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A load is booked: its stops become geofences to track.
pub const LOAD_BOOKED: EventType = EventType::new("load.booked", 1);
/// Delivered or cancelled: tracking stops.
pub const LOAD_STATUS_CHANGED: EventType = EventType::new("load.status_changed", 1);

/// A stop was reached or left, or delivery was confirmed: the load's status follows.
pub const STOP_EVENT: EventType = EventType::new("tracking.stop_event", 1);
/// The ETA passed a stop's window: someone is told before the receiver calls.
pub const LATE_RISK: EventType = EventType::new("tracking.late_risk", 1);
/// Where the truck is now, for the live views of the load's broker and carrier (one event
/// for each, since each organization hears only its own).
pub const UPDATED: EventType = EventType::new("tracking.updated", 1);

pub fn consumed_topics() -> Vec<String> {
    [LOAD_BOOKED, LOAD_STATUS_CHANGED]
        .iter()
        .map(EventType::topic)
        .collect()
}

/// `load.booked.v1`: the parties and the stops.
#[derive(Debug, Clone, Deserialize)]
pub struct LoadBooked {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub load: BookedLoad,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookedLoad {
    pub reference: String,
    pub stops: Vec<BookedStop>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookedStop {
    /// `pickup` or `delivery`.
    pub kind: String,
    pub location: BookedPlace,
    pub window: BookedWindow,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookedPlace {
    pub label: String,
    pub lat: f64,
    pub lon: f64,
    pub timezone: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookedWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// `load.status_changed.v1`, the fields tracking needs.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusChanged {
    pub load_id: Uuid,
    pub to: String,
}

/// `tracking.stop_event.v1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopEvent {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    /// The load's status event: `arrive_pickup`, `depart_pickup`, `arrive_delivery` or
    /// `deliver`.
    pub event: String,
    pub at: DateTime<Utc>,
    /// What reported it: `driver`, `webhook`...
    pub source: String,
}

/// `tracking.late_risk.v1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LateRisk {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub reference: String,
    pub stop: String,
    pub eta: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
}

/// `tracking.updated.v1`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Updated {
    pub load_id: Uuid,
    pub reference: String,
    pub lat: f64,
    pub lon: f64,
    pub at: DateTime<Utc>,
    /// The stop being approached or dwelt at, by label.
    pub next_stop: Option<String>,
    pub inside_fence: bool,
    pub eta: Option<DateTime<Utc>>,
    pub late: bool,
}
