//! Middleware wrapped around every route: request ids, RED metrics per route, tracing
//! spans, panics turned into problems.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Problem;

/// Records `http_requests_total` and `http_request_duration_seconds` labelled by method,
/// route template (never the raw path, which would explode the series count) and status.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route).record(started.elapsed().as_secs_f64());
    response
}

/// For `CatchPanicLayer`: a handler panic becomes a 500 problem and a log line, never a
/// dropped connection.
pub fn panic_to_problem(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    Problem::internal(&format!("handler panicked: {message}")).into_response()
}

/// Unmatched paths answer with a problem, like everything else.
pub async fn not_found() -> Response {
    Problem::not_found("route").into_response()
}

pub async fn method_not_allowed() -> Response {
    Problem::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed").into_response()
}
