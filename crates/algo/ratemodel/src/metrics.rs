//! How good a model is on booked loads: the numbers we publish.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub rows: usize,
    /// Mean absolute percentage error of the all-in rate.
    pub mape: f64,
    /// Median absolute percentage error.
    pub median_ape: f64,
    /// Share of actual rates inside the interval (NaN when there are no intervals).
    pub coverage: f64,
    /// Mean interval width over the prediction.
    pub mean_width: f64,
}

/// Accumulates (actual, predicted, low, high) in cents.
#[derive(Debug, Clone, Default)]
pub struct Scorer {
    apes: Vec<f64>,
    inside: usize,
    with_interval: usize,
    width: f64,
}

impl Scorer {
    pub fn add(&mut self, actual: f64, predicted: f64, interval: Option<(f64, f64)>) {
        self.apes.push((predicted - actual).abs() / actual);
        if let Some((lo, hi)) = interval {
            self.with_interval += 1;
            self.inside += usize::from(lo <= actual && actual <= hi);
            self.width += (hi - lo) / predicted;
        }
    }

    pub fn metrics(mut self) -> Metrics {
        let n = self.apes.len();
        if n == 0 {
            return Metrics::default();
        }
        self.apes.sort_by(f64::total_cmp);
        let k = self.with_interval as f64;
        Metrics {
            rows: n,
            mape: self.apes.iter().sum::<f64>() / n as f64,
            median_ape: self.apes[n / 2],
            coverage: if k > 0.0 {
                self.inside as f64 / k
            } else {
                f64::NAN
            },
            mean_width: if k > 0.0 { self.width / k } else { f64::NAN },
        }
    }
}

/// The population stability index of `values` against the ten equal bins `deciles`
/// (nine cut points) cut in training: Σ (o − e)·ln(o / e). Below 0.1 is stable; above
/// 0.25 the market has moved away from what the model learned. `None` without values.
pub fn population_stability(deciles: &[f64], values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let bins = deciles.len() + 1;
    let mut counts = vec![0usize; bins];
    for v in values {
        counts[deciles.partition_point(|d| d < v)] += 1;
    }
    let expected = 1.0 / bins as f64;
    // An empty bin would make the index infinite: count it as half a value.
    let n = values.len() as f64;
    Some(
        counts
            .iter()
            .map(|&c| {
                let o = (c as f64).max(0.5) / n;
                (o - expected) * (o / expected).ln()
            })
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stability_is_near_zero_for_the_same_population_and_large_for_a_shifted_one() {
        let train: Vec<f64> = (0..10_000).map(|i| i as f64 / 10_000.0).collect();
        let deciles: Vec<f64> = (1..10).map(|k| train[k * 1000]).collect();
        let same: Vec<f64> = (0..1000).map(|i| (i as f64 + 0.5) / 1000.0).collect();
        assert!(population_stability(&deciles, &same).unwrap() < 0.01);
        let shifted: Vec<f64> = same.iter().map(|v| v + 0.3).collect();
        assert!(population_stability(&deciles, &shifted).unwrap() > 0.25);
        assert_eq!(population_stability(&deciles, &[]), None);
    }

    #[test]
    fn scores_errors_and_coverage() {
        let mut s = Scorer::default();
        s.add(100.0, 110.0, Some((90.0, 120.0)));
        s.add(200.0, 180.0, Some((150.0, 190.0)));
        s.add(100.0, 100.0, None);
        let m = s.metrics();
        assert_eq!(m.rows, 3);
        assert!((m.mape - (0.1 + 0.1 + 0.0) / 3.0).abs() < 1e-12);
        assert_eq!(m.median_ape, 0.1);
        assert_eq!(m.coverage, 0.5);
        assert_eq!(Scorer::default().metrics().rows, 0);
    }
}
