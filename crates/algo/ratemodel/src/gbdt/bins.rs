//! Feature values to bins (≤ 256 a feature, bin 0 for missing): trees are grown on bin
//! histograms, so a split search costs the number of bins, not the number of rows.

use serde::{Deserialize, Serialize};

use crate::features::Kind;

/// Bins a feature may use, including the missing-value bin 0.
pub const MAX_BINS: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinMapper {
    pub kind: Kind,
    /// Numeric: bin `i + 1` holds values `≤ upper[i]` (and above `upper[i − 1]`); the
    /// last edge is `+∞`. Categorical: empty.
    pub upper: Vec<f64>,
    /// Categorical: codes `0..categories` are bins `1..=categories`; any other is missing.
    pub categories: usize,
}

impl BinMapper {
    /// Numeric edges at the quantiles of `values` (NaNs ignored): every distinct value
    /// gets its own bin when there are few, else bins of about equal population.
    pub fn numeric(values: &[f64], max_bins: usize) -> BinMapper {
        let max_value_bins = max_bins.clamp(2, MAX_BINS) - 1;
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        let mut distinct: Vec<f64> = v.clone();
        distinct.dedup();
        let mut upper = Vec::new();
        if distinct.len() <= max_value_bins {
            upper.extend(distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0));
        } else {
            for k in 1..max_value_bins {
                let cut = v[k * v.len() / max_value_bins];
                // The edge sits between `cut` and the next larger value, so equal values
                // never straddle two bins.
                let next = distinct
                    .get(distinct.partition_point(|d| *d <= cut))
                    .copied();
                if let Some(next) = next {
                    let edge = (cut + next) / 2.0;
                    if upper.last().is_none_or(|l| *l < edge) {
                        upper.push(edge);
                    }
                }
            }
        }
        upper.push(f64::INFINITY);
        BinMapper {
            kind: Kind::Numeric,
            upper,
            categories: 0,
        }
    }

    pub fn categorical(categories: usize) -> BinMapper {
        BinMapper {
            kind: Kind::Categorical,
            upper: Vec::new(),
            categories: categories.min(MAX_BINS - 1),
        }
    }

    /// Bins in use, the missing bin included.
    pub fn bins(&self) -> usize {
        1 + match self.kind {
            Kind::Numeric => self.upper.len(),
            Kind::Categorical => self.categories,
        }
    }

    pub fn bin(&self, x: f64) -> u8 {
        if x.is_nan() {
            return 0;
        }
        match self.kind {
            Kind::Numeric => (1 + self.upper.partition_point(|u| *u < x)) as u8,
            Kind::Categorical => {
                if x >= 0.0 && (x as usize) < self.categories && x.fract() == 0.0 {
                    x as u8 + 1
                } else {
                    0
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_each_get_a_bin() {
        let m = BinMapper::numeric(&[3.0, 1.0, 2.0, 2.0, f64::NAN], 256);
        assert_eq!(m.bins(), 4);
        assert_eq!([1.0, 1.4, 2.0, 3.0, 9.0].map(|x| m.bin(x)), [1, 1, 2, 3, 3]);
        assert_eq!(m.bin(f64::NAN), 0);
        assert_eq!(m.bin(-5.0), 1);
    }

    #[test]
    fn many_values_fill_bins_of_about_equal_population() {
        let values: Vec<f64> = (0..10_000).map(|i| (i % 1000) as f64).collect();
        let m = BinMapper::numeric(&values, 11);
        assert_eq!(m.bins(), 11);
        let mut counts = [0usize; 11];
        for v in &values {
            counts[m.bin(*v) as usize] += 1;
        }
        assert_eq!(counts[0], 0);
        assert!(
            counts[1..].iter().all(|c| (900..=1100).contains(c)),
            "{counts:?}"
        );
    }

    #[test]
    fn categories_beyond_the_vocabulary_are_missing() {
        let m = BinMapper::categorical(3);
        assert_eq!(
            [0.0, 2.0, 3.0, -1.0, 1.5].map(|x| m.bin(x)),
            [1, 3, 0, 0, 0]
        );
    }
}
