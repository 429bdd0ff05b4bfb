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

/// Every invalid field of a request, collected before answering (one shape everywhere:
/// the client fixes them all at once).
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn into_result<T>(self, ok: T) -> Result<T> {
        if self.0.is_empty() {
            Ok(ok)
        } else {
            Err(AnalyticsError::Invalid(self.0))
        }
    }
}
