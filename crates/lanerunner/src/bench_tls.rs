//! `lanerunner bench tls`: what TLS termination costs the API. One application (embedded
//! defaults) serves the same router on two listeners at once: TLS (rustls, an ECDSA P-256
//! certificate from a test CA, as `http.tls` serves in production) and plain HTTP (the
//! peer). `concurrency` keep-alive clients drive the same authenticated reads through each,
//! in alternating rounds so drift on a shared machine hits both alike; then a round where
//! every request opens a new connection shows the handshake's cost.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::bench_webhooks::percentile;
use crate::test_certs::TestCa;
use crate::testing::{dallas_atlanta_load, posted, Backend, TestApp};

pub struct TlsBench {
    pub requests: usize,
    pub concurrency: usize,
    pub handshakes: usize,
}

struct Round {
    per_sec: f64,
    p50: f64,
    p99: f64,
}

/// A test CA and a leaf for 127.0.0.1, written where `http.tls` reads them.
fn certificates(
    dir: &std::path::Path,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf, String)> {
    let ca = TestCa::new("LaneRunner bench CA")?;
    let leaf = ca.leaf(&["127.0.0.1"], "bench.lanerunner.test", None)?;
    std::fs::create_dir_all(dir)?;
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, &leaf.cert_pem)?;
    std::fs::write(&key_file, &leaf.key_pem)?;
    Ok((cert_file, key_file, ca.pem))
}

/// HTTP/1.1 on both paths by default, so the comparison is TLS alone (over TLS a client
/// would otherwise negotiate HTTP/2 by ALPN and multiplex every worker on one connection,
/// another protocol); `http2` measures that too.
fn client(ca_pem: &str, fresh_connections: bool, http2: bool) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?)
        .timeout(Duration::from_secs(30));
    if !http2 {
        builder = builder.http1_only();
    }
    if fresh_connections {
        builder = builder.pool_max_idle_per_host(0);
    }
    Ok(builder.build()?)
}

/// `requests` GETs of `url` by `concurrency` workers sharing `client`.
async fn round(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<Round> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, token, next) = (
            client.clone(),
            url.to_string(),
            token.to_string(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let t = Instant::now();
                let res = client.get(&url).bearer_auth(&token).send().await?;
                anyhow::ensure!(res.status().is_success(), "{url}: {}", res.status());
                res.bytes().await?;
                took.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(took)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for t in tasks {
        all.extend(t.await??);
    }
    let per_sec = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok(Round {
        per_sec,
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
    })
}

pub async fn bench(b: TlsBench) -> anyhow::Result<String> {
    let dir = std::env::temp_dir().join(format!(
        "lanerunner-bench-tls-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let (cert, key, ca_pem) = certificates(&dir)?;
    let mut app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.http.tls.cert_file = Some(cert);
        c.http.tls.key_file = Some(key);
        // One principal makes every request; the per-principal limit would measure itself.
        c.http.rate_limit_per_minute = 0;
    })
    .await;
    app.client = client(&ca_pem, false, false)?;

    // The same router, plain, on a second listener (the peer).
    let plain_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let plain: SocketAddr = plain_listener.local_addr()?;
    let stop = CancellationToken::new();
    let signal = stop.clone();
    let server = crate::app::http_server(
        &lanerunner_platform::config::HttpConfig::default(),
        app.app().router(),
        plain_listener,
        async move { signal.cancelled().await },
        stop.clone(),
    )
    .await?;
    tokio::spawn(server);

    let broker = app.signup("bench-tls@example.com", "broker").await;
    for n in 0..50 {
        posted(
            &app,
            &broker,
            &dallas_atlanta_load(&format!("TLS-{n}"), 250_000 + n),
        )
        .await;
    }
    let sample: Value = app
        .get("/v1/loads?limit=50", Some(&broker.access))
        .await
        .json()
        .await?;
    let page_bytes = serde_json::to_vec(&sample)?.len();

    let tls_base = format!("https://{}", app.address);
    let plain_base = format!("http://{plain}");
    let keep_alive = client(&ca_pem, false, false)?;
    let routes = [
        ("GET /v1/me", "/v1/me"),
        ("GET /v1/loads?limit=50", "/v1/loads?limit=50"),
    ];

    let mut out = format!(
        "{} requests per round, {} keep-alive clients, alternating plain/TLS rounds (two each, the better kept); \
         the loads page is {page_bytes} bytes of JSON. Client and server share the machine's cores.\n\n\
         | route | plain req/s | TLS req/s | cost | plain p50/p99 ms | TLS p50/p99 ms |\n|---|---:|---:|---:|---:|---:|\n",
        b.requests, b.concurrency
    );
    for (name, path) in routes {
        // Warm both paths (connections, caches) before measuring.
        round(
            &keep_alive,
            &format!("{plain_base}{path}"),
            &broker.access,
            500,
            b.concurrency,
        )
        .await?;
        round(
            &keep_alive,
            &format!("{tls_base}{path}"),
            &broker.access,
            500,
            b.concurrency,
        )
        .await?;
        let (mut best_plain, mut best_tls): (Option<Round>, Option<Round>) = (None, None);
        for _ in 0..2 {
            let p = round(
                &keep_alive,
                &format!("{plain_base}{path}"),
                &broker.access,
                b.requests,
                b.concurrency,
            )
            .await?;
            let t = round(
                &keep_alive,
                &format!("{tls_base}{path}"),
                &broker.access,
                b.requests,
                b.concurrency,
            )
            .await?;
            if best_plain.as_ref().is_none_or(|b| p.per_sec > b.per_sec) {
                best_plain = Some(p);
            }
            if best_tls.as_ref().is_none_or(|b| t.per_sec > b.per_sec) {
                best_tls = Some(t);
            }
        }
        let (p, t) = (best_plain.expect("a round"), best_tls.expect("a round"));
        out.push_str(&format!(
            "| {name} | {:.0} | {:.0} | {:.1} % | {:.2} / {:.2} | {:.2} / {:.2} |\n",
            p.per_sec,
            t.per_sec,
            (1.0 - t.per_sec / p.per_sec) * 100.0,
            p.p50,
            p.p99,
            t.p50,
            t.p99
        ));
    }

    // The same reads over HTTP/2 with TLS (what a browser or an HTTP/2 client negotiates):
    // every worker multiplexed on one connection.
    let h2 = client(&ca_pem, false, true)?;
    out.push_str("\nOver HTTP/2 with TLS (ALPN `h2`, every client multiplexed on one connection):\n\n| route | TLS h2 req/s | p50/p99 ms |\n|---|---:|---:|\n");
    for (name, path) in routes {
        let url = format!("{tls_base}{path}");
        round(&h2, &url, &broker.access, 500, b.concurrency).await?;
        let r = round(&h2, &url, &broker.access, b.requests, b.concurrency).await?;
        out.push_str(&format!(
            "| {name} | {:.0} | {:.2} / {:.2} |\n",
            r.per_sec, r.p50, r.p99
        ));
    }

    // Every request on a new connection: the full handshake (ECDHE + ECDSA) each time.
    let fresh = client(&ca_pem, true, false)?;
    let p = round(
        &fresh,
        &format!("{plain_base}/healthz"),
        "",
        b.handshakes,
        b.concurrency,
    )
    .await?;
    let t = round(
        &fresh,
        &format!("{tls_base}/healthz"),
        "",
        b.handshakes,
        b.concurrency,
    )
    .await?;
    out.push_str(&format!(
        "\nNew connection per request (`GET /healthz`, {} requests): plain {:.0}/s (p99 {:.2} ms), TLS {:.0}/s (p99 {:.2} ms) — a full handshake per request, which keep-alive clients pay once.\n",
        b.handshakes, p.per_sec, p.p99, t.per_sec, t.p99
    ));
    stop.cancel();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}
