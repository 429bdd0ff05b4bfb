//! The carriers service's errors and their problem+json mapping.

use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum CarrierError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("USDOT {0} is already declared by another organization")]
    NumberClaimed(u64),
    /// The registry could not be asked; nothing was recorded.
    #[error("the authority registry could not be asked: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = CarrierError> = std::result::Result<T, E>;

impl From<lanerunner_platform::http::Invalid> for CarrierError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        CarrierError::Invalid(i.0)
    }
}

impl From<CarrierError> for Problem {
    fn from(e: CarrierError) -> Self {
        match e {
            CarrierError::Invalid(fields) => Problem::validation(fields),
            CarrierError::NotFound(what) => Problem::not_found(what),
            CarrierError::Forbidden(why) => Problem::forbidden(why),
            e @ CarrierError::NumberClaimed(_) => Problem::conflict(
                "usdot-number-claimed",
                "The USDOT number belongs to another organization here",
                e.to_string(),
            ),
            e @ CarrierError::Unavailable(_) => Problem::unavailable(e.to_string()),
            CarrierError::Db(e) => Problem::from(e),
        }
    }
}
