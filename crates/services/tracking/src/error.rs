//! The tracking service's errors and their problem+json mapping.

use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// A link that expired or was revoked.
    #[error("{0}")]
    Gone(&'static str),
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        title: &'static str,
        detail: String,
    },
    /// A webhook whose signature does not hold: nothing applied.
    #[error("the webhook was refused: {0}")]
    WebhookRejected(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = TrackingError> = std::result::Result<T, E>;

impl From<lanerunner_platform::http::Invalid> for TrackingError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        TrackingError::Invalid(i.0)
    }
}

impl From<TrackingError> for Problem {
    fn from(e: TrackingError) -> Self {
        match e {
            TrackingError::Invalid(fields) => Problem::validation(fields),
            TrackingError::NotFound(what) => Problem::not_found(what),
            TrackingError::Forbidden(why) => Problem::forbidden(why),
            TrackingError::Gone(why) => Problem::new(
                axum::http::StatusCode::GONE,
                "link-gone",
                "The link no longer works",
            )
            .detail(why),
            TrackingError::Conflict {
                kind,
                title,
                detail,
            } => Problem::conflict(kind, title, detail),
            TrackingError::WebhookRejected(why) => Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "webhook-rejected",
                "Webhook refused",
            )
            .detail(why),
            TrackingError::Db(e) => Problem::from(e),
            TrackingError::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
