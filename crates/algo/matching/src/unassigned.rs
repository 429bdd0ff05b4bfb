//! Why a batch run left a load or a truck without a partner, as values a caller can branch
//! on. The English text (`Display`) is for people and may be reworded; decisions match on
//! the variants.

use std::fmt;

use serde::Serialize;

use crate::feasibility::Infeasible;

/// The feasibility rule that refused a pair, without the pair's numbers, so refusals of
/// one kind count together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Equipment,
    TooHeavy,
    TooLong,
    NeedsTeam,
    Hazmat,
    BeyondDeadhead,
    MissesPickup,
    MissesDelivery,
    PickupPassed,
    /// The pair's data is unusable (the text says which part).
    BadData(&'static str),
    /// Every rule passed but the cost came out non-finite.
    Unscorable,
}

impl From<&Infeasible> for Refusal {
    fn from(why: &Infeasible) -> Self {
        match why {
            Infeasible::Equipment { .. } => Refusal::Equipment,
            Infeasible::Weight { .. } => Refusal::TooHeavy,
            Infeasible::Length { .. } => Refusal::TooLong,
            Infeasible::TeamRequired => Refusal::NeedsTeam,
            Infeasible::Hazmat => Refusal::Hazmat,
            Infeasible::TooFar { .. } => Refusal::BeyondDeadhead,
            Infeasible::MissesPickup { .. } => Refusal::MissesPickup,
            Infeasible::MissesDelivery { .. } => Refusal::MissesDelivery,
            Infeasible::Expired { .. } => Refusal::PickupPassed,
            Infeasible::BadData(what) => Refusal::BadData(what),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Equipment => f.write_str("equipment does not fit"),
            Refusal::TooHeavy => f.write_str("too heavy"),
            Refusal::TooLong => f.write_str("too long"),
            Refusal::NeedsTeam => f.write_str("needs a team"),
            Refusal::Hazmat => f.write_str("hazmat"),
            Refusal::BeyondDeadhead => f.write_str("beyond the carriers' deadhead limit"),
            Refusal::MissesPickup => f.write_str("cannot reach the pickup in its window"),
            Refusal::MissesDelivery => f.write_str("cannot make the delivery appointment"),
            Refusal::PickupPassed => f.write_str("the pickup window has passed"),
            Refusal::BadData(what) => write!(f, "bad data: {what}"),
            Refusal::Unscorable => f.write_str("a score could not be computed from the data"),
        }
    }
}

/// Why a load of a run has no truck.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnassignedLoad {
    /// The run was given no trucks at all.
    NoTrucksAvailable,
    /// No given truck passed every rule; `rule` refused the most of them (`refused` of
    /// `trucks`). `rule` is `None` only when there were no refusals to count.
    NoFeasibleTruck {
        rule: Option<Refusal>,
        refused: usize,
        trucks: usize,
    },
    /// Some trucks could take it, but each went to a load that needed it more.
    TrucksNeededElsewhere,
}

impl fmt::Display for UnassignedLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnassignedLoad::NoTrucksAvailable => f.write_str("no trucks are available"),
            UnassignedLoad::NoFeasibleTruck {
                rule: Some(rule),
                refused,
                trucks,
            } => write!(
                f,
                "no feasible truck: {rule} ({refused} of {trucks} trucks)"
            ),
            UnassignedLoad::NoFeasibleTruck { rule: None, .. } => {
                f.write_str("no feasible truck: ")
            }
            UnassignedLoad::TrucksNeededElsewhere => {
                f.write_str("every feasible truck is assigned to a load that needs it more")
            }
        }
    }
}

/// Why a truck of a run has no load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedTruck {
    NoFeasibleLoad,
    /// It could take some loads, but better-placed trucks took them.
    LoadsWentElsewhere,
}

impl fmt::Display for UnassignedTruck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnassignedTruck::NoFeasibleLoad => f.write_str("no feasible load"),
            UnassignedTruck::LoadsWentElsewhere => {
                f.write_str("its feasible loads went to better-placed trucks")
            }
        }
    }
}
