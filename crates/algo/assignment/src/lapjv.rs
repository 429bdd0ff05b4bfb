//! Jonker–Volgenant (LAPJV) on a dense row-major matrix with `rows <= cols`.
//!
//! Square instances without forbidden pairs get the full JV initialisation (column
//! reduction with reduction transfer, then two rounds of augmenting row reduction).
//! Rectangular instances, or those with `+inf` entries, start from a row reduction with
//! column potentials fixed at zero — the rectangular dual requires `v_j = 0` on columns
//! left unassigned, which JV's column reduction would break. Both then run the JV
//! augmentation: a Dijkstra over columns that scans every column sharing the current
//! minimum distance at once, with row potentials kept implicit (`u_i = c[i][x_i] - v[x_i]`).

pub(crate) const NONE: usize = usize::MAX;

pub(crate) fn trivial(c: f64) -> Option<Vec<usize>> {
    c.is_finite().then(|| vec![0])
}

/// Returns `x` (row -> column) or `None` if some row has no augmenting path (only
/// possible with forbidden pairs).
pub(crate) fn solve(nr: usize, nc: usize, c: &[f64], has_forbidden: bool) -> Option<Vec<usize>> {
    debug_assert!(nr <= nc && c.len() == nr * nc && nr >= 1);
    let mut s = State {
        nr,
        nc,
        c,
        x: vec![NONE; nr],
        y: vec![NONE; nc],
        v: vec![0.0; nc],
    };
    let mut free = if nr == nc && !has_forbidden && nc >= 2 {
        let mut free = s.column_reduction();
        for _ in 0..2 {
            if free.is_empty() {
                break;
            }
            free = s.augmenting_row_reduction(free);
        }
        free
    } else {
        s.row_reduction()?
    };
    let mut aug = Augment::new(nc);
    for f in free.drain(..) {
        let sink = aug.find_path(&mut s, f)?;
        // Flip the alternating path back to the start row.
        let mut j = sink;
        loop {
            let i = aug.pred[j];
            s.y[j] = i;
            let prev = s.x[i];
            s.x[i] = j;
            if i == f {
                break;
            }
            j = prev;
        }
    }
    Some(s.x)
}

struct State<'a> {
    nr: usize,
    nc: usize,
    c: &'a [f64],
    x: Vec<usize>,
    y: Vec<usize>,
    v: Vec<f64>,
}

impl State<'_> {
    #[inline(always)]
    fn row(&self, i: usize) -> &[f64] {
        &self.c[i * self.nc..(i + 1) * self.nc]
    }

    /// Column reduction + reduction transfer (square, finite). Returns the free rows.
    fn column_reduction(&mut self) -> Vec<usize> {
        let n = self.nc;
        let mut v = vec![f64::INFINITY; n];
        let mut arg = vec![0usize; n];
        for i in 0..self.nr {
            let r = self.row(i);
            for ((vj, aj), &cij) in v.iter_mut().zip(arg.iter_mut()).zip(r) {
                if cij < *vj {
                    *vj = cij;
                    *aj = i;
                }
            }
        }
        let mut unique = vec![true; self.nr];
        for j in (0..n).rev() {
            let i = arg[j];
            if self.x[i] == NONE {
                self.x[i] = j;
                self.y[j] = i;
            } else {
                unique[i] = false;
            }
        }
        self.v = v;
        let mut free = Vec::new();
        for i in 0..self.nr {
            if self.x[i] == NONE {
                free.push(i);
            } else if unique[i] {
                // Reduction transfer: move the row's slack into its column potential.
                let j = self.x[i];
                let r = &self.c[i * n..(i + 1) * n];
                let mut min = f64::INFINITY;
                for (j2, (&cij, &vj)) in r.iter().zip(&self.v).enumerate() {
                    if j2 != j {
                        let h = cij - vj;
                        if h < min {
                            min = h;
                        }
                    }
                }
                self.v[j] -= min;
            }
        }
        free
    }

    /// One round of augmenting row reduction (square, finite). Returns the rows still free.
    fn augmenting_row_reduction(&mut self, mut free: Vec<usize>) -> Vec<usize> {
        let n = self.nc;
        let n_free = free.len();
        let mut current = 0usize;
        let mut new_free = 0usize;
        let mut rr_cnt = 0usize;
        while current < n_free {
            rr_cnt += 1;
            let free_i = free[current];
            current += 1;
            let r = &self.c[free_i * n..(free_i + 1) * n];
            // Smallest and second smallest reduced cost in the row.
            let mut j1 = 0usize;
            let mut v1 = r[0] - self.v[0];
            let mut j2 = NONE;
            let mut v2 = f64::INFINITY;
            for j in 1..n {
                let h = r[j] - self.v[j];
                if h < v2 {
                    if h >= v1 {
                        v2 = h;
                        j2 = j;
                    } else {
                        v2 = v1;
                        v1 = h;
                        j2 = j1;
                        j1 = j;
                    }
                }
            }
            let mut i0 = self.y[j1];
            let v1_new = self.v[j1] - (v2 - v1);
            let v1_lowers = v1_new < self.v[j1];
            if rr_cnt < current * n {
                if v1_lowers {
                    self.v[j1] = v1_new;
                } else if i0 != NONE && j2 != NONE {
                    j1 = j2;
                    i0 = self.y[j2];
                }
                if i0 != NONE {
                    if v1_lowers {
                        current -= 1;
                        free[current] = i0;
                    } else {
                        free[new_free] = i0;
                        new_free += 1;
                    }
                }
            } else if i0 != NONE {
                free[new_free] = i0;
                new_free += 1;
            }
            self.x[free_i] = j1;
            self.y[j1] = free_i;
            if i0 != NONE {
                self.x[i0] = NONE;
            }
        }
        free.truncate(new_free);
        free
    }

    /// Row reduction with `v = 0`; assigns each row to a free column at its row minimum.
    /// `None` if a row has no finite entry.
    fn row_reduction(&mut self) -> Option<Vec<usize>> {
        let mut free = Vec::new();
        for i in 0..self.nr {
            let r = &self.c[i * self.nc..(i + 1) * self.nc];
            let min = r.iter().copied().fold(f64::INFINITY, f64::min);
            if min == f64::INFINITY {
                return None;
            }
            match r
                .iter()
                .enumerate()
                .position(|(j, &cij)| cij == min && self.y[j] == NONE)
            {
                Some(j) => {
                    self.x[i] = j;
                    self.y[j] = i;
                }
                None => free.push(i),
            }
        }
        Some(free)
    }
}

/// Buffers of the augmentation phase, allocated once per solve.
struct Augment {
    cols: Vec<usize>,
    d: Vec<f64>,
    pred: Vec<usize>,
}

impl Augment {
    fn new(nc: usize) -> Self {
        Augment {
            cols: vec![0; nc],
            d: vec![0.0; nc],
            pred: vec![0; nc],
        }
    }

    /// Dijkstra from free row `start` over reduced costs; returns a free column at minimum
    /// distance and updates the potentials of the columns finalised on the way.
    fn find_path(&mut self, s: &mut State<'_>, start: usize) -> Option<usize> {
        let n = s.nc;
        let c = s.c;
        let cols = &mut self.cols[..];
        let d = &mut self.d[..];
        let pred = &mut self.pred[..];
        let v = &mut s.v[..];
        let y = &s.y[..];
        let r0 = &c[start * n..(start + 1) * n];
        for j in 0..n {
            cols[j] = j;
            pred[j] = start;
            d[j] = r0[j] - v[j];
        }
        // cols[..lo] are final (ready), cols[lo..hi] are at the current minimum and wait to
        // be scanned, cols[hi..] are still to do.
        let mut lo = 0usize;
        let mut hi = 0usize;
        let mut n_ready = 0usize;
        let final_j;
        'outer: loop {
            if lo == hi {
                n_ready = lo;
                // Collect every column at the minimum remaining distance.
                hi = lo + 1;
                let mut mind = d[cols[lo]];
                for k in hi..n {
                    let j = cols[k];
                    let dj = d[j];
                    if dj <= mind {
                        if dj < mind {
                            hi = lo;
                            mind = dj;
                        }
                        cols[k] = cols[hi];
                        cols[hi] = j;
                        hi += 1;
                    }
                }
                if mind == f64::INFINITY {
                    return None;
                }
                for &j in &cols[lo..hi] {
                    if y[j] == NONE {
                        final_j = j;
                        break 'outer;
                    }
                }
            }
            // Scan one column of the minimum set.
            let j = cols[lo];
            lo += 1;
            let i = y[j];
            let mind = d[j];
            let ri = &c[i * n..(i + 1) * n];
            let h = ri[j] - v[j] - mind;
            for k in hi..n {
                // SAFETY: cols is a permutation of 0..n, and ri, v, d, pred have length n.
                unsafe {
                    let j = *cols.get_unchecked(k);
                    let cred = *ri.get_unchecked(j) - *v.get_unchecked(j) - h;
                    if cred < *d.get_unchecked(j) {
                        *d.get_unchecked_mut(j) = cred;
                        *pred.get_unchecked_mut(j) = i;
                        if cred == mind {
                            if y[j] == NONE {
                                final_j = j;
                                break 'outer;
                            }
                            cols[k] = cols[hi];
                            cols[hi] = j;
                            hi += 1;
                        }
                    }
                }
            }
        }
        let mind = d[final_j];
        for &j in &cols[..n_ready] {
            v[j] += d[j] - mind;
        }
        Some(final_j)
    }
}
