//! The payment processor seam: who collects an invoice's money online and pays carriers
//! out. Stripe at scale (adapted in the binary: PaymentIntents, Connect); embedded, none:
//! invoices and carriers are settled by hand (a check, a wire) and recorded by an
//! accountant. The service never names a processor.

use async_trait::async_trait;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

/// What an invoice asks the processor for.
#[derive(Debug, Clone)]
pub struct IntentRequest<'a> {
    pub invoice_id: uuid::Uuid,
    pub invoice_number: &'a str,
    pub amount_cents: i64,
    /// Uppercase ISO code (`USD`).
    pub currency: &'a str,
    pub customer_email: &'a str,
    /// The processor is asked never to act twice for one key (a retried request).
    pub idempotency_key: String,
}

/// A payment the client completes with the processor's own page or widget (card or bank
/// details never reach LaneRunner).
#[derive(Debug, Clone)]
pub struct Intent {
    pub id: String,
    pub client_secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessorError {
    /// The processor refused the request (it will refuse it again).
    #[error("the payment processor refused: {0}")]
    Refused(String),
    /// The processor could not be reached: try again later.
    #[error("the payment processor is unavailable: {0}")]
    Unavailable(String),
}

/// A webhook that is not the processor's, or not readable: nothing is applied.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WebhookRejected(pub String);

/// One event from the processor, verified.
#[derive(Debug, Clone)]
pub struct ProcessorEvent {
    /// The processor's event id: an event is applied once.
    pub id: String,
    pub kind: String,
    pub created: DateTime<Utc>,
    pub fact: Fact,
}

/// What an event says happened, in the ledger's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    PaymentSucceeded {
        intent_id: String,
        /// The charge that moved the money (what the processor's balance shows).
        charge_id: Option<String>,
        amount_cents: i64,
        currency: String,
    },
    PaymentFailed {
        intent_id: String,
        reason: Option<String>,
    },
    /// Refunds of the payment, each by its id and amount: one event may repeat refunds
    /// another reported, so each is applied once whatever the order.
    Refunded {
        intent_id: String,
        refunds: Vec<(String, i64)>,
        currency: String,
    },
    DisputeOpened {
        intent_id: String,
        dispute_id: String,
        amount_cents: i64,
        currency: String,
    },
    /// A carrier's connected account changed (onboarding finished, details requested).
    AccountUpdated {
        account_id: String,
        status: PayeeStatus,
        currently_due: Vec<String>,
    },
    /// A payout reached the carrier's bank.
    PayoutPaid {
        account_id: Option<String>,
        payout_id: String,
    },
    /// The bank returned a payout; the money is back on the carrier's connected account.
    PayoutFailed {
        account_id: Option<String>,
        payout_id: String,
        reason: Option<String>,
    },
    /// An event LaneRunner does not act on.
    Other,
}

/// Where a carrier's account with the processor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayeeStatus {
    /// Opened; the carrier has not finished the processor's onboarding.
    Onboarding,
    /// Takes transfers and pays out to the carrier's bank.
    Ready,
    /// Onboarded once, now held back (details the processor asks for again).
    Restricted,
}

impl PayeeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PayeeStatus::Onboarding => "onboarding",
            PayeeStatus::Ready => "ready",
            PayeeStatus::Restricted => "restricted",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "ready" => PayeeStatus::Ready,
            "restricted" => PayeeStatus::Restricted,
            _ => PayeeStatus::Onboarding,
        }
    }
}

/// A carrier's account with the processor.
#[derive(Debug, Clone)]
pub struct PayeeAccount {
    pub id: String,
    pub status: PayeeStatus,
    /// What the processor still needs from the carrier.
    pub currently_due: Vec<String>,
}

/// Where the carrier finishes onboarding, on the processor's own pages.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OnboardingLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Money for one load's payout, from the platform's balance to the carrier's account.
#[derive(Debug, Clone)]
pub struct TransferRequest<'a> {
    pub payout_id: uuid::Uuid,
    pub account_id: &'a str,
    pub amount_cents: i64,
    /// Uppercase ISO code (`USD`).
    pub currency: &'a str,
    /// The load's reference: what the carrier sees it as.
    pub reference: &'a str,
    /// The processor is asked never to act twice for one key.
    pub idempotency_key: String,
}

#[async_trait]
pub trait PaymentProcessor: Send + Sync {
    /// `stripe`, or `manual` when there is none.
    fn name(&self) -> &'static str;

    /// Opens a payment for an invoice; `None` when invoices are settled by hand.
    async fn open(&self, req: &IntentRequest<'_>) -> Result<Option<Intent>, ProcessorError>;

    /// What moved through the processor's balance from `from` to `to` (charges, refunds,
    /// disputes, transfers) and the fees it took, for the daily reconciliation; nothing
    /// when everything is settled by hand.
    async fn balance_history(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<crate::reconcile::BalanceHistory, ProcessorError>;

    /// Verifies a webhook's signature (before anything else) and reads its event.
    fn read_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ProcessorEvent, WebhookRejected>;

    /// Opens an account for a carrier to be paid into, once per key.
    async fn open_payee_account(
        &self,
        org: uuid::Uuid,
        idempotency_key: &str,
    ) -> Result<PayeeAccount, ProcessorError>;

    /// The account as the processor sees it now.
    async fn payee_account(&self, id: &str) -> Result<PayeeAccount, ProcessorError>;

    /// A link to the processor's onboarding for the account: `return_url` when it is
    /// finished, `refresh_url` when the link has expired or was used.
    async fn onboarding_link(
        &self,
        id: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<OnboardingLink, ProcessorError>;

    /// Moves a payout's money to the carrier's account; the processor's transfer id.
    async fn transfer(&self, req: &TransferRequest<'_>) -> Result<String, ProcessorError>;

    /// Pays what a transfer brought out to the carrier's bank; the processor's payout id.
    async fn pay_out(&self, req: &TransferRequest<'_>) -> Result<String, ProcessorError>;
}

fn none<T>() -> Result<T, ProcessorError> {
    Err(ProcessorError::Refused(
        "no payment processor is configured (payments.processor)".into(),
    ))
}

/// No processor: invoices are paid outside LaneRunner and recorded by an accountant.
pub struct Manual;

#[async_trait]
impl PaymentProcessor for Manual {
    fn name(&self) -> &'static str {
        "manual"
    }

    async fn open(&self, _: &IntentRequest<'_>) -> Result<Option<Intent>, ProcessorError> {
        Ok(None)
    }

    async fn balance_history(
        &self,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<crate::reconcile::BalanceHistory, ProcessorError> {
        Ok(Default::default())
    }

    fn read_webhook(
        &self,
        _: &HeaderMap,
        _: &[u8],
        _: DateTime<Utc>,
    ) -> Result<ProcessorEvent, WebhookRejected> {
        Err(WebhookRejected(
            "no payment processor is configured (payments.processor)".into(),
        ))
    }

    async fn open_payee_account(
        &self,
        _: uuid::Uuid,
        _: &str,
    ) -> Result<PayeeAccount, ProcessorError> {
        none()
    }

    async fn payee_account(&self, _: &str) -> Result<PayeeAccount, ProcessorError> {
        none()
    }

    async fn onboarding_link(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<OnboardingLink, ProcessorError> {
        none()
    }

    async fn transfer(&self, _: &TransferRequest<'_>) -> Result<String, ProcessorError> {
        none()
    }

    async fn pay_out(&self, _: &TransferRequest<'_>) -> Result<String, ProcessorError> {
        none()
    }
}
