//! Sparse shortest augmenting paths: Dijkstra on a binary heap over reduced costs
//! (Johnson potentials), one augmentation per free row.
//!
//! Generic over the path weight so one implementation serves both the fast `f64` pass and
//! the exact lexicographic pass `(unassigned rows, cost)` that is used only when some row
//! cannot be matched (see [`Lex`]).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::{Add, Sub};

pub(crate) const NONE: usize = usize::MAX;

/// A path weight: an ordered group with an infinity.
pub(crate) trait Weight:
    Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self>
{
    const ZERO: Self;
    const INF: Self;
    /// Weight of the private "leave this row unassigned" edge, if this weight models it.
    const DUMMY: Option<Self>;
    fn real(cost: f64) -> Self;
    fn total_cmp(&self, other: &Self) -> Ordering;
}

impl Weight for f64 {
    const ZERO: Self = 0.0;
    const INF: Self = f64::INFINITY;
    const DUMMY: Option<Self> = None;
    #[inline(always)]
    fn real(cost: f64) -> Self {
        cost
    }
    #[inline(always)]
    fn total_cmp(&self, other: &Self) -> Ordering {
        f64::total_cmp(self, other)
    }
}

/// Lexicographic weight `(missed, cost)`: every row gets a private dummy column of weight
/// `(1, 0)`, so a min-weight perfect matching of the extended graph is exactly a maximum
/// cardinality matching of minimum cost, with no big-M constant and no loss of precision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Lex {
    missed: i64,
    cost: f64,
}

impl PartialOrd for Lex {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match self.missed.cmp(&other.missed) {
            Ordering::Equal => self.cost.partial_cmp(&other.cost),
            o => Some(o),
        }
    }
}

impl Add for Lex {
    type Output = Lex;
    #[inline]
    fn add(self, o: Lex) -> Lex {
        Lex {
            missed: self.missed + o.missed,
            cost: self.cost + o.cost,
        }
    }
}

impl Sub for Lex {
    type Output = Lex;
    #[inline]
    fn sub(self, o: Lex) -> Lex {
        Lex {
            missed: self.missed - o.missed,
            cost: self.cost - o.cost,
        }
    }
}

impl Weight for Lex {
    const ZERO: Self = Lex {
        missed: 0,
        cost: 0.0,
    };
    const INF: Self = Lex {
        missed: i64::MAX / 4,
        cost: 0.0,
    };
    const DUMMY: Option<Self> = Some(Lex {
        missed: 1,
        cost: 0.0,
    });
    #[inline]
    fn real(cost: f64) -> Self {
        Lex { missed: 0, cost }
    }
    #[inline]
    fn total_cmp(&self, other: &Self) -> Ordering {
        self.missed
            .cmp(&other.missed)
            .then(self.cost.total_cmp(&other.cost))
    }
}

struct Item<W: Weight>(W, usize);

impl<W: Weight> PartialEq for Item<W> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<W: Weight> Eq for Item<W> {}
impl<W: Weight> PartialOrd for Item<W> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<W: Weight> Ord for Item<W> {
    // Reversed: BinaryHeap is a max-heap and we want the smallest distance first.
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

/// A validated CSR view: every cost finite, every column `< cols`, no duplicates.
#[derive(Clone, Copy)]
pub(crate) struct Csr<'a> {
    pub rows: usize,
    pub cols: usize,
    pub indptr: &'a [usize],
    pub indices: &'a [u32],
    pub costs: &'a [f64],
}

/// Solves the CSR instance. Returns `x` (row -> column, [`NONE`] when unassigned) or `None`
/// when `W` has no dummy edges and some row could not be matched (the caller then re-solves
/// with [`Lex`]).
pub(crate) fn solve<W: Weight>(g: Csr<'_>) -> Option<Vec<usize>> {
    let nr = g.rows;
    let nc = g.cols;
    // Dummy column of row i is nc + i (only when W models them).
    let ncols_total = if W::DUMMY.is_some() { nc + nr } else { nc };
    let mut x = vec![NONE; nr];
    let mut y = vec![NONE; ncols_total];
    let mut u = vec![W::ZERO; nr];
    let mut v = vec![W::ZERO; ncols_total];

    // Row reduction with v = 0 (keeps v_j = 0 on free columns, which the rectangular dual
    // needs), then a greedy pass that takes any free column tight at the row minimum.
    let mut free_rows = Vec::new();
    for i in 0..nr {
        let (lo, hi) = (g.indptr[i], g.indptr[i + 1]);
        let mut best = W::INF;
        for &c in &g.costs[lo..hi] {
            let w = W::real(c);
            if w < best {
                best = w;
            }
        }
        if let Some(d) = W::DUMMY {
            if d < best {
                best = d;
            }
        }
        if best == W::INF {
            // No edge at all and no dummy: this row can never be matched.
            return None;
        }
        u[i] = best;
        let mut taken = false;
        for k in lo..hi {
            let j = g.indices[k] as usize;
            if y[j] == NONE && W::real(g.costs[k]) == best {
                x[i] = j;
                y[j] = i;
                taken = true;
                break;
            }
        }
        if !taken {
            if let Some(d) = W::DUMMY {
                if d == best {
                    x[i] = nc + i;
                    y[nc + i] = i;
                    taken = true;
                }
            }
        }
        if !taken {
            free_rows.push(i);
        }
    }

    let mut dist = vec![W::INF; ncols_total];
    let mut done = vec![false; ncols_total];
    let mut pred = vec![NONE; ncols_total];
    let mut touched: Vec<usize> = Vec::new();
    let mut scanned: Vec<usize> = Vec::new();
    let mut heap: BinaryHeap<Item<W>> = BinaryHeap::new();

    for &r in &free_rows {
        let mut sink = NONE;
        let mut sink_dist = W::ZERO;
        relax_row::<W>(
            &g,
            r,
            W::ZERO,
            &u,
            &v,
            &mut dist,
            &done,
            &mut pred,
            &mut touched,
            &mut heap,
        );
        while let Some(Item(d, j)) = heap.pop() {
            if done[j] || d.total_cmp(&dist[j]) == Ordering::Greater {
                continue;
            }
            done[j] = true;
            if y[j] == NONE {
                sink = j;
                sink_dist = d;
                break;
            }
            scanned.push(j);
            let i = y[j];
            relax_row::<W>(
                &g,
                i,
                d,
                &u,
                &v,
                &mut dist,
                &done,
                &mut pred,
                &mut touched,
                &mut heap,
            );
        }
        heap.clear();
        if sink == NONE {
            return None;
        }
        // Dual update: rows and columns in the search tree move by (D - dist).
        u[r] = u[r] + sink_dist;
        for &j in &scanned {
            let delta = sink_dist - dist[j];
            v[j] = v[j] - delta;
            let i = y[j];
            u[i] = u[i] + delta;
        }
        // Augment along pred.
        let mut j = sink;
        loop {
            let i = pred[j];
            y[j] = i;
            let prev = x[i];
            x[i] = j;
            if i == r {
                break;
            }
            j = prev;
        }
        for &j in &touched {
            dist[j] = W::INF;
            done[j] = false;
        }
        touched.clear();
        scanned.clear();
    }
    for xi in x.iter_mut() {
        if *xi >= nc {
            *xi = NONE;
        }
    }
    Some(x)
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn relax_row<W: Weight>(
    g: &Csr<'_>,
    i: usize,
    di: W,
    u: &[W],
    v: &[W],
    dist: &mut [W],
    done: &[bool],
    pred: &mut [usize],
    touched: &mut Vec<usize>,
    heap: &mut BinaryHeap<Item<W>>,
) {
    let (lo, hi) = (g.indptr[i], g.indptr[i + 1]);
    let base = di - u[i];
    let mut relax = |j: usize, w: W| {
        if done[j] {
            return;
        }
        let nd = base + w - v[j];
        if nd < dist[j] {
            if dist[j] == W::INF {
                touched.push(j);
            }
            dist[j] = nd;
            pred[j] = i;
            heap.push(Item(nd, j));
        }
    };
    for k in lo..hi {
        relax(g.indices[k] as usize, W::real(g.costs[k]));
    }
    if let Some(d) = W::DUMMY {
        relax(g.cols + i, d);
    }
}
