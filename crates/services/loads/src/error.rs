//! The loads service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::{FieldError, Problem};
use serde_json::json;

use crate::domain::csv_import::RowError;
use crate::domain::{LoadStatus, TransitionError, Violations};
use crate::store::{CorruptRow, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LoadsError {
    #[error("{0}")]
    Invalid(Violations),
    #[error("{} rows are invalid; nothing was imported", .0.len())]
    Import(Vec<RowError>),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Transition(TransitionError),
    #[error("a {0} load can no longer be edited")]
    NotEditable(LoadStatus),
    #[error("the load changed since you read it (now version {current})")]
    VersionMismatch { current: i64 },
    #[error("send If-Match with the load's ETag to change it")]
    PreconditionRequired,
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyMismatch,
    #[error("a request with this Idempotency-Key is still being processed; retry shortly")]
    IdempotencyInFlight,
    #[error("places cannot be resolved right now: {0}")]
    GeocoderUnavailable(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A stored row that cannot be read: the server's fault, never a default value.
    #[error(transparent)]
    Corrupt(#[from] CorruptRow),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = LoadsError> = std::result::Result<T, E>;

fn field_errors(v: &Violations) -> Vec<FieldError> {
    v.0.iter()
        .map(|e| FieldError {
            field: e.field.clone(),
            message: e.message.clone(),
        })
        .collect()
}

impl From<StoreError> for LoadsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(e) => LoadsError::Db(e),
            StoreError::Corrupt(c) => LoadsError::Corrupt(c),
        }
    }
}

impl From<Violations> for LoadsError {
    fn from(v: Violations) -> Self {
        match v.0.iter().find(|e| e.unavailable) {
            Some(e) => LoadsError::GeocoderUnavailable(e.message.clone()),
            None => LoadsError::Invalid(v),
        }
    }
}

impl From<LoadsError> for Problem {
    fn from(e: LoadsError) -> Self {
        use LoadsError::*;
        let text = e.to_string();
        match e {
            Invalid(v) => {
                let mut p = Problem::validation(field_errors(&v));
                let suggestions: serde_json::Map<String, serde_json::Value> =
                    v.0.iter()
                        .filter(|e| !e.suggestions.is_empty())
                        .map(|e| (e.field.clone(), json!(e.suggestions)))
                        .collect();
                if !suggestions.is_empty() {
                    p = p.with("suggestions", suggestions);
                }
                p
            }
            Import(rows) => {
                let report: Vec<_> = rows
                    .iter()
                    .map(|r| json!({ "row": r.row, "errors": field_errors(&r.errors) }))
                    .collect();
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "import-rejected",
                    "The import was rejected",
                )
                .detail(text)
                .with("rows", report)
            }
            GeocoderUnavailable(_) => Problem::unavailable(text).retry_after(10),
            NotFound(what) => Problem::not_found(what),
            Forbidden(_) => Problem::forbidden(text),
            Transition(t) => Problem::conflict("illegal-transition", "Illegal status change", text)
                .with("current_state", t.from.as_str())
                .with("event", t.event.as_str()),
            NotEditable(s) => {
                Problem::conflict("not-editable", "The load can no longer be edited", text)
                    .with("current_state", s.as_str())
            }
            VersionMismatch { current } => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "The load has changed",
            )
            .detail(text)
            .with("current_version", current),
            PreconditionRequired => Problem::new(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "If-Match required",
            )
            .detail(text),
            IdempotencyMismatch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
            )
            .detail(text),
            IdempotencyInFlight => {
                Problem::conflict("idempotency-in-flight", "Idempotency-Key in use", text)
                    .retry_after(1)
            }
            Db(e) => Problem::from(e),
            // Logged with the table, the row id and the column (the client sees none of it).
            Corrupt(c) => Problem::internal(&c),
            Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
