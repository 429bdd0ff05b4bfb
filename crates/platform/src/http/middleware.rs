//! Middleware wrapped around every route: request ids, RED metrics per route, tracing
//! spans, panics turned into problems.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use lanerunner_core::TraceContext;

use super::Problem;
use crate::telemetry::otel;

/// Records `http_requests_total` and `http_request_duration_seconds` labelled by method,
/// route template (never the raw path, which would explode the series count) and status.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let span = tracing::Span::current();
    span.record("http.route", route.as_str());
    otel::rename(&span, format!("{method} {route}"));
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

tokio::task_local! {
    static REQUEST_TRACE: TraceContext;
}

/// Makes the request's id and W3C `traceparent` available to everything the handler does,
/// so events written to the outbox carry the trace of the request that caused them: the
/// request span's own context when spans are exported (so consumers become its children),
/// else the caller's header as it came. Must run inside the request-id layer and the
/// request span ([`server_span`]).
pub async fn capture_trace(req: Request, next: Next) -> Response {
    let trace = TraceContext {
        traceparent: otel::traceparent_of(&tracing::Span::current())
            .or_else(|| header_text(req.headers(), otel::TRACEPARENT)),
        request_id: header_text(req.headers(), "x-request-id"),
    };
    REQUEST_TRACE.scope(trace, next.run(req)).await
}

/// The span of one HTTP request, continuing the caller's trace when it sent a
/// `traceparent`. Named `GET /v1/loads/{id}` once routing knows the route
/// ([`track_metrics`] records it), following OpenTelemetry's HTTP conventions.
pub fn server_span(req: &Request, request_id: &str) -> tracing::Span {
    let method = req.method().as_str();
    let span = tracing::info_span!(
        "http",
        method = %method,
        path = %req.uri().path(),
        request_id = %request_id,
        otel.name = %method,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = %method,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        url.path = %req.uri().path(),
    );
    otel::set_remote_parent(
        &span,
        header_text(req.headers(), otel::TRACEPARENT).as_deref(),
    );
    span
}

/// Records the answer on the request span; a 5xx marks the span as failed.
pub fn record_response(status: axum::http::StatusCode, span: &tracing::Span) {
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

fn header_text(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The trace context of the request being handled, if any.
pub fn current_trace() -> Option<TraceContext> {
    REQUEST_TRACE.try_with(Clone::clone).ok()
}

/// Runs `work` as part of `trace` (an event's, for a consumer's handler), so what it
/// writes to the outbox carries that trace, as a request's writes carry the request's.
pub async fn in_trace<F: std::future::Future>(trace: TraceContext, work: F) -> F::Output {
    REQUEST_TRACE.scope(trace, work).await
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
    Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
    )
    .into_response()
}

/// Layers below the router (the timeout) answer with bare status codes; give those a
/// problem body too, so clients see one error format.
pub async fn bare_errors_to_problems<B>(response: axum::http::Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    use axum::http::header::CONTENT_TYPE;
    let response = response.map(axum::body::Body::new);
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let problem = match content_type.as_deref() {
        None => match status {
            axum::http::StatusCode::SERVICE_UNAVAILABLE
            | axum::http::StatusCode::REQUEST_TIMEOUT => {
                Problem::new(status, "timeout", "The request took too long")
                    .detail("retry later; nothing is guaranteed to have been saved")
            }
            other => Problem::new(
                other,
                "http-error",
                other.canonical_reason().unwrap_or("Error"),
            ),
        },
        // axum's own extractor rejections (path, query, body) are plain text naming what
        // was wrong: the same words, as a problem.
        Some(ct) if ct.starts_with("text/plain") => {
            let (parts, body) = response.into_parts();
            let text = axum::body::to_bytes(body, REJECTION_TEXT_LIMIT)
                .await
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let mut res = rejection_problem(status, &text).into_response();
            for (name, value) in &parts.headers {
                if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
                    res.headers_mut().entry(name).or_insert(value.clone());
                }
            }
            return res;
        }
        Some(_) => return response,
    };
    let mut res = problem.into_response();
    // Keep the request id and other headers the inner layers set.
    for (name, value) in response.headers() {
        res.headers_mut().entry(name).or_insert(value.clone());
    }
    res
}

/// Rejection texts are one line; anything longer is not one of them.
const REJECTION_TEXT_LIMIT: usize = 4 * 1024;

/// A problem for one of axum's plain-text rejections, naming the parameter when the text
/// does (`Failed to deserialize query string: limit: invalid digit found in string`).
fn rejection_problem(status: axum::http::StatusCode, text: &str) -> Problem {
    use axum::http::StatusCode;
    let text = text.trim();
    let (kind, title) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid-body", "Invalid request body"),
        StatusCode::BAD_REQUEST => ("bad-request", "Malformed request"),
        other => ("http-error", other.canonical_reason().unwrap_or("Error")),
    };
    let mut problem = Problem::new(status, kind, title);
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // Refused before the body was read: the rest of it may still be arriving.
        problem = problem.close_connection();
    }
    if !text.is_empty() {
        problem = problem.detail(text.to_owned());
    }
    if let Some(param) = rejected_parameter(text) {
        problem = problem.with("parameter", param);
    }
    problem
}

fn rejected_parameter(text: &str) -> Option<String> {
    let rest = text
        .strip_prefix("Failed to deserialize query string: ")
        .or_else(|| text.strip_prefix("Invalid URL: "))?;
    // `limit: invalid digit ...`, `unknown field `foo`, expected ...`,
    // `Cannot parse `id` with value `x` to a `Uuid``.
    if let Some(field) = rest
        .split_once("unknown field `")
        .and_then(|(_, r)| r.split_once('`'))
    {
        return Some(field.0.to_owned());
    }
    if let Some(field) = rest
        .split_once("Cannot parse `")
        .and_then(|(_, r)| r.split_once('`'))
    {
        return Some(field.0.to_owned());
    }
    let (name, _) = rest.split_once(": ")?;
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '[' || c == ']'))
    .then(|| name.to_owned())
}

/// Headers every response carries: browsers must not guess content types, and API answers
/// (tokens, tenant data) must not be kept by browsers or proxies unless a route says so.
pub async fn hardening_headers(mut response: Response) -> Response {
    use axum::http::{header, HeaderValue};
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, StatusCode};

    #[tokio::test]
    async fn bare_timeout_becomes_a_problem_keeping_headers() {
        let bare = axum::http::Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("x-request-id", "abc")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = bare_errors_to_problems(bare).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(res.headers()["x-request-id"], "abc");
    }

    #[tokio::test]
    async fn plain_text_rejections_become_problems_naming_the_parameter() {
        let bare = (
            StatusCode::BAD_REQUEST,
            "Failed to deserialize query string: limit: invalid digit found in string",
        )
            .into_response();
        let res = bare_errors_to_problems(bare).await;
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(res.into_body(), 10_000).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["parameter"], "limit");
        assert_eq!(v["status"], 400);
        assert_eq!(
            rejected_parameter(
                "Failed to deserialize query string: unknown field `colour`, expected one of `a`"
            )
            .as_deref(),
            Some("colour")
        );
        let too_big = bare_errors_to_problems(
            (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response(),
        )
        .await;
        assert_eq!(
            too_big.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    #[tokio::test]
    async fn every_response_is_nosniff_and_not_stored_unless_it_says() {
        let res = hardening_headers(StatusCode::OK.into_response()).await;
        assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
        let cached = ([(header::CACHE_CONTROL, "public, max-age=60")], "x").into_response();
        let res = hardening_headers(cached).await;
        assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=60");
    }

    #[tokio::test]
    async fn responses_with_a_body_type_pass_untouched() {
        let ok = Problem::not_found("load").into_response();
        let res = bare_errors_to_problems(ok).await;
        let body = axum::body::to_bytes(res.into_body(), 10_000).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("no such load"));
    }
}
