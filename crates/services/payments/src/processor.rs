//! The payment processor seam: who collects an invoice's money online. Stripe at scale
//! (adapted in the binary); embedded, none: invoices are settled by hand (a check, a wire)
//! and recorded by an accountant. The service never names a processor.

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
    /// An event LaneRunner does not act on.
    Other,
}

#[async_trait]
pub trait PaymentProcessor: Send + Sync {
    /// `stripe`, or `manual` when there is none.
    fn name(&self) -> &'static str;

    /// Opens a payment for an invoice; `None` when invoices are settled by hand.
    async fn open(&self, req: &IntentRequest<'_>) -> Result<Option<Intent>, ProcessorError>;

    /// What moved through the processor's balance from `from` to `to` (charges, refunds,
    /// disputes), for the daily reconciliation; nothing when invoices are settled by hand.
    async fn balance_movements(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<crate::reconcile::Movement>, ProcessorError>;

    /// Verifies a webhook's signature (before anything else) and reads its event.
    fn read_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ProcessorEvent, WebhookRejected>;
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

    async fn balance_movements(
        &self,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<Vec<crate::reconcile::Movement>, ProcessorError> {
        Ok(Vec::new())
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
}
