//! The loads service's pure domain: loads and their validation, the lifecycle state
//! machine, equipment, truck postings, the filters of both searches, the rules of free text
//! and of dates (the horizon), and the CSV import format.
//! No I/O: places resolve through the [`Geocoder`](lanerunner_geo::Geocoder) seam, which
//! is synchronous and offline by default.

pub mod booking;
pub mod csv_import;
pub mod equipment;
pub mod filters;
pub mod horizon;
pub mod load;
pub mod place;
pub mod search;
pub mod status;
pub mod text;
pub mod truck;
pub mod truck_search;

pub use booking::{Booking, BookingInput};
pub use equipment::Equipment;
pub use horizon::{Horizon, HorizonDays};
pub use load::*;
pub use place::{Geo, Location, LocationInput};
pub use search::*;
pub use status::{LoadEvent, LoadStatus, TransitionError};
pub use truck::*;
pub use truck_search::{TruckFilter, TruckSearchParams};

/// One complaint about one field of the input, named by its path (`stops[1].window.end`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub message: String,
    /// For unknown places: the gazetteer's closest names.
    pub suggestions: Vec<String>,
    /// Not the input's fault: a remote geocoder could not answer (quota, outage). The
    /// request as a whole is then "try again later", not "fix this field".
    pub unavailable: bool,
}

/// Everything wrong with an input, collected rather than stopping at the first problem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Violation {
            field: field.into(),
            message: message.into(),
            suggestions: Vec::new(),
            unavailable: false,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was wrong.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|v| v.field.as_str()).collect()
    }
}

impl std::fmt::Display for Violations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|v| format!("{}: {}", v.field, v.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}
