//! Times LaneRunner's solvers on instance files; one tab-separated line per file:
//! `name  rows  cols  nnz  median_ms  best_ms  objective  pairs`.
//!
//! ```text
//! cargo run --release --example bench_instances -- [--repeats 3] FILE...
//! ```
//!
//! The timed region is what a caller pays from a cost buffer in memory: validation
//! (`DenseCost::new` / `SparseCost::new`) plus the solve. Decoding the file and cloning the
//! buffers for each repeat are outside it.

use lanerunner_assignment::instance::{decode, Instance};
use lanerunner_assignment::{solve_dense, solve_sparse, Assignment, DenseCost, SparseCost};
use std::path::Path;
use std::time::Instant;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut repeats = 3usize;
    if let Some(k) = args.iter().position(|a| a == "--repeats") {
        repeats = args[k + 1].parse().expect("repeats");
        args.drain(k..k + 2);
    }
    for file in &args {
        let bytes = std::fs::read(file).expect("read instance");
        let inst = decode(&bytes).expect("decode instance");
        drop(bytes);
        let name = Path::new(file)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut times = Vec::new();
        let mut result: Option<Assignment> = None;
        let (rows, cols, nnz);
        match &inst {
            Instance::Dense(m) => {
                (rows, cols, nnz) = (m.rows(), m.cols(), m.rows() * m.cols());
                for _ in 0..repeats {
                    let buf = m.costs().to_vec();
                    let t = Instant::now();
                    let m2 = DenseCost::new(rows, cols, buf).expect("valid");
                    let a = solve_dense(&m2);
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                    result = Some(a);
                }
            }
            Instance::Sparse(m) => {
                (rows, cols, nnz) = (m.rows(), m.cols(), m.nnz());
                for _ in 0..repeats {
                    let (p, i, c) = (
                        m.indptr().to_vec(),
                        m.indices().to_vec(),
                        m.costs().to_vec(),
                    );
                    let t = Instant::now();
                    let m2 = SparseCost::new(rows, cols, p, i, c).expect("valid");
                    let a = solve_sparse(&m2);
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                    result = Some(a);
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let a = result.expect("at least one repeat");
        println!(
            "{name}\t{rows}\t{cols}\t{nnz}\t{:.2}\t{:.2}\t{:.10}\t{}",
            times[times.len() / 2],
            times[0],
            a.objective,
            a.len()
        );
    }
}
