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

/// A carrier payout, seen by the broker that pays it or the carrier paid.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayoutView {
    pub id: Uuid,
    pub load_id: Uuid,
    pub reference: String,
    /// `payer` (the caller pays it) or `payee` (the caller is paid).
    pub side: &'static str,
    pub payer_org_id: Uuid,
    pub payee_org_id: Uuid,
    pub currency: String,
    /// The load's rate.
    pub amount_cents: i64,
    /// Quick pay's fee, once chosen.
    pub fee_cents: i64,
    /// What reaches the carrier.
    pub net_cents: i64,
    /// `offered` (standard terms apply when it falls due unless the carrier chooses),
    /// `scheduled`, `sending`, `transferred` (on the carrier's account with the processor,
    /// on its way to the bank), `paid`.
    pub status: String,
    /// `standard` or `quick_pay`.
    pub choice: Option<String>,
    /// What the carrier may still choose (while `offered`).
    pub offers: Vec<crate::payouts::domain::Offer>,
    /// The terms as offered.
    pub standard_days: i64,
    pub quick_pay_fee_bps: Option<i64>,
    /// When it is (or was) to be sent.
    pub due_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub chosen_at: Option<DateTime<Utc>>,
    pub transferred_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    /// The processor's transfer to the carrier's account, and its payout to the bank.
    pub transfer_id: Option<String>,
    pub processor_payout_id: Option<String>,
    /// The bank reference of a payout recorded by hand.
    pub manual_reference: Option<String>,
    /// Why the last attempt to send it failed (it is tried again).
    pub last_failure: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl PayoutView {
    pub fn new(
        r: &crate::payouts::store::PayoutRow,
        caller: lanerunner_core::OrgId,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: r.id,
            load_id: r.load_id,
            reference: r.reference.clone(),
            side: if r.payer_org_id == caller.0 {
                "payer"
            } else {
                "payee"
            },
            payer_org_id: r.payer_org_id,
            payee_org_id: r.payee_org_id,
            currency: r.currency.clone(),
            amount_cents: r.amount_cents,
            fee_cents: r.fee_cents,
            net_cents: r.net_cents(),
            status: r.status.clone(),
            choice: r.choice.clone(),
            offers: if r.status == "offered" {
                crate::payouts::domain::offers(
                    r.amount_cents,
                    r.standard_days,
                    r.quick_pay_fee_bps,
                    r.completed_at,
                    now,
                )
            } else {
                Vec::new()
            },
            standard_days: r.standard_days,
            quick_pay_fee_bps: r.quick_pay_fee_bps,
            due_at: r.due_at,
            completed_at: r.completed_at,
            chosen_at: r.chosen_at,
            transferred_at: r.transferred_at,
            paid_at: r.paid_at,
            transfer_id: r.transfer_id.clone(),
            processor_payout_id: r.processor_payout_id.clone(),
            manual_reference: r.manual_reference.clone(),
            last_failure: r.last_failure.clone(),
            next_attempt_at: r.next_attempt_at,
        }
    }
}

/// A carrier's account with the payment processor, where its payouts go.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayeeAccountView {
    /// `none` (not opened), `onboarding`, `ready`, `restricted`.
    pub status: String,
    /// `stripe`, or `manual` when brokers pay carriers by hand.
    pub processor: String,
    pub account_id: Option<String>,
    /// What the processor still needs from the carrier.
    pub currently_due: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl PayeeAccountView {
    pub fn none(processor: &str) -> Self {
        Self {
            status: "none".into(),
            processor: processor.into(),
            account_id: None,
            currently_due: Vec::new(),
            updated_at: None,
        }
    }
}

impl From<&crate::payouts::store::PayeeRow> for PayeeAccountView {
    fn from(r: &crate::payouts::store::PayeeRow) -> Self {
        Self {
            status: r.status.clone(),
            processor: r.processor.clone(),
            account_id: Some(r.account_id.clone()),
            currently_due: r
                .currently_due
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            updated_at: Some(r.updated_at),
        }
    }
}

/// A request under dual control (`GET /v1/payments/approvals/{id}`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApprovalView {
    pub id: Uuid,
    /// `payout_paid_by_hand`, `ledger_adjustment`, `payout_terms`, `dual_control_off`
    /// (and `dual_control_on`, recorded as decided by the person who turned it on).
    pub kind: String,
    pub summary: String,
    /// The action as asked for; carried out as it is on approval.
    #[schema(value_type = Object)]
    pub action: serde_json::Value,
    /// `pending`, `approved`, `rejected`, `withdrawn`, `expired`.
    pub status: String,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// What the approved action made (`payout_id`, `entry_id`, `terms`, `dual_control`).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
}

impl ApprovalView {
    pub fn new(r: &crate::approvals::store::ApprovalRow, now: DateTime<Utc>) -> Self {
        let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
        Self {
            id: r.id,
            kind: r.kind.clone(),
            summary: r.summary.clone(),
            action: json(&r.action),
            status: crate::approvals::domain::shown_status(&r.status, r.expires_at, now)
                .to_string(),
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            expires_at: r.expires_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            reason: r.reason.clone(),
            result: r.result.as_deref().map(json),
        }
    }
}

/// `GET /v1/payments/controls`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ControlsView {
    /// On: actions on money by hand need a second person's approval.
    pub dual_control: bool,
    pub changed_by: Option<Uuid>,
    pub changed_at: Option<DateTime<Utc>>,
}

impl ControlsView {
    pub fn new(row: Option<crate::approvals::store::ControlsRow>) -> Self {
        match row {
            Some(r) => Self {
                dual_control: r.dual_control,
                changed_by: Some(r.changed_by),
                changed_at: Some(r.changed_at),
            },
            None => Self {
                dual_control: false,
                changed_by: None,
                changed_at: None,
            },
        }
    }
}
