//! The Google Maps geocoder against the loopback stand-in that speaks Google's JSON.

use std::sync::Arc;
use std::time::Duration;

use lanerunner_geo::{Gazetteer, GeocodeError, Geocoder, LatLon};
use lanerunner_googlemaps::testing::GoogleStandIn;
use lanerunner_googlemaps::{
    GoogleMapsGeocoder, GoogleMapsSettings, DISTANCE_MATRIX_PATH, GEOCODE_PATH,
};
use std::sync::OnceLock;

const KEY: &str = "AIza-test-key-0123456789";

fn gazetteer() -> Arc<Gazetteer> {
    static G: OnceLock<Arc<Gazetteer>> = OnceLock::new();
    G.get_or_init(|| Arc::new(Gazetteer::embedded())).clone()
}

fn geocoder(settings: GoogleMapsSettings) -> GoogleMapsGeocoder {
    GoogleMapsGeocoder::new(settings, gazetteer()).expect("geocoder")
}

fn point_of(label: &str) -> LatLon {
    gazetteer().geocode(label).unwrap().place.point
}

#[test]
fn geocodes_city_state_through_the_geocoding_api() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let dallas = g.geocode("Dallas, TX").unwrap();
    assert_eq!(dallas.label, "Dallas, TX");
    assert_eq!(dallas.region, "TX");
    assert_eq!(dallas.country, "US");
    assert_eq!(dallas.timezone.as_deref(), Some("America/Chicago"));
    assert_eq!(dallas.place_id, None);
    assert!(dallas.point.distance_check(point_of("Dallas, TX")));
    let toronto = g.geocode("toronto ontario").unwrap();
    assert_eq!(toronto.label, "Toronto, ON");
    assert_eq!(toronto.country, "CA");
    assert_eq!(toronto.timezone.as_deref(), Some("America/Toronto"));

    let sent = google.requests();
    assert_eq!(sent.len(), 2);
    let first = &sent[0];
    assert_eq!(first.path, GEOCODE_PATH);
    assert_eq!(first.params["address"], "Dallas, TX");
    assert_eq!(first.params["components"], "country:US|country:CA");
    assert_eq!(first.params["key"], KEY);
    assert!(g.is_remote());
}

/// Approximate equality for points that went through JSON.
trait Near {
    fn distance_check(&self, other: LatLon) -> bool;
}
impl Near for LatLon {
    fn distance_check(&self, other: LatLon) -> bool {
        (self.lat - other.lat).abs() < 1e-6 && (self.lon - other.lon).abs() < 1e-6
    }
}

#[test]
fn ambiguous_names_list_the_other_places_google_returned() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let portland = g.geocode("Portland").unwrap();
    assert_eq!(portland.label, "Portland, OR");
    let amb = portland.ambiguity.expect("ambiguous");
    assert_eq!(amb.alternatives, vec!["Portland, ME".to_string()]);
    assert_eq!(amb.matches, 2);
    assert!(g.geocode("Portland, ME").unwrap().ambiguity.is_none());
}

#[test]
fn unknown_places_are_unknown_with_gazetteer_suggestions() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    match g.geocode("Dalas, TX") {
        Err(GeocodeError::Unknown { query, suggestions }) => {
            assert_eq!(query, "Dalas, TX");
            assert!(
                suggestions.contains(&"Dallas, TX".to_string()),
                "{suggestions:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Google matched only the state: not a city, so not a place for a stop.
    assert!(matches!(
        g.geocode("Texas"),
        Err(GeocodeError::Unknown { .. })
    ));
    assert_eq!(google.count(GEOCODE_PATH), 2);
    // An empty query never leaves the process.
    assert!(matches!(g.geocode("  "), Err(GeocodeError::Unknown { .. })));
    assert_eq!(google.count(GEOCODE_PATH), 2);
}

#[test]
fn second_geocode_of_a_place_is_served_from_the_cache() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let a = g.geocode("St. Louis, MO").unwrap();
    // Another spelling of the same query normalises to the same key.
    let b = g.geocode("saint louis mo").unwrap();
    let c = g.geocode("St. Louis, MO").unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(google.count(GEOCODE_PATH), 1);
    // Not-found answers are cached too, under the caller's spelling.
    assert!(g.geocode("Nowhereville, TX").is_err());
    match g.geocode("nowhereville tx") {
        Err(GeocodeError::Unknown { query, .. }) => assert_eq!(query, "nowhereville tx"),
        other => panic!("{other:?}"),
    }
    assert_eq!(google.count(GEOCODE_PATH), 2);
    // A cache of 0 entries asks every time.
    let uncached = geocoder(GoogleMapsSettings {
        cache_capacity: 0,
        ..google.settings()
    });
    google.clear_requests();
    uncached.geocode("Dallas, TX").unwrap();
    uncached.geocode("Dallas, TX").unwrap();
    assert_eq!(google.count(GEOCODE_PATH), 2);
}

#[test]
fn failures_are_not_cached() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    google.set_over_query_limit(true);
    assert!(matches!(
        g.geocode("Denver, CO"),
        Err(GeocodeError::Unavailable(_))
    ));
    google.set_over_query_limit(false);
    assert_eq!(g.geocode("Denver, CO").unwrap().label, "Denver, CO");
    assert_eq!(google.count(GEOCODE_PATH), 2);
}

#[test]
fn reverse_names_the_city_a_point_lies_in() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let near_memphis = LatLon::new(35.10, -90.00);
    let m = g.reverse(near_memphis).unwrap();
    assert_eq!(m.label, "Memphis, TN");
    assert_eq!(m.timezone.as_deref(), Some("America/Chicago"));
    let sent = google.requests();
    assert_eq!(sent[0].params["latlng"], "35.100000,-90.000000");
    assert!(!sent[0].params.contains_key("address"));

    // Open country (Google finds only the state): the nearest gazetteer place.
    let west_texas = LatLon::new(32.4, -98.9);
    let w = g.reverse(west_texas).unwrap();
    assert_eq!(w.region, "TX");
    assert!(w.place_id.is_some(), "from the gazetteer: {w:?}");
    assert_eq!(w.timezone.as_deref(), Some("America/Chicago"));

    // Mid-Atlantic: nothing at all.
    assert!(matches!(
        g.reverse(LatLon::new(35.0, -45.0)),
        Err(GeocodeError::Unknown { .. })
    ));
    // An invalid point is refused without a request.
    let before = google.count(GEOCODE_PATH);
    assert!(matches!(
        g.reverse(LatLon::new(95.0, 0.0)),
        Err(GeocodeError::InvalidPoint { .. })
    ));
    assert_eq!(google.count(GEOCODE_PATH), before);
}

#[test]
fn distances_come_from_the_matrix_in_metres_converted_to_miles() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let (dal, hou, chi) = (
        point_of("Dallas, TX"),
        point_of("Houston, TX"),
        point_of("Chicago, IL"),
    );
    let miles = g
        .distance_miles(&[(dal, hou), (dal, chi), (dal, dal)])
        .unwrap();
    // The stand-in answers great circle × 1.2 in whole metres, as Google answers metres.
    let expect = lanerunner_geo::road_miles(dal, hou);
    assert!((miles[0] - expect).abs() < 0.01, "{miles:?} vs {expect}");
    assert!((miles[1] - lanerunner_geo::road_miles(dal, chi)).abs() < 0.01);
    assert_eq!(miles[2], 0.0);
    // One origin, two destinations: one request; the self pair is not asked.
    assert_eq!(google.count(DISTANCE_MATRIX_PATH), 1);
    let r = &google.requests()[0];
    assert_eq!(r.params["units"], "imperial");
    assert_eq!(r.params["key"], KEY);
    assert_eq!(r.params["destinations"].split('|').count(), 2);
}

#[test]
fn distance_batches_respect_google_limits_and_bill_only_asked_elements() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let places: Vec<LatLon> = gazetteer()
        .places()
        .iter()
        .filter(|p| p.region == "TX")
        .take(40)
        .map(|p| p.point)
        .collect();
    assert_eq!(places.len(), 40);

    // 1 origin × 30 destinations: 25 + 5 destinations, 2 requests.
    let pairs: Vec<_> = places[10..40].iter().map(|&d| (places[0], d)).collect();
    let miles = g.distance_miles(&pairs).unwrap();
    assert_eq!(miles.len(), 30);
    assert_eq!(google.count(DISTANCE_MATRIX_PATH), 2);
    for (m, (a, b)) in miles.iter().zip(&pairs) {
        assert!((m - lanerunner_geo::road_miles(*a, *b)).abs() < 0.01);
    }

    // 8 trucks × the same 20 pickups (160 pairs): 5 × 20 and 3 × 20 elements.
    google.clear_requests();
    let pairs: Vec<_> = places[0..8]
        .iter()
        .flat_map(|&o| places[20..40].iter().map(move |&d| (o, d)))
        .collect();
    let miles = g.distance_miles(&pairs).unwrap();
    assert_eq!(miles.len(), 160);
    assert_eq!(google.count(DISTANCE_MATRIX_PATH), 2);
    let elements: usize = google
        .requests()
        .iter()
        .map(|r| {
            r.params["origins"].split('|').count() * r.params["destinations"].split('|').count()
        })
        .sum();
    assert_eq!(elements, 160);

    // A route of 4 distinct legs: 4 one-element requests, not a 4 × 4 matrix.
    google.clear_requests();
    let route: Vec<_> = places[0..5].windows(2).map(|w| (w[0], w[1])).collect();
    g.distance_miles(&route).unwrap();
    assert_eq!(google.count(DISTANCE_MATRIX_PATH), 4);

    // Repeated pairs are asked once; an empty batch asks nothing.
    google.clear_requests();
    g.distance_miles(&[(places[0], places[1]); 5]).unwrap();
    assert_eq!(google.count(DISTANCE_MATRIX_PATH), 1);
    google.clear_requests();
    assert!(g.distance_miles(&[]).unwrap().is_empty());
    assert_eq!(google.count(DISTANCE_MATRIX_PATH), 0);
}

#[test]
fn an_unroutable_pair_is_no_route_and_invalid_points_send_nothing() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let (dal, hou) = (point_of("Dallas, TX"), point_of("Houston, TX"));
    let island = LatLon::new(21.3, -157.85);
    google.make_unroutable(island);
    match g.distance_miles(&[(dal, hou), (dal, island)]) {
        Err(GeocodeError::NoRoute { from, to }) => {
            assert_eq!(from, format!("{:.6},{:.6}", dal.lat, dal.lon));
            assert_eq!(to, "21.300000,-157.850000");
        }
        other => panic!("{other:?}"),
    }
    google.clear_requests();
    assert!(matches!(
        g.distance_miles(&[(dal, hou), (LatLon::new(0.0, 200.0), hou)]),
        Err(GeocodeError::InvalidPoint { .. })
    ));
    assert_eq!(google.count(DISTANCE_MATRIX_PATH), 0);
}

#[test]
fn google_statuses_map_to_unavailable() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let (dal, hou) = (point_of("Dallas, TX"), point_of("Houston, TX"));
    google.set_over_query_limit(true);
    for err in [
        g.geocode("Dallas, TX").unwrap_err(),
        g.reverse(dal).unwrap_err(),
        g.distance_miles(&[(dal, hou)]).unwrap_err(),
    ] {
        match err {
            GeocodeError::Unavailable(m) => {
                assert!(m.contains("OVER_QUERY_LIMIT") && m.contains("quota"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
    google.set_over_query_limit(false);

    let denied = geocoder(GoogleMapsSettings {
        api_key: "wrong-key".into(),
        ..google.settings()
    });
    for err in [
        denied.geocode("Dallas, TX").unwrap_err(),
        denied.distance_miles(&[(dal, hou)]).unwrap_err(),
    ] {
        match err {
            GeocodeError::Unavailable(m) => assert!(m.contains("REQUEST_DENIED"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn the_api_key_never_appears_in_errors() {
    let google = GoogleStandIn::start(KEY);
    // A key with characters that a query string encodes, echoed back by the server.
    let secret = "sk+secret/key=42";
    let g = geocoder(GoogleMapsSettings {
        api_key: secret.into(),
        ..google.settings()
    });
    google.set_reflect_query(true);
    let (dal, hou) = (point_of("Dallas, TX"), point_of("Houston, TX"));
    let mut messages = vec![
        g.geocode("Dallas, TX").unwrap_err().to_string(),
        g.distance_miles(&[(dal, hou)]).unwrap_err().to_string(),
    ];
    assert!(messages[0].contains("REQUEST_DENIED"), "{}", messages[0]);
    assert!(
        messages[0].contains("****"),
        "the stand-in did echo it: {}",
        messages[0]
    );

    // Transport failures: a timeout, and a port nobody listens on.
    google.set_reflect_query(false);
    google.set_delay(Duration::from_millis(600));
    let slow = geocoder(GoogleMapsSettings {
        api_key: secret.into(),
        timeout_ms: 150,
        ..google.settings()
    });
    messages.push(slow.geocode("Houston, TX").unwrap_err().to_string());
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let nowhere = geocoder(GoogleMapsSettings {
        api_key: secret.into(),
        base_url: format!("http://{closed}"),
        ..google.settings()
    });
    messages.push(nowhere.geocode("Dallas, TX").unwrap_err().to_string());
    messages.push(nowhere.reverse(dal).unwrap_err().to_string());
    messages.push(format!("{nowhere:?}"));
    for m in &messages {
        assert!(!m.contains(secret), "{m}");
        assert!(!m.contains("sk%2Bsecret"), "{m}");
        assert!(!m.contains("secret"), "{m}");
    }
    assert!(messages[2].contains("unavailable"), "{}", messages[2]);
}

#[test]
fn settings_are_checked_at_construction() {
    let mut s = GoogleMapsSettings::new("");
    assert!(GoogleMapsGeocoder::new(s.clone(), gazetteer()).is_err());
    s.api_key = "k".into();
    s.base_url = "ftp://maps".into();
    assert!(GoogleMapsGeocoder::new(s.clone(), gazetteer()).is_err());
    s.base_url = "https://maps.googleapis.com/".into();
    assert!(GoogleMapsGeocoder::new(s, gazetteer()).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn can_be_called_from_a_multi_threaded_runtime() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    assert_eq!(g.geocode("Atlanta, GA").unwrap().label, "Atlanta, GA");
    let g = Arc::new(g);
    let from_blocking = {
        let g = g.clone();
        tokio::task::spawn_blocking(move || g.geocode("Phoenix, AZ").map(|m| m.label))
            .await
            .unwrap()
    };
    assert_eq!(from_blocking.unwrap(), "Phoenix, AZ");
}

#[tokio::test(flavor = "current_thread")]
async fn can_be_called_from_a_current_thread_runtime() {
    let google = GoogleStandIn::start(KEY);
    let g = geocoder(google.settings());
    let (dal, hou) = (point_of("Dallas, TX"), point_of("Houston, TX"));
    assert_eq!(
        g.geocode("Kansas City, MO").unwrap().label,
        "Kansas City, MO"
    );
    assert_eq!(g.distance_miles(&[(dal, hou)]).unwrap().len(), 1);
}
