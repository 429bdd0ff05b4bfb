//! `lanerunner bench sealing`: what field encryption costs, and a rotation under load.
//!
//! 1. The cost on a store's hot paths: a person's record (name, phone, tax id) written and
//!    read by id with its two sensitive fields sealed and opened (LaneRunner), against the
//!    same write and read with them in the clear (the peer), `workers` at once, two rounds
//!    of each alternated in one run on the same store.
//! 2. A full data key rotation of `records` sealed values online: after seeding, a new key
//!    is made active and the sweep re-seals every value while `workers` readers open random
//!    records and a writer re-seals random ones; every request must succeed, no value may be
//!    left under the old key, which is then retired.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanerunner_platform::sealing::kek::LocalKek;
use lanerunner_platform::sealing::keyring::{FixedKeys, Keyring};
use lanerunner_platform::sealing::{FieldSealer, IdKind, SealedField};
use lanerunner_platform::{on_db, on_tx, Config, Db};
use rand::Rng;

use crate::bench_webhooks::percentile;

pub struct SealingBench {
    pub ops: usize,
    pub workers: usize,
    pub records: usize,
    /// `sqlite`, `postgres` or `both`.
    pub store: String,
    pub postgres_admin_url: String,
}

const PHONE: SealedField = SealedField {
    table: "bench_people",
    column: "phone",
    id_column: "id",
    id_kind: IdKind::Text,
    purpose: "bench_people.phone",
};
const TAX_ID: SealedField = SealedField {
    table: "bench_people",
    column: "tax_id",
    id_column: "id",
    id_kind: IdKind::Text,
    purpose: "bench_people.tax_id",
};

const INSERT: &str = "INSERT INTO bench_people (id, name, phone, tax_id) VALUES ($1, $2, $3, $4)";

fn phone(n: usize) -> String {
    format!("+1415{:07}", n % 10_000_000)
}

fn tax_id(n: usize) -> String {
    format!("{:02}-{:07}", n % 100, n % 10_000_000)
}

async fn write(db: &Db, sealer: Option<&FieldSealer>, id: &str, n: usize) -> anyhow::Result<()> {
    let (p, t) = match sealer {
        Some(s) => (
            s.seal(&PHONE, id, &phone(n)).await?,
            s.seal(&TAX_ID, id, &tax_id(n)).await?,
        ),
        None => (phone(n), tax_id(n)),
    };
    on_db!(db, |c| sqlx::query(INSERT)
        .bind(id)
        .bind(format!("Carrier {n}"))
        .bind(p)
        .bind(t)
        .execute(c)
        .await
        .map(|_| ()))?;
    Ok(())
}

async fn read(db: &Db, sealer: Option<&FieldSealer>, id: &str) -> anyhow::Result<usize> {
    let (p, t): (String, String) = on_db!(db, |c| sqlx::query_as(
        "SELECT phone, tax_id FROM bench_people WHERE id = $1"
    )
    .bind(id)
    .fetch_one(c)
    .await)?;
    Ok(match sealer {
        Some(s) => s.open(&PHONE, id, &p).await?.len() + s.open(&TAX_ID, id, &t).await?.len(),
        None => p.len() + t.len(),
    })
}

/// `ops` writes (then `ops` reads) by `workers`: (writes/s, reads/s, write p99, read p99).
async fn round(
    db: &Db,
    sealer: Option<Arc<FieldSealer>>,
    b: &SealingBench,
    prefix: &str,
) -> anyhow::Result<[f64; 4]> {
    let mut out = [0.0; 4];
    for (i, writing) in [true, false].into_iter().enumerate() {
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..b.workers {
            let (db, sealer, next, total, prefix) = (
                db.clone(),
                sealer.clone(),
                next.clone(),
                b.ops,
                prefix.to_string(),
            );
            tasks.push(tokio::spawn(async move {
                let mut took = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return anyhow::Ok(took);
                    }
                    let id = format!("{prefix}-{n}");
                    let t = Instant::now();
                    if writing {
                        write(&db, sealer.as_deref(), &id, n).await?;
                    } else {
                        read(&db, sealer.as_deref(), &id).await?;
                    }
                    took.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }));
        }
        let mut all = Vec::with_capacity(b.ops);
        for t in tasks {
            all.extend(t.await??);
        }
        all.sort_by(f64::total_cmp);
        out[i] = b.ops as f64 / start.elapsed().as_secs_f64();
        out[i + 2] = percentile(&all, 0.99);
    }
    Ok(out)
}

async fn seed(db: &Db, sealer: &FieldSealer, records: usize) -> anyhow::Result<()> {
    const CHUNK: usize = 2_000;
    for start in (0..records).step_by(CHUNK) {
        let mut rows = Vec::with_capacity(CHUNK);
        for n in start..(start + CHUNK).min(records) {
            let id = format!("r-{n}");
            rows.push((
                sealer.seal(&PHONE, &id, &phone(n)).await?,
                sealer.seal(&TAX_ID, &id, &tax_id(n)).await?,
                id,
                n,
            ));
        }
        let mut tx = db.begin().await?;
        for (p, t, id, n) in &rows {
            on_tx!(&mut tx, |c| sqlx::query(INSERT)
                .bind(id)
                .bind(format!("Carrier {n}"))
                .bind(p)
                .bind(t)
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        tx.commit().await?;
    }
    Ok(())
}

async fn rotation(db: &Db, sealer: Arc<FieldSealer>, b: &SealingBench) -> anyhow::Result<String> {
    // Only the rotation's records: the first part's are dropped.
    on_db!(db, |c| sqlx::query("DELETE FROM bench_people")
        .execute(c)
        .await
        .map(|_| ()))?;
    let seeded = Instant::now();
    seed(db, &sealer, b.records).await?;
    let seed_secs = seeded.elapsed().as_secs_f64();
    let old = sealer.rotate().await? - 1;

    let stop = Arc::new(AtomicBool::new(false));
    let (served, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut load = Vec::new();
    for w in 0..b.workers.max(2) {
        let (db, sealer, stop, served, failed, records) = (
            db.clone(),
            sealer.clone(),
            stop.clone(),
            served.clone(),
            failed.clone(),
            b.records,
        );
        // The first task writes (a record re-sealed with a new phone), the others read.
        load.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = rand::thread_rng().gen_range(0..records);
                let id = format!("r-{n}");
                let t = Instant::now();
                let ok = if w == 0 {
                    match sealer.seal(&PHONE, &id, &phone(n + 1)).await {
                        Ok(p) => on_db!(&db, |c| sqlx::query(
                            "UPDATE bench_people SET phone = $2 WHERE id = $1"
                        )
                        .bind(&id)
                        .bind(p)
                        .execute(c)
                        .await
                        .is_ok()),
                        Err(_) => false,
                    }
                } else {
                    read(&db, Some(&sealer), &id).await.is_ok()
                };
                took.push(t.elapsed().as_secs_f64() * 1000.0);
                if ok {
                    served.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            took
        }));
    }
    let swept_at = Instant::now();
    let mut resealed = 0;
    loop {
        let r = sealer
            .sweep(&[PHONE, TAX_ID], 500, Duration::from_secs(3600))
            .await?;
        resealed += r.resealed;
        anyhow::ensure!(r.unopenable == 0, "{} values did not open", r.unopenable);
        if r.resealed == 0 {
            break;
        }
    }
    let sweep_secs = swept_at.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for t in load {
        lat.extend(t.await?);
    }
    lat.sort_by(f64::total_cmp);
    let report = sealer.report(&[PHONE, TAX_ID]).await?;
    let left: u64 = report
        .keys
        .iter()
        .filter(|k| k.version == old)
        .flat_map(|k| k.protects.values())
        .sum();
    anyhow::ensure!(left == 0, "{left} values still under the old key");
    let retired = sealer
        .sweep(&[PHONE, TAX_ID], 500, Duration::ZERO)
        .await?
        .retired;
    anyhow::ensure!(
        retired == vec![old],
        "the old key was not retired: {retired:?}"
    );
    let (served, failed) = (
        served.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    Ok(format!(
        "| {} values ({} records × 2 fields) seeded in {seed_secs:.1} s | {resealed} re-sealed in {sweep_secs:.1} s ({:.0} values/s) | {served} requests served meanwhile, **{failed} failed**, p99 {:.2} ms | 0 left under v{old}; v{old} retired |\n",
        2 * b.records,
        b.records,
        resealed as f64 / sweep_secs,
        percentile(&lat, 0.99),
    ))
}

async fn run_one(config: Config, b: &SealingBench, label: &str) -> anyhow::Result<String> {
    let db = lanerunner_platform::db::connect(&config, "sealing_bench").await?;
    db.migrate(&lanerunner_platform::db::Migrations::platform())
        .await?;
    on_db!(&db, |c| {
        sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_people (id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT, tax_id TEXT)"
    )
    .execute(c)
    .await
    .map(|_| ())
    })?;
    let mut kek = [0u8; 32];
    rand::thread_rng().fill(&mut kek);
    let keyring = Keyring::new(1, [(1, kek.to_vec())].into())?;
    let sealer = FieldSealer::connect(
        db.clone(),
        Arc::new(LocalKek(Arc::new(FixedKeys(Arc::new(keyring))))),
        Duration::from_secs(2),
    )
    .await?;
    let mut out = String::new();
    let mut rates = [[0.0; 2]; 2];
    for r in 1..=2 {
        for sealed in [false, true] {
            let s = round(
                &db,
                sealed.then(|| sealer.clone()),
                b,
                &format!("{r}-{sealed}"),
            )
            .await?;
            rates[sealed as usize][0] += s[0];
            rates[sealed as usize][1] += s[1];
            let path = if sealed {
                "sealed (LaneRunner)"
            } else {
                "clear (peer)"
            };
            out.push_str(&format!(
                "| {label} | {path} | {r} | {} | {:.0} | {:.0} | {:.2} / {:.2} |\n",
                b.workers, s[0], s[1], s[2], s[3]
            ));
        }
    }
    let cost = |i: usize| 100.0 * (1.0 - rates[1][i] / rates[0][i]);
    out.push_str(&format!(
        "| {label} | **sealing's cost** | | | **{:.1} %** | **{:.1} %** | |\n",
        cost(0),
        cost(1)
    ));
    out.push_str(&format!(
        "\n| {label}: rotation | re-sealing | during it | after |\n|---|---|---|---|\n{}\n",
        rotation(&db, sealer, b).await?
    ));
    db.close().await;
    Ok(out)
}

pub async fn bench(b: SealingBench) -> anyhow::Result<String> {
    crate::bench_search::on_stores(
        &b.store,
        &b.postgres_admin_url,
        Some(b.workers as u32 + 4),
        "| store | path | round | workers | writes/s | reads/s | write / read p99 ms |\n|---|---|---:|---:|---:|---:|---:|\n",
        |config, label| run_one(config, &b, label),
    )
    .await
}
