//! Split-conformal intervals, grouped by how many recent reports stand behind the lane
//! (Mondrian): a lane the market has not seen lately gets the wider interval its own
//! calibration residuals call for, instead of the average width.

use serde::{Deserialize, Serialize};

/// The groups: lanes with no report in 30 days, 1–4, 5–19, and 20 or more.
pub const GROUP_EDGES: [f64; 3] = [1.0, 5.0, 20.0];
pub const GROUP_NAMES: [&str; 4] = ["unseen", "thin", "some", "busy"];
/// A group with fewer calibration residuals borrows the pooled quantiles.
pub const MIN_GROUP: usize = 200;

pub fn group_of(reports: f64) -> usize {
    GROUP_EDGES.iter().take_while(|e| reports >= **e).count()
}

/// Residual quantiles (in log space) of one group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub low: f64,
    pub high: f64,
    /// Calibration residuals behind it.
    pub n: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    /// The nominal coverage, e.g. 0.8.
    pub coverage: f64,
    pub groups: Vec<Band>,
    pub pooled: Band,
}

/// The conformal quantile: the ⌈(n + 1)·q⌉-th smallest of `n` sorted residuals (the
/// finite-sample correction), clamped to the ends.
fn conformal_quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let k = ((n as f64 + 1.0) * q).ceil() as usize;
    sorted[k.clamp(1, n) - 1]
}

fn band(mut r: Vec<f64>, coverage: f64) -> Option<Band> {
    if r.is_empty() {
        return None;
    }
    r.sort_by(f64::total_cmp);
    let tail = (1.0 - coverage) / 2.0;
    Some(Band {
        low: conformal_quantile(&r, tail),
        high: conformal_quantile(&r, 1.0 - tail),
        n: r.len(),
    })
}

impl Intervals {
    /// From calibration residuals `actual − predicted` (log space) and each row's report count.
    pub fn calibrate(residuals: &[f64], reports: &[f64], coverage: f64) -> Option<Intervals> {
        let pooled = band(residuals.to_vec(), coverage)?;
        let mut by_group = vec![Vec::new(); GROUP_NAMES.len()];
        for (r, n) in residuals.iter().zip(reports) {
            by_group[group_of(*n)].push(*r);
        }
        let groups = by_group
            .into_iter()
            .map(|g| match g.len() >= MIN_GROUP {
                true => band(g, coverage).unwrap_or(pooled),
                false => Band {
                    n: g.len(),
                    ..pooled
                },
            })
            .collect();
        Some(Intervals {
            coverage,
            groups,
            pooled,
        })
    }

    /// The band for a lane with `reports` recent reports, and whether it is the group's own.
    pub fn band(&self, reports: f64) -> Band {
        self.groups
            .get(group_of(reports))
            .copied()
            .unwrap_or(self.pooled)
    }

    pub fn check(&self) -> Result<(), String> {
        let ok = |b: &Band| b.low.is_finite() && b.high.is_finite() && b.low <= b.high;
        if !(0.0..1.0).contains(&self.coverage) || self.groups.len() != GROUP_NAMES.len() {
            return Err("the interval table has the wrong shape".into());
        }
        if !ok(&self.pooled) || !self.groups.iter().all(ok) {
            return Err("an interval band is not finite or is inverted".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_report_count() {
        assert_eq!(
            [0.0, 1.0, 4.0, 5.0, 19.0, 20.0, 500.0].map(group_of),
            [0, 1, 1, 2, 2, 3, 3]
        );
    }

    #[test]
    fn each_group_gets_its_own_width_and_small_ones_borrow_the_pool() {
        // Residuals uniform on a grid: the unseen group twice as wide as the busy one.
        let mut res = Vec::new();
        let mut reports = Vec::new();
        for i in 0..1000 {
            let u = (i as f64 + 0.5) / 1000.0 - 0.5;
            res.push(2.0 * u);
            reports.push(0.0);
            res.push(u);
            reports.push(50.0);
        }
        res.push(9.0);
        reports.push(7.0); // one lonely "some" residual
        let iv = Intervals::calibrate(&res, &reports, 0.8).unwrap();
        let (unseen, busy) = (iv.band(0.0), iv.band(30.0));
        assert!(
            (unseen.high - 0.8).abs() < 0.01 && (unseen.low + 0.8).abs() < 0.01,
            "{unseen:?}"
        );
        assert!((busy.high - 0.4).abs() < 0.01, "{busy:?}");
        assert_eq!(iv.band(7.0).n, 1);
        assert_eq!(iv.band(7.0).high, iv.pooled.high);
        assert!(iv.check().is_ok());
        assert!(Intervals::calibrate(&[], &[], 0.8).is_none());
    }
}
