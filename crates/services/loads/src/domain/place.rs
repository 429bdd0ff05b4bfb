//! Locations: a "City, ST" resolved through the geocoder, or a point reverse-geocoded to
//! its nearest place (for the state and the time zone).

use std::sync::Arc;

use lanerunner_geo::{
    Gazetteer, GeocodeError, GeocodeMatch, Geocoder, LatLon, Markets, OfflineGeocoder,
};
use serde::{Deserialize, Serialize};

use super::text::Text;
use super::Violations;

/// A place name's rules: one line (a control character is refused, not dropped by the
/// geocoder's normalisation and then stored), and a bounded length.
const PLACE_TEXT: Text = Text::line(200).required();

/// What a client sends: `{"place": "Dallas, TX"}` or `{"lat": 32.78, "lon": -96.8}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

impl LocationInput {
    pub fn place(text: &str) -> Self {
        LocationInput {
            place: Some(text.into()),
            ..Default::default()
        }
    }
}

/// A resolved location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    /// "Dallas, TX": the place asked for, or the nearest place to the point.
    pub label: String,
    /// Gazetteer (GeoNames) id of the place; absent from remote geocoders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_id: Option<u32>,
    pub lat: f64,
    pub lon: f64,
    /// State or province code.
    pub state: String,
    /// IANA time zone of the place; stop times are local to it.
    pub timezone: String,
}

impl Location {
    pub fn point(&self) -> LatLon {
        LatLon::new(self.lat, self.lon)
    }
}

/// The geography the service works with: the geocoding seam plus the market map (markets
/// are defined over the embedded gazetteer whichever geocoder is used).
#[derive(Clone)]
pub struct Geo {
    pub geocoder: Arc<dyn Geocoder>,
    pub gazetteer: Arc<Gazetteer>,
    pub markets: Arc<Markets>,
}

impl Geo {
    pub fn offline() -> Self {
        Self::with_geocoder(None)
    }

    /// Markets over the embedded gazetteer; `geocoder` defaults to the offline one.
    pub fn with_geocoder(geocoder: Option<Arc<dyn Geocoder>>) -> Self {
        let offline = OfflineGeocoder::embedded();
        let gazetteer = offline.gazetteer().clone();
        let markets = Arc::new(Markets::key_market_areas(&gazetteer));
        Geo {
            geocoder: geocoder.unwrap_or_else(|| Arc::new(offline)),
            gazetteer,
            markets,
        }
    }

    /// Resolves `input`, recording what is wrong under `field`.
    pub fn resolve(
        &self,
        input: &LocationInput,
        field: &str,
        errs: &mut Violations,
    ) -> Option<Location> {
        let found = match (&input.place, input.lat, input.lon) {
            (Some(text), None, None) => {
                if !PLACE_TEXT.check(errs, &format!("{field}.place"), text) {
                    return None;
                }
                self.geocoder.geocode(text)
            }
            (None, Some(lat), Some(lon)) => {
                self.geocoder
                    .reverse(LatLon::new(lat, lon))
                    .map(|m| GeocodeMatch {
                        point: LatLon::new(lat, lon),
                        ..m
                    })
            }
            _ => {
                errs.add(
                    field,
                    "give either `place` (\"City, ST\") or both `lat` and `lon`",
                );
                return None;
            }
        };
        match found {
            Ok(GeocodeMatch {
                timezone: Some(timezone),
                label,
                place_id,
                point,
                region,
                ..
            }) => Some(Location {
                label,
                place_id,
                lat: point.lat,
                lon: point.lon,
                state: region,
                timezone,
            }),
            // Times are local to the place: assuming UTC would shift them silently.
            Ok(_) => {
                errs.add(field, "the time zone of this place is unknown");
                None
            }
            Err(e) => {
                let suggestions = match &e {
                    GeocodeError::Unknown { suggestions, .. } => suggestions.clone(),
                    _ => Vec::new(),
                };
                let sub = if input.place.is_some() {
                    "place"
                } else {
                    "lat"
                };
                errs.0.push(super::Violation {
                    field: format!("{field}.{sub}"),
                    message: e.to_string(),
                    suggestions,
                    unavailable: matches!(e, GeocodeError::Unavailable(_)),
                });
                None
            }
        }
    }

    /// True when the geocoder calls a remote API (Google Maps): each `resolve` and each
    /// `validate` that resolves places can then block for a network round trip, so async
    /// code should run them under `tokio::task::spawn_blocking`.
    pub fn is_remote(&self) -> bool {
        self.geocoder.is_remote()
    }

    /// Market id of a point (hub market, else its state's).
    pub fn market_of(&self, point: LatLon) -> Option<u16> {
        self.markets.market_of(&self.gazetteer, point).map(|m| m.0)
    }
}
