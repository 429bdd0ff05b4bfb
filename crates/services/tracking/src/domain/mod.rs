//! Tracking's rules, free of I/O: positions validated (`position.rs`), stops as geofences
//! with dwell and detention (`geofence.rs`), and the ETA with the driver's hours of service
//! (`eta.rs`), and a carrier's tracking score (`score.rs`).

pub mod eta;
pub mod geofence;
pub mod position;
pub mod score;

pub use eta::{Eta, Hours};
pub use geofence::{Dwell, Fences, StopFence, StopKind, TrackState, Transition, Visit};
pub use position::{Fix, Limits, Refusal};
