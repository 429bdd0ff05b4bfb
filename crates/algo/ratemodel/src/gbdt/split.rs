//! Gradient histograms and the best split of a leaf. Squared loss, so every row's hessian
//! is 1 and a bin's hessian is its row count.

use crate::features::Kind;
use crate::gbdt::bins::{BinMapper, MAX_BINS};
use crate::gbdt::Params;

/// (gradient sum, rows) per feature and bin, `feature · MAX_BINS + bin`.
pub type Hist = Vec<[f64; 2]>;

pub fn empty_hist(features: usize) -> Hist {
    vec![[0.0; 2]; features * MAX_BINS]
}

/// Adds `rows` of the row-major `bins` matrix to `hist`.
pub fn accumulate(hist: &mut Hist, bins: &[u8], features: usize, rows: &[u32], grad: &[f64]) {
    for &r in rows {
        let r = r as usize;
        let g = grad[r];
        let row = &bins[r * features..(r + 1) * features];
        for (f, &b) in row.iter().enumerate() {
            let cell = &mut hist[f * MAX_BINS + b as usize];
            cell[0] += g;
            cell[1] += 1.0;
        }
    }
}

/// `parent − child`, in place on the parent's buffer: the larger child's histogram for
/// free once the smaller one is built.
pub fn subtract(parent: &mut Hist, child: &Hist) {
    for (p, c) in parent.iter_mut().zip(child) {
        p[0] -= c[0];
        p[1] -= c[1];
    }
}

/// Which rows go left.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Bins `1..=bin` go left; the missing bin goes left when `nan_left`.
    Numeric { bin: u8, nan_left: bool },
    /// Bins in the set go left (bit `b` of word `b / 64`); the missing bin never does.
    Categorical { bins: [u64; 4] },
}

impl Rule {
    #[inline]
    pub fn goes_left(&self, bin: u8) -> bool {
        match self {
            Rule::Numeric { bin: at, nan_left } => {
                if bin == 0 {
                    *nan_left
                } else {
                    bin <= *at
                }
            }
            Rule::Categorical { bins } => bins[(bin / 64) as usize] & (1 << (bin % 64)) != 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub feature: usize,
    pub rule: Rule,
    pub gain: f64,
    /// Gradient sum and rows going left.
    pub left: [f64; 2],
}

fn score(g: f64, n: f64, lambda: f64) -> f64 {
    g * g / (n + lambda)
}

/// The best split of a leaf holding `total` over `hist`, or `None` when no split leaves
/// `min_data_in_leaf` rows on both sides and gains anything.
pub fn best_split(
    hist: &Hist,
    total: [f64; 2],
    mappers: &[BinMapper],
    p: &Params,
) -> Option<Split> {
    let mut best: Option<Split> = None;
    let mut offer = |s: Split| {
        if s.gain > p.min_gain && best.as_ref().is_none_or(|b| s.gain > b.gain) {
            best = Some(s);
        }
    };
    for (f, m) in mappers.iter().enumerate() {
        let h = &hist[f * MAX_BINS..f * MAX_BINS + m.bins()];
        match m.kind {
            Kind::Numeric => numeric(f, h, total, p, &mut offer),
            Kind::Categorical => categorical(f, h, total, p, &mut offer),
        }
    }
    best
}

fn numeric(f: usize, h: &[[f64; 2]], total: [f64; 2], p: &Params, offer: &mut impl FnMut(Split)) {
    let parent = score(total[0], total[1], p.lambda);
    let nan = h[0];
    let mut left = [0.0, 0.0];
    for (b, cell) in h.iter().enumerate().take(h.len() - 1).skip(1) {
        left[0] += cell[0];
        left[1] += cell[1];
        if cell[1] == 0.0 {
            continue;
        }
        for nan_left in [false, true] {
            if nan_left && nan[1] == 0.0 {
                continue;
            }
            let l = if nan_left {
                [left[0] + nan[0], left[1] + nan[1]]
            } else {
                left
            };
            let r = [total[0] - l[0], total[1] - l[1]];
            if l[1] < p.min_data_in_leaf || r[1] < p.min_data_in_leaf {
                continue;
            }
            let gain = score(l[0], l[1], p.lambda) + score(r[0], r[1], p.lambda) - parent;
            offer(Split {
                feature: f,
                rule: Rule::Numeric {
                    bin: b as u8,
                    nan_left,
                },
                gain,
                left: l,
            });
        }
    }
}

/// LightGBM's many-vs-many categorical split: categories with enough rows are ordered by
/// their mean gradient (smoothed), and the best prefix of that order — from either end,
/// at most `max_cat_threshold` long — goes left.
fn categorical(
    f: usize,
    h: &[[f64; 2]],
    total: [f64; 2],
    p: &Params,
    offer: &mut impl FnMut(Split),
) {
    let lambda = p.lambda + p.cat_l2;
    let parent = score(total[0], total[1], lambda);
    let mut cats: Vec<usize> = (1..h.len())
        .filter(|&b| h[b][1] >= p.min_data_per_group)
        .collect();
    if cats.len() < 2 {
        return;
    }
    cats.sort_by(|&a, &b| {
        let key = |c: usize| h[c][0] / (h[c][1] + p.cat_smooth);
        key(a).total_cmp(&key(b))
    });
    let limit = p.max_cat_threshold.min(cats.len() - 1);
    for order in [cats.clone(), cats.into_iter().rev().collect::<Vec<_>>()] {
        let mut bits = [0u64; 4];
        let mut l = [0.0, 0.0];
        for &c in order.iter().take(limit) {
            bits[c / 64] |= 1 << (c % 64);
            l[0] += h[c][0];
            l[1] += h[c][1];
            let r = [total[0] - l[0], total[1] - l[1]];
            if l[1] < p.min_data_in_leaf || r[1] < p.min_data_in_leaf {
                continue;
            }
            let gain = score(l[0], l[1], lambda) + score(r[0], r[1], lambda) - parent;
            offer(Split {
                feature: f,
                rule: Rule::Categorical { bins: bits },
                gain,
                left: l,
            });
        }
    }
}
