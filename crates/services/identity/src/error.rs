//! The identity service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::Problem;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("too many failed attempts; retry in {0} s")]
    Throttled(u64),
    #[error("the one-time code is wrong")]
    InvalidMfaCode,
    #[error("that one-time code was already used")]
    MfaCodeReplayed,
    #[error("{0}")]
    MfaState(&'static str),
    #[error("the {0} is invalid or expired")]
    InvalidToken(&'static str),
    #[error("this refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    ForbiddenDetail(String),
    #[error("{1}")]
    Conflict(&'static str, &'static str),
    /// A dependency the request cannot do without is away (the login throttle's cache):
    /// 503, try again shortly.
    #[error("{0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

pub fn invalid(field: &'static str, message: impl Into<String>) -> IdentityError {
    IdentityError::Invalid {
        field,
        message: message.into(),
    }
}

impl From<IdentityError> for Problem {
    fn from(e: IdentityError) -> Self {
        use IdentityError::*;
        let text = e.to_string();
        match e {
            Invalid { field, message } => Problem::invalid_field(field, message),
            EmailTaken => Problem::conflict("email-taken", "Email already registered", text),
            InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Invalid credentials",
            )
            .detail(text),
            Throttled(secs) => Problem::too_many_requests(secs),
            Unavailable(_) => Problem::unavailable(text).retry_after(5),
            InvalidMfaCode => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-mfa-code",
                "Invalid one-time code",
            )
            .detail(text),
            MfaCodeReplayed => Problem::new(
                StatusCode::UNAUTHORIZED,
                "mfa-code-replayed",
                "One-time code already used",
            )
            .detail(text),
            MfaState(_) => Problem::conflict("mfa-state", "MFA state does not allow this", text),
            InvalidToken(_) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-token",
                "Invalid or expired token",
            )
            .detail(text),
            RefreshTokenReused => Problem::new(
                StatusCode::UNAUTHORIZED,
                "refresh-token-reused",
                "Refresh token reused",
            )
            .detail(text),
            NotFound(what) => Problem::not_found(what),
            Forbidden(_) | ForbiddenDetail(_) => Problem::forbidden(text),
            Conflict(kind, _) => Problem::conflict(kind, "Conflict", text),
            Db(e) => Problem::from(e),
            Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
