//! Dense instances: a row-major `f64` matrix solved with Jonker–Volgenant shortest
//! augmenting paths.

use crate::error::{check_cost, cost_limit, AssignmentError};
use crate::lapjv;
use crate::sparse::{solve_sparse, SparseCost};
use crate::Assignment;

/// A validated dense cost matrix, row-major, `rows x cols`. `f64::INFINITY` marks a
/// forbidden pair; NaN, `-inf` and absurdly large magnitudes are rejected at construction.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseCost {
    rows: usize,
    cols: usize,
    costs: Vec<f64>,
    has_forbidden: bool,
}

impl DenseCost {
    /// Takes ownership of a row-major buffer (no copy) and validates every entry.
    pub fn new(rows: usize, cols: usize, costs: Vec<f64>) -> Result<Self, AssignmentError> {
        let expected = rows.checked_mul(cols);
        if expected != Some(costs.len()) {
            return Err(AssignmentError::ShapeMismatch {
                rows,
                cols,
                expected: expected.unwrap_or(usize::MAX),
                got: costs.len(),
            });
        }
        let limit = cost_limit(rows + cols);
        // Fast scan first (vectorises); locate the culprit only when something is off.
        let suspicious = costs.iter().any(|c| c.is_nan() || c.abs() > limit);
        let mut has_forbidden = false;
        if suspicious {
            for (k, &c) in costs.iter().enumerate() {
                has_forbidden |= !check_cost(k / cols, k % cols, c, limit)?;
            }
        }
        Ok(DenseCost {
            rows,
            cols,
            costs,
            has_forbidden,
        })
    }

    /// Builds from a function; `None` marks a forbidden pair.
    pub fn from_fn(
        rows: usize,
        cols: usize,
        mut f: impl FnMut(usize, usize) -> Option<f64>,
    ) -> Result<Self, AssignmentError> {
        let mut costs = Vec::with_capacity(rows.saturating_mul(cols));
        for i in 0..rows {
            for j in 0..cols {
                costs.push(f(i, j).unwrap_or(f64::INFINITY));
            }
        }
        DenseCost::new(rows, cols, costs)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Row-major costs, `+inf` where forbidden.
    pub fn costs(&self) -> &[f64] {
        &self.costs
    }
    /// Cost of a pair (`+inf` when forbidden), `None` when out of range.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        if row < self.rows && col < self.cols {
            Some(self.costs[row * self.cols + col])
        } else {
            None
        }
    }

    /// The finite entries as a sparse matrix.
    pub fn to_sparse(&self) -> SparseCost {
        let mut indptr = Vec::with_capacity(self.rows + 1);
        let mut indices = Vec::new();
        let mut costs = Vec::new();
        indptr.push(0);
        for i in 0..self.rows {
            for j in 0..self.cols {
                let c = self.costs[i * self.cols + j];
                if c.is_finite() {
                    indices.push(j as u32);
                    costs.push(c);
                }
            }
            indptr.push(indices.len());
        }
        SparseCost::from_valid_parts(self.rows, self.cols, indptr, indices, costs)
    }

    fn transposed_costs(&self) -> Vec<f64> {
        let (r, c) = (self.rows, self.cols);
        let mut t = vec![0.0; r * c];
        // Blocked transpose: keeps both sides in cache.
        const B: usize = 64;
        for i0 in (0..r).step_by(B) {
            for j0 in (0..c).step_by(B) {
                for i in i0..(i0 + B).min(r) {
                    for j in j0..(j0 + B).min(c) {
                        t[j * r + i] = self.costs[i * c + j];
                    }
                }
            }
        }
        t
    }
}

/// Exact minimum-cost assignment of a dense instance.
///
/// Every row or every column (whichever side is smaller) is assigned when the forbidden
/// pairs allow it; otherwise the result has the maximum possible number of pairs and the
/// minimum cost among those. Never fails and never panics on a constructed [`DenseCost`].
pub fn solve_dense(m: &DenseCost) -> Assignment {
    if m.rows == 0 || m.cols == 0 {
        return Assignment::empty();
    }
    let cols_of_rows = if m.cols == 1 && m.rows == 1 {
        lapjv::trivial(m.costs[0])
    } else if m.rows <= m.cols {
        lapjv::solve(m.rows, m.cols, &m.costs, m.has_forbidden)
    } else {
        let t = m.transposed_costs();
        lapjv::solve(m.cols, m.rows, &t, m.has_forbidden).map(|x| {
            // x maps columns to rows; invert to rows -> columns.
            let mut inv = vec![lapjv::NONE; m.rows];
            for (j, &i) in x.iter().enumerate() {
                if i != lapjv::NONE {
                    inv[i] = j;
                }
            }
            inv
        })
    };
    match cols_of_rows {
        Some(x) => {
            let mut pairs = Vec::with_capacity(m.rows.min(m.cols));
            let mut objective = 0.0;
            for (i, &j) in x.iter().enumerate() {
                if j != lapjv::NONE {
                    objective += m.costs[i * m.cols + j];
                    pairs.push((i, j));
                }
            }
            Assignment { pairs, objective }
        }
        // Forbidden pairs leave some row unmatchable: the sparse solver answers the
        // max-cardinality, min-cost question exactly.
        None => solve_sparse(&m.to_sparse()),
    }
}
