//! What the payment service consumes and publishes.

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::invoices::domain::Line;
use crate::invoices::store::InvoiceRow;

/// Consumed: a load's paperwork is complete; it may be invoiced and its carrier is owed.
pub const CHECKLIST_COMPLETED: EventType = EventType::new("documents.checklist_completed", 1);
/// Published: an invoice was issued (the documents service renders its PDF).
pub const INVOICE_ISSUED: EventType = EventType::new("payments.invoice_issued", 1);

pub fn consumed_topics() -> Vec<String> {
    vec![CHECKLIST_COMPLETED.topic()]
}

/// `documents.checklist_completed.v1`, the fields payments needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ChecklistCompleted {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub reference: String,
    pub rate_cents: i64,
    pub completed_at: DateTime<Utc>,
}

/// `payments.invoice_issued.v1`.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceIssued {
    pub invoice_id: Uuid,
    pub org_id: Uuid,
    pub load_id: Uuid,
    pub number: String,
    pub customer_name: String,
    pub customer_email: String,
    pub currency: String,
    pub lines: Vec<Line>,
    pub amount_cents: i64,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

impl From<&InvoiceRow> for InvoiceIssued {
    fn from(r: &InvoiceRow) -> Self {
        InvoiceIssued {
            invoice_id: r.id,
            org_id: r.org_id,
            load_id: r.load_id,
            number: r.number.clone(),
            customer_name: r.customer_name.clone(),
            customer_email: r.customer_email.clone(),
            currency: r.currency.clone(),
            lines: serde_json::from_str(&r.lines).unwrap_or_default(),
            amount_cents: r.amount_cents,
            issued_at: r.issued_at,
            due_at: r.due_at,
        }
    }
}
