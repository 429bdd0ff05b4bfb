//! Jonker–Volgenant (LAPJV) on a dense row-major matrix with `rows <= cols`.
//!
//! Square instances without forbidden pairs get JV's column reduction with reduction
//! transfer (augmenting row reduction was measured and dropped, see `solve`).
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
    // Augmenting row reduction (the third JV phase) is deliberately absent: with the
    // vectorised augmentation below it made every benchmark instance slower (uniform
    // n = 5000: 2.1 s with one round vs 0.83 s without; geographic n = 5000: 2.08 s vs 1.99 s).
    let mut free = if nr == nc && !has_forbidden && nc >= 2 {
        s.column_reduction()
    } else {
        s.row_reduction()?
    };
    let mut aug = Augment::new(nc);
    for f in free.drain(..) {
        if !aug.augment_from(&mut s, f) {
            return None;
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
        for (i, &only_min) in unique.iter().enumerate() {
            if self.x[i] == NONE {
                free.push(i);
            } else if only_min {
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
///
/// Unlike the classic LAPJV scan (which walks a permuted list of unscanned columns and
/// gathers `c[i][j]`, `v[j]`, `d[j]` through it), every relaxation here is one contiguous,
/// branch-free pass `d = min(d, c_i - v - h)` over the whole row that also returns the new
/// minimum; finalised columns hold `d = -inf` so the pass leaves them alone. It vectorises
/// (AVX2 when the CPU has it). Predecessors are not stored during the pass: they are
/// recomputed for the few columns on the augmenting path by replaying the scanned rows.
struct Augment {
    d: Vec<f64>,
    /// Finalised columns: (column, distance, number of rows scanned when it was finalised).
    ready: Vec<(usize, f64, usize)>,
    /// Scanned rows in order with their offset `h` (`d_new = c[i][j] - v[j] - h`).
    scanned: Vec<(usize, f64)>,
    avx2: bool,
}

impl Augment {
    fn new(nc: usize) -> Self {
        let avx2 = has_avx2();
        Augment {
            d: vec![0.0; nc],
            ready: Vec::new(),
            scanned: Vec::new(),
            avx2,
        }
    }

    #[inline(always)]
    fn relax(&mut self, ri: &[f64], v: &[f64], h: f64) -> f64 {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: the CPU supports AVX2 (checked at construction).
            return unsafe { relax_avx2(ri, v, &mut self.d, h) };
        }
        relax_kernel(ri, v, &mut self.d, h)
    }

    /// Dijkstra from free row `start` over reduced costs, then the augmentation along the
    /// shortest path and the potential update. `false` if no free column is reachable.
    fn augment_from(&mut self, s: &mut State<'_>, start: usize) -> bool {
        let n = s.nc;
        let c = s.c;
        self.ready.clear();
        self.scanned.clear();
        self.d.fill(f64::INFINITY);
        let mut m = self.relax(&c[start * n..(start + 1) * n], &s.v, 0.0);
        self.scanned.push((start, 0.0));
        let sink = loop {
            if m == f64::INFINITY {
                return false;
            }
            let j = match first_equal(&self.d, m, &s.y) {
                Some(j) => j,
                None => return false, // unreachable with consistent arithmetic; be safe
            };
            if s.y[j] == NONE {
                break j;
            }
            self.ready.push((j, m, self.scanned.len()));
            self.d[j] = f64::NEG_INFINITY;
            let i = s.y[j];
            let ri = &c[i * n..(i + 1) * n];
            let h = ri[j] - s.v[j] - m;
            self.scanned.push((i, h));
            m = self.relax(ri, &s.v, h);
        };
        let sink_d = m;
        // Walk the path back: the predecessor of column j is the first scanned row (among
        // those scanned before j was finalised) whose relaxation produced j's distance.
        let mut j = sink;
        let mut dj = sink_d;
        let mut limit = self.scanned.len();
        loop {
            let i = self.pred_of(s, j, dj, limit);
            let prev = s.x[i];
            s.x[i] = j;
            s.y[j] = i;
            if i == start {
                break;
            }
            j = prev;
            // `prev` was finalised; find its record.
            let &(_, d_prev, lim) = self
                .ready
                .iter()
                .find(|r| r.0 == prev)
                .expect("a matched row on the path was reached through its column");
            dj = d_prev;
            limit = lim;
        }
        for &(j, dj, _) in &self.ready {
            s.v[j] += dj - sink_d;
        }
        true
    }

    fn pred_of(&self, s: &State<'_>, j: usize, dj: f64, limit: usize) -> usize {
        let n = s.nc;
        let mut best = (f64::INFINITY, self.scanned[0].0);
        for &(i, h) in &self.scanned[..limit] {
            let cred = s.c[i * n + j] - s.v[j] - h;
            if cred == dj {
                return i;
            }
            if cred < best.0 {
                best = (cred, i);
            }
        }
        // Only reachable if the replay differs from the pass in the last bit; the closest
        // row is then the predecessor.
        best.1
    }
}

/// First column with `d == m`, preferring (cheaply) an unassigned one in the same chunk.
#[inline]
fn first_equal(d: &[f64], m: f64, y: &[usize]) -> Option<usize> {
    const L: usize = 8;
    let mut found = None;
    for (k, chunk) in d.chunks(L).enumerate() {
        if chunk.iter().fold(false, |a, &x| a | (x == m)) {
            for (l, &x) in chunk.iter().enumerate() {
                if x == m {
                    let j = k * L + l;
                    if y[j] == NONE {
                        return Some(j);
                    }
                    if found.is_none() {
                        found = Some(j);
                    }
                }
            }
            if found.is_some() {
                return found;
            }
        }
    }
    found
}

/// `d = min(d, ri - v - h)` elementwise; returns the minimum of the new `d` ignoring `-inf`
/// (finalised columns).
#[inline(always)]
fn relax_kernel(ri: &[f64], v: &[f64], d: &mut [f64], h: f64) -> f64 {
    const L: usize = 8;
    let mut acc = [f64::INFINITY; L];
    let mut rc = ri.chunks_exact(L);
    let mut vc = v.chunks_exact(L);
    let mut dc = d.chunks_exact_mut(L);
    for ((r, vv), dd) in (&mut rc).zip(&mut vc).zip(&mut dc) {
        for l in 0..L {
            let cred = r[l] - vv[l] - h;
            let nd = if cred < dd[l] { cred } else { dd[l] };
            dd[l] = nd;
            let key = if nd == f64::NEG_INFINITY {
                f64::INFINITY
            } else {
                nd
            };
            acc[l] = if key < acc[l] { key } else { acc[l] };
        }
    }
    let mut m = f64::INFINITY;
    for ((&r, &vv), dd) in rc
        .remainder()
        .iter()
        .zip(vc.remainder())
        .zip(dc.into_remainder())
    {
        let cred = r - vv - h;
        if cred < *dd {
            *dd = cred;
        }
        if *dd != f64::NEG_INFINITY && *dd < m {
            m = *dd;
        }
    }
    acc.iter().fold(m, |a, &b| if b < a { b } else { a })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn relax_avx2(ri: &[f64], v: &[f64], d: &mut [f64], h: f64) -> f64 {
    relax_kernel(ri, v, d, h)
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}
