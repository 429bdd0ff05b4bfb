//! `lanerunner bench dr`: the disaster-recovery drill as a measurement. A store seeded with
//! `--loads` posted loads; a broker keeps posting through the API while `backup create`
//! runs; then the disaster (the stores, files and keyring deleted), `backup restore`, and
//! the application started again. Reported: the backup's duration and size, the restore's,
//! the start-up's (board rebuilt from the restored store), so the recovery time; the loads
//! acknowledged before the backup began that are back (all of them, or the drill fails),
//! and those acknowledged after it that are lost (the recovery point of backups alone).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use lanerunner_platform::Config;
use serde_json::{json, Value};

use crate::backup;
use crate::bench_search::{dir_bytes, hour_now, seed_board, Running, ScratchDatabase};

pub struct DrOptions {
    pub loads: usize,
    pub postgres: bool,
    pub postgres_admin_url: String,
}

pub async fn drill(opts: DrOptions) -> anyhow::Result<String> {
    let work = std::env::temp_dir().join(format!(
        "lanerunner-bench-dr-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let data_dir = work.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let (identity, public) = backup::new_identity();
    let identity_file = work.join("backup.identity");
    std::fs::write(&identity_file, identity)?;
    let mut config = Config {
        data_dir: data_dir.clone(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    config.http.rate_limit_per_minute = u32::MAX;
    config.backup.url = format!("file://{}", work.join("backups").display());
    config.backup.recipients = vec![public.clone()];
    config.backup.keys_recipients = vec![public];
    let scratch = if opts.postgres {
        let db = ScratchDatabase::create(&opts.postgres_admin_url).await?;
        config.database.url = Some(db.url.clone());
        Some(db)
    } else {
        None
    };
    let result = run(&opts, &config, &identity_file, scratch.as_ref()).await;
    if let Some(db) = scratch {
        if let Err(e) = db.drop_database().await {
            eprintln!("warning: could not drop scratch database {}: {e}", db.name);
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Posts loads one after another until told to stop; each acknowledged load's id and when
/// its acknowledgement arrived.
pub(crate) fn start_writer(
    base_url: String,
    token: String,
    writing: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, Instant)>>>,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut n = 0;
        while writing.load(Ordering::SeqCst) {
            let load = crate::testing::dallas_atlanta_load(&format!("DR-{n}"), 250_000);
            let created: Value = client
                .post(format!("{base_url}/v1/loads"))
                .bearer_auth(&token)
                .json(&load)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let id = created["id"].as_str().context("a load id")?.to_string();
            client
                .post(format!("{base_url}/v1/loads/{id}/post"))
                .bearer_auth(&token)
                .json(&json!({}))
                .send()
                .await?
                .error_for_status()?;
            acked.lock().expect("lock").push((id, Instant::now()));
            n += 1;
        }
        Ok(())
    })
}

/// Signs the writer in again after a recovery and looks up each load it had acknowledged:
/// whether it is back, with when it was acknowledged.
pub(crate) async fn loads_back(
    base_url: &str,
    email: &str,
    acked: &[(String, Instant)],
) -> anyhow::Result<Vec<(bool, Instant)>> {
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base_url}/v1/auth/login"))
        .json(&json!({ "email": email, "password": "load board passphrase 7" }))
        .send()
        .await?
        .error_for_status()
        .context("the writer's account is back after the recovery")?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .or(login["tokens"]["access_token"].as_str())
        .context("an access token after the recovery")?
        .to_string();
    let mut back = Vec::with_capacity(acked.len());
    for (id, at) in acked {
        let status = client
            .get(format!("{base_url}/v1/loads/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .status();
        back.push((status == reqwest::StatusCode::OK, *at));
    }
    Ok(back)
}

/// A drill's steps as a Markdown table; the last row is the total, in bold.
pub(crate) fn steps_table(steps: &[(&str, Duration)], total: (&str, Duration)) -> String {
    let mut out = String::from("| step | seconds |\n|---|---:|\n");
    for (step, took) in steps {
        out.push_str(&format!("| {step} | {:.1} |\n", took.as_secs_f64()));
    }
    out.push_str(&format!(
        "| **{}** | **{:.1}** |\n\n",
        total.0,
        total.1.as_secs_f64()
    ));
    out
}

async fn run(
    opts: &DrOptions,
    config: &Config,
    identity: &std::path::Path,
    scratch: Option<&ScratchDatabase>,
) -> anyhow::Result<String> {
    let (seeded, _, seed_time) = seed_board(config, opts.loads, 42, hour_now()).await?;
    let store_bytes = match scratch {
        None => dir_bytes(&config.data_dir),
        Some(db) => db.size().await?,
    };
    let (server, _) = Running::start(config.clone()).await?;
    let (token, _, _) = server
        .signup_as("broker", "dr-writer@bench.example")
        .await?;

    let writing = Arc::new(AtomicBool::new(true));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writer = start_writer(
        server.base_url.clone(),
        token.clone(),
        writing.clone(),
        acked.clone(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    let backup_started = Instant::now();
    let manifest = backup::create(config, &backup::CreateOptions::default()).await?;
    let backup_time = backup_started.elapsed();
    // Writes go on after the backup until the disaster strikes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    writing.store(false, Ordering::SeqCst);
    writer.await??;
    let disaster = Instant::now();
    server.stop().await;
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));

    let verify_started = Instant::now();
    let verified = backup::verify(
        config,
        &manifest.id,
        &backup::OpenOptions {
            identity: Some(identity.to_path_buf()),
            keys_identity: Some(identity.to_path_buf()),
        },
    )
    .await?;
    let verify_time = verify_started.elapsed();

    crate::testing::destroy_stores(config).await?;
    let restore_started = Instant::now();
    backup::restore(
        config,
        &manifest.id,
        &backup::RestoreOptions {
            open: backup::OpenOptions {
                identity: Some(identity.to_path_buf()),
                keys_identity: Some(identity.to_path_buf()),
            },
            ..Default::default()
        },
    )
    .await?;
    let restore_time = restore_started.elapsed();
    let (server, startup_time) = Running::start(config.clone()).await?;
    let recovered = restore_started.elapsed();

    // Every load acknowledged before the backup began must be back; later ones may be.
    let (mut before_back, mut before_total, mut after_back, mut after_total) = (0, 0, 0, 0);
    let mut last_included: Option<Instant> = None;
    for (back, at) in loads_back(&server.base_url, "dr-writer@bench.example", &acked).await? {
        if back {
            last_included = Some(last_included.map_or(at, |l| l.max(at)));
        }
        if at < backup_started {
            before_total += 1;
            before_back += back as usize;
        } else {
            after_total += 1;
            after_back += back as usize;
        }
    }
    server.stop().await;
    anyhow::ensure!(
        before_back == before_total,
        "{} of {before_total} loads acknowledged before the backup began are missing after the restore",
        before_total - before_back
    );
    let rpo = last_included.map(|l| disaster.duration_since(l));

    let store = if opts.postgres { "postgres" } else { "sqlite" };
    let mut out = String::new();
    out.push_str(&format!(
        "Store: {store}; {seeded} seeded posted loads ({} MB on disk, seeded in {:.1} s); backup {} of {} parts, {:.1} MB encrypted.\n\n",
        store_bytes / 1_000_000,
        seed_time.as_secs_f64(),
        manifest.id,
        manifest.parts.len(),
        manifest.bytes() as f64 / 1e6
    ));
    out.push_str(&steps_table(
        &[
            ("`backup create` (while a broker posts loads)", backup_time),
            (
                "`backup verify` with the identity (decrypt, integrity check)",
                verify_time,
            ),
            ("`backup restore` into the emptied deployment", restore_time),
            (
                "start-up on the restored stores (migrations checked, board rebuilt)",
                startup_time,
            ),
        ],
        ("recovery time (restore + start-up)", recovered),
    ));
    out.push_str(&format!(
        "Loads acknowledged before the backup began: {before_back} of {before_total} back. Acknowledged after it began: {after_back} of {after_total} back (the backup's snapshot fell during its run). Objects verified: {}.\n",
        verified.objects
    ));
    if let Some(rpo) = rpo {
        out.push_str(&format!(
            "Recovery point with backups alone: the newest write back was acknowledged {:.1} s before the disaster (the backup's age at the disaster, plus its own run).\n",
            rpo.as_secs_f64()
        ));
    }
    Ok(out)
}
