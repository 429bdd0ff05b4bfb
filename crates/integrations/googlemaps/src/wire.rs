//! The parts of Google's JSON answers the geocoder reads.

use serde::Deserialize;

/// Geocoding API answer (forward and reverse).
#[derive(Debug, Deserialize)]
pub struct GeocodeResponse {
    /// OK, ZERO_RESULTS, OVER_DAILY_LIMIT, OVER_QUERY_LIMIT, REQUEST_DENIED,
    /// INVALID_REQUEST, UNKNOWN_ERROR.
    pub status: String,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub results: Vec<GeocodeResult>,
}

#[derive(Debug, Deserialize)]
pub struct GeocodeResult {
    #[serde(default)]
    pub address_components: Vec<AddressComponent>,
    pub geometry: Geometry,
}

#[derive(Debug, Deserialize)]
pub struct AddressComponent {
    pub long_name: String,
    pub short_name: String,
    #[serde(default)]
    pub types: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Geometry {
    pub location: LatLng,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct LatLng {
    pub lat: f64,
    pub lng: f64,
}

/// Component types that name a city, most specific kind of town first. "Brooklyn, NY"
/// comes back as a sublocality; UK-style postal towns do not occur in North America but
/// cost nothing to accept.
const CITY_TYPES: [&str; 5] = [
    "locality",
    "postal_town",
    "sublocality_level_1",
    "sublocality",
    "administrative_area_level_3",
];

impl GeocodeResult {
    fn component(&self, kind: &str) -> Option<&AddressComponent> {
        self.address_components
            .iter()
            .find(|c| c.types.iter().any(|t| t == kind))
    }

    /// The city's name, when the result is (or lies in) one.
    pub fn city(&self) -> Option<&str> {
        CITY_TYPES
            .iter()
            .find_map(|k| self.component(k))
            .map(|c| c.long_name.as_str())
    }

    /// State or province code ("TX", "ON").
    pub fn region_code(&self) -> Option<&str> {
        self.component("administrative_area_level_1")
            .map(|c| c.short_name.as_str())
    }

    /// "US", "CA".
    pub fn country_code(&self) -> Option<&str> {
        self.component("country").map(|c| c.short_name.as_str())
    }
}

/// Distance Matrix API answer.
#[derive(Debug, Deserialize)]
pub struct MatrixResponse {
    /// OK, INVALID_REQUEST, MAX_ELEMENTS_EXCEEDED, MAX_DIMENSIONS_EXCEEDED,
    /// OVER_DAILY_LIMIT, OVER_QUERY_LIMIT, REQUEST_DENIED, UNKNOWN_ERROR.
    pub status: String,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub rows: Vec<MatrixRow>,
}

#[derive(Debug, Deserialize)]
pub struct MatrixRow {
    #[serde(default)]
    pub elements: Vec<MatrixElement>,
}

#[derive(Debug, Deserialize)]
pub struct MatrixElement {
    /// OK, NOT_FOUND, ZERO_RESULTS, MAX_ROUTE_LENGTH_EXCEEDED.
    pub status: String,
    #[serde(default)]
    pub distance: Option<Distance>,
}

#[derive(Debug, Deserialize)]
pub struct Distance {
    /// Metres, whatever `units` asked for (`units` only changes `text`).
    pub value: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_documented_geocoding_answer() {
        // Shape of the example in Google's Geocoding API documentation.
        let body = r#"{
          "results": [{
            "address_components": [
              {"long_name": "Dallas", "short_name": "Dallas", "types": ["locality", "political"]},
              {"long_name": "Dallas County", "short_name": "Dallas County", "types": ["administrative_area_level_2", "political"]},
              {"long_name": "Texas", "short_name": "TX", "types": ["administrative_area_level_1", "political"]},
              {"long_name": "United States", "short_name": "US", "types": ["country", "political"]}
            ],
            "formatted_address": "Dallas, TX, USA",
            "geometry": {"location": {"lat": 32.7766642, "lng": -96.79698789999999}, "location_type": "APPROXIMATE"},
            "place_id": "ChIJS5dFe_cZTIYRj2dH9qSb7Lk",
            "types": ["locality", "political"]
          }],
          "status": "OK"
        }"#;
        let r: GeocodeResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.status, "OK");
        let first = &r.results[0];
        assert_eq!(first.city(), Some("Dallas"));
        assert_eq!(first.region_code(), Some("TX"));
        assert_eq!(first.country_code(), Some("US"));
        assert!((first.geometry.location.lat - 32.7767).abs() < 1e-3);
        let denied: GeocodeResponse = serde_json::from_str(
            r#"{"error_message": "The provided API key is invalid.", "results": [], "status": "REQUEST_DENIED"}"#,
        )
        .unwrap();
        assert_eq!(denied.status, "REQUEST_DENIED");
        assert!(denied.results.is_empty());
    }

    #[test]
    fn reads_a_documented_distance_matrix_answer() {
        let body = r#"{
          "destination_addresses": ["Houston, TX, USA"],
          "origin_addresses": ["Dallas, TX, USA"],
          "rows": [{"elements": [
            {"distance": {"text": "239 mi", "value": 384000}, "duration": {"text": "3 hours 40 mins", "value": 13200}, "status": "OK"},
            {"status": "ZERO_RESULTS"}
          ]}],
          "status": "OK"
        }"#;
        let r: MatrixResponse = serde_json::from_str(body).unwrap();
        let e = &r.rows[0].elements;
        assert_eq!(e[0].distance.as_ref().unwrap().value, 384000.0);
        assert_eq!(e[1].status, "ZERO_RESULTS");
        assert!(e[1].distance.is_none());
    }
}
