//! Continuous quantiles, computed the way DuckDB's `quantile_cont` computes them, so our
//! answers can be checked against DuckDB's to the last bit: the position is `q·(n−1)` in
//! the sorted values, and between its two neighbours `lo` and `hi` the value is
//! `lo + (hi − lo)·frac`.

/// The `q` quantile (0 ≤ q ≤ 1) of `values`, which it partially reorders. `None` when empty.
pub fn quantile_cont(values: &mut [f64], q: f64) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo_i = pos.floor() as usize;
    let hi_i = pos.ceil() as usize;
    let (_, lo, right) = values.select_nth_unstable_by(lo_i, f64::total_cmp);
    let lo = *lo;
    if hi_i == lo_i {
        return Some(lo);
    }
    // The next order statistic is the smallest value right of the partition point.
    let hi = right.iter().copied().fold(f64::INFINITY, f64::min);
    Some(lo + (hi - lo) * (pos - lo_i as f64))
}

/// The 25th, 50th and 75th percentiles at once, with the two quartiles selected inside the
/// halves the median's selection leaves (about 1.5 passes over the data instead of three).
pub fn quartiles(values: &mut [f64]) -> Option<[f64; 3]> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    if n < 8 {
        // Too few for the halves to hold both neighbours of each quartile; sort instead.
        values.sort_unstable_by(f64::total_cmp);
        return Some([0.25, 0.5, 0.75].map(|q| sorted_quantile(values, q)));
    }
    let median = quantile_cont(values, 0.5)?;
    // After the median's selection every value left of index floor((n-1)/2) is ≤ it and
    // every value right of it is ≥ it; each quartile's two neighbours lie within one side
    // plus the split point, so select within those ranges.
    let mid = (n - 1) / 2;
    let p25 = quantile_in(values, 0.25, 0, mid + 1);
    let p75 = quantile_in(values, 0.75, mid, n);
    Some([p25, median, p75])
}

/// `quantile_cont` of values already sorted ascending.
pub fn sorted_quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    if lo == hi {
        sorted[lo]
    } else {
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    }
}

/// `quantile_cont` over the whole slice, using only `values[from..to]`, which must hold
/// every order statistic the position touches.
fn quantile_in(values: &mut [f64], q: f64, from: usize, to: usize) -> f64 {
    let n = values.len();
    let pos = q * (n - 1) as f64;
    let lo_i = pos.floor() as usize;
    let hi_i = pos.ceil() as usize;
    debug_assert!(from <= lo_i && hi_i < to);
    let part = &mut values[from..to];
    let (_, lo, right) = part.select_nth_unstable_by(lo_i - from, f64::total_cmp);
    let lo = *lo;
    if hi_i == lo_i {
        return lo;
    }
    let hi = right.iter().copied().fold(f64::INFINITY, f64::min);
    lo + (hi - lo) * (pos - lo_i as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_sorting(values: &[f64], q: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        sorted_quantile(&v, q)
    }

    #[test]
    fn interpolates_between_neighbours() {
        let mut v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile_cont(&mut v, 0.5), Some(2.5));
        assert_eq!(quantile_cont(&mut v, 0.25), Some(1.75));
        assert_eq!(quantile_cont(&mut v, 1.0), Some(4.0));
        assert_eq!(quantile_cont(&mut [], 0.5), None);
        assert_eq!(quartiles(&mut [7.0]), Some([7.0, 7.0, 7.0]));
    }

    proptest! {
        #[test]
        fn quartiles_equal_a_full_sort(values in prop::collection::vec(-1e6f64..1e6, 1..300)) {
            let mut v = values.clone();
            let [p25, p50, p75] = quartiles(&mut v).unwrap();
            prop_assert_eq!(p25, by_sorting(&values, 0.25));
            prop_assert_eq!(p50, by_sorting(&values, 0.5));
            prop_assert_eq!(p75, by_sorting(&values, 0.75));
        }
    }
}
