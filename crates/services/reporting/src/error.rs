//! The reporting service's errors and their problem+json mapping.

use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("a viewer cannot change the organization's report schedules")]
    ViewerCannotSchedule,
    /// The figures or the file store could not be reached; nothing was recorded.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

impl From<ReportError> for Problem {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Invalid(fields) => Problem::validation(fields),
            ReportError::NotFound(what) => Problem::not_found(what),
            ReportError::ViewerCannotSchedule => Problem::forbidden(
                "a viewer cannot create or delete the organization's report schedules",
            ),
            ReportError::Unavailable(detail) => Problem::unavailable(detail),
            ReportError::Db(e) => Problem::from(e),
        }
    }
}

pub use lanerunner_platform::http::Violations;

impl From<lanerunner_platform::http::Invalid> for ReportError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        ReportError::Invalid(i.0)
    }
}
