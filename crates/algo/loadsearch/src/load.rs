//! What the index stores about one load.

use lanerunner_geo::{LatLon, REGIONS};

/// Equipment bits. A load's mask is every type it accepts; a search matches when the two
/// masks share a bit.
pub mod equipment {
    pub const DRY_VAN: u16 = 1 << 0;
    pub const REEFER: u16 = 1 << 1;
    pub const FLATBED: u16 = 1 << 2;
    pub const STEP_DECK: u16 = 1 << 3;
    pub const POWER_ONLY: u16 = 1 << 4;
    pub const CONESTOGA: u16 = 1 << 5;
    pub const TANKER: u16 = 1 << 6;
    pub const HOTSHOT: u16 = 1 << 7;
    pub const CONTAINER: u16 = 1 << 8;
    pub const BOX_TRUCK: u16 = 1 << 9;
}

/// The searchable facts of one active load, kept current from the load service's events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexedLoad {
    /// The load's UUID as an integer.
    pub id: u128,
    pub origin: LatLon,
    pub dest: LatLon,
    /// State/province postal codes, e.g. `*b"TX"`; must be one of [`REGIONS`].
    pub origin_state: [u8; 2],
    pub dest_state: [u8; 2],
    /// `lanerunner_geo::MarketId` of the destination.
    pub dest_market: u16,
    /// Bits from [`equipment`]; non-zero.
    pub equipment: u16,
    /// Pickup window, unix seconds, `pickup_start <= pickup_end`.
    pub pickup_start: i64,
    pub pickup_end: i64,
    /// All-in rate (linehaul + fuel + accessorials) in cents.
    pub rate_cents: i64,
    /// Road miles origin → destination.
    pub loaded_miles: f32,
    pub weight_lbs: u32,
    /// Full truckload (`true`) or partial/LTL (`false`).
    pub full: bool,
    /// When the load was posted, unix seconds ("age" sorts on it).
    pub posted_at: i64,
}

impl IndexedLoad {
    /// All-in rate per loaded mile, in cents. Loads under one mile count as one mile.
    pub fn rate_per_mile_cents(&self) -> f32 {
        (self.rate_cents as f64 / f64::from(self.loaded_miles.max(1.0))) as f32
    }
}

/// Index of a state code in [`REGIONS`].
pub(crate) fn region_index(code: [u8; 2]) -> Option<u8> {
    REGIONS
        .iter()
        .position(|(c, _)| c.as_bytes() == code)
        .map(|i| i as u8)
}

pub(crate) fn region_code_of(index: u8) -> [u8; 2] {
    let b = REGIONS[index as usize].0.as_bytes();
    [b[0], b[1]]
}

/// Why a load was refused by the index.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IndexError {
    #[error("load {id:032x} is invalid: {reason}")]
    Invalid { id: u128, reason: String },
    #[error("load {0:032x} is already indexed")]
    Duplicate(u128),
    #[error("load {0:032x} is not indexed")]
    NotFound(u128),
}

pub(crate) fn validate(l: &IndexedLoad) -> Result<(), IndexError> {
    let bad = |reason: &str| {
        Err(IndexError::Invalid {
            id: l.id,
            reason: reason.to_string(),
        })
    };
    if !l.origin.is_valid() {
        return bad("origin is not a valid latitude/longitude");
    }
    if !l.dest.is_valid() {
        return bad("destination is not a valid latitude/longitude");
    }
    if region_index(l.origin_state).is_none() {
        return bad("unknown origin state");
    }
    if region_index(l.dest_state).is_none() {
        return bad("unknown destination state");
    }
    if l.equipment == 0 {
        return bad("no equipment type");
    }
    if l.pickup_end < l.pickup_start {
        return bad("pickup window ends before it starts");
    }
    if !l.loaded_miles.is_finite() || l.loaded_miles < 0.0 {
        return bad("loaded miles must be finite and non-negative");
    }
    Ok(())
}
