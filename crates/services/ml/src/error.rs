//! The rate model service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_platform::http::{FieldError, Problem};
use lanerunner_ratemodel::ArtifactError;

#[derive(Debug, thiserror::Error)]
pub enum MlError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("no rate model is active")]
    NoModel,
    #[error("no model version {0:?}")]
    UnknownVersion(String),
    #[error("no version was active before the current one: nothing to roll back to")]
    NothingToRollBack,
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("the geocoder is unavailable: {0}")]
    Geocoder(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = MlError> = std::result::Result<T, E>;

impl From<MlError> for Problem {
    fn from(e: MlError) -> Self {
        match e {
            MlError::Invalid(fields) => Problem::validation(fields),
            MlError::NoModel => Problem::unavailable(
                "no rate model is active yet: an operator trains one (`lanerunner ml train`) and publishes it (`lanerunner ml publish --activate`)",
            ),
            MlError::UnknownVersion(v) => {
                Problem::not_found(&format!("model version {v:?}"))
            }
            MlError::NothingToRollBack => Problem::conflict(
                "nothing-to-roll-back",
                "Nothing to roll back to",
                "no version was active before the current one",
            ),
            MlError::Artifact(e) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-model",
                "The model file was refused",
            )
            .detail(e.to_string()),
            MlError::Geocoder(e) => Problem::unavailable(format!("the geocoder is unavailable: {e}")),
            MlError::Db(e) => Problem::from(e),
            MlError::Internal(e) => Problem::internal(&e),
        }
    }
}

pub use lanerunner_platform::http::Violations;

impl From<lanerunner_platform::http::Invalid> for MlError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        MlError::Invalid(i.0)
    }
}
