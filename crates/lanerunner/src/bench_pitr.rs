//! `lanerunner bench pitr`: the recovery drill with WAL archiving — PostgreSQL's
//! point-in-time recovery, as CloudNativePG runs it in production — measured. A cluster
//! that archives its WAL (`scripts/pg-pitr.sh`, 127.0.0.1:5444, `archive_timeout` as
//! given; the shipped cluster's is 60 s) is seeded with `--loads` posted loads and backed
//! up (`pg_basebackup`); the application serves while a broker posts loads without pause
//! for `--write-secs`; then the disaster: the cluster stops at once and its data directory
//! is deleted. Recovery: the base backup restored, every archived segment replayed, the
//! server promoted, the application started on it. Reported: the recovery time (RTO, from
//! the disaster to the application serving), and the recovery point (RPO): which
//! acknowledged loads are back — every one acknowledged before the last archived segment
//! closed must be, or the drill fails — and how long before the disaster the lost ones
//! were acknowledged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use lanerunner_platform::Config;

use crate::bench_dr::{loads_back, start_writer, steps_table};
use crate::bench_search::{hour_now, seed_board, Running};

pub struct PitrOptions {
    pub loads: usize,
    pub archive_timeout_secs: u64,
    pub write_secs: u64,
}

const URL: &str = "postgres://postgres@127.0.0.1:5444/lanerunner_pitr";
/// The broker who writes, signed up after the base backup.
const WRITER: &str = "pitr-writer@bench.example";

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-pitr.sh")
}

/// Runs `scripts/pg-pitr.sh args`; how long it took.
fn pitr(args: &[&str]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let out = std::process::Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .context("running scripts/pg-pitr.sh")?;
    anyhow::ensure!(
        out.status.success(),
        "pg-pitr.sh {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(started.elapsed())
}

fn archive_status() -> String {
    std::process::Command::new("bash")
        .arg(script())
        .arg("status")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

pub async fn drill(opts: PitrOptions) -> anyhow::Result<String> {
    let data_dir = std::env::temp_dir().join(format!(
        "lanerunner-bench-pitr-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&data_dir)?;
    let mut config = Config {
        data_dir: data_dir.clone(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    config.http.rate_limit_per_minute = u32::MAX;
    config.database.url = Some(URL.to_owned());
    pitr(&["create", &opts.archive_timeout_secs.to_string()])?;
    let result = run(&opts, &config).await;
    let _ = pitr(&["remove"]);
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

async fn run(opts: &PitrOptions, config: &Config) -> anyhow::Result<String> {
    let (seeded, _, seed_time) = seed_board(config, opts.loads, 42, hour_now()).await?;
    let base_time = pitr(&["basebackup"])?;

    let (server, _) = Running::start(config.clone()).await?;
    let (token, _, _) = server
        .signup_as("broker", "pitr-writer@bench.example")
        .await?;
    let writing = Arc::new(AtomicBool::new(true));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writer = start_writer(
        server.base_url.clone(),
        token,
        writing.clone(),
        acked.clone(),
    );
    tokio::time::sleep(Duration::from_secs(opts.write_secs)).await;
    writing.store(false, Ordering::SeqCst);
    writer.await??;
    server.stop().await;
    let archived_before = archive_status();
    // The disaster: the primary's volume is lost with whatever WAL was not archived yet.
    let disaster = Instant::now();
    pitr(&["destroy"])?;
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));

    let replay_time = pitr(&["recover"])?;
    let (server, startup_time) = Running::start(config.clone()).await?;
    let rto = disaster.elapsed();

    // One writer, one load at a time: what came back must be every load up to some point,
    // then none (the end of the archive). A gap would be an inconsistent recovery.
    let back = loads_back(&server.base_url, WRITER, &acked).await?;
    server.stop().await;
    let recovered = back.iter().take_while(|(b, _)| *b).count();
    anyhow::ensure!(
        back[recovered..].iter().all(|(b, _)| !b),
        "the recovery is not a prefix of the acknowledged writes: a load is back after a lost one"
    );
    let lost = back.len() - recovered;
    let window = back
        .get(recovered)
        .map(|(_, at)| disaster.duration_since(*at));
    let newest_back = recovered
        .checked_sub(1)
        .map(|i| disaster.duration_since(back[i].1));

    let mut out = String::new();
    out.push_str(&format!(
        "PostgreSQL 15 on loopback, `archive_timeout` {} s; {seeded} seeded posted loads (seeded in {:.1} s); a broker posting loads one at a time for {} s before the disaster. Archive at the disaster: {archived_before}.\n\n",
        opts.archive_timeout_secs,
        seed_time.as_secs_f64(),
        opts.write_secs
    ));
    out.push_str(&steps_table(
        &[
            (
                "base backup (`pg_basebackup -X none`, before the writes)",
                base_time,
            ),
            (
                "recovery: base backup copied, archive replayed, promoted (`pg-pitr.sh recover`)",
                replay_time,
            ),
            (
                "start-up on the recovered database (migrations checked, board rebuilt)",
                startup_time,
            ),
        ],
        ("recovery time (RTO): disaster to serving", rto),
    ));
    out.push_str(&format!(
        "Acknowledged loads: {} — {recovered} back, {lost} lost, and those back are every load up to the last one the archive held.\n",
        back.len()
    ));
    match window {
        Some(w) => out.push_str(&format!(
            "**Recovery point (RPO)**: the first lost load was acknowledged {:.1} s before the disaster (the newest back, {:.1} s before).\n",
            w.as_secs_f64(),
            newest_back.map(|d| d.as_secs_f64()).unwrap_or(f64::NAN)
        )),
        None => out.push_str("**Recovery point (RPO)**: nothing acknowledged was lost.\n"),
    }
    Ok(out)
}
