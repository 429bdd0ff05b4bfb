//! A stand-in for Google's Geocoding and Distance Matrix APIs, for tests: an axum server
//! on 127.0.0.1 that answers in Google's JSON from a small table of real places taken
//! from the vendored gazetteer. It checks the API key (REQUEST_DENIED otherwise), answers
//! ZERO_RESULTS for places it does not know, OVER_QUERY_LIMIT when told to, enforces the
//! Distance Matrix limits (25 origins, 25 destinations, 100 elements) and records every
//! request so tests can count them.
//!
//! It runs on its own thread and runtime, so it serves blocking and async tests alike:
//!
//! ```no_run
//! use lanerunner_googlemaps::testing::GoogleStandIn;
//! let google = GoogleStandIn::start("test-key");
//! let settings = google.settings(); // base_url pointing at it, the right key
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use lanerunner_geo::{road_miles, Gazetteer, LatLon, Place, METERS_PER_MILE, REGIONS};
use serde_json::{json, Value};

use crate::matrix::{MAX_DESTINATIONS, MAX_ELEMENTS, MAX_ORIGINS};
use crate::{GoogleMapsSettings, DISTANCE_MATRIX_PATH, GEOCODE_PATH};

/// The places the stand-in knows by default: hubs across the US and Canada, plus both
/// Portlands (an ambiguous name).
pub const DEFAULT_PLACES: &[&str] = &[
    "Dallas, TX",
    "Houston, TX",
    "Fort Worth, TX",
    "Chicago, IL",
    "Atlanta, GA",
    "Los Angeles, CA",
    "Denver, CO",
    "Memphis, TN",
    "St. Louis, MO",
    "Portland, OR",
    "Portland, ME",
    "Toronto, ON",
    "Montréal, QC",
    "Kansas City, MO",
    "Phoenix, AZ",
];

/// Farther than this from every known place, a reverse lookup finds only the state.
const TOWN_RADIUS_MILES: f64 = 25.0;
/// Farther than this, it finds nothing at all (ZERO_RESULTS).
const REACH_MILES: f64 = 200.0;

/// One request the stand-in answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub params: HashMap<String, String>,
}

struct Shared {
    key: String,
    places: Gazetteer,
    requests: Mutex<Vec<Recorded>>,
    over_query_limit: AtomicBool,
    reflect_query: AtomicBool,
    delay_ms: AtomicU64,
    /// "lat,lng" points no road reaches.
    unroutable: Mutex<Vec<String>>,
}

/// The running stand-in; stops when dropped.
pub struct GoogleStandIn {
    pub base_url: String,
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl GoogleStandIn {
    /// Knows [`DEFAULT_PLACES`] and accepts `key`.
    pub fn start(key: &str) -> Self {
        Self::with_places(key, DEFAULT_PLACES)
    }

    /// Knows exactly `labels` ("City, ST"), looked up in the embedded gazetteer.
    pub fn with_places(key: &str, labels: &[&str]) -> Self {
        let gazetteer = Gazetteer::embedded();
        let places: Vec<Place> = labels
            .iter()
            .map(|l| {
                let hit = gazetteer.geocode(l).unwrap_or_else(|e| panic!("{l}: {e}"));
                hit.place.clone()
            })
            .collect();
        let shared = Arc::new(Shared {
            key: key.to_string(),
            places: Gazetteer::from_places(places),
            requests: Mutex::new(Vec::new()),
            over_query_limit: AtomicBool::new(false),
            reflect_query: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            unroutable: Mutex::new(Vec::new()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .route(GEOCODE_PATH, get(geocode))
            .route(DISTANCE_MATRIX_PATH, get(distance_matrix))
            .with_state(shared.clone());
        let thread = std::thread::Builder::new()
            .name("google-stand-in".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("stand-in runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await
                        .expect("stand-in serves");
                });
            })
            .expect("spawn stand-in");
        GoogleStandIn {
            base_url: format!("http://{addr}"),
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Geocoder settings for this stand-in: its URL and key, a short timeout.
    pub fn settings(&self) -> GoogleMapsSettings {
        GoogleMapsSettings {
            base_url: self.base_url.clone(),
            timeout_ms: 2_000,
            ..GoogleMapsSettings::new(self.shared.key.clone())
        }
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Requests so far to `path` ([`GEOCODE_PATH`], [`DISTANCE_MATRIX_PATH`]).
    pub fn count(&self, path: &str) -> usize {
        self.shared
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    pub fn clear_requests(&self) {
        self.shared.requests.lock().unwrap().clear();
    }

    /// Answer OVER_QUERY_LIMIT to everything while `on`.
    pub fn set_over_query_limit(&self, on: bool) {
        self.shared.over_query_limit.store(on, Ordering::SeqCst);
    }

    /// Put the raw query string (API key included) into REQUEST_DENIED's `error_message`,
    /// as a misbehaving proxy might: the geocoder must still not repeat the key.
    pub fn set_reflect_query(&self, on: bool) {
        self.shared.reflect_query.store(on, Ordering::SeqCst);
    }

    /// Wait this long before every answer.
    pub fn set_delay(&self, delay: Duration) {
        self.shared
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// No road reaches `point` (Distance Matrix elements to or from it are ZERO_RESULTS).
    pub fn make_unroutable(&self, point: LatLon) {
        self.shared
            .unroutable
            .lock()
            .unwrap()
            .push(format!("{:.6},{:.6}", point.lat, point.lon));
    }
}

impl Drop for GoogleStandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Records the request, then says whether it may be answered: the status to answer with
/// otherwise.
async fn admit(shared: &Shared, path: &str, params: &HashMap<String, String>) -> Result<(), Value> {
    shared.requests.lock().unwrap().push(Recorded {
        path: path.to_string(),
        params: params.clone(),
    });
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if params.get("key") != Some(&shared.key) {
        let message = if shared.reflect_query.load(Ordering::SeqCst) {
            let raw: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            format!(
                "The provided API key is invalid. Request: {}",
                raw.join("&")
            )
        } else {
            "The provided API key is invalid.".to_string()
        };
        return Err(
            json!({"status": "REQUEST_DENIED", "error_message": message, "results": [], "rows": []}),
        );
    }
    if shared.over_query_limit.load(Ordering::SeqCst) {
        return Err(json!({
            "status": "OVER_QUERY_LIMIT",
            "error_message": "You have exceeded your rate-limit for this API.",
            "results": [], "rows": []
        }));
    }
    Ok(())
}

/// Percent-encodes like a query string does.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn region_name(code: &str) -> &str {
    REGIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
        .unwrap_or(code)
}

fn country_name(code: &str) -> &str {
    match code {
        "US" => "United States",
        "CA" => "Canada",
        other => other,
    }
}

fn component(long: &str, short: &str, types: &[&str]) -> Value {
    json!({"long_name": long, "short_name": short, "types": types})
}

fn location(p: LatLon) -> Value {
    json!({"lat": p.lat, "lng": p.lon})
}

/// A locality result, as Google gives for "Dallas, TX".
fn locality_result(place: &Place) -> Value {
    json!({
        "address_components": [
            component(&place.name, &place.name, &["locality", "political"]),
            component(region_name(&place.region), &place.region, &["administrative_area_level_1", "political"]),
            component(country_name(&place.country), &place.country, &["country", "political"]),
        ],
        "formatted_address": format!("{}, {}, {}", place.name, place.region, if place.country == "US" { "USA" } else { "Canada" }),
        "geometry": {"location": location(place.point), "location_type": "APPROXIMATE"},
        "place_id": format!("stand-in-{}", place.id),
        "types": ["locality", "political"],
    })
}

/// A state-only result: what Google answers for "Texas", or around a point in open
/// country.
fn region_result(code: &str, country: &str, at: LatLon) -> Value {
    json!({
        "address_components": [
            component(region_name(code), code, &["administrative_area_level_1", "political"]),
            component(country_name(country), country, &["country", "political"]),
        ],
        "formatted_address": format!("{}, {}", region_name(code), country),
        "geometry": {"location": location(at), "location_type": "APPROXIMATE"},
        "place_id": format!("stand-in-{code}"),
        "types": ["administrative_area_level_1", "political"],
    })
}

async fn geocode(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(answer) = admit(&shared, GEOCODE_PATH, &params).await {
        return Json(answer);
    }
    let results: Vec<Value> = match (params.get("address"), params.get("latlng")) {
        (Some(address), None) if !address.trim().is_empty() => {
            match shared.places.geocode(address) {
                Ok(hit) => {
                    let mut all = vec![locality_result(hit.place)];
                    if let Some(amb) = &hit.ambiguity {
                        for label in &amb.alternatives {
                            if let Ok(other) = shared.places.geocode(label) {
                                all.push(locality_result(other.place));
                            }
                        }
                    }
                    all
                }
                Err(_) => match lanerunner_geo::region_code(address) {
                    Some(code) => {
                        let country = if matches!(
                            code,
                            "AB" | "BC"
                                | "MB"
                                | "NB"
                                | "NL"
                                | "NS"
                                | "NT"
                                | "NU"
                                | "ON"
                                | "PE"
                                | "QC"
                                | "SK"
                                | "YT"
                        ) {
                            "CA"
                        } else {
                            "US"
                        };
                        vec![region_result(code, country, LatLon::new(40.0, -100.0))]
                    }
                    None => Vec::new(),
                },
            }
        }
        (None, Some(latlng)) => match parse_point(latlng) {
            None => return Json(json!({"status": "INVALID_REQUEST", "results": []})),
            Some(point) => match shared.places.reverse(point) {
                Some((place, miles)) if miles <= TOWN_RADIUS_MILES => vec![
                    // The most specific result first, as Google orders them.
                    json!({
                        "address_components": [
                            component("Main Street", "Main St", &["route"]),
                            component(&place.name, &place.name, &["locality", "political"]),
                            component(region_name(&place.region), &place.region, &["administrative_area_level_1", "political"]),
                            component(country_name(&place.country), &place.country, &["country", "political"]),
                        ],
                        "geometry": {"location": location(point), "location_type": "GEOMETRIC_CENTER"},
                        "types": ["route"],
                    }),
                    locality_result(place),
                    region_result(&place.region, &place.country, place.point),
                ],
                Some((place, miles)) if miles <= REACH_MILES => {
                    vec![region_result(&place.region, &place.country, point)]
                }
                _ => Vec::new(),
            },
        },
        _ => {
            return Json(json!({
                "status": "INVALID_REQUEST",
                "error_message": "Invalid request. Missing the 'address', 'components', 'latlng' or 'place_id' parameter.",
                "results": []
            }))
        }
    };
    let status = if results.is_empty() {
        "ZERO_RESULTS"
    } else {
        "OK"
    };
    Json(json!({"status": status, "results": results}))
}

fn parse_point(text: &str) -> Option<LatLon> {
    let (lat, lng) = text.split_once(',')?;
    let p = LatLon::new(lat.trim().parse().ok()?, lng.trim().parse().ok()?);
    p.is_valid().then_some(p)
}

async fn distance_matrix(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
) -> Json<Value> {
    if let Err(answer) = admit(&shared, DISTANCE_MATRIX_PATH, &params).await {
        return Json(answer);
    }
    let invalid =
        |m: &str| Json(json!({"status": "INVALID_REQUEST", "error_message": m, "rows": []}));
    let (Some(origins), Some(destinations)) = (params.get("origins"), params.get("destinations"))
    else {
        return invalid("origins and destinations are required");
    };
    let origins: Vec<&str> = origins.split('|').collect();
    let destinations: Vec<&str> = destinations.split('|').collect();
    if origins.len() > MAX_ORIGINS || destinations.len() > MAX_DESTINATIONS {
        return Json(json!({"status": "MAX_DIMENSIONS_EXCEEDED", "rows": []}));
    }
    if origins.len() * destinations.len() > MAX_ELEMENTS {
        return Json(json!({"status": "MAX_ELEMENTS_EXCEEDED", "rows": []}));
    }
    let (Some(o_points), Some(d_points)) = (
        origins
            .iter()
            .map(|s| parse_point(s))
            .collect::<Option<Vec<_>>>(),
        destinations
            .iter()
            .map(|s| parse_point(s))
            .collect::<Option<Vec<_>>>(),
    ) else {
        return invalid("origins and destinations must be lat,lng here");
    };
    let unroutable = shared.unroutable.lock().unwrap().clone();
    let rows: Vec<Value> = origins
        .iter()
        .zip(&o_points)
        .map(|(o, &op)| {
            let elements: Vec<Value> = destinations
                .iter()
                .zip(&d_points)
                .map(|(d, &dp)| {
                    if unroutable.iter().any(|u| u == o || u == d) {
                        return json!({"status": "ZERO_RESULTS"});
                    }
                    let miles = road_miles(op, dp);
                    json!({
                        "distance": {"text": format!("{miles:.0} mi"), "value": (miles * METERS_PER_MILE).round() as u64},
                        "duration": {"text": "", "value": (miles / 55.0 * 3600.0).round() as u64},
                        "status": "OK",
                    })
                })
                .collect();
            json!({"elements": elements})
        })
        .collect();
    Json(json!({
        "destination_addresses": destinations,
        "origin_addresses": origins,
        "rows": rows,
        "status": "OK",
    }))
}
