//! The matching service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::Problem;

#[derive(Debug, thiserror::Error)]
pub enum MatchingError {
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("the {what} is {status}: only {open} {what}s are matched")]
    NotOpen {
        what: &'static str,
        status: String,
        open: &'static str,
    },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = MatchingError> = std::result::Result<T, E>;

impl From<MatchingError> for Problem {
    fn from(e: MatchingError) -> Self {
        use MatchingError::*;
        let text = e.to_string();
        match e {
            NotFound(what) => Problem::not_found(what),
            NotOpen { status, .. } => Problem::new(
                StatusCode::CONFLICT,
                "not-matchable",
                "Not open for matching",
            )
            .detail(text)
            .with("current_state", status),
            Forbidden(_) => Problem::forbidden(text),
            Db(e) => Problem::from(e),
            Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
