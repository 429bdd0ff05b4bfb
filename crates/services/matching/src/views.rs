//! What the matching API returns. Loads appear only through their public terms: nothing
//! here can carry a broker's target or maximum rate.

use chrono::{DateTime, TimeZone, Utc};
use lanerunner_matching::{Chain, Feasible, Scored, UnassignedTruck};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::{Place, TruckDestination};

/// One term of a match's cost, in cents (lower is better; negative terms are in favour).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TermView {
    /// `deadhead`, `destination_fit`, `rate`, `below_carrier_minimum`, `pickup_slack`,
    /// `lane_history`.
    pub name: String,
    pub cost_cents: f64,
    pub detail: String,
}

pub fn terms(s: &Scored) -> Vec<TermView> {
    s.terms
        .iter()
        .map(|t| TermView {
            name: t.name.to_string(),
            cost_cents: t.cost_cents,
            detail: t.detail.clone(),
        })
        .collect()
}

pub fn instant(unix: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(unix, 0).single().unwrap_or_default()
}

/// When and how the truck would run the load.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Timing {
    pub deadhead_miles: f64,
    /// When the truck reaches the pickup.
    pub arrival: DateTime<Utc>,
    /// When loading starts (the arrival, or the window's opening for an early truck).
    pub pickup_at: DateTime<Utc>,
    /// Minutes between loading starting and the pickup window closing.
    pub slack_minutes: i64,
    /// When the truck is empty again after delivery.
    pub empty_at: DateTime<Utc>,
}

impl From<&Feasible> for Timing {
    fn from(f: &Feasible) -> Self {
        Timing {
            deadhead_miles: f.deadhead_miles,
            arrival: instant(f.arrival),
            pickup_at: instant(f.pickup_at),
            slack_minutes: f.slack_secs / 60,
            empty_at: instant(f.empty_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TruckMatchView {
    /// 1 is the best.
    pub rank: u32,
    pub truck_id: Uuid,
    pub carrier_org_id: Uuid,
    /// Trailer code.
    pub equipment: String,
    pub available_at: Place,
    pub available_from: DateTime<Utc>,
    pub destination: TruckDestination,
    /// The sum of `terms`, in cents; the ranking (and the batch assignment) minimises it.
    pub cost_cents: f64,
    pub timing: Timing,
    pub terms: Vec<TermView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoadMatchesView {
    pub load_id: Uuid,
    /// Trucks available on the board now (the candidates before feasibility).
    pub available_trucks: usize,
    /// Feasible trucks, best first; an infeasible truck never appears.
    pub matches: Vec<TruckMatchView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoadMatchView {
    pub rank: u32,
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub reference: String,
    pub origin: Place,
    pub destination: Place,
    pub pickup_start: DateTime<Utc>,
    pub pickup_end: DateTime<Utc>,
    pub delivery_by: DateTime<Utc>,
    pub equipment: String,
    pub weight_lbs: u32,
    /// The posted all-in rate (absent: call for rate).
    pub all_in_rate_cents: Option<i64>,
    pub loaded_miles: f64,
    pub cost_cents: f64,
    pub timing: Timing,
    pub terms: Vec<TermView>,
}

/// A reload chain: loads hauled one after another, each picked up after the previous
/// delivery.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainView {
    pub load_ids: Vec<Uuid>,
    pub revenue_cents: i64,
    pub empty_miles: f64,
    /// Revenue minus the cost of the empty miles, in cents.
    pub value_cents: f64,
    /// When the truck is empty after the last delivery.
    pub empty_at: DateTime<Utc>,
}

impl From<&Chain> for ChainView {
    fn from(c: &Chain) -> Self {
        ChainView {
            load_ids: c.load_ids.iter().map(|id| Uuid::from_u128(*id)).collect(),
            revenue_cents: c.revenue_cents,
            empty_miles: c.empty_miles,
            value_cents: c.value_cents,
            empty_at: instant(c.empty_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TruckMatchesView {
    pub truck_id: Uuid,
    /// Feasible public loads, best first.
    pub matches: Vec<LoadMatchView>,
    /// The most valuable chain of two or three public loads for this truck, if any.
    pub reload_chain: Option<ChainView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunPairView {
    pub load_id: Uuid,
    pub truck_id: Uuid,
    pub carrier_org_id: Uuid,
    pub cost_cents: f64,
    pub timing: Timing,
    pub terms: Vec<TermView>,
}

/// Why a load of a run has no truck, as a stable code: stored with the run, and what
/// clients (and the service) branch on. Decoding an unknown code is an error, never a
/// default: a stored run that says something this build does not know is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedLoadReason {
    /// The board had no available trucks.
    NoTrucksAvailable,
    /// No available truck passes every rule for this load.
    NoFeasibleTruck,
    /// Some trucks could take it, but each went to a load that needed it more.
    TrucksNeededElsewhere,
}

/// Why a considered truck of a run has no load, as a stable code (see
/// [`UnassignedLoadReason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedTruckReason {
    NoFeasibleLoad,
    /// It could take some of the loads, but better-placed trucks took them.
    LoadsWentElsewhere,
}

impl From<UnassignedTruck> for UnassignedTruckReason {
    fn from(r: UnassignedTruck) -> Self {
        match r {
            UnassignedTruck::NoFeasibleLoad => UnassignedTruckReason::NoFeasibleLoad,
            UnassignedTruck::LoadsWentElsewhere => UnassignedTruckReason::LoadsWentElsewhere,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnassignedLoadView {
    pub load_id: Uuid,
    /// What to branch on.
    pub reason_code: UnassignedLoadReason,
    /// The reason in words, for people; its wording may change, so never parse it.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnassignedTruckView {
    pub truck_id: Uuid,
    /// What to branch on.
    pub reason_code: UnassignedTruckReason,
    /// The reason in words, for people; its wording may change, so never parse it.
    pub reason: String,
}

/// A batch assignment: the most loads covered, and among such assignments the least total
/// cost, exactly.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    /// The broker's open loads.
    pub loads: usize,
    /// Trucks available on the board.
    pub available_trucks: usize,
    /// Trucks the solver considered (see docs/matching.md: every truck when the board is
    /// small, else each load's best trucks, which keeps the optimum exact).
    pub trucks_considered: usize,
    /// (truck, load) pairs that passed every feasibility rule.
    pub feasible_pairs: usize,
    /// Sum of the pairs' costs, in cents.
    pub objective_cents: f64,
    pub pairs: Vec<RunPairView>,
    pub unassigned_loads: Vec<UnassignedLoadView>,
    /// Considered trucks left without a load.
    pub unassigned_trucks: Vec<UnassignedTruckView>,
}
