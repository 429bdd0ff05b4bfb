//! The lane rate index: what a lane paid, per equipment and rate kind, over the windows a
//! pricing desk reads (7, 15, 30, 60, 90 and 365 days), and how tight each market is.
//!
//! - [`LaneIndex::ingest`] takes one booking (after [`validate::check`]) in O(log n) at
//!   worst and O(1) when bookings arrive in time order, as they do from the event stream.
//! - [`LaneIndex::lane`] answers the median, the middle-50 % range (25th–75th percentile,
//!   interpolated exactly like DuckDB's `quantile_cont`), the volume and the number of
//!   reporting companies, computed from the window's reports at query time, so an answer
//!   is always current.
//! - Like DAT, an aggregate is shown only when at least [`Gate::min_reports`] reports from
//!   at least [`Gate::min_companies`] different companies stand behind it; otherwise the
//!   answer is [`LaneAnswer::Withheld`], which carries the counts and no rate, so no single
//!   broker's confidential rates can be read back.
//!
//! Pure: no I/O, no clock (every query names its `as_of` day).

mod index;
mod markets;
pub mod quantile;
pub mod validate;
mod window;

pub use index::{
    Gate, GateError, LaneAnswer, LaneIndex, LaneKey, LaneRates, MonthPoint, Spread, Withheld,
};
pub use markets::MarketTightness;
pub use validate::Reject;
pub use window::{Window, WindowError};
