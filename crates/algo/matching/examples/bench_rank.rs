//! Ranked trucks for one new load among 100,000 available trucks.
//!
//! `cargo run --release -p lanerunner-matching --example bench_rank`
//!
//! Trucks and loads sit at gazetteer places drawn by population (freight follows people),
//! with a realistic trailer mix, deadhead limits of 75–300 miles and availability over the
//! next day; loads pick up over the next two days. Reports p50/p99 latency of the top 20.

use std::time::Instant;

use lanerunner_geo::{road_miles, Gazetteer, LatLon};
use lanerunner_matching::{LoadFacts, MatchParams, Trailer, TruckFacts, TruckIndex};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TRUCKS: usize = 100_000;
const QUERIES: usize = 2_000;
const H: i64 = 3600;

fn trailer(rng: &mut StdRng) -> Trailer {
    match rng.gen_range(0..100) {
        0..=59 => Trailer::DryVan,
        60..=79 => Trailer::Reefer,
        80..=91 => Trailer::Flatbed,
        92..=95 => Trailer::StepDeck,
        96..=97 => Trailer::PowerOnly,
        _ => Trailer::Hotshot,
    }
}

/// A point near a place drawn by population.
fn somewhere(
    rng: &mut StdRng,
    places: &[lanerunner_geo::Place],
    weights: &WeightedIndex<f64>,
) -> LatLon {
    let p = places[weights.sample(rng)].point;
    LatLon {
        lat: p.lat + rng.gen_range(-0.05..0.05),
        lon: p.lon + rng.gen_range(-0.05..0.05),
    }
}

fn main() {
    let gaz = Gazetteer::embedded();
    let places = gaz.places();
    let weights = WeightedIndex::new(places.iter().map(|p| p.population.max(1) as f64)).unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    let mut index = TruckIndex::new();
    let started = Instant::now();
    for id in 0..TRUCKS {
        let at = somewhere(&mut rng, places, &weights);
        index.upsert(TruckFacts {
            id: id as u128,
            trailer: trailer(&mut rng),
            position: at,
            available_at: rng.gen_range(0..24 * H),
            drive_hours_left: rng.gen_range(2.0..11.0),
            max_weight_lbs: 45_000,
            trailer_length_ft: 53,
            team: rng.gen_bool(0.1),
            hazmat: rng.gen_bool(0.15),
            max_deadhead_miles: rng.gen_range(75.0..300.0),
            min_rate_per_mile_cents: rng.gen_range(180..280),
            destination: if rng.gen_bool(0.5) {
                Some(places[weights.sample(&mut rng)].point)
            } else {
                None
            },
            lane_history: rng.gen_range(0..4),
        });
    }
    println!(
        "indexed {} trucks in {:.0} ms",
        index.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let params = MatchParams::default();
    let mut latencies = Vec::with_capacity(QUERIES);
    let mut found = 0usize;
    for id in 0..QUERIES {
        let origin = somewhere(&mut rng, places, &weights);
        let destination = somewhere(&mut rng, places, &weights);
        let miles = road_miles(origin, destination);
        let start = rng.gen_range(2 * H..48 * H);
        let load = LoadFacts {
            id: (1_000_000 + id) as u128,
            trailer: trailer(&mut rng),
            origin,
            destination,
            pickup_start: start,
            pickup_end: start + rng.gen_range(2 * H..8 * H),
            delivery_end: start + 24 * H + (miles / 45.0 * 3600.0) as i64,
            weight_lbs: rng.gen_range(10_000..44_000),
            length_ft: 53,
            team_required: false,
            hazmat: rng.gen_bool(0.03),
            rate_cents: (miles * rng.gen_range(200.0..320.0)) as i64 + 25_000,
            loaded_miles: miles,
        };
        let t = Instant::now();
        let ranked = index.rank_for_load(&load, 20, &params, 0);
        latencies.push(t.elapsed());
        found += ranked.len();
    }
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1e3
    };
    println!(
        "{QUERIES} loads, top 20 of {TRUCKS} trucks: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, mean hits {:.1}",
        pct(0.50),
        pct(0.99),
        latencies.last().unwrap().as_secs_f64() * 1e3,
        found as f64 / QUERIES as f64
    );
}
