//! The rate model: what a load should book at, with an 80 % interval, from the features a
//! pricing analyst uses. Pure: no I/O but the artifact's bytes.
//!
//! - `features.rs` the feature table, one function for training and serving;
//! - `state.rs` the recent market the lane and balance features are read from;
//! - `dataset.rs` training examples replayed in time order, and their fingerprint;
//! - `gbdt/` gradient-boosted trees; `conformal.rs` the interval bands;
//! - `model.rs` fitting, estimating and scoring; `metrics.rs` the published numbers;
//! - `artifact.rs` the versioned, checksummed model file.

pub mod artifact;
pub mod conformal;
pub mod dataset;
pub mod features;
pub mod gbdt;
pub mod metrics;
pub mod model;
pub mod state;

pub use artifact::{decode, encode, ArtifactError};
pub use dataset::{examples, vocab_of, Examples};
pub use features::{Quote, Vocab};
pub use metrics::{population_stability, Metrics};
pub use model::{lane_average_baseline, Estimate, FitError, FitOptions, RateModel};
pub use state::MarketState;
