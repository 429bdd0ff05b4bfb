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
/// Who hauls a load, and where it was last seen: whom a check call goes to, and when.
pub const LOAD_BOOKED: EventType = EventType::new("load.booked", 1);
pub const TRACKING_UPDATED: EventType = EventType::new("tracking.updated", 1);

/// A call ended: its outcome, sentiment and summary, on the load and the carrier.
pub const CALL_COMPLETED: EventType = EventType::new("voice.call_completed", 1);

pub fn consumed_topics() -> Vec<String> {
    [
        LOAD_POSTED,
        LOAD_STATUS_CHANGED,
        CARRIER_STANDING,
        MATCH_SUGGESTED,
        LOAD_BOOKED,
        TRACKING_UPDATED,
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

/// `load.booked.v1`, the carrier.
#[derive(Debug, Clone, Deserialize)]
pub struct Booked {
    pub load_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
}

/// `tracking.updated.v1`, when the truck was seen.
#[derive(Debug, Clone, Deserialize)]
pub struct Tracked {
    pub load_id: Uuid,
    pub at: DateTime<Utc>,
}

/// What the driver or dispatcher said on a check call, in their words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckIn {
    /// Where the truck is.
    pub location: Option<String>,
    /// When it expects to deliver.
    pub eta: Option<String>,
    /// Anything wrong on the road.
    pub issues: Option<String>,
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
    /// `inbound`, `outbound` (outreach) or `check_call`.
    pub direction: &'a str,
    /// A check call's answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_in: Option<&'a CheckIn>,
    pub ended_at: DateTime<Utc>,
}
