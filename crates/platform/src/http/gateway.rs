//! What the gateway layer adds in front of every service's routes, from `http.*`: CORS for
//! the browser origins a deployment lets call the API, and the retirement of API versions
//! or routes (`Deprecation`, RFC 9745; `Sunset`, RFC 8594; a `successor-version` link; and
//! `410 Gone` once the sunset has passed).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::Problem;

/// A retired path prefix (`/v1/loads/legacy`, or a whole version: `/v1/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deprecation {
    pub path_prefix: String,
    /// Since when it is deprecated (announced in `Deprecation`).
    pub deprecated_at: DateTime<Utc>,
    /// When it stops answering; `410 Gone` from then on.
    #[serde(default)]
    pub sunset_at: Option<DateTime<Utc>>,
    /// What replaces it (a `Link: <…>; rel="successor-version"`).
    #[serde(default)]
    pub successor: Option<String>,
}

impl Deprecation {
    /// Why it is not usable as configured, if it is not.
    pub fn check(&self) -> Result<(), String> {
        if !self.path_prefix.starts_with('/') {
            return Err(format!(
                "`{}` is not a path (it starts with /)",
                self.path_prefix
            ));
        }
        if self.sunset_at.is_some_and(|s| s < self.deprecated_at) {
            return Err(format!(
                "`{}` sets before it is deprecated",
                self.path_prefix
            ));
        }
        if let Some(s) = &self.successor {
            HeaderValue::from_str(s).map_err(|_| format!("`{s}` cannot be sent in a header"))?;
        }
        Ok(())
    }
}

/// CORS for `origins` (exact `scheme://host[:port]`, or `*` for any origin; credentials are
/// bearer tokens, never cookies, so none are allowed); none: no CORS headers at all, and
/// browsers keep other origins out.
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-api-key"),
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                header::RETRY_AFTER,
                HeaderName::from_static("deprecation"),
                HeaderName::from_static("sunset"),
                header::LINK,
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// Checks `http.cors_allowed_origins` entries.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let parsed = url::Url::parse(origin).map_err(|_| format!("`{origin}` is not an origin"))?;
    let bare = parsed.path() == "/" && parsed.query().is_none() && parsed.fragment().is_none();
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() || !bare {
        return Err(format!(
            "`{origin}` is not an origin (scheme://host[:port], nothing after)"
        ));
    }
    Ok(())
}

/// Adds the retirement headers to answers under a deprecated prefix, and answers `410` under
/// one whose sunset has passed (the longest matching prefix decides).
pub async fn retirement(
    deprecations: Arc<Vec<Deprecation>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let Some(d) = deprecations
        .iter()
        .filter(|d| path.starts_with(&d.path_prefix))
        .max_by_key(|d| d.path_prefix.len())
        .cloned()
    else {
        return next.run(request).await;
    };
    let now = Utc::now();
    let mut response = if d.sunset_at.is_some_and(|s| s <= now) {
        let detail = match &d.successor {
            Some(s) => format!("{} stopped answering; use {s}.", d.path_prefix),
            None => format!("{} stopped answering.", d.path_prefix),
        };
        Problem::new(StatusCode::GONE, "gone", "This part of the API was retired")
            .detail(detail)
            .into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("@{}", d.deprecated_at.timestamp())) {
        headers.insert(HeaderName::from_static("deprecation"), v);
    }
    if let Some(s) = d.sunset_at {
        let date = httpdate::fmt_http_date(std::time::SystemTime::from(s));
        if let Ok(v) = HeaderValue::from_str(&date) {
            headers.insert(HeaderName::from_static("sunset"), v);
        }
    }
    if let Some(s) = &d.successor {
        if let Ok(v) = HeaderValue::from_str(&format!("<{s}>; rel=\"successor-version\"")) {
            headers.append(header::LINK, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_deprecations_are_checked() {
        assert!(check_origin("https://tms.example.com").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        assert!(check_origin("*").is_ok());
        assert!(check_origin("tms.example.com").is_err());
        assert!(check_origin("https://tms.example.com/app").is_err());
        assert!(check_origin("ftp://tms.example.com").is_err());
        let d = |prefix: &str, sunset_days: i64| Deprecation {
            path_prefix: prefix.into(),
            deprecated_at: Utc::now(),
            sunset_at: Some(Utc::now() + chrono::Duration::days(sunset_days)),
            successor: None,
        };
        assert!(d("/v1/legacy", 30).check().is_ok());
        assert!(d("v1/legacy", 30).check().is_err());
        assert!(d("/v1/legacy", -30).check().is_err());
    }
}
