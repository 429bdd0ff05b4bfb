//! Sparse instances: CSR of the allowed (row, col, cost) triples.

use crate::error::{check_cost, cost_limit, AssignmentError};
use crate::sap::{self, Csr, Lex, NONE};
use crate::Assignment;

/// A validated sparse cost matrix in CSR form. Pairs that are not stored are forbidden.
///
/// Column indices are `u32` (half the memory of `usize` on the 145-million-entry benchmark
/// instance), so `cols` must fit in `u32`. Stored `+inf` costs are dropped (forbidden).
#[derive(Clone, Debug, PartialEq)]
pub struct SparseCost {
    rows: usize,
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    costs: Vec<f64>,
}

impl SparseCost {
    /// Validates and takes ownership of CSR arrays: `indptr` has `rows + 1` non-decreasing
    /// offsets starting at 0 and ending at `indices.len() == costs.len()`.
    pub fn new(
        rows: usize,
        cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        costs: Vec<f64>,
    ) -> Result<Self, AssignmentError> {
        if cols > u32::MAX as usize {
            return Err(AssignmentError::InvalidCsr(format!(
                "cols = {cols} does not fit the u32 column indices"
            )));
        }
        if indptr.len() != rows + 1 {
            return Err(AssignmentError::InvalidCsr(format!(
                "indptr has {} entries, expected rows + 1 = {}",
                indptr.len(),
                rows + 1
            )));
        }
        if indices.len() != costs.len() {
            return Err(AssignmentError::InvalidCsr(format!(
                "{} column indices but {} costs",
                indices.len(),
                costs.len()
            )));
        }
        if indptr[0] != 0 || indptr[rows] != indices.len() {
            return Err(AssignmentError::InvalidCsr(format!(
                "indptr must start at 0 and end at {}",
                indices.len()
            )));
        }
        if indptr.windows(2).any(|w| w[0] > w[1]) {
            return Err(AssignmentError::InvalidCsr("indptr is decreasing".into()));
        }
        let limit = cost_limit(rows + cols);
        let mut seen = vec![usize::MAX; cols];
        let mut any_inf = false;
        for i in 0..rows {
            for k in indptr[i]..indptr[i + 1] {
                let j = indices[k] as usize;
                if j >= cols {
                    return Err(AssignmentError::ColumnOutOfRange {
                        row: i,
                        col: j,
                        cols,
                    });
                }
                if seen[j] == i {
                    return Err(AssignmentError::DuplicateEntry { row: i, col: j });
                }
                seen[j] = i;
                any_inf |= !check_cost(i, j, costs[k], limit)?;
            }
        }
        let mut m = SparseCost {
            rows,
            cols,
            indptr,
            indices,
            costs,
        };
        if any_inf {
            m = m.filtered(|c| c.is_finite());
        }
        Ok(m)
    }

    /// Builds from `(row, col, cost)` triples in any order.
    pub fn from_triplets(
        rows: usize,
        cols: usize,
        triplets: &[(usize, usize, f64)],
    ) -> Result<Self, AssignmentError> {
        let mut count = vec![0usize; rows + 1];
        for &(i, j, _) in triplets {
            if i >= rows {
                return Err(AssignmentError::InvalidCsr(format!(
                    "row index {i} out of range (rows = {rows})"
                )));
            }
            if j >= cols || j > u32::MAX as usize {
                return Err(AssignmentError::ColumnOutOfRange {
                    row: i,
                    col: j,
                    cols,
                });
            }
            count[i + 1] += 1;
        }
        for i in 0..rows {
            count[i + 1] += count[i];
        }
        let mut next = count.clone();
        let mut indices = vec![0u32; triplets.len()];
        let mut costs = vec![0.0; triplets.len()];
        for &(i, j, c) in triplets {
            indices[next[i]] = j as u32;
            costs[next[i]] = c;
            next[i] += 1;
        }
        SparseCost::new(rows, cols, count, indices, costs)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Number of stored (allowed) pairs.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }
    pub fn costs(&self) -> &[f64] {
        &self.costs
    }

    /// Cost of an allowed pair, `None` when forbidden.
    pub fn get(&self, row: usize, col: usize) -> Option<f64> {
        if row >= self.rows {
            return None;
        }
        let (lo, hi) = (self.indptr[row], self.indptr[row + 1]);
        (lo..hi)
            .find(|&k| self.indices[k] as usize == col)
            .map(|k| self.costs[k])
    }

    fn filtered(self, keep: impl Fn(f64) -> bool) -> SparseCost {
        let mut indptr = Vec::with_capacity(self.rows + 1);
        let mut indices = Vec::with_capacity(self.indices.len());
        let mut costs = Vec::with_capacity(self.costs.len());
        indptr.push(0);
        for i in 0..self.rows {
            for k in self.indptr[i]..self.indptr[i + 1] {
                if keep(self.costs[k]) {
                    indices.push(self.indices[k]);
                    costs.push(self.costs[k]);
                }
            }
            indptr.push(indices.len());
        }
        SparseCost {
            rows: self.rows,
            cols: self.cols,
            indptr,
            indices,
            costs,
        }
    }

    /// Already-validated constructor for internal conversions (dense -> sparse).
    pub(crate) fn from_valid_parts(
        rows: usize,
        cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        costs: Vec<f64>,
    ) -> SparseCost {
        SparseCost {
            rows,
            cols,
            indptr,
            indices,
            costs,
        }
    }

    /// The transpose (CSC of this matrix as a CSR), with sorted column indices per row.
    pub fn transpose(&self) -> SparseCost {
        let mut indptr = vec![0usize; self.cols + 1];
        for &j in &self.indices {
            indptr[j as usize + 1] += 1;
        }
        for j in 0..self.cols {
            indptr[j + 1] += indptr[j];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; self.indices.len()];
        let mut costs = vec![0.0; self.costs.len()];
        for i in 0..self.rows {
            for k in self.indptr[i]..self.indptr[i + 1] {
                let j = self.indices[k] as usize;
                indices[next[j]] = i as u32;
                costs[next[j]] = self.costs[k];
                next[j] += 1;
            }
        }
        SparseCost {
            rows: self.cols,
            cols: self.rows,
            indptr,
            indices,
            costs,
        }
    }

    fn view(&self) -> Csr<'_> {
        Csr {
            rows: self.rows,
            cols: self.cols,
            indptr: &self.indptr,
            indices: &self.indices,
            costs: &self.costs,
        }
    }
}

/// Exact minimum-cost assignment of a sparse instance: the maximum number of pairs, and
/// among those the minimum total cost. Never fails and never panics on a constructed
/// [`SparseCost`].
pub fn solve_sparse(m: &SparseCost) -> Assignment {
    if m.rows == 0 || m.cols == 0 || m.nnz() == 0 {
        return Assignment::empty();
    }
    // Search from the smaller side: one Dijkstra per row of the oriented instance.
    if m.rows > m.cols {
        let t = m.transpose();
        let a = solve_oriented(&t);
        return a.transposed();
    }
    solve_oriented(m)
}

fn solve_oriented(m: &SparseCost) -> Assignment {
    let x = match sap::solve::<f64>(m.view()) {
        Some(x) => x,
        // Some row cannot be matched: solve the lexicographic (unassigned, cost) problem.
        None => sap::solve::<Lex>(m.view()).expect("dummy edges make every row matchable"),
    };
    let mut pairs = Vec::new();
    let mut objective = 0.0;
    for (i, &j) in x.iter().enumerate() {
        if j != NONE {
            // The matched column is stored in row i; find its cost.
            let (lo, hi) = (m.indptr[i], m.indptr[i + 1]);
            let k = (lo..hi)
                .find(|&k| m.indices[k] as usize == j)
                .expect("matched pairs are stored edges");
            objective += m.costs[k];
            pairs.push((i, j));
        }
    }
    Assignment { pairs, objective }
}
