//! The geocoding seam: one trait, the offline implementation here; the remote one (Google
//! Geocoding + Distance Matrix) is `lanerunner-googlemaps` (crates/integrations/googlemaps).

use std::sync::Arc;

use crate::gazetteer::{Gazetteer, Place};
use crate::geocode::{Ambiguity, GeocodeError};
use crate::point::{road_miles, LatLon};

/// A resolved place, owned so that any backend can return it.
#[derive(Debug, Clone, PartialEq)]
pub struct GeocodeMatch {
    /// "Dallas, TX".
    pub label: String,
    pub name: String,
    pub region: String,
    pub country: String,
    pub point: LatLon,
    /// IANA zone, when the backend knows it.
    pub timezone: Option<String>,
    /// GeoNames id for gazetteer places; `None` from other backends.
    pub place_id: Option<u32>,
    pub ambiguity: Option<Ambiguity>,
}

impl GeocodeMatch {
    fn from_place(place: &Place, ambiguity: Option<Ambiguity>) -> Self {
        GeocodeMatch {
            label: place.label(),
            name: place.name.clone(),
            region: place.region.clone(),
            country: place.country.clone(),
            point: place.point,
            timezone: Some(place.timezone.clone()),
            place_id: Some(place.id),
            ambiguity,
        }
    }
}

/// Geocoding and road distance. Synchronous: a service wraps a remote backend in
/// `spawn_blocking` or gives it an async twin.
pub trait Geocoder: Send + Sync {
    /// "City, ST" (or any spelling the backend accepts) to one place.
    fn geocode(&self, query: &str) -> Result<GeocodeMatch, GeocodeError>;

    /// The nearest named place to a point.
    fn reverse(&self, point: LatLon) -> Result<GeocodeMatch, GeocodeError>;

    /// Road miles for each `(origin, destination)` pair, in order. One call per batch so
    /// that a remote backend can use one distance-matrix request.
    fn distance_miles(&self, pairs: &[(LatLon, LatLon)]) -> Result<Vec<f64>, GeocodeError>;

    /// True when calls go over the network (and can take a timeout's length): async
    /// callers should then make them on a blocking thread (`spawn_blocking`).
    fn is_remote(&self) -> bool {
        false
    }
}

/// Gazetteer lookups and great-circle × circuity road miles; no network.
#[derive(Debug, Clone)]
pub struct OfflineGeocoder {
    gazetteer: Arc<Gazetteer>,
}

impl OfflineGeocoder {
    pub fn new(gazetteer: Arc<Gazetteer>) -> Self {
        Self { gazetteer }
    }

    /// Over the embedded gazetteer.
    pub fn embedded() -> Self {
        Self::new(Arc::new(Gazetteer::embedded()))
    }

    pub fn gazetteer(&self) -> &Arc<Gazetteer> {
        &self.gazetteer
    }
}

fn check(p: LatLon) -> Result<LatLon, GeocodeError> {
    if p.is_valid() {
        Ok(p)
    } else {
        Err(GeocodeError::InvalidPoint {
            lat: p.lat,
            lon: p.lon,
        })
    }
}

impl Geocoder for OfflineGeocoder {
    fn geocode(&self, query: &str) -> Result<GeocodeMatch, GeocodeError> {
        let hit = self.gazetteer.geocode(query)?;
        Ok(GeocodeMatch::from_place(hit.place, hit.ambiguity))
    }

    fn reverse(&self, point: LatLon) -> Result<GeocodeMatch, GeocodeError> {
        let point = check(point)?;
        match self.gazetteer.reverse(point) {
            Some((place, _)) => Ok(GeocodeMatch::from_place(place, None)),
            None => Err(GeocodeError::Unknown {
                query: format!("{}, {}", point.lat, point.lon),
                suggestions: Vec::new(),
            }),
        }
    }

    fn distance_miles(&self, pairs: &[(LatLon, LatLon)]) -> Result<Vec<f64>, GeocodeError> {
        pairs
            .iter()
            .map(|&(a, b)| Ok(road_miles(check(a)?, check(b)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_geocoder_round_trips_through_the_trait() {
        let g: Box<dyn Geocoder> = Box::new(OfflineGeocoder::embedded());
        let dallas = g.geocode("dallas tx").unwrap();
        assert_eq!(dallas.label, "Dallas, TX");
        assert_eq!(dallas.timezone.as_deref(), Some("America/Chicago"));
        let back = g.reverse(LatLon::new(32.79, -96.80)).unwrap();
        assert_eq!(back.label, "Dallas, TX");
        let houston = g.geocode("Houston, TX").unwrap();
        let miles = g
            .distance_miles(&[(dallas.point, houston.point), (dallas.point, dallas.point)])
            .unwrap();
        assert!((260.0..300.0).contains(&miles[0]), "{miles:?}");
        assert_eq!(miles[1], 0.0);
        assert!(matches!(
            g.distance_miles(&[(LatLon::new(91.0, 0.0), dallas.point)]),
            Err(GeocodeError::InvalidPoint { .. })
        ));
        assert!(g.reverse(LatLon::new(f64::NAN, 0.0)).is_err());
    }
}
