//! What the voice service consumes (posted loads and their status, carriers' standing: the
//! facts a caller asks about; matching's suggestions: whom outreach calls) and publishes
//! (each call's debrief).

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const LOAD_POSTED: EventType = EventType::new("load.posted", 1);
pub const LOAD_STATUS_CHANGED: EventType = EventType::new("load.status_changed", 1);
pub const CARRIER_STANDING: EventType = EventType::new("carrier.standing", 1);
/// The carriers matching suggests for a load: whom outreach calls first.
pub const MATCH_SUGGESTED: EventType = EventType::new("match.suggested", 1);

/// A call ended: its outcome, sentiment and summary, on the load and the carrier.
pub const CALL_COMPLETED: EventType = EventType::new("voice.call_completed", 1);

pub fn consumed_topics() -> Vec<String> {
    [
        LOAD_POSTED,
        LOAD_STATUS_CHANGED,
        CARRIER_STANDING,
        MATCH_SUGGESTED,
    ]
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
    pub label: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Stop {
    pub kind: String,
    pub location: Place,
    pub window: Window,
}

/// `load.posted.v1`, the fields a caller is told.
#[derive(Debug, Clone, Deserialize)]
pub struct Posted {
    pub id: Uuid,
    pub broker_org_id: Uuid,
    pub reference: String,
    pub stops: Vec<Stop>,
    pub loaded_miles: f64,
    pub equipment: String,
    pub weight_lbs: u32,
    #[serde(default)]
    pub all_in_rate_cents: Option<i64>,
    #[serde(default = "public")]
    pub visibility: String,
}

fn public() -> String {
    "public".into()
}

/// `load.status_changed.v1`.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusChanged {
    pub load_id: Uuid,
    pub to: String,
}

/// `carrier.standing.v1`.
#[derive(Debug, Clone, Deserialize)]
pub struct Standing {
    pub carrier_org_id: Uuid,
    pub standing: String,
    pub usdot_number: u64,
    pub mc_number: Option<u64>,
    pub checked_at: DateTime<Utc>,
}

/// `match.suggested.v1`, the fields outreach ranks by.
#[derive(Debug, Clone, Deserialize)]
pub struct Suggested {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Uuid,
    pub cost_cents: f64,
}

/// `voice.call_completed.v1`, published to the broker's organization.
#[derive(Debug, Clone, Serialize)]
pub struct CallCompleted<'a> {
    pub call_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub mc_number: Option<i64>,
    pub load_id: Option<Uuid>,
    pub negotiation_id: Option<Uuid>,
    pub outcome: &'a str,
    pub agreed_cents: Option<i64>,
    pub sentiment: &'a str,
    pub summary: &'a str,
    pub ended_at: DateTime<Utc>,
}
