//! Errors as `application/problem+json` (RFC 9457). Each error kind has a stable `type`
//! URI that clients can switch on; `title` is its human summary, `detail` the specifics.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub const PROBLEM_BASE: &str = "https://lanerunner.dev/problems/";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the error kind.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Kind-specific members, e.g. `errors` (per-field) or `current_state`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: Map<String, Value>,
    #[serde(skip)]
    retry_after_secs: Option<u64>,
    #[serde(skip)]
    www_authenticate: bool,
    #[serde(skip)]
    close_connection: bool,
}

/// One field's complaint in a validation problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer-ish path of the field: `email`, `stops[1].window.end`.
    pub field: String,
    pub message: String,
}

/// Every invalid field of a request, collected before answering, so the client hears of
/// all of them at once rather than one per attempt.
#[derive(Debug, Default)]
pub struct Violations(pub Vec<FieldError>);

/// The fields a request got wrong; a service's error turns it into its own `Invalid`.
#[derive(Debug)]
pub struct Invalid(pub Vec<FieldError>);

impl Violations {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `ok` when nothing was found invalid.
    pub fn into_result<T>(self, ok: T) -> Result<T, Invalid> {
        if self.0.is_empty() {
            Ok(ok)
        } else {
            Err(Invalid(self.0))
        }
    }
}

impl Problem {
    /// `kind` is the last segment of the type URI, e.g. `not-found`.
    pub fn new(status: StatusCode, kind: &str, title: impl Into<String>) -> Self {
        Self {
            type_uri: format!("{PROBLEM_BASE}{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: None,
            extensions: Map::new(),
            retry_after_secs: None,
            www_authenticate: false,
            close_connection: false,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.extensions.insert(
            key.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs.max(1));
        self.extensions
            .insert("retry_after_secs".into(), Value::from(secs.max(1)));
        self
    }

    /// Answers with `Connection: close`: for a rejection sent before the request body was
    /// read, so the client does not reuse a connection whose unread body is still arriving.
    pub fn close_connection(mut self) -> Self {
        self.close_connection = true;
        self
    }

    pub fn kind(&self) -> &str {
        self.type_uri
            .strip_prefix(PROBLEM_BASE)
            .unwrap_or(&self.type_uri)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    // The common kinds, so every service spells them the same way.

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail(format!("no such {what}"))
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
        )
        .detail(detail);
        p.www_authenticate = true;
        p
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed").detail(detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "The request is not valid",
        )
        .detail(detail)
        .with("errors", errors)
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn conflict(kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, kind, title).detail(detail)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
        )
        .detail(format!("try again in {} seconds", retry_after_secs.max(1)))
        .retry_after(retry_after_secs)
    }

    /// For failures the caller cannot fix. The cause is logged, never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
        .detail("something went wrong on our side; the request id identifies it in our logs")
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        )
        .detail(detail)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.title, self.status)?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.close_connection {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lanerunner\""),
            );
        }
        res
    }
}

impl From<sqlx::Error> for Problem {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => {
                Problem::unavailable("the database is busy; retry shortly").retry_after(1)
            }
            other => Problem::internal(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_serialises_with_type_and_extensions() {
        let p = Problem::invalid_field("email", "is not an email address");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "https://lanerunner.dev/problems/validation");
        assert_eq!(v["status"], 422);
        assert_eq!(v["errors"][0]["field"], "email");
        assert_eq!(p.kind(), "validation");
    }

    #[test]
    fn rate_limit_sets_retry_after_header() {
        let res = Problem::too_many_requests(42).into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "42");
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
}
