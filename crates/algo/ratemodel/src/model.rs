//! The model as trained and served: trees, vocabularies, interval bands and what it was
//! trained on; fitting it from examples and scoring it.

use std::ops::Range;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conformal::{self, Intervals};
use crate::dataset::Examples;
use crate::features::{Kind, Row, Vocab, FEATURES, LANE_REPORTS, N_FEATURES};
use crate::gbdt::{self, Booster, Column, Matrix, Params};
use crate::metrics::{Metrics, Scorer};

/// What the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub version: String,
    pub trained_at: DateTime<Utc>,
    pub train_rows: usize,
    pub calibration_rows: usize,
    pub first_booking: DateTime<Utc>,
    pub last_booking: DateTime<Utc>,
    /// SHA-256 of the training and calibration examples ([`Examples::fingerprint`]).
    pub data_fingerprint: String,
    pub trees: usize,
    pub training_seconds: f64,
    /// Scored on the calibration rows (the most recent part of the training span).
    pub calibration: Metrics,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateModel {
    pub provenance: Provenance,
    /// Feature names in column order, checked against [`FEATURES`] when loading.
    pub features: Vec<String>,
    pub vocab: Vocab,
    pub booster: Booster,
    pub intervals: Intervals,
    /// The training rows' median diesel price, for a quote made when no recent price is
    /// known.
    pub diesel_median_cents: f64,
    /// The deciles of ln(cents a mile) in training: what drift is measured against.
    pub log_rpm_deciles: Vec<f64>,
    /// Added to the log prediction for the point estimate: the shift that minimizes the
    /// calibration rows' percentage error (the MAPE-optimal point of a skewed error is
    /// not its median).
    pub point_shift: f64,
}

/// A priced load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub rate_cents: f64,
    pub low_cents: f64,
    pub high_cents: f64,
    /// Reports on this lane and equipment in the last 30 days.
    pub lane_reports: f64,
    /// The interval group ("unseen", "thin", "some", "busy").
    pub support: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    pub params: Params,
    /// The most recent share of the rows, held out to stop training and calibrate the
    /// intervals and the point shift.
    pub calibration_share: f64,
    pub coverage: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            params: Params::default(),
            calibration_share: 0.15,
            coverage: 0.8,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("{0} booked loads is too few to train on (at least {MIN_ROWS})")]
    TooFew(usize),
    #[error("calibration share {0} is outside (0, 0.5]")]
    Share(f64),
}

pub const MIN_ROWS: usize = 1_000;

fn columns(vocab: &Vocab) -> Vec<Column> {
    FEATURES
        .iter()
        .map(|(name, kind)| Column {
            kind: *kind,
            categories: match (*kind, *name) {
                (Kind::Categorical, "equipment") => vocab.equipment.len(),
                (Kind::Categorical, _) => vocab.markets.len(),
                (Kind::Numeric, _) => 0,
            },
        })
        .collect()
}

/// The shift `c` minimizing Σ |1 − exp(c − r)| over residuals `r` (log space), searched
/// on a grid across the residuals' middle 90 %.
fn mape_shift(residuals: &[f64]) -> f64 {
    let mut sorted = residuals.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let (lo, hi) = (sorted[n / 20], sorted[n - 1 - n / 20]);
    let cost = |c: f64| {
        residuals
            .iter()
            .map(|r| (1.0 - (c - r).exp()).abs())
            .sum::<f64>()
    };
    (0..=200)
        .map(|k| lo + (hi - lo) * k as f64 / 200.0)
        .map(|c| (c, cost(c)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0.0, |(c, _)| c)
}

fn rows(ex: &Examples, r: Range<usize>) -> Matrix<'_> {
    Matrix::new(&ex.x[r.start * N_FEATURES..r.end * N_FEATURES], N_FEATURES)
}

impl RateModel {
    /// Trains on the examples in `range` (time-ordered): the oldest part grows the trees,
    /// the most recent `calibration_share` stops them and calibrates the intervals.
    pub fn fit(
        ex: &Examples,
        range: Range<usize>,
        vocab: &Vocab,
        opts: &FitOptions,
    ) -> Result<RateModel, FitError> {
        if range.len() < MIN_ROWS {
            return Err(FitError::TooFew(range.len()));
        }
        if !(opts.calibration_share > 0.0 && opts.calibration_share <= 0.5) {
            return Err(FitError::Share(opts.calibration_share));
        }
        let started = Instant::now();
        let cut = range.end - ((range.len() as f64 * opts.calibration_share) as usize).max(1);
        let (train, cal) = (range.start..cut, cut..range.end);
        let trained = gbdt::train(
            rows(ex, train.clone()),
            &ex.y[train.clone()],
            Some((rows(ex, cal.clone()), &ex.y[cal.clone()])),
            &columns(vocab),
            &opts.params,
        );
        let booster = trained.booster;
        let residuals: Vec<f64> = cal
            .clone()
            .map(|i| ex.y[i] - booster.predict(ex.row(i)))
            .collect();
        let reports: Vec<f64> = cal.clone().map(|i| ex.row(i)[LANE_REPORTS]).collect();
        let intervals = Intervals::calibrate(&residuals, &reports, opts.coverage)
            .expect("at least one calibration row");
        let point_shift = mape_shift(&residuals);
        let diesel_col = crate::features::column("diesel_cents").expect("a diesel column");
        let mut diesel: Vec<f64> = train.clone().map(|i| ex.row(i)[diesel_col]).collect();
        diesel.sort_by(f64::total_cmp);
        let mut log_rpm: Vec<f64> = train.clone().map(|i| ex.y[i] - ex.miles[i].ln()).collect();
        log_rpm.sort_by(f64::total_cmp);
        let log_rpm_deciles = (1..10).map(|k| log_rpm[k * log_rpm.len() / 10]).collect();
        let trained_at = Utc::now();
        let fingerprint = ex.fingerprint(range.clone());
        let mut model = RateModel {
            provenance: Provenance {
                version: format!(
                    "{}-{}",
                    trained_at.format("%Y%m%dT%H%M%SZ"),
                    &fingerprint[..8]
                ),
                trained_at,
                train_rows: train.len(),
                calibration_rows: cal.len(),
                first_booking: ex.booked_at[range.start],
                last_booking: ex.booked_at[range.end - 1],
                data_fingerprint: fingerprint,
                trees: booster.trees(),
                training_seconds: 0.0,
                calibration: Metrics::default(),
            },
            features: FEATURES.iter().map(|f| f.0.to_owned()).collect(),
            vocab: vocab.clone(),
            booster,
            intervals,
            diesel_median_cents: diesel[diesel.len() / 2],
            log_rpm_deciles,
            point_shift,
        };
        model.provenance.training_seconds = started.elapsed().as_secs_f64();
        model.provenance.calibration = model.score(ex, cal);
        Ok(model)
    }

    pub fn estimate(&self, row: &Row) -> Estimate {
        let y = self.booster.predict(row);
        let reports = row[LANE_REPORTS];
        let band = self.intervals.band(reports);
        Estimate {
            rate_cents: (y + self.point_shift).exp(),
            low_cents: (y + band.low).exp(),
            high_cents: (y + band.high).exp(),
            lane_reports: reports,
            support: conformal::GROUP_NAMES[conformal::group_of(reports)],
        }
    }

    /// MAPE, interval coverage and width on the examples in `range`.
    pub fn score(&self, ex: &Examples, range: Range<usize>) -> Metrics {
        let mut s = Scorer::default();
        for i in range {
            let e = self.estimate(ex.row(i));
            s.add(
                ex.y[i].exp(),
                e.rate_cents,
                Some((e.low_cents, e.high_cents)),
            );
        }
        s.metrics()
    }

    /// Why this model cannot be served, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        let expected: Vec<&str> = FEATURES.iter().map(|f| f.0).collect();
        if self.features != expected {
            return Err(format!(
                "the model's features {:?} are not this build's {expected:?}",
                self.features
            ));
        }
        if self.vocab.markets.is_empty() || self.vocab.equipment.is_empty() {
            return Err("the model has an empty vocabulary".into());
        }
        if !self.point_shift.is_finite() || !self.diesel_median_cents.is_finite() {
            return Err("the point shift or the diesel fallback is not finite".into());
        }
        if self.log_rpm_deciles.len() != 9 || !self.log_rpm_deciles.windows(2).all(|w| w[0] <= w[1])
        {
            return Err("the drift deciles are not nine ascending numbers".into());
        }
        self.booster.check(N_FEATURES)?;
        self.intervals.check()
    }
}

/// The lane-average baseline: the mean rate a mile of the lane's training bookings times
/// the load's miles; the equipment's mean for a lane never seen.
pub fn lane_average_baseline(ex: &Examples, train: Range<usize>, test: Range<usize>) -> Metrics {
    use std::collections::HashMap;
    let mut lanes: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut equipment: HashMap<&str, (f64, f64)> = HashMap::new();
    let eq_of = |lane: &str| lane.rsplit('|').next().unwrap_or("").to_owned();
    for i in train {
        let rpm = ex.y[i].exp() / ex.miles[i];
        let l = lanes.entry(&ex.lane[i]).or_default();
        *l = (l.0 + rpm, l.1 + 1.0);
        let lane: &str = &ex.lane[i];
        let e = equipment
            .entry(lane.rsplit('|').next().unwrap_or(""))
            .or_default();
        *e = (e.0 + rpm, e.1 + 1.0);
    }
    let mut s = Scorer::default();
    for i in test {
        let (sum, n) = lanes
            .get(ex.lane[i].as_str())
            .or_else(|| equipment.get(eq_of(&ex.lane[i]).as_str()))
            .copied()
            .unwrap_or((0.0, 0.0));
        if n > 0.0 {
            s.add(ex.y[i].exp(), sum / n * ex.miles[i], None);
        }
    }
    s.metrics()
}
