//! The analytics service's errors and their problem+json mapping.

use lanerunner_platform::http::FieldError;
use lanerunner_platform::http::Problem;

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;

impl From<AnalyticsError> for Problem {
    fn from(e: AnalyticsError) -> Self {
        match e {
            AnalyticsError::Invalid(fields) => Problem::validation(fields),
            AnalyticsError::Db(e) => Problem::from(e),
        }
    }
}

pub use lanerunner_platform::http::Violations;

impl From<lanerunner_platform::http::Invalid> for AnalyticsError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        AnalyticsError::Invalid(i.0)
    }
}
