//! The offline map kernels every posting and search goes through: geocoding a place name
//! against the gazetteer, reverse geocoding a position, and the great-circle distance.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lanerunner_geo::{haversine_miles, Gazetteer, LatLon};

fn places(c: &mut Criterion) {
    let g = Gazetteer::embedded();
    let names = [
        "Dallas, TX",
        "ft worth tx",
        "St. Louis, MO 63101",
        "Saint Paul, Minnesota",
        "Atlanta",
    ];
    let mut i = 0;
    c.bench_function("geocode a place name", |b| {
        b.iter(|| {
            i = (i + 1) % names.len();
            black_box(g.geocode(names[i]).is_ok())
        })
    });
    let point = LatLon {
        lat: 32.90,
        lon: -97.04,
    };
    c.bench_function("reverse geocode a position", |b| {
        b.iter(|| black_box(g.reverse(black_box(point)).map(|(_, d)| d)))
    });
    let other = LatLon {
        lat: 33.75,
        lon: -84.39,
    };
    c.bench_function("haversine miles", |b| {
        b.iter(|| black_box(haversine_miles(black_box(point), black_box(other))))
    });
}

criterion_group!(benches, places);
criterion_main!(benches);
