//! What the matching API returns. Loads appear only through their public terms: nothing
//! here can carry a broker's target or maximum rate.
//!
//! Units on the wire: money in whole cents (`Cents`, a plain integer); miles to one
//! decimal (`lanerunner_core::distance`); rates per mile only inside a term's `detail`
//! text, in dollars to the cent. `cost_cents` and the terms' `cost_cents` are scores in
//! cents, not amounts anyone pays: they keep their fraction so that a run's
//! `objective_cents` is exactly the sum of its pairs' costs.

use chrono::{DateTime, TimeZone, Utc};
use lanerunner_core::distance::miles;
use lanerunner_core::Cents;
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
    #[serde(serialize_with = "miles")]
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
    pub all_in_rate_cents: Option<Cents>,
    #[serde(serialize_with = "miles")]
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
    pub revenue_cents: Cents,
    #[serde(serialize_with = "miles")]
    pub empty_miles: f64,
    /// Revenue minus the cost of the empty miles, in whole cents.
    pub value_cents: Cents,
    /// When the truck is empty after the last delivery.
    pub empty_at: DateTime<Utc>,
}

impl ChainView {
    /// `None` for a chain whose value is not a finite amount (feasibility refuses the bad
    /// data that could cause one, so no real chain is dropped).
    pub fn new(c: &Chain) -> Option<Self> {
        Some(ChainView {
            load_ids: c.load_ids.iter().map(|id| Uuid::from_u128(*id)).collect(),
            revenue_cents: Cents(c.revenue_cents),
            empty_miles: c.empty_miles,
            value_cents: Cents::round_from(c.value_cents)?,
            empty_at: instant(c.empty_at),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_carry_miles_to_a_tenth_and_money_in_whole_cents() {
        let timing = Timing::from(&Feasible {
            deadhead_miles: 17.263491723654,
            arrival: 0,
            pickup_at: 0,
            slack_secs: 0,
            empty_at: 0,
            clock_after: lanerunner_matching::hos::HosClock::with_drive_left(
                &Default::default(),
                11.0,
            ),
        });
        let json = serde_json::to_value(&timing).unwrap();
        assert_eq!(json["deadhead_miles"], serde_json::json!(17.3));

        let chain = ChainView::new(&Chain {
            load_ids: vec![1, 2],
            revenue_cents: 360_000,
            empty_miles: 3.4567891234567,
            value_cents: 360_000.0 - 200.0 * 3.4567891234567,
            empty_at: 0,
        })
        .unwrap();
        let json = serde_json::to_value(&chain).unwrap();
        assert_eq!(json["empty_miles"], serde_json::json!(3.5));
        assert_eq!(json["value_cents"], serde_json::json!(359_309));
        assert_eq!(json["revenue_cents"], serde_json::json!(360_000));
    }

    #[test]
    fn a_chain_without_a_finite_value_is_not_shown() {
        let chain = Chain {
            load_ids: vec![1],
            revenue_cents: 1,
            empty_miles: f64::NAN,
            value_cents: f64::NAN,
            empty_at: 0,
        };
        assert!(ChainView::new(&chain).is_none());
    }
}
