//! FMCSA's QCMobile API (`https://mobile.fmcsa.dot.gov/qc/services`): the carrier census
//! record a broker checks before it books a truck — allowed to operate, operating
//! authority, out-of-service date, insurance on file.
//!
//! Two lookups, both authenticated by the `webKey` query parameter:
//! - `GET /carriers/{dotNumber}` answers `{"content": {"carrier": {…}}}`, or
//!   `{"content": null}` for a number FMCSA does not know;
//! - `GET /carriers/docket-number/{mc}` answers `{"content": [{"carrier": {…}}]}`, an empty
//!   list for an unknown docket.
//!
//! `wire.rs` holds FMCSA's JSON as FMCSA writes it (`"Y"`/`"N"` flags, insurance amounts in
//! thousands of dollars as strings); `client.rs` the HTTP client; `testing.rs` (feature
//! `testing`) a stand-in that speaks the same JSON on loopback.

mod client;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wire;

pub use client::{FmcsaError, QcMobile};

/// Where FMCSA serves QCMobile.
pub const DEFAULT_BASE_URL: &str = "https://mobile.fmcsa.dot.gov/qc/services";
