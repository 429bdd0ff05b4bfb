//! The storage service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::{FieldError, Problem};

use crate::link::LinkError;
use crate::sniff::SniffError;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the file is {size} bytes; at most {max} are accepted")]
    TooLarge { size: usize, max: usize },
    #[error(transparent)]
    Content(#[from] SniffError),
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Stored bytes that no longer match what was stored: never served.
    #[error("object {0} is damaged: {1}")]
    Damaged(uuid::Uuid, &'static str),
    /// The blob store or the keyring could not be reached: nothing was changed.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

impl From<lanerunner_platform::http::Invalid> for StorageError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        StorageError::Invalid(i.0)
    }
}

impl From<StorageError> for Problem {
    fn from(e: StorageError) -> Self {
        let text = e.to_string();
        match e {
            StorageError::Invalid(fields) => Problem::validation(fields),
            StorageError::NotFound(what) => Problem::not_found(what),
            StorageError::Forbidden(why) => Problem::forbidden(why),
            StorageError::TooLarge { max, .. } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file-too-large",
                "File too large",
            )
            .detail(text)
            .with("max_bytes", max),
            StorageError::Content(SniffError::Empty) => Problem::invalid_field("file", "is empty"),
            StorageError::Content(c @ SniffError::NotAccepted { .. }) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "file-type-not-accepted",
                "File type not accepted",
            )
            .detail(c.to_string())
            .with(
                "accepted",
                crate::sniff::ACCEPTED
                    .iter()
                    .map(|(m, _)| *m)
                    .collect::<Vec<_>>(),
            ),
            StorageError::Content(c @ SniffError::Mismatch { .. }) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content-type-mismatch",
                "The file is not what it was sent as",
            )
            .detail(c.to_string()),
            StorageError::Link(LinkError::Expired) => {
                Problem::new(StatusCode::GONE, "link-expired", "Link expired")
                    .detail("Ask for a new link to download this file.")
            }
            // An invalid link says no more than "not found": it proves nothing about the file.
            StorageError::Link(LinkError::Invalid) => Problem::not_found("file"),
            StorageError::Damaged(id, why) => {
                tracing::error!(object_id = %id, problem = why, "a stored object failed its integrity check");
                Problem::internal(&text)
            }
            StorageError::Unavailable(why) => Problem::unavailable(why),
            StorageError::Db(e) => Problem::from(e),
        }
    }
}
