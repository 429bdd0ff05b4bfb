//! `lanerunner bench capacity`: what one instance (every service in one process, production
//! settings) sustains on the main routes of this machine — requests a second at rising
//! concurrency, with p50 and p99 — and the capacity at a p99 target: the highest rate whose
//! p99 stays under it. The HorizontalPodAutoscalers' request-rate targets are set from it
//! (docs/operations.md, "Scale"). The load generator runs in the same process and shares
//! the cores, as in the other benchmarks; the figures are a floor.

use std::sync::Arc;
use std::time::Duration;

use crate::bench::{drive, production_cost};
use crate::testing::{dallas_atlanta_load, Backend, TestApp};

pub struct CapacityOptions {
    pub backend: Backend,
    pub seconds: u64,
    pub concurrency: Vec<usize>,
    /// The p99 a route must stay under, in milliseconds.
    pub p99_target_ms: f64,
}

struct Route {
    name: &'static str,
    run: Arc<dyn Fn(Arc<TestApp>) -> futures::future::BoxFuture<'static, bool> + Send + Sync>,
}

pub async fn capacity(opts: CapacityOptions) -> anyhow::Result<String> {
    let app = Arc::new(TestApp::spawn_with(opts.backend, production_cost).await);
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
    let ids = Arc::new(ids);
    let (bt, ct) = (
        Arc::new(broker.access.clone()),
        Arc::new(carrier.access.clone()),
    );
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let routes: Vec<Route> = vec![
        Route {
            name: "GET /v1/loads/search",
            run: {
                let ct = ct.clone();
                Arc::new(move |a| {
                    let ct = ct.clone();
                    Box::pin(async move {
                        a.get("/v1/loads/search?origin=Dallas,%20TX&limit=20", Some(&ct))
                            .await
                            .status()
                            == 200
                    })
                })
            },
        },
        Route {
            name: "GET /v1/loads/{id}",
            run: {
                let (bt, ids, n) = (bt.clone(), ids.clone(), n.clone());
                Arc::new(move |a| {
                    let (bt, ids, n) = (bt.clone(), ids.clone(), n.clone());
                    Box::pin(async move {
                        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % ids.len();
                        a.get(&format!("/v1/loads/{}", ids[i]), Some(&bt))
                            .await
                            .status()
                            == 200
                    })
                })
            },
        },
        Route {
            name: "POST /v1/loads",
            run: {
                let (bt, n) = (bt.clone(), n.clone());
                Arc::new(move |a| {
                    let (bt, n) = (bt.clone(), n.clone());
                    Box::pin(async move {
                        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        a.post_json(
                            "/v1/loads",
                            &dallas_atlanta_load(&format!("N-{i}"), 260_000),
                            Some(&bt),
                        )
                        .await
                        .status()
                            == 201
                    })
                })
            },
        },
        Route {
            name: "GET /v1/me",
            run: {
                let bt = bt.clone();
                Arc::new(move |a| {
                    let bt = bt.clone();
                    Box::pin(async move { a.get("/v1/me", Some(&bt)).await.status() == 200 })
                })
            },
        },
    ];

    let mut out = String::new();
    out.push_str(
        "| route | clients | req/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let mut summary = Vec::new();
    for route in &routes {
        let mut best: Option<(f64, usize)> = None;
        for &c in &opts.concurrency {
            let (app, run) = (app.clone(), route.run.clone());
            let mut m = drive(
                route.name,
                c,
                Duration::from_secs(opts.seconds),
                move || run(app.clone()),
            )
            .await;
            let (p50, p99) = (
                m.quantile_ms(0.5).unwrap_or(f64::NAN),
                m.quantile_ms(0.99).unwrap_or(f64::NAN),
            );
            out.push_str(&format!(
                "| {} | {c} | {:.0} | {p50:.1} | {p99:.1} | {} |\n",
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
        summary.push((route.name, best));
    }
    out.push_str(&format!(
        "\nCapacity at p99 ≤ {} ms (the highest rate measured under it):\n\n",
        opts.p99_target_ms
    ));
    out.push_str("| route | req/s | at clients |\n|---|---:|---:|\n");
    for (name, best) in summary {
        match best {
            Some((rate, c)) => out.push_str(&format!("| {name} | {rate:.0} | {c} |\n")),
            None => out.push_str(&format!("| {name} | under target at no level | - |\n")),
        }
    }
    Ok(out)
}
