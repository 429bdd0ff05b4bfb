//! A North American truckload market, generated day by day and deterministic by seed: what
//! `lanerunner simulate` writes, what the analytics benchmark ingests, and what the rate
//! model trains on. Output records are `lanerunner_core::market::{BookingRecord,
//! PostingRecord}`.
//!
//! - `params.rs` what a run is asked for, checked;
//! - `truth.rs` the ground-truth rate process (every constant in one place);
//! - `sim.rs` the market itself: organizations, places, volume, equipment, diesel, trucks,
//!   tightness, and each day's bookings and postings;
//! - `summary.rs` what a run produced; `files.rs` CSV and Parquet writers.

mod files;
mod params;
mod read_parquet;
mod sim;
mod summary;
pub mod truth;

pub use files::{
    bookings_parquet, postings_parquet, read_bookings_csv, read_postings_csv, FileError, Format,
    MarketWriter,
};
pub use params::{ParamError, SimParams};
pub use read_parquet::{parquet_files_under, read_bookings_parquet, read_postings_parquet};
pub use sim::{Day, Simulator};
pub use summary::Summary;
pub use truth::GroundTruth;
