//! The facts matching needs about a truck and a load, and the tunable parameters.

use lanerunner_geo::LatLon;
use serde::{Deserialize, Serialize};

use crate::equipment::Trailer;

#[derive(Debug, Clone, PartialEq)]
pub struct TruckFacts {
    pub id: u128,
    pub trailer: Trailer,
    pub position: LatLon,
    /// When the truck is empty and ready at `position`, Unix seconds.
    pub available_at: i64,
    /// Driving hours left in the current duty day (11 when fresh).
    pub drive_hours_left: f64,
    pub max_weight_lbs: u32,
    pub trailer_length_ft: u32,
    pub team: bool,
    pub hazmat: bool,
    /// The most empty miles the carrier accepts to reach a pickup.
    pub max_deadhead_miles: f64,
    /// The carrier's floor, in cents per loaded mile.
    pub min_rate_per_mile_cents: i64,
    /// Where the truck wants to end up, if anywhere in particular.
    pub destination: Option<LatLon>,
    /// Loads this carrier has hauled on the load's lane (its history with the broker/lane).
    pub lane_history: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadFacts {
    pub id: u128,
    pub trailer: Trailer,
    pub origin: LatLon,
    pub destination: LatLon,
    /// Pickup window, Unix seconds, start ≤ end.
    pub pickup_start: i64,
    pub pickup_end: i64,
    /// Delivery appointment (latest), Unix seconds.
    pub delivery_end: i64,
    pub weight_lbs: u32,
    pub length_ft: u32,
    pub team_required: bool,
    pub hazmat: bool,
    /// All-in rate offered, cents.
    pub rate_cents: i64,
    /// Road miles origin → destination.
    pub loaded_miles: f64,
}

/// Weights and limits of the score. Costs are in cents so terms add up to money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchParams {
    /// What an empty mile costs the carrier (fuel, wear, driver pay): ATRI's 2024
    /// operational cost study puts the marginal cost near $2.00/mile.
    pub empty_mile_cost_cents: f64,
    /// Cost of each mile the delivery lands away from where the truck wants to go.
    pub off_destination_mile_cost_cents: f64,
    /// Bonus per past load on the lane, capped at `lane_history_cap`.
    pub lane_history_bonus_cents: f64,
    pub lane_history_cap: u32,
    /// Pickups with less slack than this are penalised linearly (schedule risk).
    pub comfortable_slack_secs: i64,
    pub tight_slack_cost_cents: f64,
    /// Planning speed, miles per hour, including traffic and fuel stops.
    pub average_speed_mph: f64,
    /// Time at a stop to load or unload.
    pub stop_hours: f64,
}

impl Default for MatchParams {
    fn default() -> Self {
        Self {
            empty_mile_cost_cents: 200.0,
            off_destination_mile_cost_cents: 50.0,
            lane_history_bonus_cents: 2_500.0,
            lane_history_cap: 8,
            comfortable_slack_secs: 2 * 3600,
            tight_slack_cost_cents: 10_000.0,
            average_speed_mph: 50.0,
            stop_hours: 2.0,
        }
    }
}
