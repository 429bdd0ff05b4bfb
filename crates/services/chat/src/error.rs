//! The chat service's errors and their problem+json mapping.

use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = ChatError> = std::result::Result<T, E>;

pub use lanerunner_platform::http::Violations;

impl From<lanerunner_platform::http::Invalid> for ChatError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        ChatError::Invalid(i.0)
    }
}

impl From<ChatError> for Problem {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Invalid(fields) => Problem::validation(fields),
            ChatError::NotFound(what) => Problem::not_found(what),
            ChatError::Forbidden(why) => Problem::forbidden(why),
            ChatError::Db(e) => Problem::from(e),
        }
    }
}
