//! The identity service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Every invalid field of the input, each with what is wrong with it.
    #[error("{}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<(&'static str, String)>),
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
    /// 503 with what could not be reached.
    #[error("{0}")]
    UnavailableDetail(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

pub fn invalid(field: &'static str, message: impl Into<String>) -> IdentityError {
    IdentityError::Invalid(vec![(field, message.into())])
}

/// Collects the invalid fields of one input, so a request hears of all of them at once (the
/// loads service's shape), not one per attempt.
#[derive(Debug, Default)]
pub struct Violations {
    fields: Vec<(&'static str, String)>,
    /// The first failure of a check that is not about a field (say, the store was away):
    /// it wins over the fields, since the request could not be judged.
    other: Option<IdentityError>,
}

impl Violations {
    /// The value of a check that passed; a failed one is recorded.
    pub fn take<T>(&mut self, checked: Result<T>) -> Option<T> {
        match checked {
            Ok(v) => Some(v),
            Err(IdentityError::Invalid(mut fields)) => {
                self.fields.append(&mut fields);
                None
            }
            Err(other) => {
                self.other.get_or_insert(other);
                None
            }
        }
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.fields.push((field, message.into()));
    }

    pub fn finish(self) -> Result<()> {
        match self.other {
            Some(e) => Err(e),
            None if self.fields.is_empty() => Ok(()),
            None => Err(IdentityError::Invalid(self.fields)),
        }
    }
}

/// Both checks' values, or every field either of them found invalid.
pub fn both<A, B>(a: Result<A>, b: Result<B>) -> Result<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(IdentityError::Invalid(mut first)), Err(IdentityError::Invalid(second))) => {
            first.extend(second);
            Err(IdentityError::Invalid(first))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

impl From<IdentityError> for Problem {
    fn from(e: IdentityError) -> Self {
        use IdentityError::*;
        let text = e.to_string();
        match e {
            Invalid(fields) => Problem::validation(
                fields
                    .into_iter()
                    .map(|(field, message)| FieldError {
                        field: field.into(),
                        message,
                    })
                    .collect(),
            ),
            EmailTaken => Problem::conflict("email-taken", "Email already registered", text),
            InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Invalid credentials",
            )
            .detail(text),
            Throttled(secs) => Problem::too_many_requests(secs),
            Unavailable(_) | UnavailableDetail(_) => Problem::unavailable(text).retry_after(5),
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
