//! `lanerunner bench tracing`: what exporting traces costs the API. The same `lanerunner
//! serve` (every service, embedded defaults, a fresh data directory) is started as a child
//! process once without export and once per sampling ratio with its spans exported over
//! OTLP/HTTP to a receiver on loopback (in this process, answering as a collector does,
//! counting what it is sent), and each is measured on a read (`GET /v1/loads/search`) and a
//! write (`POST /v1/loads`, whose event is consumed by other services, each consumer a span
//! of the trace). Tracing is a process-wide subscriber, hence a process per mode; the modes
//! alternate over the rounds so a drift of the machine shows as a difference between
//! rounds. The load generator shares the cores with the server, as in the other benchmarks.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bench::{drive, Measured};
use crate::testing::{dallas_atlanta_load, TEST_PASSWORD};

pub struct TracingBench {
    pub seconds: u64,
    pub concurrency: usize,
    pub rounds: usize,
    /// Sampling ratios measured with export on (0 < r ≤ 1).
    pub sample_ratios: Vec<f64>,
}

/// What the receiver was sent.
#[derive(Default)]
struct Received {
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// An OTLP/HTTP traces endpoint on loopback that takes every export and keeps only its
/// size; its base URL.
async fn receiver() -> anyhow::Result<(Arc<Received>, String)> {
    let received = Arc::new(Received::default());
    let counts = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let counts = counts.clone();
            async move {
                counts.requests.fetch_add(1, Ordering::Relaxed);
                counts.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                axum::Json(json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((received, url))
}

/// A `lanerunner serve` child process on a fresh data directory, killed when dropped.
struct Server {
    _child: tokio::process::Child,
    base: String,
    data_dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Server {
    async fn start(export: Option<(&str, f64)>, client: &reqwest::Client) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let data_dir =
            std::env::temp_dir().join(format!("lr-bench-tracing-{}", uuid::Uuid::now_v7()));
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data_dir)
        .env("LANERUNNER_LOG_LEVEL", "warn")
        // One principal makes every request: the per-principal limit would measure itself.
        .env("LANERUNNER_HTTP__RATE_LIMIT_PER_MINUTE", "0")
        .env_remove("LANERUNNER_TRACING__OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
        if let Some((endpoint, ratio)) = export {
            cmd.env("LANERUNNER_TRACING__OTLP_ENDPOINT", endpoint)
                .env("LANERUNNER_TRACING__SAMPLE_RATIO", ratio.to_string());
        }
        let child = cmd.spawn()?;
        let server = Server {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(r) = client.get(server.url("/readyz")).send().await {
                if r.status().is_success() {
                    return Ok(server);
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "serve on {port} was not ready in 90 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs an organization of `kind` up; its access token.
    async fn signup(&self, client: &reqwest::Client, kind: &str) -> anyhow::Result<String> {
        let mut org = json!({ "name": format!("{kind} co"), "kind": kind });
        if kind == "carrier" {
            org["usdot_number"] = json!("1234567");
            org["mc_number"] = json!("MC-654321");
        }
        let body = json!({ "organization": org, "name": "Pat", "email": format!("{kind}@bench.example"),
            "password": TEST_PASSWORD, "terms_version": "2026-11-01" });
        let res = client
            .post(self.url("/v1/auth/signup"))
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "signup: {}", res.status());
        let body: Value = res.json().await?;
        body["tokens"]["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("signup answered no token"))
    }
}

/// One mode's figures in one round.
struct ModeRun {
    search: Measured,
    create: Measured,
    exported: (u64, u64),
}

async fn run_mode(
    b: &TracingBench,
    export: Option<(&str, f64)>,
    received: &Received,
    client: &reqwest::Client,
) -> anyhow::Result<ModeRun> {
    let server = Server::start(export, client).await?;
    let broker = server.signup(client, "broker").await?;
    let carrier = server.signup(client, "carrier").await?;
    for i in 0..200 {
        let load = dallas_atlanta_load(&format!("T-{i}"), 250_000 + i);
        let res = client
            .post(server.url("/v1/loads"))
            .bearer_auth(&broker)
            .json(&load)
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "seeding: {}", res.status());
        let id = res.json::<Value>().await?["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let res = client
            .post(server.url(&format!("/v1/loads/{id}/post")))
            .bearer_auth(&broker)
            .json(&json!({}))
            .send()
            .await?;
        anyhow::ensure!(res.status().is_success(), "posting: {}", res.status());
    }
    // Let start-up's and the seeding's background work (consumers, the board) settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = (
        received.requests.load(Ordering::Relaxed),
        received.bytes.load(Ordering::Relaxed),
    );
    let duration = Duration::from_secs(b.seconds);
    let search = {
        let (client, url, token) = (
            client.clone(),
            server.url("/v1/loads/search?origin=Dallas,%20TX&limit=20"),
            carrier.clone(),
        );
        drive(ROUTES[0], b.concurrency, duration, move || {
            let req = client.get(&url).bearer_auth(&token);
            async move { req.send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .await
    };
    let create = {
        let (client, url, token) = (client.clone(), server.url("/v1/loads"), broker.clone());
        let n = Arc::new(AtomicU64::new(0));
        drive(ROUTES[1], b.concurrency, duration, move || {
            let i = n.fetch_add(1, Ordering::Relaxed);
            let req = client
                .post(&url)
                .bearer_auth(&token)
                .json(&dallas_atlanta_load(&format!("W-{i}"), 260_000));
            async move { req.send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .await
    };
    // What the batch exporter still holds goes out within its delay.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let exported = (
        received.requests.load(Ordering::Relaxed) - before.0,
        received.bytes.load(Ordering::Relaxed) - before.1,
    );
    drop(server);
    Ok(ModeRun {
        search,
        create,
        exported,
    })
}

const ROUTES: [&str; 2] = ["GET /v1/loads/search", "POST /v1/loads"];

pub async fn bench(b: TracingBench) -> anyhow::Result<String> {
    anyhow::ensure!(
        b.sample_ratios.iter().all(|r| *r > 0.0 && *r <= 1.0),
        "sampling ratios are in (0, 1]"
    );
    let (received, endpoint) = receiver().await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(b.concurrency * 2)
        .build()?;
    let modes: Vec<Option<f64>> = std::iter::once(None)
        .chain(b.sample_ratios.iter().copied().map(Some))
        .collect();
    let label = |m: Option<f64>| match m {
        None => "no export (peer)".to_owned(),
        Some(r) => format!("OTLP export, sampled {:.0} %", r * 100.0),
    };
    let mut out = String::from(
        "| mode | round | route | requests/s | p50 ms | p99 ms | failed | exports sent (requests / KiB) |\n|---|---:|---|---:|---:|---:|---:|---|\n",
    );
    // rates[mode][route] over rounds.
    let mut rates = vec![[Vec::new(), Vec::new()]; modes.len()];
    for round in 1..=b.rounds {
        for (i, mode) in modes.iter().enumerate() {
            let run =
                run_mode(&b, mode.map(|r| (endpoint.as_str(), r)), &received, &client).await?;
            anyhow::ensure!(
                mode.is_none() == (run.exported.0 == 0),
                "{}: {} exports received",
                label(*mode),
                run.exported.0
            );
            for (route, mut m) in [run.search, run.create].into_iter().enumerate() {
                rates[i][route].push(m.rate());
                let (p50, p99) = (
                    m.quantile_ms(0.5).unwrap_or_default(),
                    m.quantile_ms(0.99).unwrap_or_default(),
                );
                out.push_str(&format!(
                    "| {} | {round} | {} | {:.0} | {p50:.2} | {p99:.2} | {} | {} |\n",
                    label(*mode),
                    ROUTES[route],
                    m.rate(),
                    m.errors(),
                    if route == 0 {
                        format!("{} / {:.0}", run.exported.0, run.exported.1 as f64 / 1024.0)
                    } else {
                        "(both routes)".to_owned()
                    }
                ));
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    for (i, mode) in modes.iter().enumerate().skip(1) {
        for (route, name) in ROUTES.iter().enumerate() {
            let cost = 100.0 * (1.0 - mean(&rates[i][route]) / mean(&rates[0][route]));
            out.push_str(&format!(
                "| **{}: cost** | | {name} | **{cost:.1} % of throughput** | | | | |\n",
                label(*mode)
            ));
        }
    }
    Ok(out)
}
