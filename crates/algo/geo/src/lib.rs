//! Offline geography for LaneRunner: geocoding "City, ST" against the vendored GeoNames
//! gazetteer (`data/places_us_ca.csv`), reverse geocoding to the nearest place, road-mile
//! estimates, and freight markets/lanes. Pure: no I/O beyond the compiled-in data.
//!
//! * [`Gazetteer::geocode`] — tolerant of case, spacing, accents, "St./Saint", "Ft./Fort",
//!   "Mt./Mount", a missing comma, full state names and a trailing ZIP; unknown names
//!   come back with suggestions, ambiguous ones with the alternatives.
//! * [`Gazetteer::reverse`] — exact nearest place through a 1° grid.
//! * [`road_miles`] — great-circle miles × [`ROAD_CIRCUITY_FACTOR`] (1.2, see its source).
//! * [`Markets`] — ~100 key market areas (hub + radius) and a catch-all market per state.
//! * [`Geocoder`] — the seam the services call; [`OfflineGeocoder`] is the default.

mod gazetteer;
mod geocode;
mod geocoder;
mod grid;
mod market;
mod normalize;
mod point;

pub use gazetteer::{Gazetteer, GazetteerError, Place};
pub use geocode::{Ambiguity, GeocodeError, Geocoded};
pub use geocoder::{GeocodeMatch, Geocoder, OfflineGeocoder};
pub use market::{Lane, Market, MarketId, Markets, HUBS};
pub use normalize::{normalize, region_code, REGIONS};
pub use point::{
    haversine_miles, reach_box, road_miles, LatLon, EARTH_RADIUS_MILES, METERS_PER_MILE,
    ROAD_CIRCUITY_FACTOR,
};
