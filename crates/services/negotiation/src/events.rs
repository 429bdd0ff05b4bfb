//! What the negotiation service consumes (its own tolerant reading of the loads service's
//! `load.posted.v1` and `load.status_changed.v1`) and what it publishes.

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const LOAD_POSTED: EventType = EventType::new("load.posted", 1);
pub const LOAD_STATUS_CHANGED: EventType = EventType::new("load.status_changed", 1);
pub const CARRIER_STANDING: EventType = EventType::new("carrier.standing", 1);

/// A negotiation changed: opened, an offer made, agreed, rejected, withdrawn, expired.
pub const NEGOTIATION_UPDATED: EventType = EventType::new("negotiation.updated", 1);
/// A rate was agreed: the load is to be covered by this carrier at this rate (the loads
/// service acts on it; the rate confirmation is rendered from it).
pub const NEGOTIATION_AGREED: EventType = EventType::new("negotiation.agreed", 1);

pub fn consumed_topics() -> Vec<String> {
    [LOAD_POSTED, LOAD_STATUS_CHANGED, CARRIER_STANDING]
        .iter()
        .map(|t| t.topic())
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Place {
    /// "City, ST".
    pub label: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Stop {
    pub kind: String,
    pub location: Place,
    pub window: Window,
}

/// `load.posted.v1`, the fields a negotiation needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Posted {
    pub id: Uuid,
    pub broker_org_id: Uuid,
    pub stops: Vec<Stop>,
    pub loaded_miles: f64,
    pub equipment: String,
    pub weight_lbs: u32,
    #[serde(default)]
    pub all_in_rate_cents: Option<i64>,
    /// `public` or `private`.
    #[serde(default = "public")]
    pub visibility: String,
}

fn public() -> String {
    "public".into()
}

/// `carrier.standing.v1` from the carriers service, the fields vetting needs.
#[derive(Debug, Clone, Deserialize)]
pub struct CarrierStanding {
    pub carrier_org_id: Uuid,
    /// `verified`, `unverified` or `failed`.
    pub standing: String,
    #[serde(default)]
    pub reasons: Vec<String>,
    pub checked_at: DateTime<Utc>,
}

/// `load.status_changed.v1`, the fields a negotiation needs.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusChanged {
    pub load_id: Uuid,
    pub to: String,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Updated {
    pub negotiation_id: Uuid,
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Uuid,
    pub status: String,
    /// The protocol event (`offered`, `agreed`, `rejected`, `withdrawn`, `expired`), or
    /// `closed` when the load went elsewhere, or `approval_requested` (an agent's proposal
    /// waiting for a person); an agent's move carries `agent_reason`.
    pub event: serde_json::Value,
    /// The message's number in the negotiation (1, 2, …).
    pub seq: i64,
    /// `broker` or `carrier`.
    pub side: String,
    /// The person who moved; `null` for an agent or the service.
    pub author_id: Option<Uuid>,
    /// The words the move came in, when it came as text.
    pub text: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Agreed {
    pub negotiation_id: Uuid,
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Uuid,
    pub rate_cents: i64,
    pub total_cents: i64,
    pub book_now: bool,
    pub agreed_at: DateTime<Utc>,
}
