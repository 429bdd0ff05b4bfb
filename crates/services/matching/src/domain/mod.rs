//! Pure parts of the matching service: how projection records merge events (in any order),
//! how postings become matching facts, and the load-side index.

pub mod facts;
pub mod load_index;
pub mod record;

pub use facts::{Destinations, FactsError};
pub use load_index::{LoadIndex, RankedLoad};
pub use record::{LoadChange, LoadRecord, TruckChange, TruckRecord};
