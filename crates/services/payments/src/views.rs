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
