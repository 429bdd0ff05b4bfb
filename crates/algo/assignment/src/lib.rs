//! Exact minimum-cost assignment of trucks (rows) to loads (columns). Pure: no I/O, no
//! global state, no panics on any input.
//!
//! # What is solved
//!
//! Given a `rows x cols` cost matrix where some pairs may be forbidden, find a set of
//! pairs, at most one per row and one per column, that
//!
//! 1. has the **maximum number of pairs** the allowed pairs permit, and
//! 2. among those, has the **minimum total cost**.
//!
//! Rows and columns may differ in number (either side larger); no padding to a square is
//! done. When a matching saturating the smaller side exists this is exactly what SciPy's
//! `linear_sum_assignment` (dense) and `min_weight_full_bipartite_matching` (sparse)
//! compute. When it does not, SciPy raises "infeasible"; this crate instead returns the
//! max-cardinality min-cost assignment (which is empty when no pair is allowed). Negative
//! costs are fine.
//!
//! # Bad input
//!
//! Construction of [`DenseCost`] / [`SparseCost`] rejects NaN, `-inf`, costs whose
//! magnitude could overflow sums of potentials, malformed CSR and duplicate pairs with a
//! typed [`AssignmentError`] naming the offending entry. `+inf` means forbidden. Once an
//! instance is constructed, [`solve_dense`] and [`solve_sparse`] always return an
//! [`Assignment`]: empty for an empty market or when every pair is forbidden.
//!
//! # Algorithms
//!
//! * **Dense** ([`solve_dense`]): Jonker–Volgenant (LAPJV). Square instances without
//!   forbidden pairs use JV's column reduction with reduction transfer, then shortest
//!   augmenting paths (JV's augmenting row reduction made every benchmark slower and was
//!   dropped). Rectangular instances (the
//!   smaller side taken as rows, transposing if needed) start from a row reduction with
//!   zero column potentials and augment the same way. The augmentation is Dijkstra on
//!   reduced costs whose relaxation step is one contiguous, branch-free (AVX2 when
//!   available) pass `d = min(d, c_i - v - h)` over a row of the row-major matrix, instead
//!   of LAPJV's gather through a permuted column list; predecessors are recomputed only
//!   for the columns on the augmenting path. Buffers are allocated once per solve. Worst case
//!   `O(r^2 c)` for `r <= c`; on random instances far less.
//! * **Sparse** ([`solve_sparse`]): successive shortest augmenting paths, one Dijkstra per
//!   free row on a binary heap with potentials over the CSR adjacency, after a row
//!   reduction that greedily takes any free column tight at the row minimum. Worst case
//!   `O(r (E + c) log c)`; in geographic instances most trucks are matched by the greedy
//!   pass or by very short searches.
//! * **Deficient instances**: if some row has no augmenting path (forbidden pairs make a
//!   full matching impossible), the sparse solver re-solves with lexicographic path weights
//!   `(unassigned rows, cost)` and a private "stay unassigned" column per row of weight
//!   `(1, 0)`: exact max-cardinality-then-min-cost with no big-M constant. The dense solver
//!   hands such instances to the sparse one.
//!
//! # Exactness and floating point
//!
//! Costs are `f64`. The solvers keep dual-feasible potentials, so the result is optimal up
//! to floating-point rounding in the potentials (relative `1e-12`-ish on the benchmark
//! instances); objectives are compared with SciPy with a relative tolerance of `1e-9`.
//! [`brute_force`] is an exhaustive reference used by the property tests.

mod brute;
mod dense;
mod error;
pub mod instance;
mod lapjv;
mod sap;
mod sparse;

pub use brute::brute_force;
pub use dense::{solve_dense, DenseCost};
pub use error::AssignmentError;
pub use sparse::{solve_sparse, SparseCost};

/// A solution: `(row, col)` pairs sorted by row, and their total cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub pairs: Vec<(usize, usize)>,
    pub objective: f64,
}

impl Assignment {
    /// The answer for an empty market or an instance with no allowed pair.
    pub fn empty() -> Self {
        Assignment {
            pairs: Vec::new(),
            objective: 0.0,
        }
    }

    /// Number of assigned pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Swaps the roles of rows and columns.
    pub(crate) fn transposed(self) -> Self {
        let mut pairs: Vec<_> = self.pairs.into_iter().map(|(i, j)| (j, i)).collect();
        pairs.sort_unstable();
        Assignment {
            pairs,
            objective: self.objective,
        }
    }
}
