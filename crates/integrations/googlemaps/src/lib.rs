//! Google Maps behind LaneRunner's geocoding seam ([`lanerunner_geo::Geocoder`]).
//!
//! * Forward geocoding ("Dallas, TX") and reverse geocoding (a truck's position to its
//!   city) through the Geocoding API, `{base}/maps/api/geocode/json`, restricted to the
//!   United States and Canada.
//! * Road miles through the Distance Matrix API, `{base}/maps/api/distancematrix/json`:
//!   one call of [`Geocoder::distance_miles`](lanerunner_geo::Geocoder::distance_miles)
//!   becomes as few requests as Google's limits allow without paying for elements nobody
//!   asked for ([`matrix`]).
//! * Time zones come from the nearest place of the vendored gazetteer, not from Google's
//!   Time Zone API: that would be a third paid request per stop, and the nearest town of
//!   1,000+ people is in the stop's zone everywhere but within a few miles of a zone line.
//! * Forward answers (found or not found) are cached in memory ([`cache`]): the same
//!   cities repeat on every load board.
//!
//! The trait is synchronous, so the HTTP client is blocking. Called from inside a Tokio
//! runtime, the geocoder moves its wait off the runtime itself (`block_in_place` on a
//! multi-threaded runtime, a helper thread on a current-thread one), so it never panics
//! or stalls other tasks' worker; async callers should still prefer `spawn_blocking`
//! (see [`Geocoder::is_remote`](lanerunner_geo::Geocoder::is_remote)).
//!
//! The API key never appears in logs or errors: it travels only in the request URL, which
//! is stripped from transport errors, and every message is scrubbed of it.

pub mod cache;
mod geocoder;
pub mod matrix;
mod settings;
mod wire;

#[cfg(feature = "testing")]
pub mod testing;

pub use geocoder::{GoogleMapsGeocoder, SetupError};
pub use settings::GoogleMapsSettings;

/// The Geocoding API path under the base URL.
pub const GEOCODE_PATH: &str = "/maps/api/geocode/json";
/// The Distance Matrix API path under the base URL.
pub const DISTANCE_MATRIX_PATH: &str = "/maps/api/distancematrix/json";
/// Google's production base URL.
pub const DEFAULT_BASE_URL: &str = "https://maps.googleapis.com";
