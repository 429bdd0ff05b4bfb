//! What clients see of a load's paperwork.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{ChecklistItem, DocumentKind, Origin, Party};
use crate::store::{DocumentRow, SignatureRow, TemplateRow};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignatureView {
    pub id: Uuid,
    /// The document signed.
    pub document_id: Uuid,
    /// The signed version made for this signature (it lists every signature so far).
    pub signed_version_id: Uuid,
    pub party: Party,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub signer_name: String,
    pub signer_title: Option<String>,
    pub signed_at: DateTime<Utc>,
    /// The address the signature came from.
    pub ip: String,
    pub user_agent: Option<String>,
    /// The SHA-256 of the document as the signer saw it.
    pub document_sha256: String,
}

impl From<&SignatureRow> for SignatureView {
    fn from(s: &SignatureRow) -> Self {
        SignatureView {
            id: s.id,
            document_id: s.document_id,
            signed_version_id: s.signed_version,
            party: Party::parse(&s.party).unwrap_or(Party::Carrier),
            org_id: s.org_id,
            user_id: s.user_id,
            signer_name: s.signer_name.clone(),
            signer_title: s.signer_title.clone(),
            signed_at: s.signed_at,
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            document_sha256: s.document_sha256.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    pub id: Uuid,
    pub load_id: Uuid,
    pub kind: DocumentKind,
    pub origin: Origin,
    pub name: String,
    /// Found from the bytes when stored.
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    /// For a signed version: the document it signs.
    pub signs: Option<Uuid>,
    pub note: Option<String>,
    /// The member (or API key) that attached it; the system for generated paperwork.
    pub created_by: Uuid,
    pub created_by_org: Uuid,
    pub created_at: DateTime<Utc>,
    /// Signatures on this document (an original) or carried by it (a signed version).
    pub signatures: Vec<SignatureView>,
    /// A newer document of the same kind replaces this one on the checklist.
    pub superseded: bool,
}

impl DocumentView {
    pub fn new(d: &DocumentRow, signatures: &[SignatureRow], superseded: bool) -> Self {
        let signatures = signatures
            .iter()
            .filter(|s| crate::store::bears(d, s))
            .map(SignatureView::from)
            .collect();
        DocumentView {
            id: d.id,
            load_id: d.load_id,
            kind: DocumentKind::parse(&d.kind).unwrap_or(DocumentKind::Other),
            origin: Origin::parse(&d.origin).unwrap_or(Origin::Uploaded),
            name: d.name.clone(),
            content_type: d.content_type.clone(),
            size_bytes: d.size_bytes,
            sha256: d.sha256.clone(),
            signs: d.signs,
            note: d.note.clone(),
            created_by: d.created_by,
            created_by_org: d.created_by_org,
            created_at: d.created_at,
            signatures,
            superseded,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChecklistView {
    pub load_id: Uuid,
    /// Every item is done: the load may be invoiced.
    pub complete: bool,
    /// When it first became complete.
    pub completed_at: Option<DateTime<Utc>>,
    pub items: Vec<ChecklistItem>,
}

/// A load's paperwork: its documents and its checklist.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoadDocumentsView {
    pub load_id: Uuid,
    pub reference: String,
    /// The caller's side of the load.
    pub party: Party,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub rate_cents: i64,
    pub booked_at: DateTime<Utc>,
    pub status: String,
    /// Paperwork is being generated for the booking.
    pub generating: bool,
    pub documents: Vec<DocumentView>,
    pub checklist: ChecklistView,
}

/// The signer adopts `name` as their signature on the document whose SHA-256 they saw.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    /// The SHA-256 (hex) of the document as shown to the signer: a document changed since
    /// is not signed.
    pub sha256: String,
    /// The signer agrees to sign electronically (must be `true`).
    pub consent: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// `rate_confirmation` or `bill_of_lading`.
    pub kind: DocumentKind,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyView {
    /// The SHA-256 of the bytes sent.
    pub sha256: String,
    /// The bytes are exactly the document's.
    pub intact: bool,
    /// What LaneRunner recorded for the document.
    pub recorded_sha256: String,
    pub document: DocumentView,
}

/// The documents on your loads whose content is exactly the bytes sent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LookupView {
    pub sha256: String,
    pub matches: Vec<DocumentView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    /// The name documents are issued under (the organization's name when not set).
    pub legal_name: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub rate_confirmation_terms: Option<String>,
    pub invoice_terms: Option<String>,
    pub has_logo: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<&TemplateRow> for TemplateView {
    fn from(t: &TemplateRow) -> Self {
        TemplateView {
            legal_name: t.legal_name.clone(),
            address: t.address.clone(),
            phone: t.phone.clone(),
            email: t.email.clone(),
            rate_confirmation_terms: t.rate_confirmation_terms.clone(),
            invoice_terms: t.invoice_terms.clone(),
            has_logo: t.logo.is_some(),
            updated_at: t.updated_at,
        }
    }
}

/// One load in the list of your paperwork.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaperworkSummary {
    pub load_id: Uuid,
    pub reference: String,
    pub party: Party,
    pub status: String,
    pub rate_cents: i64,
    pub booked_at: DateTime<Utc>,
    pub documents: usize,
    pub complete: bool,
    /// The labels of the checklist items not done yet.
    pub missing: Vec<&'static str>,
}
