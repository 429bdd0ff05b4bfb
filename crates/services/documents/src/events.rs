//! What the documents service consumes (tolerant types of its own, checked against the
//! publishers by the contract tests) and what it publishes.

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A covered load with its rate: the rate confirmation and bill of lading follow.
pub const LOAD_BOOKED: EventType = EventType::new("load.booked", 1);
/// Where the load is: delivery opens the proof-of-delivery item of the checklist.
pub const LOAD_STATUS_CHANGED: EventType = EventType::new("load.status_changed", 1);
/// Organizations' names, for letterheads.
pub const ORG_CREATED: EventType = EventType::new("identity.org_created", 1);
/// Carriers' USDOT and MC numbers, for the rate confirmation.
pub const CARRIER_STANDING: EventType = EventType::new("carrier.standing", 1);

/// An invoice was issued: its PDF is rendered and attached to the load.
pub const INVOICE_ISSUED: EventType = EventType::new("payments.invoice_issued", 1);

/// Every required document of a load is present and signed where it must be.
pub const CHECKLIST_COMPLETED: EventType = EventType::new("documents.checklist_completed", 1);
/// A document was signed; its signed version is attached to the load.
pub const DOCUMENT_SIGNED: EventType = EventType::new("documents.signed", 1);

pub fn consumed_topics() -> Vec<String> {
    [
        LOAD_BOOKED,
        LOAD_STATUS_CHANGED,
        ORG_CREATED,
        CARRIER_STANDING,
        INVOICE_ISSUED,
    ]
    .iter()
    .map(EventType::topic)
    .collect()
}

/// `load.booked.v1`: the parties, the rate, and the load's public terms.
#[derive(Debug, Clone, Deserialize)]
pub struct LoadBooked {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub rate_cents: i64,
    pub booked_at: DateTime<Utc>,
    pub load: BookedTerms,
}

/// The load as booked: what its paperwork prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookedTerms {
    pub reference: String,
    pub stops: Vec<BookedStop>,
    /// The equipment's code (`V`, `R`, `F`...).
    pub equipment: String,
    pub trailer_length_ft: u32,
    pub weight_lbs: u32,
    pub commodity: String,
    #[serde(default)]
    pub temperature_f: Option<Temperature>,
    #[serde(default)]
    pub hazmat: bool,
    #[serde(default)]
    pub team: bool,
    pub loaded_miles: f64,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub contact: Option<BookedContact>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    pub min_f: i32,
    pub max_f: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookedContact {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookedStop {
    /// `pickup` or `delivery`.
    pub kind: String,
    pub location: BookedPlace,
    #[serde(default)]
    pub facility: Option<String>,
    pub window: BookedWindow,
    /// `live` or `drop`.
    #[serde(default)]
    pub handling: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookedPlace {
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookedWindow {
    pub start_local: chrono::NaiveDateTime,
    pub end_local: chrono::NaiveDateTime,
    pub timezone: String,
    #[serde(default)]
    pub appointment: bool,
}

/// `load.status_changed.v1`, the fields the checklist needs.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusChanged {
    pub load_id: Uuid,
    pub to: String,
}

/// `identity.org_created.v1`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrgCreated {
    pub org_id: Uuid,
    pub kind: String,
    pub name: String,
}

/// `carrier.standing.v1`, the authority numbers.
#[derive(Debug, Clone, Deserialize)]
pub struct CarrierStanding {
    pub carrier_org_id: Uuid,
    pub usdot_number: u64,
    #[serde(default)]
    pub mc_number: Option<u64>,
}

/// `documents.checklist_completed.v1`: the load may be invoiced, and the carrier's
/// standard payment terms start counting.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistCompleted {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub reference: String,
    pub rate_cents: i64,
    pub completed_at: DateTime<Utc>,
}

/// `documents.signed.v1`.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentSigned<'a> {
    pub document_id: Uuid,
    pub signed_version_id: Uuid,
    pub load_id: Uuid,
    pub kind: &'a str,
    pub party: &'a str,
    pub signer_user_id: Uuid,
    pub document_sha256: &'a str,
    pub signed_sha256: &'a str,
    pub signed_at: DateTime<Utc>,
}

/// `payments.invoice_issued.v1`: what the invoice says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceIssued {
    pub invoice_id: Uuid,
    pub org_id: Uuid,
    pub load_id: Uuid,
    pub number: String,
    pub customer_name: String,
    pub customer_email: String,
    pub currency: String,
    pub lines: Vec<InvoiceLine>,
    pub amount_cents: i64,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub description: String,
    pub amount_cents: i64,
}
