//! The notifications service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// An inbound request that the provider did not sign.
    #[error("the request is not signed by the SMS provider")]
    Unsigned,
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        title: &'static str,
        detail: String,
    },
    /// The SMS provider could not be reached or refused for a passing reason.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A sealed number that does not open, or the store's keys cannot be read.
    #[error(transparent)]
    Sealing(#[from] lanerunner_platform::sealing::SealError),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = NotificationsError> = std::result::Result<T, E>;

impl From<lanerunner_platform::http::Invalid> for NotificationsError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        NotificationsError::Invalid(i.0)
    }
}

impl NotificationsError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut v = lanerunner_platform::http::Violations::default();
        v.add(field, message);
        match v.into_result(()) {
            Err(i) => i.into(),
            Ok(()) => NotificationsError::Internal(anyhow::anyhow!("an empty violation")),
        }
    }
}

impl From<NotificationsError> for Problem {
    fn from(e: NotificationsError) -> Self {
        match e {
            NotificationsError::Invalid(fields) => Problem::validation(fields),
            NotificationsError::NotFound(what) => Problem::not_found(what),
            NotificationsError::Forbidden(why) => Problem::forbidden(why),
            NotificationsError::Unsigned => Problem::new(
                StatusCode::FORBIDDEN,
                "webhook-rejected",
                "The request is not signed by the SMS provider",
            )
            .detail(
                "X-Twilio-Signature is missing or does not match this URL and these parameters",
            ),
            NotificationsError::Conflict {
                kind,
                title,
                detail,
            } => Problem::new(StatusCode::CONFLICT, kind, title).detail(detail),
            NotificationsError::Unavailable(why) => Problem::unavailable(why),
            NotificationsError::Db(e) => Problem::from(e),
            NotificationsError::Sealing(e) => Problem::internal(&e.to_string()),
            NotificationsError::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
