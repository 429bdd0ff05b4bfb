//! `lanerunner bench capacity`: what one instance (every service in one process, production
//! settings) sustains on the main routes of each deployment group, on this machine —
//! requests a second at rising concurrency, with p50 and p99 — and the capacity at a p99
//! target: the highest rate whose p99 stays under it. The HorizontalPodAutoscalers' request-rate targets are set from it
//! (docs/operations.md, "Scale"). The load generator runs in the same process and shares
//! the cores, as in the other benchmarks; the figures are a floor.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::future::BoxFuture;
use serde_json::json;

use crate::bench::{drive, production_cost};
use crate::testing::{book, dallas_atlanta_load, poll, Account, Backend, TestApp};

pub struct CapacityOptions {
    pub backend: Backend,
    /// `database.pooling = "transaction"`: `Some(true)` through the project's PgBouncer
    /// (`scripts/pgbouncer.sh`), `Some(false)` straight to PostgreSQL (the way of running
    /// statements alone, without the pooler's hop).
    pub transaction_pooling: Option<bool>,
    pub seconds: u64,
    pub concurrency: Vec<usize>,
    /// The p99 a route must stay under, in milliseconds.
    pub p99_target_ms: f64,
    /// Only the routes of these deployment groups (all when empty).
    pub groups: Vec<String>,
}

type RouteFn = Arc<dyn Fn(Arc<TestApp>, usize) -> BoxFuture<'static, bool> + Send + Sync>;

/// A route and the deployment group (`deploy/kubernetes/groups/`) whose pods serve it.
struct Route {
    group: &'static str,
    name: &'static str,
    /// One request; the number says which this is (for spreading over ids and times).
    run: RouteFn,
}

fn route<F, Fut>(group: &'static str, name: &'static str, run: F) -> Route
where
    F: Fn(Arc<TestApp>, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    Route {
        group,
        name,
        run: Arc::new(move |app, n| Box::pin(run(app, n))),
    }
}

/// Booked loads (tracked, with paperwork) the routes of the groups after the marketplace act
/// on: one per client at the highest concurrency, so clients rarely share one.
const BOOKED: usize = 64;

/// A booked load on the road, as its driver reports it.
struct Tracked {
    load: String,
    token: String,
    lat: f64,
    lon: f64,
}

/// The groups with routes here (`insight` scales by hand: its work is not requests).
const GROUPS: &[&str] = &["marketplace", "edge", "tracking", "money", "deals", "comms"];

pub async fn capacity(opts: CapacityOptions) -> anyhow::Result<String> {
    if let Some(g) = opts.groups.iter().find(|g| !GROUPS.contains(&g.as_str())) {
        anyhow::bail!("unknown group {g:?}; use any of {}", GROUPS.join(", "));
    }
    let pooling = opts.transaction_pooling;
    let app = Arc::new(
        TestApp::spawn_with(opts.backend, |c| {
            production_cost(c);
            if let Some(through_pgbouncer) = pooling {
                let port = through_pgbouncer.then_some(crate::testing::PGBOUNCER_PORT);
                crate::testing::transaction_pooling(c, port);
            }
        })
        .await,
    );
    let broker = app.signup("capacity-broker@bench.example", "broker").await;
    let carrier = app
        .signup("capacity-carrier@bench.example", "carrier")
        .await;
    let mut ids = Vec::new();
    for i in 0..500 {
        ids.push(
            crate::testing::posted(
                &app,
                &broker,
                &dallas_atlanta_load(&format!("C-{i}"), 250_000 + i),
            )
            .await,
        );
    }
    let wants = |g: &str| opts.groups.is_empty() || opts.groups.iter().any(|w| w == g);
    let tracked = if wants("tracking") || wants("money") {
        Arc::new(booked_and_tracked(&app, &broker, &carrier).await?)
    } else {
        Arc::new(Vec::new())
    };
    let conversation = if wants("comms") {
        Arc::new(conversation_about(&app, &carrier, &ids[0]).await?)
    } else {
        Arc::new(String::new())
    };
    if wants("deals") {
        let ml = app
            .app()
            .typed::<lanerunner_ml::MlService>()
            .context("the ml service runs")?;
        crate::demo::seed_rate_model(&ml, 7).await?;
    }
    let ids = Arc::new(ids);
    let (bt, ct) = (
        Arc::new(broker.access.clone()),
        Arc::new(carrier.access.clone()),
    );
    // Positions are reported from six hours ago on, 100 ms apart per load: always in order
    // for the load (clients rarely share one), never from the future.
    let reported_from = chrono::Utc::now() - chrono::Duration::hours(6);

    let routes: Vec<Route> = vec![
        route("marketplace", "GET /v1/loads/search", {
            let ct = ct.clone();
            move |a, _| {
                let ct = ct.clone();
                async move {
                    a.get("/v1/loads/search?origin=Dallas,%20TX&limit=20", Some(&ct))
                        .await
                        .status()
                        == 200
                }
            }
        }),
        route("marketplace", "GET /v1/loads/{id}", {
            let (bt, ids) = (bt.clone(), ids.clone());
            move |a, n| {
                let path = format!("/v1/loads/{}", ids[n % ids.len()]);
                let bt = bt.clone();
                async move { a.get(&path, Some(&bt)).await.status() == 200 }
            }
        }),
        route("marketplace", "POST /v1/loads", {
            let bt = bt.clone();
            move |a, n| {
                let bt = bt.clone();
                async move {
                    a.post_json(
                        "/v1/loads",
                        &dallas_atlanta_load(&format!("N-{n}"), 260_000),
                        Some(&bt),
                    )
                    .await
                    .status()
                        == 201
                }
            }
        }),
        route("edge", "GET /v1/me", {
            let bt = bt.clone();
            move |a, _| {
                let bt = bt.clone();
                async move { a.get("/v1/me", Some(&bt)).await.status() == 200 }
            }
        }),
        route("tracking", "POST /v1/track/driver/{token}/positions", {
            let tracked = tracked.clone();
            move |a, n| {
                let t = &tracked[n % tracked.len()];
                let at = reported_from
                    + chrono::Duration::milliseconds(100 * (n / tracked.len()) as i64);
                let path = format!("/v1/track/driver/{}/positions", t.token);
                let body = json!({"lat": t.lat, "lon": t.lon, "at": at.to_rfc3339()});
                async move { a.post_json(&path, &body, None).await.status() == 200 }
            }
        }),
        route("money", "POST /v1/loads/{id}/documents (1 KB PDF)", {
            let (tracked, ct) = (tracked.clone(), ct.clone());
            move |a, n| {
                let path = format!(
                    "/v1/loads/{}/documents?kind=proof_of_delivery",
                    tracked[n % tracked.len()].load
                );
                let ct = ct.clone();
                async move {
                    let pdf = format!(
                        "%PDF-1.4\n% proof of delivery {n}\n{}\ntrailer<</Root 1 0 R>>\n%%EOF\n",
                        "0".repeat(1_000)
                    );
                    let req = a
                        .client
                        .post(a.url(&path))
                        .header("content-type", "application/pdf")
                        .body(pdf.into_bytes());
                    a.send(req, Some(&ct)).await.status().is_success()
                }
            }
        }),
        route("money", "GET /v1/loads/{id}/documents", {
            let (tracked, bt) = (tracked.clone(), bt.clone());
            move |a, n| {
                let path = format!("/v1/loads/{}/documents", tracked[n % tracked.len()].load);
                let bt = bt.clone();
                async move { a.get(&path, Some(&bt)).await.status() == 200 }
            }
        }),
        route("deals", "GET /v1/rates/predict", {
            let bt = bt.clone();
            move |a, _| {
                let bt = bt.clone();
                async move {
                    a.get(
                        "/v1/rates/predict?origin=Dallas,%20TX&destination=Atlanta,%20GA&equipment=V",
                        Some(&bt),
                    )
                    .await
                    .status()
                        == 200
                }
            }
        }),
        route("comms", "POST /v1/chat/conversations/{id}/messages", {
            let (conversation, ct) = (conversation.clone(), ct.clone());
            move |a, n| {
                let path = format!("/v1/chat/conversations/{conversation}/messages");
                let ct = ct.clone();
                async move {
                    let text = format!("Truck {n} is empty in Dallas tomorrow morning");
                    a.post_json(&path, &json!({ "text": text }), Some(&ct))
                        .await
                        .status()
                        == 201
                }
            }
        }),
    ];
    let routes: Vec<Route> = routes.into_iter().filter(|r| wants(r.group)).collect();

    let mut out = String::new();
    out.push_str(
        "| group | route | clients | req/s | p50 ms | p99 ms | errors |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    let mut summary = Vec::new();
    for route in &routes {
        let mut best: Option<(f64, usize)> = None;
        for &c in &opts.concurrency {
            let (app, run) = (app.clone(), route.run.clone());
            let n = Arc::new(AtomicUsize::new(0));
            let mut m = drive(
                route.name,
                c,
                Duration::from_secs(opts.seconds),
                move || run(app.clone(), n.fetch_add(1, Ordering::Relaxed)),
            )
            .await;
            let (p50, p99) = (
                m.quantile_ms(0.5).unwrap_or(f64::NAN),
                m.quantile_ms(0.99).unwrap_or(f64::NAN),
            );
            out.push_str(&format!(
                "| {} | {} | {c} | {:.0} | {p50:.1} | {p99:.1} | {} |\n",
                route.group,
                route.name,
                m.rate(),
                m.errors()
            ));
            if p99 <= opts.p99_target_ms
                && m.errors() == 0
                && best.is_none_or(|(r, _)| m.rate() > r)
            {
                best = Some((m.rate(), c));
            }
        }
        summary.push((route.group, route.name, best));
    }
    out.push_str(&format!(
        "\nCapacity at p99 ≤ {} ms (the highest rate measured under it):\n\n",
        opts.p99_target_ms
    ));
    out.push_str("| group | route | req/s | at clients |\n|---|---|---:|---:|\n");
    for (group, name, best) in summary {
        match best {
            Some((rate, c)) => out.push_str(&format!("| {group} | {name} | {rate:.0} | {c} |\n")),
            None => out.push_str(&format!(
                "| {group} | {name} | under target at no level | - |\n"
            )),
        }
    }
    Ok(out)
}

/// [`BOOKED`] loads booked with `carrier`, tracked, each with its driver's link; where each
/// driver reports from (40 miles short of the pickup, outside its fence).
async fn booked_and_tracked(
    app: &TestApp,
    broker: &Account,
    carrier: &Account,
) -> anyhow::Result<Vec<Tracked>> {
    let mut out = Vec::with_capacity(BOOKED);
    for i in 0..BOOKED {
        let load = book(
            app,
            broker,
            carrier,
            &dallas_atlanta_load(&format!("T-{i}"), 240_000),
        )
        .await;
        let tracking = format!("/v1/loads/{load}/tracking");
        poll(app, &tracking, carrier, |t| t["status"] == "active").await;
        let l: serde_json::Value = app
            .get(&format!("/v1/loads/{load}"), Some(&broker.access))
            .await
            .json()
            .await?;
        let pickup = &l["stops"][0]["location"];
        let (lat, lon) = (
            pickup["lat"].as_f64().context("the pickup's latitude")? - 0.6,
            pickup["lon"].as_f64().context("the pickup's longitude")?,
        );
        let res = app
            .post_json(
                &format!("{tracking}/links"),
                &json!({"kind": "driver"}),
                Some(&carrier.access),
            )
            .await;
        anyhow::ensure!(res.status() == 201, "a driver link: {}", res.status());
        let link: serde_json::Value = res.json().await?;
        let token = link["token"]
            .as_str()
            .context("the link's token")?
            .to_owned();
        out.push(Tracked {
            load,
            token,
            lat,
            lon,
        });
    }
    Ok(out)
}

/// A chat conversation `carrier` starts about `load` (once chat has learned the load).
async fn conversation_about(
    app: &TestApp,
    carrier: &Account,
    load: &str,
) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let res = app
            .post_json(
                "/v1/chat/conversations",
                &json!({ "load_id": load }),
                Some(&carrier.access),
            )
            .await;
        if res.status().is_success() {
            let c: serde_json::Value = res.json().await?;
            return Ok(c["id"]
                .as_str()
                .context("the conversation's id")?
                .to_owned());
        }
        anyhow::ensure!(
            res.status() == 404 && tokio::time::Instant::now() < deadline,
            "starting a conversation: {}",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
