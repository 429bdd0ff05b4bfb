//! `lanerunner bench identity`: login (Argon2id at the configured cost), access-token
//! verification, and `GET /v1/me` throughput, on SQLite and on PostgreSQL, against the
//! real application on a loopback port. The load generator runs in the same process (the
//! numbers include its share of the two cores); results print as a Markdown table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lanerunner_platform::Config;
use serde_json::{json, Value};

use crate::testing::{Backend, TestApp};

pub struct IdentityBenchOptions {
    pub backends: Vec<Backend>,
    pub duration: Duration,
    pub concurrency: usize,
}

pub(crate) struct Measured {
    what: &'static str,
    ops: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: usize,
}

impl Measured {
    pub(crate) fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p` quantile of the latencies, in milliseconds (sorts them).
    pub(crate) fn quantile_ms(&mut self, p: f64) -> Option<f64> {
        self.latencies.sort_unstable();
        if self.latencies.is_empty() {
            return None;
        }
        let idx =
            ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        Some(self.latencies[idx].as_secs_f64() * 1e3)
    }

    pub(crate) fn errors(&self) -> usize {
        self.errors
    }

    pub(crate) fn row(&mut self, backend: &str) -> String {
        self.latencies.sort_unstable();
        let pct = |p: f64| {
            if self.latencies.is_empty() {
                return "-".to_string();
            }
            let idx = ((self.latencies.len() as f64 * p).ceil() as usize)
                .clamp(1, self.latencies.len())
                - 1;
            format!("{:.3}", self.latencies[idx].as_secs_f64() * 1e3)
        };
        format!(
            "| {backend} | {} | {:.0} | {} | {} | {} | {} |",
            self.what,
            self.ops as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            self.ops,
            self.errors
        )
    }
}

/// Runs `op` from `concurrency` tasks until `duration` has passed.
pub(crate) async fn drive<F, Fut>(
    what: &'static str,
    concurrency: usize,
    duration: Duration,
    op: F,
) -> Measured
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while started.elapsed() < duration {
                let t = Instant::now();
                if op().await {
                    lat.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("bench task");
        latencies.extend(l);
        errors += e;
    }
    Measured {
        what,
        ops: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
        errors,
    }
}

pub(crate) fn production_cost(config: &mut Config) {
    let defaults = Config::default();
    config.auth = defaults.auth;
    // One benchmark user logs in thousands of times; throttling only counts failures, but
    // keep it out of the way of a mistyped password in a harness change.
    config.auth.max_failed_logins_per_account = u64::MAX;
    config.auth.max_failed_logins_per_address = u64::MAX;
    config.auth.max_account_flows_per_address = u64::MAX;
    // One principal makes every request; the per-principal API limit would measure itself.
    config.http.rate_limit_per_minute = 0;
}

pub async fn identity(opts: IdentityBenchOptions) -> anyhow::Result<String> {
    let mut out = String::new();
    out.push_str(&format!(
        "Argon2id m={} KiB, t={}, p=1; {} concurrent clients; {:?} per measurement.\n\n",
        Config::default().auth.argon2_memory_kib,
        Config::default().auth.argon2_iterations,
        opts.concurrency,
        opts.duration
    ));
    out.push_str("| backend | operation | ops/s | p50 ms | p99 ms | ops | errors |\n|---|---|---:|---:|---:|---:|---:|\n");
    for backend in &opts.backends {
        let name = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::FullStack => "postgres+rabbitmq+kafka+redis",
            Backend::PostgresReplica => "postgres+replica",
        };
        let app = Arc::new(TestApp::spawn_with(*backend, production_cost).await);
        let email = "bench@broker.example";
        let password = "load board passphrase 7";
        let res = app
            .post_json(
                "/v1/auth/signup",
                &json!({ "organization": { "name": "Bench", "kind": "broker" }, "name": "Bench", "email": email, "password": password, "terms_version": "2026-11-01" }),
                None,
            )
            .await;
        anyhow::ensure!(res.status() == 201, "signup failed: {}", res.status());
        let body: Value = res.json().await?;
        let token = body["tokens"]["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();

        let a = app.clone();
        let mut login = drive(
            "POST /v1/auth/login",
            opts.concurrency,
            opts.duration,
            move || {
                let a = a.clone();
                async move {
                    a.post_json(
                        "/v1/auth/login",
                        &json!({ "email": email, "password": password }),
                        None,
                    )
                    .await
                    .status()
                        == 200
                }
            },
        )
        .await;

        let auth = app
            .app()
            .services()
            .iter()
            .find_map(|s| s.authenticator())
            .ok_or_else(|| anyhow::anyhow!("no authenticator"))?;
        let t = token.clone();
        let mut verify = drive(
            "verify access token (in-process)",
            2,
            opts.duration,
            move || {
                let auth = auth.clone();
                let t = t.clone();
                async move {
                    auth.authenticate(&t, std::net::Ipv4Addr::LOCALHOST.into())
                        .await
                        .is_ok()
                }
            },
        )
        .await;

        let a = app.clone();
        let t = token.clone();
        let mut me = drive("GET /v1/me", opts.concurrency, opts.duration, move || {
            let a = a.clone();
            let t = t.clone();
            async move { a.get("/v1/me", Some(&t)).await.status() == 200 }
        })
        .await;
        for m in [&mut login, &mut verify, &mut me] {
            out.push_str(&m.row(name));
            out.push('\n');
        }
    }
    Ok(out)
}
