//! Gradient-boosted regression trees, written for this model: histogram split search over
//! at most 256 bins a feature, leaf-wise growth, native categorical splits, missing values
//! routed to the better side. Chosen over a binding by measurement (docs/benchmarks.md).
//!
//! - `bins.rs` values to bins; `split.rs` histograms and the best split of a leaf;
//! - `train.rs` growing the ensemble; `tree.rs` the trees as served.

mod bins;
mod split;
mod train;
mod tree;

pub use train::{train, Column, Matrix, Trained};
pub use tree::{Booster, Kind as NodeKind, Node};

/// Training settings; the defaults are what the benchmark measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub rounds: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// Splits from the root to the deepest leaf: bounds the serving walk.
    pub max_depth: usize,
    pub min_data_in_leaf: f64,
    /// L2 regularization on leaf values.
    pub lambda: f64,
    pub min_gain: f64,
    pub max_bins: usize,
    pub early_stopping_rounds: usize,
    /// Categorical splits: smoothing of a category's mean gradient when ordering them, the
    /// extra L2 on their gain, the rows a category needs to be split on, and the most
    /// categories one side may take.
    pub cat_smooth: f64,
    pub cat_l2: f64,
    pub min_data_per_group: f64,
    pub max_cat_threshold: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            rounds: 1_000,
            learning_rate: 0.1,
            num_leaves: 63,
            max_depth: 10,
            min_data_in_leaf: 40.0,
            lambda: 1.0,
            min_gain: 0.0,
            max_bins: 255,
            early_stopping_rounds: 30,
            cat_smooth: 10.0,
            cat_l2: 10.0,
            min_data_per_group: 50.0,
            max_cat_threshold: 32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Kind;

    /// A deterministic pseudo-random stream (no dependency for a test).
    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    /// y = 3·[x0 ≥ 0.5] + category effect + x2 (missing counts as 0) + small noise.
    fn data(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut s = seed;
        let effect = [0.0, 2.0, -1.0, 0.5, 4.0];
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..n {
            // On a grid, so the step at 0.5 falls between bins (a step inside a bin is
            // beyond any histogram learner).
            let x0 = (lcg(&mut s) * 20.0).floor() / 20.0;
            let c = (lcg(&mut s) * 5.0).floor();
            let x2 = if lcg(&mut s) < 0.2 {
                f64::NAN
            } else {
                lcg(&mut s)
            };
            x.extend([x0, c, x2]);
            y.push(
                3.0 * f64::from(u8::from(x0 >= 0.5))
                    + effect[c as usize]
                    + if x2.is_nan() { 0.0 } else { x2 }
                    + 0.05 * (lcg(&mut s) - 0.5),
            );
        }
        (x, y)
    }

    const COLUMNS: [Column; 3] = [
        Column {
            kind: Kind::Numeric,
            categories: 0,
        },
        Column {
            kind: Kind::Categorical,
            categories: 5,
        },
        Column {
            kind: Kind::Numeric,
            categories: 0,
        },
    ];

    #[test]
    fn it_learns_thresholds_categories_and_missing_values() {
        let (x, y) = data(20_000, 1);
        let (vx, vy) = data(5_000, 2);
        let p = Params {
            rounds: 300,
            learning_rate: 0.1,
            num_leaves: 15,
            ..Params::default()
        };
        let t = train(
            Matrix::new(&x, 3),
            &y,
            Some((Matrix::new(&vx, 3), &vy)),
            &COLUMNS,
            &p,
        );
        let rmse = t.valid_rmse[t.booster.trees() - 1];
        assert!(
            rmse < 0.05,
            "validation RMSE {rmse} after {} trees: {:?}",
            t.booster.trees(),
            t.valid_rmse.iter().step_by(20).collect::<Vec<_>>()
        );
        assert!(t.valid_rmse[0] > 10.0 * rmse, "{:?}", &t.valid_rmse[..3]);
        // Served trees agree with the targets on fresh rows, missing values included.
        let m = Matrix::new(&vx, 3);
        let served: f64 = (0..vy.len())
            .map(|i| (t.booster.predict(m.row(i)) - vy[i]).powi(2))
            .sum::<f64>()
            / vy.len() as f64;
        assert!(
            (served.sqrt() - rmse).abs() < 1e-9,
            "served {} vs {rmse}",
            served.sqrt()
        );
        assert!(t.booster.check(3).is_ok());
        assert!((t.booster.predict(&[0.9, 4.0, f64::NAN]) - 7.0).abs() < 0.1);
        assert!((t.booster.predict(&[0.1, 2.0, 0.5]) - -0.5).abs() < 0.1);
    }

    #[test]
    fn training_stops_when_validation_stops_improving() {
        let (x, y) = data(3_000, 3);
        // Validation targets unrelated to the features: nothing generalizes.
        let (vx, mut vy) = data(1_000, 4);
        vy.iter_mut().for_each(|v| *v = 1.0);
        let p = Params {
            rounds: 500,
            early_stopping_rounds: 10,
            ..Params::default()
        };
        let t = train(
            Matrix::new(&x, 3),
            &y,
            Some((Matrix::new(&vx, 3), &vy)),
            &COLUMNS,
            &p,
        );
        assert!(
            t.valid_rmse.len() < 100,
            "ran {} rounds",
            t.valid_rmse.len()
        );
        let best = t.booster.trees();
        assert_eq!(t.valid_rmse.len(), best + 10);
    }
}
