//! Matching rules, pure: which truck can take which load (equipment, size, team, hazmat, and
//! time under the hours-of-service rules), how good each feasible pair is (a score made of
//! terms a dispatcher recognises, each reported), the optimal assignment of a whole market
//! (through `lanerunner-assignment`), and reload chains for one truck.
//!
//! Units: miles, Unix seconds, US cents. Distances are road miles (great-circle × the geo
//! crate's circuity factor), the same unit load boards quote.

pub mod batch;
pub mod equipment;
pub mod feasibility;
pub mod grid;
pub mod hos;
pub mod model;
pub mod reload;
pub mod score;
pub mod truck_index;
pub mod unassigned;

pub use batch::{assign_market, BatchAssignment, MatchedPair, Unassigned};
pub use equipment::Trailer;
pub use feasibility::{check, Feasible, Infeasible};
pub use grid::{GridIndex, Placed, Ranked, TopK};
pub use hos::{earliest_arrival, HosRules};
pub use model::{LoadFacts, MatchParams, TruckFacts};
pub use reload::{best_chain, Chain};
pub use score::{cost, score, Scored, Term};
pub use truck_index::{RankedTruck, TruckIndex};
pub use unassigned::{Refusal, UnassignedLoad, UnassignedTruck};
