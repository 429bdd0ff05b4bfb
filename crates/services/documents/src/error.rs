//! The documents service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::{FieldError, Problem};
use lanerunner_storage::error::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum DocumentsError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// The request is sound but the paperwork is not in a state that allows it.
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        title: &'static str,
        detail: String,
    },
    /// From the storage service: the file's type, its size, or storage being unavailable.
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the logo cannot be used: {0}")]
    Logo(#[from] lanerunner_paper::image::ImageError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = DocumentsError> = std::result::Result<T, E>;

impl From<lanerunner_platform::http::Invalid> for DocumentsError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        DocumentsError::Invalid(i.0)
    }
}

impl DocumentsError {
    pub fn conflict(kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        DocumentsError::Conflict {
            kind,
            title,
            detail: detail.into(),
        }
    }
}

impl From<DocumentsError> for Problem {
    fn from(e: DocumentsError) -> Self {
        let text = e.to_string();
        match e {
            DocumentsError::Invalid(fields) => Problem::validation(fields),
            DocumentsError::NotFound(what) => Problem::not_found(what),
            DocumentsError::Forbidden(why) => Problem::forbidden(why),
            DocumentsError::Conflict {
                kind,
                title,
                detail,
            } => Problem::new(StatusCode::CONFLICT, kind, title).detail(detail),
            DocumentsError::Storage(s) => Problem::from(s),
            DocumentsError::Logo(_) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "logo-not-usable",
                "The logo cannot be used",
            )
            .detail(text),
            DocumentsError::Db(e) => Problem::from(e),
            DocumentsError::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
