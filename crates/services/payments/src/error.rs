//! The payment service's errors and their problem+json mapping.

use lanerunner_platform::http::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// Dual control: the same person cannot ask and approve; an API key can do neither.
    #[error("{0}")]
    SeparationOfDuties(&'static str),
    /// The reference names another entry already (entry `0`), with other postings.
    #[error("this reference was recorded before with other postings (entry {0})")]
    ReferenceReused(uuid::Uuid),
    /// The request is sound but the invoice is not in a state that allows it.
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        title: &'static str,
        detail: String,
    },
    /// A webhook that is not the processor's (signature, age, shape): nothing applied.
    #[error("the webhook was refused: {0}")]
    WebhookRejected(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = PaymentsError> = std::result::Result<T, E>;

/// Money is for the organization's finance people: owners, admins and accountants; `why`
/// says so in the words of the part asked for.
pub fn finance_only(caller: &lanerunner_platform::http::Caller, why: &'static str) -> Result<()> {
    use lanerunner_core::Role;
    match caller.role {
        Role::Owner | Role::Admin | Role::Accountant => Ok(()),
        _ => Err(PaymentsError::Forbidden(why)),
    }
}

impl PaymentsError {
    /// A sound request the state of things does not allow (`409 <kind>`).
    pub fn conflict(kind: &'static str, title: &'static str, detail: String) -> Self {
        PaymentsError::Conflict {
            kind,
            title,
            detail,
        }
    }

    /// One field's complaint (`422 validation`).
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        PaymentsError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

impl From<lanerunner_platform::http::Invalid> for PaymentsError {
    fn from(i: lanerunner_platform::http::Invalid) -> Self {
        PaymentsError::Invalid(i.0)
    }
}

impl From<PaymentsError> for Problem {
    fn from(e: PaymentsError) -> Self {
        let text = e.to_string();
        match e {
            PaymentsError::Invalid(fields) => Problem::validation(fields),
            PaymentsError::NotFound(what) => Problem::not_found(what),
            PaymentsError::Forbidden(why) => Problem::forbidden(why),
            PaymentsError::SeparationOfDuties(why) => Problem::new(
                axum::http::StatusCode::FORBIDDEN,
                "separation-of-duties",
                "A second person must approve this",
            )
            .detail(why),
            PaymentsError::ReferenceReused(id) => {
                Problem::conflict("reference-reused", "Reference already recorded", text)
                    .with("entry_id", id)
            }
            PaymentsError::Conflict {
                kind,
                title,
                detail,
            } => Problem::conflict(kind, title, detail),
            PaymentsError::WebhookRejected(why) => Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "webhook-rejected",
                "Webhook refused",
            )
            .detail(why),
            PaymentsError::Unavailable(why) => Problem::unavailable(why),
            PaymentsError::Db(e) => Problem::from(e),
            PaymentsError::Internal(e) => Problem::internal(&format!("{e:#}")),
        }
    }
}
