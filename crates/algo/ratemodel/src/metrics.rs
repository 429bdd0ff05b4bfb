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

#[cfg(test)]
mod tests {
    use super::*;

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
