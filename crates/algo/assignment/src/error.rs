//! The one error type of this crate: everything that makes an instance unusable.

/// Why an instance was rejected. Construction of [`crate::DenseCost`] or
/// [`crate::SparseCost`] returns these; solving a constructed instance never fails.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AssignmentError {
    /// The cost buffer does not have `rows * cols` entries.
    #[error("dense cost matrix {rows}x{cols} needs {expected} entries, got {got}")]
    ShapeMismatch {
        rows: usize,
        cols: usize,
        expected: usize,
        got: usize,
    },
    /// A cost is NaN: almost always bad upstream data (a missing distance).
    #[error("cost at (row {row}, col {col}) is NaN")]
    NanCost { row: usize, col: usize },
    /// A cost is negative infinity, which would make every objective unbounded.
    #[error("cost at (row {row}, col {col}) is negative infinity")]
    NegativeInfinity { row: usize, col: usize },
    /// A finite cost so large in magnitude that sums of potentials could overflow `f64`.
    #[error("cost at (row {row}, col {col}) is {value}, beyond the supported magnitude {limit}")]
    CostTooLarge {
        row: usize,
        col: usize,
        value: f64,
        limit: f64,
    },
    /// The CSR arrays do not describe a `rows x cols` matrix.
    #[error("invalid CSR structure: {0}")]
    InvalidCsr(String),
    /// A column index in the CSR input is outside `0..cols`.
    #[error("column index {col} in row {row} is out of range (cols = {cols})")]
    ColumnOutOfRange { row: usize, col: usize, cols: usize },
    /// The same (row, col) pair appears twice in sparse input.
    #[error("pair (row {row}, col {col}) appears more than once")]
    DuplicateEntry { row: usize, col: usize },
    /// An instance file could not be decoded.
    #[error("instance file: {0}")]
    Format(String),
}

/// Largest finite |cost| accepted for an instance with `rows + cols = dim`: potentials are
/// sums of at most `2 * dim` costs, so this keeps every intermediate finite.
pub(crate) fn cost_limit(dim: usize) -> f64 {
    f64::MAX / (4.0 * (dim as f64 + 2.0))
}

/// Checks one cost; `+inf` is allowed (it means forbidden) and is reported as `Ok(false)`.
pub(crate) fn check_cost(
    row: usize,
    col: usize,
    value: f64,
    limit: f64,
) -> Result<bool, AssignmentError> {
    if value.is_nan() {
        return Err(AssignmentError::NanCost { row, col });
    }
    if value == f64::INFINITY {
        return Ok(false);
    }
    if value == f64::NEG_INFINITY {
        return Err(AssignmentError::NegativeInfinity { row, col });
    }
    if value.abs() > limit {
        return Err(AssignmentError::CostTooLarge {
            row,
            col,
            value,
            limit,
        });
    }
    Ok(true)
}
