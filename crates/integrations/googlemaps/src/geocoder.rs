//! [`GoogleMapsGeocoder`]: the Geocoding and Distance Matrix APIs behind the seam.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lanerunner_geo::{
    normalize, Ambiguity, Gazetteer, GeocodeError, GeocodeMatch, Geocoder, LatLon, METERS_PER_MILE,
};
use reqwest::blocking::Client;
use serde::de::DeserializeOwned;

use crate::cache::TtlCache;
use crate::matrix::{self, MatrixRequest};
use crate::wire::{GeocodeResponse, GeocodeResult, MatrixResponse};
use crate::{GoogleMapsSettings, DISTANCE_MATRIX_PATH, GEOCODE_PATH};

/// Restricts forward geocoding to the two countries LaneRunner serves.
const COUNTRIES: &str = "country:US|country:CA";
/// Alternatives listed in an [`Ambiguity`], as the gazetteer does.
const MAX_ALTERNATIVES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("maps.google.api_key is empty")]
    MissingKey,
    #[error("maps.google.base_url `{0}` is not an http(s) URL")]
    BaseUrl(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Google Maps geocoding and road miles; see the crate documentation.
pub struct GoogleMapsGeocoder {
    http: Client,
    /// Without a trailing slash.
    base_url: String,
    api_key: String,
    /// For time zones and for suggestions when Google finds nothing.
    gazetteer: Arc<Gazetteer>,
    cache: TtlCache<Result<GeocodeMatch, GeocodeError>>,
    max_parallel_requests: usize,
}

impl fmt::Debug for GoogleMapsGeocoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleMapsGeocoder")
            .field("base_url", &self.base_url)
            .field("api_key", &"****")
            .field("cached", &self.cache.len())
            .finish()
    }
}

impl GoogleMapsGeocoder {
    /// `gazetteer` supplies time zones (nearest place) and "did you mean" suggestions.
    pub fn new(
        settings: GoogleMapsSettings,
        gazetteer: Arc<Gazetteer>,
    ) -> Result<Self, SetupError> {
        if settings.api_key.trim().is_empty() {
            return Err(SetupError::MissingKey);
        }
        let base_url = settings.base_url.trim_end_matches('/').to_string();
        match reqwest::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return Err(SetupError::BaseUrl(base_url)),
        }
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        // The blocking client starts its own runtime thread; building it must not happen
        // on an async worker.
        let http = off_the_runtime(|| {
            Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .user_agent(concat!("lanerunner/", env!("CARGO_PKG_VERSION")))
                .build()
        })
        .map_err(|e| SetupError::Client(e.without_url().to_string()))?;
        Ok(Self {
            http,
            base_url,
            api_key: settings.api_key,
            gazetteer,
            cache: TtlCache::new(
                settings.cache_capacity,
                Duration::from_secs(settings.cache_ttl_secs),
            ),
            max_parallel_requests: settings.max_parallel_requests.max(1),
        })
    }

    /// Replaces the key (raw or URL-encoded) in a message meant for logs or users.
    fn scrub(&self, text: String) -> String {
        let encoded: String =
            reqwest::Url::parse_with_params("http://x/", [("k", self.api_key.as_str())])
                .ok()
                .and_then(|u| u.query().map(|q| q.trim_start_matches("k=").to_string()))
                .unwrap_or_default();
        let mut text = text.replace(&self.api_key, "****");
        if !encoded.is_empty() && encoded != self.api_key {
            text = text.replace(&encoded, "****");
        }
        text
    }

    fn unavailable(&self, text: String) -> GeocodeError {
        GeocodeError::Unavailable(self.scrub(text))
    }

    /// GET `path?params&key=…`, parsed as `T`.
    fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<T, GeocodeError> {
        let url = format!("{}{path}", self.base_url);
        let mut query: Vec<(&str, &str)> = params.to_vec();
        query.push(("key", &self.api_key));
        let response = self.http.get(&url).query(&query).send().map_err(|e| {
            self.unavailable(format!("Google Maps request failed: {}", e.without_url()))
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.unavailable(format!("Google Maps answered HTTP {status}")));
        }
        response.json::<T>().map_err(|e| {
            self.unavailable(format!(
                "unreadable Google Maps answer: {}",
                e.without_url()
            ))
        })
    }

    /// The error for a non-OK, non-ZERO_RESULTS `status`.
    fn status_error(&self, api: &str, status: &str, message: Option<&str>) -> GeocodeError {
        let what = match status {
            "OVER_QUERY_LIMIT" | "OVER_DAILY_LIMIT" => "quota exceeded",
            "REQUEST_DENIED" => "request denied (check the API key and that the API is enabled)",
            "INVALID_REQUEST" => "invalid request",
            "MAX_ELEMENTS_EXCEEDED" | "MAX_DIMENSIONS_EXCEEDED" => "request too large",
            "UNKNOWN_ERROR" => "server error, may succeed if retried",
            _ => "unexpected status",
        };
        let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
        self.unavailable(format!("Google Maps {api}: {what} ({status}){detail}"))
    }

    fn timezone_near(&self, point: LatLon) -> Option<String> {
        self.gazetteer
            .reverse(point)
            .map(|(place, _)| place.timezone.clone())
    }

    fn to_match(&self, r: &GeocodeResult) -> Option<GeocodeMatch> {
        let name = r.city()?.to_string();
        let region = r.region_code()?.to_string();
        let country = r.country_code()?.to_string();
        let point = LatLon::new(r.geometry.location.lat, r.geometry.location.lng);
        if !point.is_valid() {
            return None;
        }
        Some(GeocodeMatch {
            label: format!("{name}, {region}"),
            name,
            region,
            country,
            point,
            timezone: self.timezone_near(point),
            place_id: None,
            ambiguity: None,
        })
    }

    /// ZERO_RESULTS (or no city among the results): not found, with the gazetteer's
    /// suggestions so the user sees the same "did you mean" as offline.
    fn unknown(&self, query: &str) -> GeocodeError {
        let suggestions = match self.gazetteer.geocode(query) {
            Err(GeocodeError::Unknown { suggestions, .. }) => suggestions,
            Ok(hit) => vec![hit.place.label()],
            Err(_) => Vec::new(),
        };
        GeocodeError::Unknown {
            query: query.to_string(),
            suggestions,
        }
    }

    fn geocode_remote(&self, query: &str) -> Result<GeocodeMatch, GeocodeError> {
        let answer: GeocodeResponse = self.get(
            GEOCODE_PATH,
            &[("address", query), ("components", COUNTRIES)],
        )?;
        tracing::debug!(status = %answer.status, results = answer.results.len(), "google geocode");
        match answer.status.as_str() {
            "OK" => {}
            "ZERO_RESULTS" => return Err(self.unknown(query)),
            other => {
                return Err(self.status_error("geocoding", other, answer.error_message.as_deref()))
            }
        }
        let mut found: Vec<GeocodeMatch> = answer
            .results
            .iter()
            .filter(|r| matches!(r.country_code(), Some("US" | "CA")))
            .filter_map(|r| self.to_match(r))
            .collect();
        found.dedup_by(|a, b| a.label == b.label);
        if found.is_empty() {
            // Only a state, a country or a place outside North America matched.
            return Err(self.unknown(query));
        }
        let mut first = found.remove(0);
        if !found.is_empty() {
            let mut alternatives: Vec<String> = Vec::new();
            for m in &found {
                if m.label != first.label && !alternatives.contains(&m.label) {
                    alternatives.push(m.label.clone());
                }
            }
            if !alternatives.is_empty() {
                first.ambiguity = Some(Ambiguity {
                    matches: alternatives.len() + 1,
                    alternatives: alternatives.into_iter().take(MAX_ALTERNATIVES).collect(),
                });
            }
        }
        Ok(first)
    }

    fn reverse_remote(&self, point: LatLon) -> Result<GeocodeMatch, GeocodeError> {
        let latlng = coord(point);
        let answer: GeocodeResponse = self.get(GEOCODE_PATH, &[("latlng", &latlng)])?;
        tracing::debug!(status = %answer.status, results = answer.results.len(), "google reverse geocode");
        match answer.status.as_str() {
            "OK" => {}
            "ZERO_RESULTS" => {
                return Err(GeocodeError::Unknown {
                    query: latlng,
                    suggestions: Vec::new(),
                })
            }
            other => {
                return Err(self.status_error(
                    "reverse geocoding",
                    other,
                    answer.error_message.as_deref(),
                ))
            }
        }
        // Results go from the most specific (a street address) to the broadest; the first
        // one that lies in a city names it.
        if let Some(m) = answer.results.iter().find_map(|r| self.to_match(r)) {
            return Ok(m);
        }
        // Open country, no town around: the nearest gazetteer place, as offline.
        match self.gazetteer.reverse(point) {
            Some((place, _)) => Ok(GeocodeMatch {
                label: place.label(),
                name: place.name.clone(),
                region: place.region.clone(),
                country: place.country.clone(),
                point: place.point,
                timezone: Some(place.timezone.clone()),
                place_id: Some(place.id),
                ambiguity: None,
            }),
            None => Err(GeocodeError::Unknown {
                query: latlng,
                suggestions: Vec::new(),
            }),
        }
    }

    /// One Distance Matrix request: miles for every (origin, destination) of it.
    fn matrix(&self, req: &MatrixRequest) -> Result<Vec<((String, String), f64)>, GeocodeError> {
        let origins = req.origins.join("|");
        let destinations = req.destinations.join("|");
        let answer: MatrixResponse = self.get(
            DISTANCE_MATRIX_PATH,
            &[
                ("origins", &origins),
                ("destinations", &destinations),
                ("units", "imperial"),
            ],
        )?;
        tracing::debug!(
            status = %answer.status,
            origins = req.origins.len(),
            destinations = req.destinations.len(),
            "google distance matrix"
        );
        if answer.status != "OK" {
            return Err(self.status_error(
                "distance matrix",
                &answer.status,
                answer.error_message.as_deref(),
            ));
        }
        if answer.rows.len() != req.origins.len() {
            return Err(self.unavailable(format!(
                "Google Maps distance matrix: {} rows for {} origins",
                answer.rows.len(),
                req.origins.len()
            )));
        }
        let mut out = Vec::with_capacity(req.elements());
        for (origin, row) in req.origins.iter().zip(&answer.rows) {
            if row.elements.len() != req.destinations.len() {
                return Err(self.unavailable(format!(
                    "Google Maps distance matrix: {} elements for {} destinations",
                    row.elements.len(),
                    req.destinations.len()
                )));
            }
            for (dest, element) in req.destinations.iter().zip(&row.elements) {
                let metres = match (element.status.as_str(), &element.distance) {
                    ("OK", Some(d)) if d.value.is_finite() && d.value >= 0.0 => d.value,
                    ("OK", _) => {
                        return Err(self.unavailable(
                            "Google Maps distance matrix: an OK element without a distance".into(),
                        ))
                    }
                    _ => {
                        return Err(GeocodeError::NoRoute {
                            from: origin.clone(),
                            to: dest.clone(),
                        })
                    }
                };
                out.push(((origin.clone(), dest.clone()), metres / METERS_PER_MILE));
            }
        }
        Ok(out)
    }

    fn distances_remote(
        &self,
        pairs: &[(String, String)],
    ) -> Result<HashMap<(String, String), f64>, GeocodeError> {
        let requests = matrix::plan(pairs);
        let mut miles = HashMap::new();
        for wave in requests.chunks(self.max_parallel_requests) {
            let answers: Vec<_> = if wave.len() == 1 {
                vec![self.matrix(&wave[0])]
            } else {
                std::thread::scope(|s| {
                    let handles: Vec<_> = wave.iter().map(|r| s.spawn(|| self.matrix(r))).collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                        .collect()
                })
            };
            for answer in answers {
                miles.extend(answer?);
            }
        }
        Ok(miles)
    }
}

/// "lat,lng" to six decimals (about 10 cm), as both request and plan keys.
fn coord(p: LatLon) -> String {
    format!("{:.6},{:.6}", p.lat, p.lon)
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

/// Runs blocking I/O so that it is safe from any thread: directly outside a runtime,
/// under `block_in_place` on a multi-threaded runtime's worker (other tasks move to other
/// workers), on a helper thread on a current-thread runtime (which cannot lend its only
/// thread). The blocking client panics in debug builds when it waits on an async thread.
fn off_the_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => f(),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| {
            s.spawn(f)
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }),
    }
}

impl Geocoder for GoogleMapsGeocoder {
    fn geocode(&self, query: &str) -> Result<GeocodeMatch, GeocodeError> {
        let key = normalize(query);
        if key.is_empty() {
            return Err(self.unknown(query));
        }
        if let Some(hit) = self.cache.get(&key) {
            // The cached answer may have come from another spelling of the query.
            return hit.map_err(|e| match e {
                GeocodeError::Unknown { suggestions, .. } => GeocodeError::Unknown {
                    query: query.to_string(),
                    suggestions,
                },
                other => other,
            });
        }
        let answer = off_the_runtime(|| self.geocode_remote(query));
        if !matches!(answer, Err(GeocodeError::Unavailable(_))) {
            self.cache.insert(key, answer.clone());
        }
        answer
    }

    fn reverse(&self, point: LatLon) -> Result<GeocodeMatch, GeocodeError> {
        let point = check(point)?;
        off_the_runtime(|| self.reverse_remote(point))
    }

    fn distance_miles(&self, pairs: &[(LatLon, LatLon)]) -> Result<Vec<f64>, GeocodeError> {
        let keyed: Vec<(String, String)> = pairs
            .iter()
            .map(|&(a, b)| Ok((coord(check(a)?), coord(check(b)?))))
            .collect::<Result<_, GeocodeError>>()?;
        let miles = off_the_runtime(|| self.distances_remote(&keyed))?;
        keyed
            .iter()
            .map(|pair| {
                if pair.0 == pair.1 {
                    return Ok(0.0);
                }
                miles.get(pair).copied().ok_or_else(|| {
                    self.unavailable(format!(
                        "Google Maps gave no distance from {} to {}",
                        pair.0, pair.1
                    ))
                })
            })
            .collect()
    }

    fn is_remote(&self) -> bool {
        true
    }
}
