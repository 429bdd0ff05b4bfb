//! Operational endpoints: liveness, readiness, Prometheus metrics.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;

/// One dependency `readyz` checks (a service's database, a broker).
#[async_trait]
pub trait ReadinessCheck: Send + Sync + 'static {
    fn name(&self) -> String;
    async fn check(&self) -> Result<(), String>;
}

/// The process-wide Prometheus recorder, installed on first use. Several apps in one test
/// process share it; a series is labelled by route, so they do not collide.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                // Time to cover is minutes to days, not request latencies (a full name
                // wins over the suffix rule below).
                .set_buckets_for_metric(
                    Matcher::Full("load_time_to_cover_seconds".into()),
                    &[
                        60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
                        172800.0, 604800.0,
                    ],
                )
                .expect("bucket list is not empty")
                // Consumer lag is milliseconds when healthy and minutes during an outage or
                // a backlog: buckets up to an hour, so quantiles past 10 s stay readable
                // (`_lag_seconds` sorts before `_seconds`, so it wins for these).
                .set_buckets_for_metric(
                    Matcher::Suffix("_lag_seconds".into()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                        120.0, 300.0, 600.0, 1800.0, 3600.0,
                    ],
                )
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0,
                    ],
                )
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a test binary, an embedding); then
            // metrics go there and this handle renders only what it sees.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// `/healthz` and `/readyz`: on the API listener always (load balancers probe it), and on
/// the operations listener when there is one.
pub fn health_routes(checks: Vec<Arc<dyn ReadinessCheck>>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/readyz", get(move || readyz(checks.clone())))
}

/// `/metrics`, the Prometheus exposition.
pub fn metrics_routes() -> Router {
    let handle = prometheus();
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    handle.render(),
                )
            }
        }),
    )
}

async fn readyz(checks: Vec<Arc<dyn ReadinessCheck>>) -> impl IntoResponse {
    let results = futures::future::join_all(
        checks
            .iter()
            .map(|c| async move { (c.name(), c.check().await) }),
    )
    .await;
    let ready = results.iter().all(|(_, r)| r.is_ok());
    let detail: serde_json::Map<String, serde_json::Value> = results
        .into_iter()
        .map(|(name, r)| {
            (
                name,
                match r {
                    Ok(()) => json!("ok"),
                    Err(e) => json!(e),
                },
            )
        })
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": detail })),
    )
}
