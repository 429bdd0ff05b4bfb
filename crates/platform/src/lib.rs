//! The seams every LaneRunner service stands on, each a narrow trait with an embedded
//! default and (in later issues) adapters for the engines used at scale, plus the HTTP kit
//! shared by every service's API.

pub mod blob;
pub mod bus;
pub mod cache;
pub mod config;
pub mod db;
pub mod fanout;
pub mod host;
pub mod http;
pub mod mail;
pub mod outbox;
pub mod personal_data;
pub mod sealing;
pub mod service;
pub mod streams;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::Config;
pub use db::{Db, Tx};
