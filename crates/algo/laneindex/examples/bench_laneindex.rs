//! The lane index's half of `bench/analytics/run.sh`: simulates a market (the same one
//! `lanerunner simulate --seed S --days D --loads-per-day N` writes) and writes its
//! bookings.parquet for the DuckDB peer, then ingests every booking (validation included)
//! on one core, answers `QUERIES` lane questions drawn from the data, and writes the
//! questions with their answers for the peer to check.
//!
//!     cargo run --release -p lanerunner-laneindex --example bench_laneindex -- \
//!         OUT_DIR SEED DAYS LOADS_PER_DAY QUERIES

use std::io::Write;
use std::time::Instant;

use chrono::Duration;
use lanerunner_laneindex::{Gate, LaneAnswer, LaneIndex, LaneKey, Window};
// SplitMix64, so the questions are the same on every run.
use lanerunner_loadsearch::synth::Rng;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, seed, days, per_day, queries] = args.as_slice() else {
        return Err("usage: bench_laneindex OUT_DIR SEED DAYS LOADS_PER_DAY QUERIES".into());
    };
    let queries: usize = queries.parse()?;
    let dir = std::path::Path::new(dir);
    let params = lanerunner_market::SimParams {
        seed: seed.parse()?,
        start: "2025-01-01".parse()?,
        days: days.parse()?,
        loads_per_day: per_day.parse()?,
        ..Default::default()
    };

    let t = Instant::now();
    let mut writer =
        lanerunner_market::MarketWriter::create(dir, lanerunner_market::Format::Parquet)?;
    let mut records = Vec::new();
    for day in lanerunner_market::Simulator::new(params)? {
        writer.write(&day)?;
        records.extend(day.bookings);
    }
    writer.finish()?;
    println!(
        "simulated {} bookings and wrote {} in {:.1} s",
        records.len(),
        dir.join("bookings.parquet").display(),
        t.elapsed().as_secs_f64()
    );
    let out = dir.join("answers.csv");
    let now = records
        .iter()
        .map(|r| r.booked_at)
        .max()
        .ok_or("no bookings")?
        + Duration::hours(1);

    let mut ix = LaneIndex::new();
    let mut refused = 0usize;
    let t = Instant::now();
    for r in &records {
        if ix.ingest(r, now).is_err() {
            refused += 1;
        }
    }
    let ingest_s = t.elapsed().as_secs_f64();
    println!(
        "lane index: ingested {} bookings ({refused} refused) into {} lanes in {ingest_s:.2} s: {:.0} events/s on one core",
        records.len(),
        ix.lane_count(),
        records.len() as f64 / ingest_s
    );

    // Questions drawn from the bookings themselves (so busy lanes are asked about as often
    // as they are booked), each with a random window ending within the last 60 days.
    let last_day = now.date_naive();
    let mut rng = Rng::new(42);
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    writeln!(
        file,
        "origin,dest,equipment,kind,first,last,status,reports,companies,p25,median,p75"
    )?;
    let mut latencies = Vec::with_capacity(queries);
    let mut shown = 0;
    for _ in 0..queries {
        let r = &records[rng.below(records.len())];
        let key = LaneKey {
            origin_market: r.origin_market.clone(),
            dest_market: r.dest_market.clone(),
            equipment: r.equipment.clone(),
            rate_kind: r.rate_kind,
        };
        let window = Window::ALL[rng.below(Window::ALL.len())];
        let as_of = last_day - Duration::days(rng.below(60) as i64);
        let t = Instant::now();
        let answer = ix.lane(&key, window, as_of, Gate::default());
        latencies.push(t.elapsed().as_secs_f64());
        let first = as_of - Duration::days(window.days() as i64 - 1);
        let (status, reports, companies, q) = match &answer {
            LaneAnswer::Shown(s) => {
                shown += 1;
                let m = s.rate_per_mile_cents;
                (
                    "shown",
                    s.reports,
                    s.companies,
                    format!("{:?},{:?},{:?}", m.low, m.median, m.high),
                )
            }
            LaneAnswer::Withheld(w) => ("withheld", w.reports, w.companies, ",,".to_string()),
        };
        writeln!(
            file,
            "{},{},{},{},{first},{as_of},{status},{reports},{companies},{q}",
            key.origin_market,
            key.dest_market,
            key.equipment,
            key.rate_kind.as_str()
        )?;
    }
    latencies.sort_by(f64::total_cmp);
    let pct =
        |q: f64| latencies[((q * latencies.len() as f64) as usize).min(latencies.len() - 1)] * 1e3;
    println!(
        "lane index: {queries} lane queries ({shown} shown), p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}
