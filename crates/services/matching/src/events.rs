//! The events matching consumes (the loads service's) and publishes (`match.suggested`).
//!
//! Incoming payloads are read by tolerant types of this crate's own: only the fields
//! matching uses, unknown fields ignored, so the loads service can add fields freely.
//! None of them has a place for the broker's target or maximum rate, so the projection
//! cannot hold one even if a publisher sent it.

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use lanerunner_matching::{Term, Trailer};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const LOAD_POSTED: EventType = EventType::new("load.posted", 1);
pub const LOAD_UPDATED: EventType = EventType::new("load.updated", 1);
pub const LOAD_STATUS_CHANGED: EventType = EventType::new("load.status_changed", 1);
pub const TRUCK_POSTED: EventType = EventType::new("truck.posted", 1);
pub const TRUCK_REMOVED: EventType = EventType::new("truck.removed", 1);

/// One suggested (truck, load) pair: on a new load, a new or changed truck, or a batch run.
pub const MATCH_SUGGESTED: EventType = EventType::new("match.suggested", 1);

/// The topics the projection follows.
pub fn consumed_topics() -> Vec<String> {
    [
        LOAD_POSTED,
        LOAD_UPDATED,
        LOAD_STATUS_CHANGED,
        TRUCK_POSTED,
        TRUCK_REMOVED,
    ]
    .iter()
    .map(|t| t.topic())
    .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Private,
}

/// A place as the loads service resolved it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Place {
    pub label: String,
    pub lat: f64,
    pub lon: f64,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stop {
    /// `pickup` or `delivery`.
    pub kind: String,
    pub location: Place,
    pub window: Window,
}

/// The public terms of a load (`PublicLoadView` of the loads service, the fields matching
/// uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoadTerms {
    pub id: Uuid,
    pub reference: String,
    pub stops: Vec<Stop>,
    #[schema(value_type = String, example = "V")]
    pub equipment: Trailer,
    pub trailer_length_ft: u32,
    pub weight_lbs: u32,
    #[serde(default)]
    pub hazmat: bool,
    #[serde(default)]
    pub team: bool,
    /// The posted all-in rate; absent means "call for rate".
    #[serde(default)]
    pub all_in_rate_cents: Option<i64>,
    pub loaded_miles: f64,
    #[serde(default)]
    pub commodity: String,
    pub visibility: Visibility,
}

/// `load.updated.v1`.
#[derive(Debug, Clone, Deserialize)]
pub struct LoadUpdated {
    pub version: i64,
    pub status: String,
    pub load: LoadTerms,
}

/// `load.status_changed.v1`.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusChanged {
    pub load_id: Uuid,
    pub to: String,
    pub version: i64,
}

/// Where a truck wants to go next (`TruckDestination` of the loads service).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TruckDestination {
    #[default]
    Anywhere,
    States {
        states: Vec<String>,
    },
    Markets {
        markets: Vec<String>,
    },
}

/// A truck posting (`TruckView` of the loads service, the fields matching uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TruckPosting {
    pub id: Uuid,
    pub carrier_org_id: Uuid,
    #[schema(value_type = String, example = "V")]
    pub equipment: Trailer,
    #[serde(default)]
    pub trailer_length_ft: Option<u32>,
    pub available_at: Place,
    pub available_from: DateTime<Utc>,
    pub available_until: DateTime<Utc>,
    #[serde(default)]
    pub destination: TruckDestination,
    pub max_deadhead_miles: u32,
    #[serde(default)]
    pub min_rate_per_mile_cents: Option<i64>,
    #[serde(default)]
    pub team: bool,
    /// Orders postings of one truck: a posting older than the one held is ignored.
    pub updated_at: DateTime<Utc>,
}

/// `truck.removed.v1`.
#[derive(Debug, Clone, Deserialize)]
pub struct TruckRemoved {
    pub truck_id: Uuid,
}

/// Why a suggestion was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionSource {
    /// A load was posted: its best trucks.
    LoadPosted,
    /// A truck was posted or changed: its best public loads.
    TruckPosted,
    /// A pair of a batch assignment run.
    Run,
}

/// `match.suggested.v1`. Carries only public terms and the score's explanation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchSuggested {
    pub load_id: Uuid,
    pub truck_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Uuid,
    pub source: SuggestionSource,
    /// 1 is best, among the suggestions of the same source event or run.
    pub rank: u32,
    #[serde(default)]
    pub run_id: Option<Uuid>,
    pub cost_cents: f64,
    pub deadhead_miles: f64,
    pub terms: Vec<SuggestedTerm>,
}

/// A score term as it travels in an event (owned strings).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuggestedTerm {
    pub name: String,
    pub cost_cents: f64,
    pub detail: String,
}

impl From<&Term> for SuggestedTerm {
    fn from(t: &Term) -> Self {
        SuggestedTerm {
            name: t.name.to_string(),
            cost_cents: t.cost_cents,
            detail: t.detail.clone(),
        }
    }
}
