//! Reverse geocoding through the grid equals a brute-force scan.

use std::sync::OnceLock;

use lanerunner_geo::{haversine_miles, Gazetteer, LatLon, Place};
use proptest::prelude::*;

fn gaz() -> &'static Gazetteer {
    static G: OnceLock<Gazetteer> = OnceLock::new();
    G.get_or_init(Gazetteer::embedded)
}

fn brute(g: &Gazetteer, p: LatLon) -> f64 {
    g.places()
        .iter()
        .map(|q| haversine_miles(p, q.point))
        .fold(f64::INFINITY, f64::min)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn nearest_place_matches_brute_force_in_north_america(
        lat in 15.0f64..75.0, lon in -170.0f64..-50.0,
    ) {
        let p = LatLon::new(lat, lon);
        let (_, d) = gaz().reverse(p).unwrap();
        prop_assert_eq!(d, brute(gaz(), p));
    }

    #[test]
    fn nearest_place_matches_brute_force_anywhere_on_earth(
        lat in -90.0f64..=90.0, lon in -180.0f64..=180.0,
    ) {
        let p = LatLon::new(lat, lon);
        let (_, d) = gaz().reverse(p).unwrap();
        prop_assert_eq!(d, brute(gaz(), p));
    }

    #[test]
    fn sparse_gazetteers_across_the_antimeridian_match_brute_force(
        pts in prop::collection::vec((-89.0f64..89.0, -180.0f64..180.0), 1..6),
        lat in -90.0f64..=90.0, lon in -180.0f64..=180.0,
    ) {
        let places: Vec<Place> = pts.iter().enumerate().map(|(i, &(a, b))| Place {
            id: i as u32, name: format!("P{i}"), region: "XX".into(), country: "US".into(),
            point: LatLon::new(a, b), population: 1000, timezone: "UTC".into(),
        }).collect();
        let g = Gazetteer::from_places(places);
        let p = LatLon::new(lat, lon);
        let (_, d) = g.reverse(p).unwrap();
        prop_assert_eq!(d, brute(&g, p));
    }
}

#[test]
fn an_empty_gazetteer_has_no_nearest_place() {
    let g = Gazetteer::from_places(Vec::new());
    assert!(g.reverse(LatLon::new(0.0, 0.0)).is_none());
}
