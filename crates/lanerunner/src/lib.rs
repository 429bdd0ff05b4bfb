//! The `lanerunner` binary as a library: the service registry, the application assembly
//! (stores, bus, outbox relays, consumers, mailer, one HTTP router), the command line, and a
//! test harness that runs the whole application against SQLite or PostgreSQL.

pub mod app;
pub mod bench;
pub mod bench_bus;
pub mod bench_search;
pub mod cli;
pub mod registry;
pub mod testing;

pub use app::{build, App};
