//! The negotiation service's errors and their problem+json mapping.

use axum::http::StatusCode;
use lanerunner_negotiation::protocol::ProtocolError;
use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum NegotiationError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("only carriers open negotiations on loads")]
    NotACarrier,
    #[error("{0}")]
    Forbidden(&'static str),
    /// The carrier's authority does not satisfy the broker (failed, or unverified where the
    /// broker requires verification).
    #[error("{0}")]
    NotVetted(String),
    #[error("the load is {0}: it cannot be negotiated")]
    LoadNotOpen(String),
    #[error("a negotiation on this load is already open with your organization")]
    AlreadyOpen(uuid::Uuid),
    #[error("the load was booked by another carrier")]
    LoadTaken,
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The text did not say something the service can act on without guessing.
    #[error("{0}")]
    Unclear(String),
    #[error("the negotiation changed while this move was made; try again")]
    Contended,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// An agent's turn failed (its store, or a state that cannot be read).
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

pub type Result<T, E = NegotiationError> = std::result::Result<T, E>;

pub use lanerunner_platform::http::Violations;

impl From<lanerunner_platform::http::Invalid> for NegotiationError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        NegotiationError::Invalid(i.0)
    }
}

impl From<NegotiationError> for Problem {
    fn from(e: NegotiationError) -> Self {
        let conflict =
            |kind: &str, title: &str, detail: String| Problem::conflict(kind, title, detail);
        match e {
            NegotiationError::Invalid(fields) => Problem::validation(fields),
            NegotiationError::NotFound(what) => Problem::not_found(what),
            NegotiationError::NotACarrier => {
                Problem::forbidden("only carriers open negotiations on loads")
            }
            NegotiationError::Forbidden(why) => Problem::forbidden(why),
            NegotiationError::NotVetted(why) => Problem::new(
                StatusCode::FORBIDDEN,
                "carrier-not-vetted",
                "The carrier is not vetted for this broker's loads",
            )
            .detail(why),
            e @ NegotiationError::LoadNotOpen(_) => conflict(
                "load-not-open",
                "The load cannot be negotiated",
                e.to_string(),
            ),
            NegotiationError::AlreadyOpen(id) => conflict(
                "negotiation-already-open",
                "A negotiation is already open",
                format!("continue negotiation {id}"),
            )
            .with("negotiation_id", id),
            e @ NegotiationError::LoadTaken => conflict(
                "load-taken",
                "The load was booked by another carrier",
                e.to_string(),
            ),
            NegotiationError::Protocol(p) => match p {
                ProtocolError::AmountOutOfRange { .. }
                | ProtocolError::RepeatedAccessorial
                | ProtocolError::BadExpiry
                | ProtocolError::BadTerms => Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-move",
                    "The move is not valid",
                )
                .detail(p.to_string()),
                _ => conflict("move-refused", "The move is not allowed now", p.to_string()),
            },
            NegotiationError::Unclear(question) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unclear-message",
                "The message does not say a rate, a yes or a no",
            )
            .detail(question),
            e @ NegotiationError::Contended => conflict("contended", "Try again", e.to_string()),
            NegotiationError::Db(e) => Problem::from(e),
            NegotiationError::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
