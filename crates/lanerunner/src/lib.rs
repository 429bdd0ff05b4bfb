//! The `lanerunner` binary as a library: the service registry, the application assembly
//! (stores, bus, outbox relays, consumers, mailer, one HTTP router), the command line, and a
//! test harness that runs the whole application against SQLite or PostgreSQL.

pub mod app;
pub mod backup;
#[cfg(feature = "bench")]
pub mod bench;
#[cfg(feature = "bench")]
pub mod bench_audit;
#[cfg(feature = "bench")]
pub mod bench_bus;
#[cfg(feature = "bench")]
pub mod bench_capacity;
#[cfg(feature = "bench")]
pub mod bench_cli;
#[cfg(feature = "bench")]
pub mod bench_dr;
#[cfg(feature = "bench")]
pub mod bench_ledger;
#[cfg(feature = "bench")]
pub mod bench_notifications;
#[cfg(feature = "bench")]
pub mod bench_pitr;
#[cfg(feature = "bench")]
pub mod bench_reconcile;
#[cfg(feature = "bench")]
pub mod bench_sealing;
#[cfg(feature = "bench")]
pub mod bench_search;
pub mod bench_storage;
#[cfg(feature = "bench")]
pub mod bench_tls;
#[cfg(feature = "bench")]
pub mod bench_tracing;
#[cfg(feature = "bench")]
pub mod bench_tracking;
#[cfg(feature = "bench")]
pub mod bench_voice;
#[cfg(feature = "bench")]
pub mod bench_webhooks;
pub mod cli;
pub mod demo;
pub mod fmcsa;
pub mod keys;
pub mod language;
pub mod maps;
pub mod ml;
pub mod motive;
pub mod mqtt;
pub mod offer_desk;
pub mod registry;
pub mod simulate;
pub mod sms;
pub mod storage_keys;
pub mod stripe;
#[cfg(feature = "bench")]
pub mod test_certs;
#[cfg(feature = "testkit")]
pub mod testing;
pub mod voice_desk;
#[cfg(feature = "testkit")]
pub mod webhook_receiver;
pub mod webhooks;

pub use app::{build, App};
