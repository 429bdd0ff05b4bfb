//! What clients see of the ledger.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::ledger::store::{BalanceRow, EntryRow, PostingRow};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BalanceView {
    pub account: String,
    pub currency: String,
    /// Debits minus credits, in cents.
    pub balance_cents: i64,
    pub postings: i64,
}

impl From<BalanceRow> for BalanceView {
    fn from(b: BalanceRow) -> Self {
        Self {
            account: b.account,
            currency: b.currency,
            balance_cents: b.balance_cents,
            postings: b.postings,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PostingView {
    pub account: String,
    pub currency: String,
    /// Positive: debit; negative: credit.
    pub amount_cents: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub id: Uuid,
    pub kind: String,
    pub reference: String,
    pub memo: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: Option<Uuid>,
    pub postings: Vec<PostingView>,
}

impl EntryView {
    pub fn new(e: EntryRow, postings: Vec<PostingRow>) -> Self {
        Self {
            id: e.id,
            kind: e.kind,
            reference: e.reference,
            memo: e.memo,
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
            recorded_by: e.recorded_by,
            postings: postings
                .into_iter()
                .map(|p| PostingView {
                    account: p.account,
                    currency: p.currency,
                    amount_cents: p.amount_cents,
                })
                .collect(),
        }
    }
}

/// An invoice, with its payment's state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    pub id: Uuid,
    pub load_id: Uuid,
    pub number: String,
    pub customer_name: String,
    pub customer_email: String,
    pub currency: String,
    pub lines: Vec<crate::invoices::domain::Line>,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub refunded_cents: i64,
    pub disputed_cents: i64,
    /// `open`, `partially_paid`, `paid`, `refunded` or `disputed`.
    pub status: &'static str,
    pub failed_attempts: i32,
    pub last_failure: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// How it is paid online (`stripe`), when a processor is configured.
    pub processor: Option<String>,
    /// The processor's payment (a Stripe PaymentIntent id).
    pub payment_id: Option<String>,
    /// What the client confirms the payment with (Stripe Elements or Checkout); card and
    /// bank details go to the processor, never to LaneRunner.
    pub client_secret: Option<String>,
}

impl From<&crate::invoices::store::InvoiceRow> for InvoiceView {
    fn from(r: &crate::invoices::store::InvoiceRow) -> Self {
        InvoiceView {
            id: r.id,
            load_id: r.load_id,
            number: r.number.clone(),
            customer_name: r.customer_name.clone(),
            customer_email: r.customer_email.clone(),
            currency: r.currency.clone(),
            lines: serde_json::from_str(&r.lines).unwrap_or_default(),
            amount_cents: r.amount_cents,
            paid_cents: r.paid_cents,
            refunded_cents: r.refunded_cents,
            disputed_cents: r.disputed_cents,
            status: crate::invoices::domain::status(
                r.amount_cents,
                r.paid_cents,
                r.refunded_cents,
                r.disputed_cents,
            ),
            failed_attempts: r.failed_attempts,
            last_failure: r.last_failure.clone(),
            issued_at: r.issued_at,
            due_at: r.due_at,
            paid_at: r.paid_at,
            processor: r.processor.clone(),
            payment_id: r.processor_intent_id.clone(),
            client_secret: r.client_secret.clone(),
        }
    }
}
