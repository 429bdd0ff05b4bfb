//! Bad data gets a clear answer: a typed error or an empty assignment, never a panic.

use lanerunner_assignment::instance::{decode, encode_dense, encode_sparse, Instance};
use lanerunner_assignment::{solve_dense, solve_sparse, AssignmentError, DenseCost, SparseCost};

#[test]
fn empty_markets_give_an_empty_assignment() {
    for (r, c) in [(0, 0), (0, 5), (5, 0)] {
        let m = DenseCost::new(r, c, vec![]).unwrap();
        assert!(solve_dense(&m).is_empty());
        let s = SparseCost::new(r, c, vec![0; r + 1], vec![], vec![]).unwrap();
        assert!(solve_sparse(&s).is_empty());
    }
}

#[test]
fn all_infeasible_gives_an_empty_assignment() {
    let m = DenseCost::new(3, 4, vec![f64::INFINITY; 12]).unwrap();
    let a = solve_dense(&m);
    assert!(a.is_empty());
    assert_eq!(a.objective, 0.0);
}

#[test]
fn nan_cost_is_rejected_with_its_position() {
    let mut c = vec![1.0; 6];
    c[4] = f64::NAN;
    assert_eq!(
        DenseCost::new(2, 3, c).unwrap_err(),
        AssignmentError::NanCost { row: 1, col: 1 }
    );
}

#[test]
fn negative_infinity_is_rejected() {
    let err = SparseCost::from_triplets(2, 2, &[(1, 0, f64::NEG_INFINITY)]).unwrap_err();
    assert_eq!(err, AssignmentError::NegativeInfinity { row: 1, col: 0 });
}

#[test]
fn huge_costs_are_rejected_not_overflowed() {
    let err = DenseCost::new(1, 2, vec![f64::MAX, 1.0]).unwrap_err();
    assert!(matches!(
        err,
        AssignmentError::CostTooLarge { row: 0, col: 0, .. }
    ));
}

#[test]
fn negative_costs_are_fine() {
    let m = DenseCost::new(2, 2, vec![-5.0, -1.0, -2.0, -7.0]).unwrap();
    let a = solve_dense(&m);
    assert_eq!(a.pairs, vec![(0, 0), (1, 1)]);
    assert_eq!(a.objective, -12.0);
}

#[test]
fn wrong_shape_and_bad_csr_are_rejected() {
    assert!(matches!(
        DenseCost::new(2, 2, vec![0.0; 3]),
        Err(AssignmentError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        SparseCost::new(1, 2, vec![0, 2], vec![1, 1], vec![0.0, 1.0]),
        Err(AssignmentError::DuplicateEntry { row: 0, col: 1 })
    ));
    assert!(matches!(
        SparseCost::new(1, 2, vec![0, 1], vec![2], vec![0.0]),
        Err(AssignmentError::ColumnOutOfRange { .. })
    ));
    assert!(matches!(
        SparseCost::new(2, 2, vec![0, 1], vec![0], vec![0.0]),
        Err(AssignmentError::InvalidCsr(_))
    ));
}

#[test]
fn deficient_instance_maximises_pairs_before_cost() {
    // Only column 0 is reachable; row 1 is cheaper there, and row 0 must not keep it just
    // because it was processed first.
    let inf = f64::INFINITY;
    let m = DenseCost::new(2, 2, vec![10.0, inf, 1.0, inf]).unwrap();
    let a = solve_dense(&m);
    assert_eq!(a.pairs, vec![(1, 0)]);
    assert_eq!(a.objective, 1.0);
    // Two pairs beat one cheap pair.
    let m = DenseCost::new(2, 2, vec![0.0, 100.0, 1.0, inf]).unwrap();
    let a = solve_sparse(&m.to_sparse());
    assert_eq!(a.pairs, vec![(0, 1), (1, 0)]);
    assert_eq!(a.objective, 101.0);
}

#[test]
fn instance_files_round_trip() {
    let d = DenseCost::new(2, 3, vec![1.0, f64::INFINITY, 3.0, 4.0, 5.0, 6.0]).unwrap();
    assert_eq!(
        decode(&encode_dense(&d)).unwrap(),
        Instance::Dense(d.clone())
    );
    let s = d.to_sparse();
    assert_eq!(decode(&encode_sparse(&s)).unwrap(), Instance::Sparse(s));
    assert!(matches!(decode(b"nope"), Err(AssignmentError::Format(_))));
}
