//! The board's search kernel beside its exact peer: the index against a scan of every load
//! (the brute force the property tests compare it with), on the same mixed searches over
//! 100,000 generated postings. `cargo bench -p lanerunner-loadsearch`; the service-level
//! and SQL-peer comparisons are in `bench/loadsearch` and `docs/benchmarks.md`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lanerunner_geo::{Gazetteer, Markets};
use lanerunner_loadsearch::{brute_force_search, synth, LoadIndex};

/// Monday 2026-01-05 00:00 UTC, as in the search benchmark, so runs are comparable.
const NOW: i64 = 1_767_571_200;

fn search(c: &mut Criterion) {
    let g = Gazetteer::embedded();
    let markets = Markets::key_market_areas(&g);
    let loads = synth::loads(&g, &markets, 100_000, 42, NOW);
    let queries = synth::queries(&g, &markets, 512, 42 ^ 0x5EA2C4, NOW);
    let index = LoadIndex::bulk_build(loads.clone()).expect("valid loads");
    let mut group = c.benchmark_group("mixed search, 100k loads");
    let mut i = 0;
    group.bench_function("index", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            black_box(
                index
                    .search(&queries[i])
                    .expect("valid query")
                    .total_matches,
            )
        })
    });
    group.sample_size(10);
    let mut j = 0;
    group.bench_function("scan (peer)", |b| {
        b.iter(|| {
            j = (j + 1) % queries.len();
            black_box(
                brute_force_search(&loads, &queries[j])
                    .expect("valid query")
                    .total_matches,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
