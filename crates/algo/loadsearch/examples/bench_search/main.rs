//! Load-board search benchmark (issue 3): builds the index over generated postings, runs
//! a mixed query set, reports latency percentiles, throughput and memory per load, and
//! optionally writes the same loads and queries for the PostgreSQL/PostGIS peers.
//!
//!   cargo run --release -p lanerunner-loadsearch --example bench_search -- \
//!       [--loads 1000000] [--queries 10000] [--seed 42] [--out DIR] [--sample-every 50]
//!
//! Prints `key<TAB>value` lines on stdout.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::time::Instant;

use lanerunner_geo::{Gazetteer, Markets};
use lanerunner_loadsearch::{
    air_miles, brute_force_search, synth, Circle, DestFilter, IndexedLoad, LoadIndex, LoadSize,
    SearchQuery, SortBy,
};

/// Monday 2026-01-05 00:00 UTC: "now" for every generated posting, so runs are comparable.
const NOW: i64 = 1_767_571_200;

struct Args {
    loads: usize,
    queries: usize,
    seed: u64,
    out: Option<String>,
    sample_every: usize,
}

fn args() -> Args {
    let mut a = Args {
        loads: 1_000_000,
        queries: 10_000,
        seed: 42,
        out: None,
        sample_every: 50,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--loads" => a.loads = v.parse().expect("--loads N"),
            "--queries" => a.queries = v.parse().expect("--queries N"),
            "--seed" => a.seed = v.parse().expect("--seed N"),
            "--out" => a.out = Some(v),
            "--sample-every" => a.sample_every = v.parse().expect("--sample-every N"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn uuid(id: u128) -> String {
    let h = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn main() -> std::io::Result<()> {
    let a = args();
    let g = Gazetteer::embedded();
    let markets = Markets::key_market_areas(&g);
    let t = Instant::now();
    let loads = synth::loads(&g, &markets, a.loads, a.seed, NOW);
    let queries = synth::queries(&g, &markets, a.queries, a.seed ^ 0x5EA2C4, NOW);
    let gen_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let index = LoadIndex::bulk_build(loads.clone()).expect("valid loads");
    let build_s = t.elapsed().as_secs_f64();
    let mem = index.memory_usage();

    // Warm-up pass, then the measured pass.
    let mut sink = 0usize;
    for q in queries.iter().take(1_000) {
        sink += index.search(q).expect("valid query").hits.len();
    }
    let mut lat_us = Vec::with_capacity(queries.len());
    let mut totals = Vec::with_capacity(queries.len());
    let t_all = Instant::now();
    for q in &queries {
        let t = Instant::now();
        let page = index.search(q).expect("valid query");
        lat_us.push(t.elapsed().as_secs_f64() * 1e6);
        sink += page.hits.len();
        totals.push(page.total_matches);
    }
    let wall = t_all.elapsed().as_secs_f64();
    let mut sorted = lat_us.clone();
    sorted.sort_by(f64::total_cmp);

    // Events: remove then re-insert 100k loads.
    let sample: Vec<IndexedLoad> = loads
        .iter()
        .step_by((loads.len() / 100_000).max(1))
        .copied()
        .collect();
    let mut idx2 = index.clone();
    let t = Instant::now();
    for l in &sample {
        idx2.remove(l.id);
    }
    for l in &sample {
        idx2.insert(*l).expect("reinsert");
    }
    let event_us = t.elapsed().as_secs_f64() * 1e6 / (2 * sample.len()) as f64;
    drop(idx2);

    // Cross-check against brute force on a sample.
    let mut checked = 0;
    for q in queries.iter().step_by((queries.len() / 20).max(1)) {
        assert_eq!(
            index.search(q).unwrap(),
            brute_force_search(&loads, q).unwrap()
        );
        checked += 1;
    }

    let mut tsorted = totals.clone();
    tsorted.sort_unstable();
    let out = std::io::stdout();
    let mut o = out.lock();
    writeln!(o, "loads\t{}", index.len())?;
    writeln!(o, "queries\t{}", queries.len())?;
    writeln!(o, "generate_s\t{gen_s:.2}")?;
    writeln!(o, "build_s\t{build_s:.3}")?;
    writeln!(o, "p50_ms\t{:.4}", percentile(&sorted, 0.50) / 1e3)?;
    writeln!(o, "p99_ms\t{:.4}", percentile(&sorted, 0.99) / 1e3)?;
    writeln!(
        o,
        "max_ms\t{:.4}",
        sorted.last().copied().unwrap_or(0.0) / 1e3
    )?;
    writeln!(
        o,
        "mean_ms\t{:.4}",
        lat_us.iter().sum::<f64>() / lat_us.len() as f64 / 1e3
    )?;
    writeln!(o, "qps\t{:.0}", queries.len() as f64 / wall)?;
    writeln!(o, "matches_p50\t{}", tsorted[tsorted.len() / 2])?;
    writeln!(o, "matches_p99\t{}", tsorted[tsorted.len() * 99 / 100])?;
    writeln!(o, "mem_total_mb\t{:.1}", mem.total() as f64 / 1e6)?;
    writeln!(
        o,
        "mem_columns_bytes_per_load\t{:.1}",
        mem.columns as f64 / mem.loads as f64
    )?;
    writeln!(
        o,
        "mem_idmap_bytes_per_load\t{:.1}",
        mem.id_map as f64 / mem.loads as f64
    )?;
    writeln!(
        o,
        "mem_grid_bytes_per_load\t{:.1}",
        mem.grid as f64 / mem.loads as f64
    )?;
    writeln!(o, "mem_bytes_per_load\t{:.1}", mem.bytes_per_load())?;
    writeln!(o, "event_us\t{event_us:.3}")?;
    writeln!(o, "brute_force_checked\t{checked}")?;
    writeln!(o, "sink\t{sink}")?;

    if let Some(dir) = a.out {
        std::fs::create_dir_all(&dir)?;
        write_loads(&format!("{dir}/loads.csv"), &loads)?;
        write_queries(&format!("{dir}/queries.jsonl"), &queries)?;
        let mut l = BufWriter::new(std::fs::File::create(format!("{dir}/rust_latency_us.txt"))?);
        for (us, total) in lat_us.iter().zip(&totals) {
            writeln!(l, "{us:.1}\t{total}")?;
        }
        l.flush()?;
        let mut e = BufWriter::new(std::fs::File::create(format!("{dir}/expected.tsv"))?);
        for (i, q) in queries.iter().enumerate().step_by(a.sample_every.max(1)) {
            let page = index.search(q).unwrap();
            let ids: Vec<String> = page.hits.iter().map(|h| uuid(h.id)).collect();
            writeln!(e, "{i}\t{}\t{}", page.total_matches, ids.join(","))?;
        }
    }
    Ok(())
}

fn write_loads(path: &str, loads: &[IndexedLoad]) -> std::io::Result<()> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    for l in loads {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            uuid(l.id),
            l.origin.lat,
            l.origin.lon,
            l.dest.lat,
            l.dest.lon,
            std::str::from_utf8(&l.origin_state).unwrap(),
            std::str::from_utf8(&l.dest_state).unwrap(),
            l.dest_market,
            l.equipment,
            l.pickup_start,
            l.pickup_end,
            l.rate_cents,
            l.loaded_miles,
            l.rate_per_mile_cents(),
            l.weight_lbs,
            l.full,
            l.posted_at
        )?;
    }
    w.flush()
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("null".to_string(), |x| x.to_string())
}

fn write_queries(path: &str, queries: &[SearchQuery]) -> std::io::Result<()> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    for q in queries {
        let circle = Circle::new(q.origin_point, q.origin_radius_miles).unwrap();
        let mut s = format!(
            "{{\"lat\":{},\"lon\":{},\"air_miles\":{},\"hav_max\":{:e},\"equipment\":{},\"from\":{},\"to\":{},\"min_rpm\":{},\"max_weight\":{},\"size\":\"{}\",\"sort\":\"{}\",\"limit\":{}",
            q.origin_point.lat,
            q.origin_point.lon,
            air_miles(q.origin_radius_miles),
            circle.hav_max(),
            q.equipment,
            opt(q.pickup_from),
            opt(q.pickup_to),
            opt(q.min_rate_per_mile_cents),
            opt(q.max_weight_lbs),
            match q.load_size {
                LoadSize::Any => "any",
                LoadSize::Full => "full",
                LoadSize::Partial => "partial",
            },
            match q.sort {
                SortBy::Age => "age",
                SortBy::RatePerMile => "rpm",
                SortBy::Deadhead => "deadhead",
                SortBy::PickupDate => "pickup",
            },
            q.limit
        );
        match &q.dest {
            DestFilter::Anywhere => s.push_str(",\"dest\":null"),
            DestFilter::Radius {
                point,
                radius_miles,
            } => {
                let c = Circle::new(*point, *radius_miles).unwrap();
                let _ = write!(
                    s,
                    ",\"dest\":{{\"radius\":{{\"lat\":{},\"lon\":{},\"air_miles\":{},\"hav_max\":{:e}}}}}",
                    point.lat,
                    point.lon,
                    air_miles(*radius_miles),
                    c.hav_max()
                );
            }
            DestFilter::States(st) => {
                let names: Vec<String> = st
                    .iter()
                    .map(|s| format!("\"{}\"", std::str::from_utf8(s).unwrap()))
                    .collect();
                let _ = write!(s, ",\"dest\":{{\"states\":[{}]}}", names.join(","));
            }
            DestFilter::Markets(ms) => {
                let m: Vec<String> = ms.iter().map(|m| m.to_string()).collect();
                let _ = write!(s, ",\"dest\":{{\"markets\":[{}]}}", m.join(","));
            }
        }
        s.push('}');
        writeln!(w, "{s}")?;
    }
    w.flush()
}
