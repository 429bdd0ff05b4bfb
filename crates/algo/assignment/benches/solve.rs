//! The assignment kernels on one random instance: the sparse solver (what a matching run
//! uses: only feasible pairs are edges) beside the dense one on the same costs. The SciPy
//! peer comparison is in `bench/assignment` and `docs/benchmarks.md`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lanerunner_assignment::{solve_dense, solve_sparse, DenseCost, SparseCost};

/// A deterministic 300 × 300 instance where about a fifth of the pairs are feasible, as a
/// regional batch of trucks and loads is.
fn instance() -> (DenseCost, SparseCost) {
    let n = 300;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut dense = vec![f64::INFINITY; n * n];
    let mut triplets = Vec::new();
    for i in 0..n {
        for j in 0..n {
            if next() % 5 == 0 || i == j {
                let cost = (next() % 10_000) as f64 / 10.0;
                dense[i * n + j] = cost;
                triplets.push((i, j, cost));
            }
        }
    }
    (
        DenseCost::new(n, n, dense).expect("valid dense costs"),
        SparseCost::from_triplets(n, n, &triplets).expect("valid sparse costs"),
    )
}

fn solve(c: &mut Criterion) {
    let (dense, sparse) = instance();
    let mut group = c.benchmark_group("assignment 300x300, 20% feasible");
    group.sample_size(20);
    group.bench_function("sparse", |b| b.iter(|| black_box(solve_sparse(&sparse))));
    group.bench_function("dense", |b| b.iter(|| black_box(solve_dense(&dense))));
    group.finish();
}

criterion_group!(benches, solve);
criterion_main!(benches);
