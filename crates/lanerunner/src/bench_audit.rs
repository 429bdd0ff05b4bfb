//! `lanerunner bench audit`: the cost of the hash-chained audit trail on its hot path, an
//! audited action's record written in its own transaction, against the same write without
//! the chain (the plain insert the trail was before), in one run on the same store:
//! `writers` concurrent writers over `orgs` organizations. The chained path runs the
//! service's chainer beside the writers, on the same cores and store, so what it takes from
//! them shows in their throughput (records appended per second while they write); a round
//! also waits until every record is chained and says how long after the last append that
//! was, so a chainer that fell behind would show. Two rounds of each path, alternated, so a
//! drift of the machine shows as a difference between rounds. Afterwards every chain is
//! walked and checked, as `lanerunner audit verify` does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanerunner_core::OrgId;
use lanerunner_identity::audit_trail::{chain_all, chain_gather, ChainHorizon};
use lanerunner_identity::bench::{append, verify_all, Chainer};
use lanerunner_platform::{Config, Db};

use crate::bench_webhooks::percentile;

pub struct AuditBench {
    pub records: usize,
    pub writers: usize,
    pub orgs: usize,
    /// `sqlite`, `postgres` or `both`.
    pub store: String,
    /// The chainer's gatherings to measure (milliseconds after a wake), each a chained
    /// path of its own; the service's for the store when empty.
    pub gathers_ms: Vec<u64>,
    pub postgres_admin_url: String,
}

/// One round's figures.
struct Round {
    rate: f64,
    p50: f64,
    p99: f64,
    /// Chained path: how long the oldest record of each chainer pass had waited (ms).
    waits: Vec<f64>,
    /// Chained path: how long after the last append every record was chained (ms).
    tail: f64,
}

/// Writes `b.records` records on one path: plain, or chained by a chainer gathering for
/// `gather` (until all are chained).
async fn round(
    db: &Db,
    horizon: &Arc<ChainHorizon>,
    b: &AuditBench,
    orgs: &Arc<Vec<OrgId>>,
    gather: Option<Duration>,
) -> anyhow::Result<Round> {
    let chained = gather.is_some();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let chainer = gather.map(|g| Arc::new(Chainer::start(db.clone(), horizon.clone(), g)));
    let mut tasks = Vec::new();
    for _ in 0..b.writers {
        let (db, orgs, next, total) = (db.clone(), orgs.clone(), next.clone(), b.records);
        let chainer = chainer.clone();
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(took);
                }
                let t = Instant::now();
                append(&db, orgs[n % orgs.len()], n as u64, chained).await?;
                took.push(t.elapsed().as_secs_f64() * 1000.0);
                if let Some(c) = &chainer {
                    c.wake();
                }
            }
        }));
    }
    let mut all = Vec::with_capacity(b.records);
    for t in tasks {
        all.extend(t.await??);
    }
    let appended = start.elapsed().as_secs_f64();
    let mut waits = match chainer {
        Some(c) => {
            Arc::into_inner(c)
                .expect("the writers are done")
                .finish()
                .await?
        }
        None => Vec::new(),
    };
    let tail = (start.elapsed().as_secs_f64() - appended) * 1000.0;
    if !chained {
        // The plain records join the chains too (as records from before the chains
        // would), outside the round's time, so the next round starts with none waiting.
        chain_all(db, horizon).await?;
    }
    all.sort_by(f64::total_cmp);
    waits.sort_by(f64::total_cmp);
    Ok(Round {
        rate: b.records as f64 / appended,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        waits,
        tail,
    })
}

async fn run_one(config: Config, b: &AuditBench, label: &str) -> anyhow::Result<String> {
    let db = lanerunner_platform::db::connect(&config, lanerunner_identity::SERVICE).await?;
    db.migrate(&lanerunner_identity::migrations()).await?;
    let orgs: Arc<Vec<OrgId>> = Arc::new((0..b.orgs).map(|_| OrgId::new()).collect());
    // One horizon for the run, as a service keeps one for its life.
    let horizon = Arc::new(ChainHorizon::default());
    chain_all(&db, &horizon).await?;
    let mut out = String::new();
    // Appends per second: the plain path's rounds, then each gathering's.
    let mut plain = Vec::new();
    let gathers = if b.gathers_ms.is_empty() {
        vec![chain_gather(&db).as_millis() as u64]
    } else {
        b.gathers_ms.clone()
    };
    let mut chained: Vec<Vec<f64>> = vec![Vec::new(); gathers.len()];
    for r in 1..=2 {
        let paths = std::iter::once(None).chain(gathers.iter().copied().map(Some));
        for (i, gather) in paths.enumerate() {
            let Round {
                rate,
                p50,
                p99,
                waits,
                tail,
            } = round(&db, &horizon, b, &orgs, gather.map(Duration::from_millis)).await?;
            let (path, waited) = match gather {
                Some(ms) => {
                    chained[i - 1].push(rate);
                    (
                        format!("hash-chained (LaneRunner), gathering {ms} ms"),
                        format!(
                            "{} passes; {:.1} / {:.1} / {:.1}; all chained {tail:.0} ms after the last append",
                            waits.len(),
                            percentile(&waits, 0.5),
                            percentile(&waits, 0.99),
                            waits.last().copied().unwrap_or_default()
                        ),
                    )
                }
                None => {
                    plain.push(rate);
                    ("plain insert (peer)".to_owned(), "—".to_owned())
                }
            };
            out.push_str(&format!(
                "| {label} | {path} | {r} | {} | {} | {} | {rate:.0} | {p50:.2} / {p99:.2} | {waited} |\n",
                b.records, b.writers, b.orgs
            ));
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let check = Instant::now();
    let (chains, records, intact) = verify_all(&db).await?;
    let check_secs = check.elapsed().as_secs_f64();
    db.close().await;
    anyhow::ensure!(intact, "a chain written by the benchmark does not verify");
    let written = 2 * (1 + gathers.len()) * b.records;
    anyhow::ensure!(
        records as usize == written,
        "{records} of {written} chained records found"
    );
    for (ms, rates) in gathers.iter().zip(&chained) {
        let cost = 100.0 * (1.0 - mean(rates) / mean(&plain));
        out.push_str(&format!(
            "| {label} | **the chain's cost, gathering {ms} ms** | | | | | **{cost:.1} % of throughput** | | |\n"
        ));
    }
    out.push_str(&format!(
        "| {label} | verified | | | | | | | {records} records in {chains} chains in {check_secs:.2} s ({:.0} records/s), intact |\n",
        records as f64 / check_secs
    ));
    Ok(out)
}

pub async fn bench(b: AuditBench) -> anyhow::Result<String> {
    crate::bench_search::on_stores(
        &b.store,
        &b.postgres_admin_url,
        Some(b.writers as u32 + 2),
        "| store | path | round | records | writers | organizations | records/s appended | append p50 / p99 ms | chainer: passes; oldest record waited p50 / p99 / max ms; catching up |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n",
        |config, label| run_one(config, &b, label),
    )
    .await
}
