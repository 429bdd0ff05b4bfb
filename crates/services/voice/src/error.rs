//! The voice service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// A webhook the telephony provider did not sign.
    #[error("the request is not signed by the telephony provider")]
    Unsigned,
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

pub type Result<T, E = VoiceError> = std::result::Result<T, E>;

/// A number that cannot be sealed or opened (a missing or retired data key) is the
/// platform's failure, not the caller's.
impl From<lanerunner_platform::sealing::SealError> for VoiceError {
    fn from(e: lanerunner_platform::sealing::SealError) -> Self {
        VoiceError::Internal(e.into())
    }
}

impl From<lanerunner_platform::http::Invalid> for VoiceError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        VoiceError::Invalid(i.0)
    }
}

impl VoiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut v = lanerunner_platform::http::Violations::default();
        v.add(field, message);
        match v.into_result(()) {
            Err(i) => i.into(),
            Ok(()) => VoiceError::Internal(anyhow::anyhow!("an empty violation")),
        }
    }
}

impl From<VoiceError> for Problem {
    fn from(e: VoiceError) -> Self {
        match e {
            VoiceError::Invalid(fields) => Problem::validation(fields),
            VoiceError::NotFound(what) => Problem::not_found(what),
            VoiceError::Forbidden(why) => Problem::forbidden(why),
            VoiceError::Unsigned => Problem::new(
                StatusCode::FORBIDDEN,
                "webhook-rejected",
                "The request is not signed by the telephony provider",
            )
            .detail(
                "X-Twilio-Signature is missing or does not match this URL and these parameters",
            ),
            VoiceError::Conflict {
                kind,
                title,
                detail,
            } => Problem::new(StatusCode::CONFLICT, kind, title).detail(detail),
            VoiceError::Db(e) => Problem::from(e),
            VoiceError::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
