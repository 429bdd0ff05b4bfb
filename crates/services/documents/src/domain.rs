//! The rules of a load's paperwork, free of I/O: the kinds of document, who may attach
//! which, and the checklist of what is still missing before the load can be invoiced.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    RateConfirmation,
    BillOfLading,
    ProofOfDelivery,
    LumperReceipt,
    InsuranceCertificate,
    Invoice,
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 7] = [
        DocumentKind::RateConfirmation,
        DocumentKind::BillOfLading,
        DocumentKind::ProofOfDelivery,
        DocumentKind::LumperReceipt,
        DocumentKind::InsuranceCertificate,
        DocumentKind::Invoice,
        DocumentKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::RateConfirmation => "rate_confirmation",
            DocumentKind::BillOfLading => "bill_of_lading",
            DocumentKind::ProofOfDelivery => "proof_of_delivery",
            DocumentKind::LumperReceipt => "lumper_receipt",
            DocumentKind::InsuranceCertificate => "insurance_certificate",
            DocumentKind::Invoice => "invoice",
            DocumentKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Kinds a person attaches as a file. The rate confirmation and the invoice are
    /// LaneRunner's own, generated from the booking and the invoice; a bill of lading may
    /// be either (generated at booking, and the copy signed at pickup uploaded later).
    pub fn uploadable(self) -> bool {
        !matches!(self, DocumentKind::RateConfirmation | DocumentKind::Invoice)
    }

    /// Kinds that are signed electronically in LaneRunner.
    pub fn signable(self) -> bool {
        self == DocumentKind::RateConfirmation
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Generated,
    Uploaded,
    /// A generated document with its signatures under it; never changed afterwards.
    Signed,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Generated => "generated",
            Origin::Uploaded => "uploaded",
            Origin::Signed => "signed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Origin::Generated, Origin::Uploaded, Origin::Signed]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// A side of a booked load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Broker,
    Carrier,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Broker => "broker",
            Party::Carrier => "carrier",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "broker" => Some(Party::Broker),
            "carrier" => Some(Party::Carrier),
            _ => None,
        }
    }
}

/// What the checklist needs to know of one attached document.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    pub kind: DocumentKind,
    pub origin: Origin,
    /// The parties whose signatures it carries (for a signed version).
    pub signed_by: Vec<Party>,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    /// A stable key: `rate_confirmation`, `rate_confirmation_signed`, `bill_of_lading`,
    /// `delivered`, `proof_of_delivery`.
    pub key: &'static str,
    pub label: &'static str,
    pub done: bool,
    /// What to do about it while it is not done.
    pub hint: &'static str,
}

/// Everything a load needs before it is invoiced and its carrier's payment terms start:
/// the rate confirmation, signed by the carrier; a bill of lading; the load delivered; and
/// proof of delivery. Optional papers (lumper receipts, certificates) do not hold it up.
pub fn checklist(delivered: bool, docs: &[Attached]) -> Vec<ChecklistItem> {
    let has = |kind: DocumentKind| docs.iter().any(|d| d.kind == kind);
    let carrier_signed = docs.iter().any(|d| {
        d.kind == DocumentKind::RateConfirmation
            && d.origin == Origin::Signed
            && d.signed_by.contains(&Party::Carrier)
    });
    vec![
        ChecklistItem {
            key: "rate_confirmation",
            label: "Rate confirmation issued",
            done: has(DocumentKind::RateConfirmation),
            hint: "It is generated when the load is booked; the broker can generate it again.",
        },
        ChecklistItem {
            key: "rate_confirmation_signed",
            label: "Rate confirmation signed by the carrier",
            done: carrier_signed,
            hint: "The carrier signs it on the load's documents page.",
        },
        ChecklistItem {
            key: "bill_of_lading",
            label: "Bill of lading",
            done: has(DocumentKind::BillOfLading),
            hint: "Generated at booking; upload the copy signed at pickup.",
        },
        ChecklistItem {
            key: "delivered",
            label: "Load delivered",
            done: delivered,
            hint: "The load's status moves to delivered.",
        },
        ChecklistItem {
            key: "proof_of_delivery",
            label: "Proof of delivery",
            done: has(DocumentKind::ProofOfDelivery),
            hint: "The driver or dispatcher uploads the signed delivery receipt or a photo of it.",
        },
    ]
}

pub fn complete(items: &[ChecklistItem]) -> bool {
    items.iter().all(|i| i.done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(kind: DocumentKind, origin: Origin, signed_by: &[Party]) -> Attached {
        Attached {
            kind,
            origin,
            signed_by: signed_by.to_vec(),
        }
    }

    #[test]
    fn a_load_is_complete_only_with_every_paper_and_the_carriers_signature() {
        let mut docs = vec![
            doc(DocumentKind::RateConfirmation, Origin::Generated, &[]),
            doc(DocumentKind::BillOfLading, Origin::Generated, &[]),
            doc(DocumentKind::LumperReceipt, Origin::Uploaded, &[]),
        ];
        let missing = |items: Vec<ChecklistItem>| -> Vec<&'static str> {
            items.iter().filter(|i| !i.done).map(|i| i.key).collect()
        };
        assert_eq!(
            missing(checklist(false, &docs)),
            ["rate_confirmation_signed", "delivered", "proof_of_delivery"]
        );
        // The broker's signature alone is not the carrier's.
        docs.push(doc(
            DocumentKind::RateConfirmation,
            Origin::Signed,
            &[Party::Broker],
        ));
        docs.push(doc(DocumentKind::ProofOfDelivery, Origin::Uploaded, &[]));
        assert_eq!(
            missing(checklist(true, &docs)),
            ["rate_confirmation_signed"]
        );
        docs.push(doc(
            DocumentKind::RateConfirmation,
            Origin::Signed,
            &[Party::Broker, Party::Carrier],
        ));
        assert!(complete(&checklist(true, &docs)));
        assert!(!complete(&checklist(false, &docs)));
    }

    #[test]
    fn kinds_read_back_and_only_paper_from_outside_is_uploaded() {
        for k in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DocumentKind::parse("receipt"), None);
        assert!(!DocumentKind::RateConfirmation.uploadable());
        assert!(!DocumentKind::Invoice.uploadable());
        assert!(DocumentKind::ProofOfDelivery.uploadable());
        assert!(DocumentKind::BillOfLading.uploadable());
    }
}
