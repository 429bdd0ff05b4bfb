//! Growing the ensemble: histogram-based, leaf-wise (the leaf with the best gain splits
//! next, as LightGBM does), squared loss, early stopping on a validation set.

use crate::features::Kind;
use crate::gbdt::bins::{BinMapper, MAX_BINS};
use crate::gbdt::split::{accumulate, best_split, empty_hist, subtract, Hist, Rule, Split};
use crate::gbdt::tree::{Booster, Kind as NodeKind, Node};
use crate::gbdt::Params;

/// Rows sampled to place the numeric bin edges.
const BIN_SAMPLE: usize = 200_000;

/// A row-major matrix of feature values.
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    pub values: &'a [f64],
    pub cols: usize,
}

impl<'a> Matrix<'a> {
    pub fn new(values: &'a [f64], cols: usize) -> Self {
        assert_eq!(values.len() % cols.max(1), 0, "a ragged matrix");
        Matrix { values, cols }
    }

    pub fn rows(&self) -> usize {
        self.values.len() / self.cols
    }

    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }
}

/// How each column is split on: its kind, and for a categorical one how many codes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub kind: Kind,
    pub categories: usize,
}

/// The ensemble and how training went.
#[derive(Debug, Clone)]
pub struct Trained {
    pub booster: Booster,
    /// Root-mean-square validation error after each round (empty without validation).
    pub valid_rmse: Vec<f64>,
}

fn bin_matrix(x: Matrix, mappers: &[BinMapper]) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.values.len());
    for i in 0..x.rows() {
        out.extend(x.row(i).iter().zip(mappers).map(|(v, m)| m.bin(*v)));
    }
    out
}

fn mappers(x: Matrix, columns: &[Column], max_bins: usize) -> Vec<BinMapper> {
    let step = x.rows().div_ceil(BIN_SAMPLE).max(1);
    columns
        .iter()
        .enumerate()
        .map(|(f, c)| match c.kind {
            Kind::Categorical => BinMapper::categorical(c.categories),
            Kind::Numeric => {
                let sample: Vec<f64> = (0..x.rows()).step_by(step).map(|i| x.row(i)[f]).collect();
                BinMapper::numeric(&sample, max_bins)
            }
        })
        .collect()
}

/// A bin-space split turned into a served node (children at `left`, `left + 1`), and the
/// categorical set it needs, if any.
fn node(split: &Split, mapper: &BinMapper, left: u32, sets: &mut Vec<[u64; 4]>) -> Node {
    let feature = split.feature as u16;
    match &split.rule {
        Rule::Numeric { bin, nan_left } => Node {
            value: mapper.upper[*bin as usize - 1],
            left,
            feature,
            kind: if *nan_left {
                NodeKind::NumericNanLeft
            } else {
                NodeKind::NumericNanRight
            },
        },
        Rule::Categorical { bins } => {
            // Bin b holds code b − 1.
            let mut codes = [0u64; 4];
            for b in 1..MAX_BINS {
                if bins[b / 64] & (1 << (b % 64)) != 0 {
                    let c = b - 1;
                    codes[c / 64] |= 1 << (c % 64);
                }
            }
            sets.push(codes);
            Node {
                value: (sets.len() - 1) as f64,
                left,
                feature,
                kind: NodeKind::Categorical,
            }
        }
    }
}

struct Leaf {
    node: usize,
    depth: usize,
    start: usize,
    end: usize,
    sum: [f64; 2],
    hist: Hist,
    best: Option<Split>,
}

/// The rows of one tree's leaves and their values, from a tree grown in bin space.
struct Grown {
    nodes: Vec<Node>,
    sets: Vec<[u64; 4]>,
    /// (range in `order`, value) per leaf.
    leaves: Vec<(usize, usize, f64)>,
    /// Bin-space rules by node (feature, rule, left child), for routing validation rows.
    rules: Vec<Option<(usize, Rule, u32)>>,
}

struct Grower<'a> {
    bins: &'a [u8],
    cols: usize,
    mappers: &'a [BinMapper],
    p: &'a Params,
}

impl Grower<'_> {
    fn leaf(
        &self,
        node: usize,
        depth: usize,
        start: usize,
        end: usize,
        sum: [f64; 2],
        hist: Hist,
    ) -> Leaf {
        let best = if depth < self.p.max_depth {
            best_split(&hist, sum, self.mappers, self.p)
        } else {
            None
        };
        Leaf {
            node,
            depth,
            start,
            end,
            sum,
            hist,
            best,
        }
    }

    fn grow(&self, order: &mut [u32], grad: &[f64]) -> Grown {
        let mut hist = empty_hist(self.cols);
        accumulate(&mut hist, self.bins, self.cols, order, grad);
        let sum = order
            .iter()
            .fold([0.0, 0.0], |s, &r| [s[0] + grad[r as usize], s[1] + 1.0]);
        let mut nodes = vec![Node::leaf(0.0)];
        let mut sets = Vec::new();
        let mut rules = vec![None];
        let mut leaves = vec![self.leaf(0, 0, 0, order.len(), sum, hist)];
        while leaves.len() < self.p.num_leaves {
            let Some(at) = leaves
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.best.as_ref().map(|b| (i, b.gain)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(i, _)| i)
            else {
                break;
            };
            let parent = leaves.swap_remove(at);
            let split = parent.best.expect("chosen for its split");
            let rows = &mut order[parent.start..parent.end];
            let (mut i, mut j) = (0, rows.len());
            while i < j {
                let b = self.bins[rows[i] as usize * self.cols + split.feature];
                if split.rule.goes_left(b) {
                    i += 1;
                } else {
                    j -= 1;
                    rows.swap(i, j);
                }
            }
            let mid = parent.start + i;
            let (l, r) = (nodes.len() as u32, nodes.len() as u32 + 1);
            nodes[parent.node] = node(&split, &self.mappers[split.feature], l, &mut sets);
            rules[parent.node] = Some((split.feature, split.rule.clone(), l));
            nodes.extend([Node::leaf(0.0), Node::leaf(0.0)]);
            rules.extend([None, None]);
            let left_sum = split.left;
            let right_sum = [parent.sum[0] - left_sum[0], parent.sum[1] - left_sum[1]];
            let left_smaller = mid - parent.start <= parent.end - mid;
            let small_range = if left_smaller {
                parent.start..mid
            } else {
                mid..parent.end
            };
            let mut small = empty_hist(self.cols);
            accumulate(&mut small, self.bins, self.cols, &order[small_range], grad);
            let mut large = parent.hist;
            subtract(&mut large, &small);
            let (lh, rh) = if left_smaller {
                (small, large)
            } else {
                (large, small)
            };
            let depth = parent.depth + 1;
            leaves.push(self.leaf(l as usize, depth, parent.start, mid, left_sum, lh));
            leaves.push(self.leaf(r as usize, depth, mid, parent.end, right_sum, rh));
        }
        let mut out = Vec::with_capacity(leaves.len());
        for l in &leaves {
            let value = -self.p.learning_rate * l.sum[0] / (l.sum[1] + self.p.lambda);
            nodes[l.node] = Node::leaf(value);
            out.push((l.start, l.end, value));
        }
        Grown {
            nodes,
            sets,
            leaves: out,
            rules,
        }
    }
}

/// The leaf value a binned row lands on.
fn route(g: &Grown, row: &[u8]) -> f64 {
    let mut i = 0usize;
    while let Some((f, rule, l)) = &g.rules[i] {
        i = *l as usize + usize::from(!rule.goes_left(row[*f]));
    }
    g.nodes[i].value
}

/// Trains on `x`, `y` (finite targets), stopping early when the validation error has not
/// improved for `p.early_stopping_rounds` rounds and keeping the best round's trees.
pub fn train(
    x: Matrix,
    y: &[f64],
    valid: Option<(Matrix, &[f64])>,
    columns: &[Column],
    p: &Params,
) -> Trained {
    assert_eq!(x.rows(), y.len(), "one target a row");
    assert_eq!(x.cols, columns.len(), "one column description a column");
    let mappers = mappers(x, columns, p.max_bins);
    let bins = bin_matrix(x, &mappers);
    let base = if y.is_empty() {
        0.0
    } else {
        y.iter().sum::<f64>() / y.len() as f64
    };
    let mut score = vec![base; y.len()];
    let mut grad = vec![0.0; y.len()];
    let valid = valid.map(|(vx, vy)| (bin_matrix(vx, &mappers), vy, vec![base; vy.len()]));
    let mut valid = valid;
    let grower = Grower {
        bins: &bins,
        cols: x.cols,
        mappers: &mappers,
        p,
    };
    let mut order: Vec<u32> = (0..y.len() as u32).collect();
    let mut booster = Booster::new(base);
    let mut valid_rmse = Vec::new();
    let mut best = (f64::INFINITY, 0usize);
    for round in 0..p.rounds {
        for (g, (s, t)) in grad.iter_mut().zip(score.iter().zip(y)) {
            *g = s - t;
        }
        let grown = grower.grow(&mut order, &grad);
        for &(start, end, value) in &grown.leaves {
            for &r in &order[start..end] {
                score[r as usize] += value;
            }
        }
        if let Some((vbins, vy, vscore)) = valid.as_mut() {
            let mut sq = 0.0;
            for (i, (s, t)) in vscore.iter_mut().zip(vy.iter()).enumerate() {
                *s += route(&grown, &vbins[i * x.cols..(i + 1) * x.cols]);
                sq += (*s - t) * (*s - t);
            }
            let rmse = (sq / vy.len().max(1) as f64).sqrt();
            valid_rmse.push(rmse);
            if rmse < best.0 {
                best = (rmse, round + 1);
            }
        }
        booster.push_tree(grown.nodes, grown.sets);
        if valid.is_some() && round + 1 - best.1 >= p.early_stopping_rounds {
            break;
        }
    }
    if valid.is_some() {
        booster.truncate(best.1);
    }
    Trained {
        booster,
        valid_rmse,
    }
}
