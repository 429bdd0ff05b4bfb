//! Checks against SciPy on shared instance files: `tests/data/*.lra` were written by
//! `examples/gen_instances.rs small`, and `scipy_objectives.tsv` holds the objectives of
//! `scipy.optimize.linear_sum_assignment` (dense) and
//! `scipy.sparse.csgraph.min_weight_full_bipartite_matching` (sparse), computed once with
//! `bench/assignment/peers.py`. CI has no SciPy; the committed numbers stand in for it.

use lanerunner_assignment::instance::{decode, Instance};
use lanerunner_assignment::{solve_dense, solve_sparse};
use std::path::PathBuf;

#[test]
fn objectives_equal_scipy_on_shared_instances() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let table = std::fs::read_to_string(dir.join("scipy_objectives.tsv")).unwrap();
    let mut checked = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (name, want, want_pairs): (&str, f64, usize) =
            (f[0], f[1].parse().unwrap(), f[2].parse().unwrap());
        let bytes = std::fs::read(dir.join(format!("{name}.lra"))).unwrap();
        let (got, dense_and_sparse_agree) = match decode(&bytes).unwrap() {
            Instance::Dense(m) => {
                let d = solve_dense(&m);
                let s = solve_sparse(&m.to_sparse());
                let agree = (d.objective - s.objective).abs() <= 1e-9 * d.objective.abs();
                (d, agree)
            }
            Instance::Sparse(m) => (solve_sparse(&m), true),
        };
        assert_eq!(got.len(), want_pairs, "{name}: pair count");
        assert!(
            (got.objective - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{name}: LaneRunner {} vs SciPy {want}",
            got.objective
        );
        assert!(
            dense_and_sparse_agree,
            "{name}: dense and sparse solvers disagree"
        );
        checked += 1;
    }
    assert_eq!(checked, 14);
}
