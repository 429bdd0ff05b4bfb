//! What the carriers service publishes.

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use serde::Serialize;
use uuid::Uuid;

/// A carrier's standing was set or changed: declared, re-checked, or lapsed. Brokers'
/// services (negotiation) keep it to decide who may book.
pub const CARRIER_STANDING: EventType = EventType::new("carrier.standing", 1);

/// `carrier.standing.v1`.
#[derive(Debug, Clone, Serialize)]
pub struct StandingChanged<'a> {
    pub carrier_org_id: Uuid,
    /// `verified`, `unverified` or `failed`.
    pub standing: &'a str,
    /// `fmcsa` or `self_declared`.
    pub source: &'a str,
    pub reasons: &'a [String],
    pub usdot_number: u64,
    pub mc_number: Option<u64>,
    pub checked_at: DateTime<Utc>,
}
