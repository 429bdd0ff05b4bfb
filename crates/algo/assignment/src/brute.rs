//! Exhaustive reference solver for tests: tries every matching. Exponential; meant for
//! instances up to about 8 x 8.

use crate::{Assignment, DenseCost};

/// Maximum cardinality, then minimum cost, by enumerating all matchings.
///
/// Returns `None` when the instance is too large to enumerate (`min(rows, cols) > 9`).
pub fn brute_force(m: &DenseCost) -> Option<Assignment> {
    let (rows, cols) = (m.rows(), m.cols());
    if rows.min(cols) > 9 || rows.max(cols) > 12 {
        return None;
    }
    let mut best: (usize, f64, Vec<(usize, usize)>) = (0, 0.0, Vec::new());
    let mut used = vec![false; cols];
    let mut cur = Vec::new();
    rec(m, 0, &mut used, &mut cur, 0.0, &mut best);
    Some(Assignment {
        pairs: best.2,
        objective: best.1,
    })
}

fn rec(
    m: &DenseCost,
    i: usize,
    used: &mut [bool],
    cur: &mut Vec<(usize, usize)>,
    cost: f64,
    best: &mut (usize, f64, Vec<(usize, usize)>),
) {
    if i == m.rows() {
        if cur.len() > best.0 || (cur.len() == best.0 && cost < best.1) {
            *best = (cur.len(), cost, cur.clone());
        }
        return;
    }
    // Row i left unassigned.
    rec(m, i + 1, used, cur, cost, best);
    for j in 0..m.cols() {
        let c = m.costs()[i * m.cols() + j];
        if !used[j] && c.is_finite() {
            used[j] = true;
            cur.push((i, j));
            rec(m, i + 1, used, cur, cost + c, best);
            cur.pop();
            used[j] = false;
        }
    }
}
