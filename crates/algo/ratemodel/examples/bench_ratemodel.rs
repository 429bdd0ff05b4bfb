//! The rate-model benchmark's Rust half (bench/ratemodel/run.sh runs it, then LightGBM):
//!
//! 1. simulates a market (`lanerunner simulate`'s, by seed) and replays it into examples;
//! 2. splits by time: the last `TEST_DAYS` days are the test; everything before trains
//!    (its most recent 15 % stopping the trees and calibrating the intervals);
//! 3. trains LaneRunner's model, scores it and the lane-average baseline on the test;
//! 4. times single predictions in-process (features from the market state + trees);
//! 5. writes `features.csv` (the same features, target and split) for the peer, and
//!    `lanerunner.json` with the figures.
//!
//!   cargo run --release -p lanerunner-ratemodel --example bench_ratemodel -- OUT SEED DAYS LOADS_PER_DAY TEST_DAYS [LEARNING_RATE]

use std::io::Write;
use std::time::Instant;

use chrono::Duration;
use lanerunner_core::market::{BookingRecord, PostingRecord};
use lanerunner_market::{SimParams, Simulator};
use lanerunner_ratemodel::features::{self, FEATURES};
use lanerunner_ratemodel::{
    examples, lane_average_baseline, vocab_of, FitOptions, Quote, RateModel,
};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::PathBuf::from(arg(&args, 1, "/tmp/lanerunner-bench-ratemodel".to_owned()));
    let seed: u64 = arg(&args, 2, 7);
    let days: u32 = arg(&args, 3, 400);
    let per_day: u32 = arg(&args, 4, 1_500);
    let test_days: i64 = arg(&args, 5, 28);
    let mut opts = FitOptions::default();
    opts.params.learning_rate = arg(&args, 6, opts.params.learning_rate);
    std::fs::create_dir_all(&out)?;

    let t = Instant::now();
    let params = SimParams {
        seed,
        days,
        loads_per_day: per_day,
        ..SimParams::default()
    };
    let start = params.start;
    let (mut bookings, mut postings): (Vec<BookingRecord>, Vec<PostingRecord>) =
        (Vec::new(), Vec::new());
    for day in Simulator::new(params)? {
        bookings.extend(day.bookings);
        postings.extend(day.postings);
    }
    eprintln!(
        "simulated {} bookings, {} postings in {:.1?}",
        bookings.len(),
        postings.len(),
        t.elapsed()
    );

    let t = Instant::now();
    let vocab = vocab_of(&bookings);
    let (ex, state) = examples(&bookings, &postings, &vocab);
    eprintln!("built {} examples in {:.1?}", ex.len(), t.elapsed());
    let test_from = (start + Duration::days(i64::from(days) - test_days))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc();
    let cut = ex.index_at(test_from);
    let cal_from = cut - (cut as f64 * opts.calibration_share) as usize;

    let t = Instant::now();
    let model = RateModel::fit(&ex, 0..cut, &vocab, &opts)?;
    let train_seconds = t.elapsed().as_secs_f64();
    let ours = model.score(&ex, cut..ex.len());
    let baseline = lane_average_baseline(&ex, 0..cut, cut..ex.len());
    // The same trees without the MAPE point shift: the learner alone.
    let unshifted = RateModel {
        point_shift: 0.0,
        ..model.clone()
    }
    .score(&ex, cut..ex.len());
    eprintln!(
        "LaneRunner: {} trees in {train_seconds:.1}s; test MAPE {:.4}, coverage {:.4}; lane average MAPE {:.4}",
        model.booster.trees(),
        ours.mape,
        ours.coverage,
        baseline.mape
    );

    // Single predictions as the service makes them: features from the market state, then
    // the trees and the interval.
    let test_bookings: Vec<&BookingRecord> = bookings
        .iter()
        .filter(|b| b.booked_at >= test_from)
        .take(20_000)
        .collect();
    let mut lat = Vec::with_capacity(test_bookings.len());
    let mut sink = 0.0;
    for b in &test_bookings {
        let t = Instant::now();
        let row = features::row(&Quote::of_booking(b), &model.vocab, &state);
        let e = model.estimate(&row);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        sink += e.rate_cents;
    }
    assert!(sink > 0.0);
    lat.sort_by(f64::total_cmp);
    // The parts: reading the features off the market state, and the trees alone.
    let rows: Vec<_> = test_bookings
        .iter()
        .map(|b| features::row(&Quote::of_booking(b), &model.vocab, &state))
        .collect();
    let t = Instant::now();
    for b in &test_bookings {
        sink += features::row(&Quote::of_booking(b), &model.vocab, &state)[0];
    }
    let features_us = t.elapsed().as_secs_f64() * 1e6 / rows.len() as f64;
    let t = Instant::now();
    for r in &rows {
        sink += model.estimate(r).rate_cents;
    }
    let trees_us = t.elapsed().as_secs_f64() * 1e6 / rows.len() as f64;
    assert!(sink > 0.0);

    let t = Instant::now();
    let mut f = std::io::BufWriter::new(std::fs::File::create(out.join("features.csv"))?);
    let names: Vec<&str> = FEATURES.iter().map(|f| f.0).collect();
    writeln!(f, "{},y,split", names.join(","))?;
    for i in 0..ex.len() {
        for v in ex.row(i) {
            if v.is_nan() {
                write!(f, ",")?;
            } else {
                write!(f, "{v},")?;
            }
        }
        let split = if i >= cut {
            "test"
        } else if i >= cal_from {
            "cal"
        } else {
            "train"
        };
        writeln!(f, "{},{split}", ex.y[i])?;
    }
    f.flush()?;
    eprintln!("wrote features.csv in {:.1?}", t.elapsed());

    let report = serde_json::json!({
        "bookings": bookings.len(),
        "examples": ex.len(),
        "train_rows": model.provenance.train_rows,
        "calibration_rows": model.provenance.calibration_rows,
        "test_rows": ex.len() - cut,
        "test_from": test_from,
        "trees": model.booster.trees(),
        "learning_rate": opts.params.learning_rate,
        "train_seconds": train_seconds,
        "lanerunner": ours,
        "lane_average": baseline,
        "lanerunner_unshifted": unshifted,
        "predict_us": { "p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99), "n": lat.len(), "mean_features": features_us, "mean_trees": trees_us },
        "artifact_bytes": lanerunner_ratemodel::encode(&model).len(),
    });
    std::fs::write(
        out.join("lanerunner.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    println!("{report:#}");
    Ok(())
}
