//! Trees as served: every tree's nodes in one array, 16 bytes a node, the two children of
//! a split side by side and after their parent (so a checked ensemble cannot loop), and
//! categorical sets in a side table. Compact because serving is a walk through memory:
//! the benchmark's single prediction is mostly cache misses.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Leaf,
    /// `x ≤ value` goes left; a missing value goes left.
    NumericNanLeft,
    /// `x ≤ value` goes left; a missing value goes right.
    NumericNanRight,
    /// Codes in set number `value` go left; a missing or unknown code goes right.
    Categorical,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The leaf's value, the threshold, or the categorical set's index.
    #[serde(rename = "v")]
    pub value: f64,
    /// The left child; the right one is `left + 1`.
    #[serde(rename = "l")]
    pub left: u32,
    #[serde(rename = "f")]
    pub feature: u16,
    #[serde(rename = "k")]
    pub kind: Kind,
}

impl Node {
    pub fn leaf(value: f64) -> Node {
        Node {
            value,
            left: 0,
            feature: 0,
            kind: Kind::Leaf,
        }
    }
}

/// Trees walked side by side in [`Booster::predict`].
const LANES: usize = 4;

/// An additive ensemble: `base` plus one leaf of every tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booster {
    pub base: f64,
    /// Where each tree starts in `nodes`.
    pub roots: Vec<u32>,
    pub nodes: Vec<Node>,
    /// Categorical sets: bit `c` of word `c / 64` for code `c`.
    pub sets: Vec<[u64; 4]>,
}

impl Booster {
    pub fn new(base: f64) -> Booster {
        Booster {
            base,
            roots: Vec::new(),
            nodes: Vec::new(),
            sets: Vec::new(),
        }
    }

    pub fn trees(&self) -> usize {
        self.roots.len()
    }

    /// Appends a tree given with tree-local child and set indices.
    pub fn push_tree(&mut self, mut nodes: Vec<Node>, sets: Vec<[u64; 4]>) {
        let (base, set_base) = (self.nodes.len() as u32, self.sets.len() as f64);
        for n in &mut nodes {
            match n.kind {
                Kind::Leaf => {}
                Kind::Categorical => {
                    n.left += base;
                    n.value += set_base;
                }
                _ => n.left += base,
            }
        }
        self.roots.push(base);
        self.nodes.extend(nodes);
        self.sets.extend(sets);
    }

    /// Keeps the first `n` trees.
    pub fn truncate(&mut self, n: usize) {
        if n < self.roots.len() {
            let end = self.roots[n] as usize;
            self.roots.truncate(n);
            self.nodes.truncate(end);
            let sets = self
                .nodes
                .iter()
                .filter(|n| n.kind == Kind::Categorical)
                .map(|n| n.value as usize + 1)
                .max()
                .unwrap_or(0);
            self.sets.truncate(sets);
        }
    }

    /// One step down from node `i`: the child `x` goes to, or `None` at a leaf.
    #[inline(always)]
    fn step(&self, i: usize, x: &[f64]) -> Option<usize> {
        let n = &self.nodes[i];
        let go_left = match n.kind {
            Kind::Leaf => return None,
            Kind::NumericNanLeft => {
                let v = x[n.feature as usize];
                v.is_nan() || v <= n.value
            }
            Kind::NumericNanRight => x[n.feature as usize] <= n.value,
            Kind::Categorical => {
                // Comparisons and casts only: `fract` is a libm call on baseline x86-64,
                // and this is the hottest line of a prediction. NaN fails `>= 0`.
                let v = x[n.feature as usize];
                let c = v as usize;
                v >= 0.0 && v < 256.0 && c as f64 == v && {
                    let set = &self.sets[n.value as usize];
                    set[c / 64] & (1 << (c % 64)) != 0
                }
            }
        };
        Some(n.left as usize + usize::from(!go_left))
    }

    /// Walks LANES trees at once: each walk is a chain of dependent loads, and four
    /// independent chains keep the core busy while one waits (about 2× on the benchmark).
    #[inline]
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut sum = self.base;
        let mut chunks = self.roots.chunks_exact(LANES);
        for c in &mut chunks {
            let mut at = [0usize; LANES];
            for (a, r) in at.iter_mut().zip(c) {
                *a = *r as usize;
            }
            let mut open = LANES;
            while open > 0 {
                open = 0;
                for i in &mut at {
                    if let Some(next) = self.step(*i, x) {
                        *i = next;
                        open += 1;
                    }
                }
            }
            sum += at.iter().map(|&i| self.nodes[i].value).sum::<f64>();
        }
        for &r in chunks.remainder() {
            let mut i = r as usize;
            while let Some(next) = self.step(i, x) {
                i = next;
            }
            sum += self.nodes[i].value;
        }
        sum
    }

    /// Why this ensemble cannot be served over `features` columns, if it cannot.
    pub fn check(&self, features: usize) -> Result<(), String> {
        if !self.base.is_finite() {
            return Err("the base score is not finite".into());
        }
        for (t, &root) in self.roots.iter().enumerate() {
            let end = self
                .roots
                .get(t + 1)
                .map_or(self.nodes.len(), |r| *r as usize);
            if root as usize >= end || end > self.nodes.len() {
                return Err(format!("tree {t} has no nodes"));
            }
            for i in root as usize..end {
                let n = &self.nodes[i];
                let bad = |why: String| Err(format!("tree {t}, node {i}: {why}"));
                if n.kind == Kind::Leaf {
                    if !n.value.is_finite() {
                        return bad("a non-finite leaf".into());
                    }
                    continue;
                }
                if n.feature as usize >= features {
                    return bad(format!("feature {} of {features}", n.feature));
                }
                if n.left as usize <= i || n.left as usize + 1 >= end {
                    return bad(format!("children at {} outside the tree", n.left));
                }
                let ok = match n.kind {
                    Kind::Categorical => {
                        n.value.fract() == 0.0 && (0.0..self.sets.len() as f64).contains(&n.value)
                    }
                    _ => !n.value.is_nan(),
                };
                if !ok {
                    return bad("a bad threshold or set".into());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(kind: Kind, feature: u16, value: f64, left: u32) -> Node {
        Node {
            value,
            left,
            feature,
            kind,
        }
    }

    /// x0 ≤ 1 (missing left) → −1; else category 2 of x1 → 2, other → 3.
    fn stump() -> Booster {
        let mut b = Booster::new(0.0);
        b.push_tree(
            vec![
                split(Kind::NumericNanLeft, 0, 1.0, 1),
                Node::leaf(-1.0),
                split(Kind::Categorical, 1, 0.0, 3),
                Node::leaf(2.0),
                Node::leaf(3.0),
            ],
            vec![[0b100, 0, 0, 0]],
        );
        b
    }

    #[test]
    fn values_route_by_threshold_category_and_missing() {
        let mut b = stump();
        assert_eq!(b.predict(&[0.5, 0.0]), -1.0);
        assert_eq!(b.predict(&[f64::NAN, 0.0]), -1.0);
        assert_eq!(b.predict(&[1.5, 2.0]), 2.0);
        assert_eq!(b.predict(&[1.5, 1.0]), 3.0);
        assert_eq!(b.predict(&[1.5, f64::NAN]), 3.0);
        assert_eq!(b.predict(&[1.5, 9999.0]), 3.0);
        assert!(b.check(2).is_ok());
        // A second tree is offset into the shared arrays.
        b.push_tree(
            vec![
                split(Kind::Categorical, 1, 0.0, 1),
                Node::leaf(10.0),
                Node::leaf(0.0),
            ],
            vec![[0b10, 0, 0, 0]],
        );
        assert_eq!((b.nodes[5].left, b.nodes[5].value), (6, 1.0));
        assert_eq!(b.predict(&[1.5, 1.0]), 13.0);
        assert!(b.check(2).is_ok());
        b.truncate(1);
        assert_eq!((b.trees(), b.nodes.len(), b.sets.len()), (1, 5, 1));
    }

    #[test]
    fn a_corrupt_ensemble_is_refused() {
        let b = stump();
        assert!(b.check(1).unwrap_err().contains("feature 1"));
        let mut loops = b.clone();
        loops.nodes[0].left = 0;
        assert!(loops.check(2).unwrap_err().contains("outside the tree"));
        let mut no_set = b.clone();
        no_set.nodes[2].value = 5.0;
        assert!(no_set.check(2).is_err());
        let mut empty = b.clone();
        empty.roots.push(5);
        assert!(empty.check(2).unwrap_err().contains("no nodes"));
        let mut nan = b;
        nan.base = f64::NAN;
        assert!(nan.check(2).is_err());
    }
}
