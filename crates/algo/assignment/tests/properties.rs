//! Property tests: the solvers agree with exhaustive search, with each other, and never
//! panic on arbitrary input.

use lanerunner_assignment::{
    brute_force, solve_dense, solve_sparse, Assignment, DenseCost, SparseCost,
};
use proptest::prelude::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// The pairs are a matching of allowed entries and the objective is their cost.
fn check_valid(m: &DenseCost, a: &Assignment) {
    let mut rows = vec![false; m.rows()];
    let mut cols = vec![false; m.cols()];
    let mut sum = 0.0;
    for &(i, j) in &a.pairs {
        assert!(!rows[i] && !cols[j], "row or column used twice");
        rows[i] = true;
        cols[j] = true;
        let c = m.get(i, j).unwrap();
        assert!(c.is_finite(), "forbidden pair assigned");
        sum += c;
    }
    assert!(close(sum, a.objective));
}

/// A small rectangular matrix; `forbid_pct` of entries are +inf.
fn instance(max: usize) -> impl Strategy<Value = DenseCost> {
    (1..=max, 1..=max, 0u32..70, prop::bool::ANY).prop_flat_map(|(r, c, forbid_pct, ints)| {
        prop::collection::vec((0u32..100, -50.0f64..150.0), r * c).prop_map(move |cells| {
            let costs = cells
                .iter()
                .map(|&(p, x)| {
                    if p < forbid_pct {
                        f64::INFINITY
                    } else if ints {
                        // Integer costs produce many ties.
                        (x / 20.0).round()
                    } else {
                        x
                    }
                })
                .collect();
            DenseCost::new(r, c, costs).unwrap()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn dense_matches_brute_force(m in instance(7)) {
        let want = brute_force(&m).unwrap();
        let got = solve_dense(&m);
        check_valid(&m, &got);
        prop_assert_eq!(got.len(), want.len());
        prop_assert!(close(got.objective, want.objective), "got {} want {}", got.objective, want.objective);
    }

    #[test]
    fn sparse_matches_brute_force(m in instance(7)) {
        let want = brute_force(&m).unwrap();
        let got = solve_sparse(&m.to_sparse());
        check_valid(&m, &got);
        prop_assert_eq!(got.len(), want.len());
        prop_assert!(close(got.objective, want.objective), "got {} want {}", got.objective, want.objective);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn dense_and_sparse_agree_on_larger_instances(m in instance(40)) {
        let d = solve_dense(&m);
        let s = solve_sparse(&m.to_sparse());
        check_valid(&m, &d);
        check_valid(&m, &s);
        prop_assert_eq!(d.len(), s.len());
        prop_assert!(close(d.objective, s.objective), "dense {} sparse {}", d.objective, s.objective);
    }

    #[test]
    fn dense_construction_never_panics(
        r in 0usize..6, c in 0usize..6,
        cells in prop::collection::vec(prop_oneof![
            Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::MAX),
            Just(-0.0), -1e6f64..1e6], 0..40)
    ) {
        if let Ok(m) = DenseCost::new(r, c, cells) {
            let a = solve_dense(&m);
            check_valid(&m, &a);
        }
    }

    #[test]
    fn sparse_construction_never_panics(
        r in 0usize..6, c in 0usize..6,
        indptr in prop::collection::vec(0usize..12, 0..8),
        indices in prop::collection::vec(0u32..8, 0..12),
        costs in prop::collection::vec(prop_oneof![
            Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), -1e6f64..1e6], 0..12)
    ) {
        if let Ok(m) = SparseCost::new(r, c, indptr, indices, costs) {
            let _ = solve_sparse(&m);
        }
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = lanerunner_assignment::instance::decode(&bytes);
    }
}
