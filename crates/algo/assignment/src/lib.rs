//! Exact min-cost assignment solvers.
