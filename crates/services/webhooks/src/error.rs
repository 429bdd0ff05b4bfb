//! The webhooks service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum WebhooksError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        title: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = WebhooksError> = std::result::Result<T, E>;

impl From<lanerunner_platform::http::Invalid> for WebhooksError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        WebhooksError::Invalid(i.0)
    }
}

impl WebhooksError {
    pub fn conflict(kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        WebhooksError::Conflict {
            kind,
            title,
            detail: detail.into(),
        }
    }
}

impl From<WebhooksError> for Problem {
    fn from(e: WebhooksError) -> Self {
        match e {
            WebhooksError::Invalid(fields) => Problem::validation(fields),
            WebhooksError::NotFound(what) => Problem::not_found(what),
            WebhooksError::Conflict {
                kind,
                title,
                detail,
            } => Problem::new(StatusCode::CONFLICT, kind, title).detail(detail),
            WebhooksError::Db(e) => Problem::from(e),
            WebhooksError::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
