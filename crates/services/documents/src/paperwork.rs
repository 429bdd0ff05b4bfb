//! The paperwork LaneRunner writes — rate confirmation, bill of lading, invoice — as
//! models (what a document says, kept as JSON beside it) and their rendering into the
//! shared document model (`lanerunner-paper`). Pure: no I/O, no clock.
//!
//! A signed version is the same model rendered again with its signatures under it, each
//! naming the SHA-256 of the document the signer saw; the model (logo included) is kept
//! with the document, so the signed copy says exactly what was signed even if the
//! template changed since.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use lanerunner_paper::image::Image;
use lanerunner_paper::{grouped, Block, Card, Document, Section, Table};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Party;
use crate::events::{BookedStop, BookedTerms};

/// Who a document is from or to, as printed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Letterhead {
    pub name: String,
    /// Address lines, then phone, email and authority numbers.
    pub lines: Vec<String>,
}

/// What a generated document says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Model {
    RateConfirmation(LoadPaper),
    BillOfLading(LoadPaper),
    Invoice(InvoicePaper),
}

/// A rate confirmation or bill of lading: the load as booked, between its parties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadPaper {
    pub load_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub broker: Letterhead,
    pub carrier: Letterhead,
    pub terms: BookedTerms,
    pub rate_cents: i64,
    /// The broker's standing terms (rate confirmations only).
    pub conditions: Option<String>,
    /// The issuer's logo file (PNG or JPEG), base64.
    pub logo: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvoicePaper {
    pub number: String,
    pub load_id: Uuid,
    pub load_reference: String,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub from: Letterhead,
    pub bill_to: Letterhead,
    /// Description and amount in cents.
    pub lines: Vec<(String, i64)>,
    pub currency: String,
    pub conditions: Option<String>,
    /// Where the invoice is paid online.
    pub pay_url: Option<String>,
    pub logo: Option<String>,
}

/// A signature as printed on the signed version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrintedSignature {
    pub party: Party,
    pub signer_name: String,
    pub signer_title: Option<String>,
    pub organization: String,
    pub signed_at: DateTime<Utc>,
    pub ip: String,
    pub document_sha256: String,
}

impl Model {
    /// The file name a document of this model is stored under.
    pub fn file_name(&self, signed: bool) -> String {
        let (stem, reference) = match self {
            Model::RateConfirmation(p) => ("rate-confirmation", p.terms.reference.as_str()),
            Model::BillOfLading(p) => ("bill-of-lading", p.terms.reference.as_str()),
            Model::Invoice(i) => ("invoice", i.number.as_str()),
        };
        let safe: String = reference
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{stem}-{safe}{}.pdf", if signed { "-signed" } else { "" })
    }

    /// The PDF of this model, with `signatures` under it (none for the original).
    pub fn render(&self, signatures: &[PrintedSignature]) -> Vec<u8> {
        let mut doc = match self {
            Model::RateConfirmation(p) => rate_confirmation(p),
            Model::BillOfLading(p) => bill_of_lading(p),
            Model::Invoice(i) => invoice(i),
        };
        if !signatures.is_empty() {
            doc.sections.push(signature_section(signatures));
        }
        lanerunner_paper::pdf::render(&doc)
    }
}

fn logo(b64: &Option<String>) -> Option<Image> {
    // A logo was checked when the template took it; one that no longer reads is left off
    // rather than failing the document.
    b64.as_deref()
        .and_then(|s| B64.decode(s).ok())
        .and_then(|bytes| Image::decode(&bytes).ok())
}

/// `$2,500.00`.
pub fn dollars(cents: i64) -> String {
    lanerunner_core::Cents(cents).grouped()
}

fn card(heading: impl Into<String>, party: &Letterhead) -> Card {
    let mut lines = vec![party.name.clone()];
    lines.extend(party.lines.iter().cloned());
    Card {
        heading: heading.into(),
        lines,
    }
}

fn stop_cards(terms: &BookedTerms) -> Vec<Card> {
    let (mut picks, mut drops) = (0, 0);
    terms
        .stops
        .iter()
        .map(|s| {
            let heading = if s.kind == "pickup" {
                picks += 1;
                format!("Pickup {picks}: {}", s.location.label)
            } else {
                drops += 1;
                format!("Delivery {drops}: {}", s.location.label)
            };
            Card {
                heading,
                lines: stop_lines(s),
            }
        })
        .collect()
}

fn stop_lines(s: &BookedStop) -> Vec<String> {
    let w = &s.window;
    let mut lines = Vec::new();
    if let Some(f) = &s.facility {
        lines.push(f.clone());
    }
    let start = w.start_local.format("%a %b %-d %Y %H:%M");
    lines.push(if w.appointment {
        format!("Appointment {start} ({})", w.timezone)
    } else if w.start_local.date() == w.end_local.date() {
        format!(
            "{start} to {} ({})",
            w.end_local.format("%H:%M"),
            w.timezone
        )
    } else {
        format!(
            "{start} to {} ({})",
            w.end_local.format("%a %b %-d %Y %H:%M"),
            w.timezone
        )
    });
    if let Some(h) = &s.handling {
        lines.push(
            if h == "drop" {
                "Drop trailer"
            } else {
                "Live load/unload"
            }
            .into(),
        );
    }
    lines
}

fn freight_figures(t: &BookedTerms) -> Block {
    Block::Figures(vec![
        (
            "Equipment".into(),
            format!("{} {} ft", t.equipment, t.trailer_length_ft),
        ),
        (
            "Weight".into(),
            format!("{} lb", grouped(u64::from(t.weight_lbs))),
        ),
        (
            "Loaded miles".into(),
            grouped(t.loaded_miles.round() as u64),
        ),
    ])
}

fn freight_notes(t: &BookedTerms) -> Vec<String> {
    let mut notes = vec![format!("Commodity: {}", t.commodity)];
    if let Some(temp) = &t.temperature_f {
        notes.push(format!(
            "Temperature: keep between {} and {} F",
            temp.min_f, temp.max_f
        ));
    }
    if t.hazmat {
        notes.push("Hazardous materials: placards and shipping papers required".into());
    }
    if t.team {
        notes.push("Team drivers required".into());
    }
    if let Some(n) = &t.notes {
        notes.push(format!("Notes: {n}"));
    }
    if let Some(c) = &t.contact {
        let who: Vec<&str> = [&c.name, &c.phone, &c.email]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !who.is_empty() {
            notes.push(format!("Broker contact: {}", who.join(", ")));
        }
    }
    notes
}

const DEFAULT_RATE_CON_TERMS: &str = "The carrier agrees to transport the freight described above for the total rate shown, which includes all charges unless additional charges are agreed in writing by the broker before they are incurred. The carrier will not re-broker, co-broker or assign this load. Payment follows receipt of a signed bill of lading and proof of delivery.";

fn rate_confirmation(p: &LoadPaper) -> Document {
    let t = &p.terms;
    let per_mile = if t.loaded_miles >= 1.0 {
        dollars((p.rate_cents as f64 / t.loaded_miles).round() as i64)
    } else {
        "-".into()
    };
    let sections = vec![
        Section {
            heading: "Parties".into(),
            blocks: vec![Block::Cards(vec![
                card("Broker", &p.broker),
                card("Carrier", &p.carrier),
            ])],
        },
        Section {
            heading: "Rate".into(),
            blocks: vec![Block::Figures(vec![
                ("Total rate, all-in (USD)".into(), dollars(p.rate_cents)),
                ("Per loaded mile".into(), per_mile),
            ])],
        },
        Section {
            heading: "Stops".into(),
            blocks: vec![Block::Cards(stop_cards(t))],
        },
        Section {
            heading: "Freight".into(),
            blocks: std::iter::once(freight_figures(t))
                .chain(freight_notes(t).into_iter().map(Block::Note))
                .collect(),
        },
        Section {
            heading: "Terms".into(),
            blocks: p
                .conditions
                .as_deref()
                .unwrap_or(DEFAULT_RATE_CON_TERMS)
                .split("\n\n")
                .map(|para| Block::Note(para.to_owned()))
                .collect(),
        },
    ];
    Document {
        title: "Rate confirmation".into(),
        subtitle: format!(
            "Load {} - issued {} - LaneRunner load {}",
            t.reference,
            p.issued_at.format("%b %-d %Y %H:%M UTC"),
            p.load_id
        ),
        sections,
        data: Table::default(),
        logo: logo(&p.logo),
    }
}

fn bill_of_lading(p: &LoadPaper) -> Document {
    let t = &p.terms;
    let first_pick = t.stops.iter().find(|s| s.kind == "pickup");
    let last_drop = t.stops.iter().rev().find(|s| s.kind == "delivery");
    let place = |s: Option<&BookedStop>| -> Letterhead {
        match s {
            Some(s) => Letterhead {
                name: s
                    .facility
                    .clone()
                    .unwrap_or_else(|| s.location.label.clone()),
                lines: vec![s.location.label.clone()],
            },
            None => Letterhead::default(),
        }
    };
    let mut freight = Table::new(&[
        ("Description of articles", false),
        ("Weight (lb)", true),
        ("HM", false),
    ]);
    freight.push(vec![
        t.commodity.clone(),
        grouped(u64::from(t.weight_lbs)),
        if t.hazmat { "X".into() } else { String::new() },
    ]);
    let blank = |who: &str| Card {
        heading: who.into(),
        lines: vec![
            "Signature: ________________________________".into(),
            "Name: _____________________________________".into(),
            "Date and time: ____________________________".into(),
        ],
    };
    Document {
        title: "Bill of lading".into(),
        subtitle: format!(
            "Straight bill of lading, not negotiable - load {} - LaneRunner load {}",
            t.reference, p.load_id
        ),
        sections: vec![
            Section {
                heading: "Shipper and consignee".into(),
                blocks: vec![Block::Cards(vec![
                    card("Ship from", &place(first_pick)),
                    card("Ship to", &place(last_drop)),
                    card("Carrier", &p.carrier),
                    card("Third party (bill charges to)", &p.broker),
                ])],
            },
            Section {
                heading: "Stops".into(),
                blocks: vec![Block::Cards(stop_cards(t))],
            },
            Section {
                heading: "Freight".into(),
                blocks: std::iter::once(freight_figures(t))
                    .chain([Block::Table(freight)])
                    .chain(freight_notes(t).into_iter().skip(1).map(Block::Note))
                    .collect(),
            },
            Section {
                heading: "Signatures".into(),
                blocks: vec![
                    Block::Note("Received, subject to the classifications and tariffs in effect on the date of issue, the property described above in apparent good order, except as noted.".into()),
                    Block::Cards(vec![blank("Shipper"), blank("Carrier (driver)"), blank("Consignee")]),
                ],
            },
        ],
        data: Table::default(),
        logo: logo(&p.logo),
    }
}

fn invoice(i: &InvoicePaper) -> Document {
    let mut lines = Table::new(&[("Description", false), ("Amount", true)]);
    for (what, cents) in &i.lines {
        lines.push(vec![what.clone(), dollars(*cents)]);
    }
    let total: i64 = i.lines.iter().map(|(_, c)| c).sum();
    let mut payment = vec![Block::Figures(vec![
        (format!("Total due ({})", i.currency), dollars(total)),
        ("Due".into(), i.due_at.format("%b %-d %Y").to_string()),
    ])];
    if let Some(url) = &i.pay_url {
        payment.push(Block::Note(format!(
            "Pay online by card or bank transfer (ACH): {url}"
        )));
    }
    if let Some(c) = &i.conditions {
        payment.extend(c.split("\n\n").map(|p| Block::Note(p.to_owned())));
    }
    Document {
        title: format!("Invoice {}", i.number),
        subtitle: format!(
            "Load {} - issued {} - LaneRunner load {}",
            i.load_reference,
            i.issued_at.format("%b %-d %Y"),
            i.load_id
        ),
        sections: vec![
            Section {
                heading: "Parties".into(),
                blocks: vec![Block::Cards(vec![
                    card("From", &i.from),
                    card("Bill to", &i.bill_to),
                ])],
            },
            Section {
                heading: "Charges".into(),
                blocks: vec![Block::Table(lines)],
            },
            Section {
                heading: "Payment".into(),
                blocks: payment,
            },
        ],
        data: Table::default(),
        logo: logo(&i.logo),
    }
}

fn signature_section(signatures: &[PrintedSignature]) -> Section {
    let cards = signatures
        .iter()
        .map(|s| {
            let mut lines = vec![s.signer_name.clone()];
            if let Some(t) = &s.signer_title {
                lines.push(t.clone());
            }
            lines.extend([
                s.organization.clone(),
                format!("Signed {}", s.signed_at.format("%b %-d %Y %H:%M:%S UTC")),
                format!("From {}", s.ip),
                format!("Document SHA-256 {}", s.document_sha256),
            ]);
            Card {
                heading: format!("Signed for the {}", s.party.as_str()),
                lines,
            }
        })
        .collect();
    Section {
        heading: "Electronic signatures".into(),
        blocks: vec![
            Block::Cards(cards),
            Block::Note("Each signer, signed in to LaneRunner, adopted the name above as their signature on the document identified by its SHA-256 hash. This signed copy is kept unchanged; any copy whose hash differs from the one LaneRunner records has been altered.".into()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{BookedPlace, BookedWindow};
    use chrono::TimeZone;

    fn terms() -> BookedTerms {
        let at = |d: u32, h: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap()
        };
        BookedTerms {
            reference: "RC-1001".into(),
            stops: vec![
                BookedStop {
                    kind: "pickup".into(),
                    location: BookedPlace {
                        label: "Dallas, TX".into(),
                    },
                    facility: Some("North Dock 4".into()),
                    window: BookedWindow {
                        start_local: at(3, 8),
                        end_local: at(3, 14),
                        timezone: "America/Chicago".into(),
                        appointment: false,
                    },
                    handling: Some("live".into()),
                },
                BookedStop {
                    kind: "delivery".into(),
                    location: BookedPlace {
                        label: "Atlanta, GA".into(),
                    },
                    facility: None,
                    window: BookedWindow {
                        start_local: at(5, 9),
                        end_local: at(5, 9),
                        timezone: "America/New_York".into(),
                        appointment: true,
                    },
                    handling: Some("drop".into()),
                },
            ],
            equipment: "R".into(),
            trailer_length_ft: 53,
            weight_lbs: 42000,
            commodity: "frozen vegetables".into(),
            temperature_f: Some(crate::events::Temperature {
                min_f: -5,
                max_f: 0,
            }),
            hazmat: false,
            team: false,
            loaded_miles: 781.4,
            notes: None,
            contact: None,
        }
    }

    fn paper() -> LoadPaper {
        LoadPaper {
            load_id: Uuid::nil(),
            issued_at: Utc.with_ymd_and_hms(2026, 12, 2, 15, 30, 0).unwrap(),
            broker: Letterhead {
                name: "Acme Logistics LLC".into(),
                lines: vec!["1 Main St".into(), "MC 123456".into()],
            },
            carrier: Letterhead {
                name: "Roadrunner Freight".into(),
                lines: vec!["USDOT 7654321".into()],
            },
            terms: terms(),
            rate_cents: 250_000,
            conditions: Some("Detention $50/hour after 2 hours.\n\nTONU $150.".into()),
            logo: None,
        }
    }

    fn text(pdf: &[u8]) -> String {
        let doc = lopdf::Document::load_mem(pdf).expect("a PDF a reader opens");
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        doc.extract_text(&pages).expect("its text")
    }

    #[test]
    fn a_rate_confirmation_reads_back_with_its_parties_rate_stops_and_terms() {
        let t = text(&Model::RateConfirmation(paper()).render(&[]));
        for want in [
            "Rate confirmation",
            "RC-1001",
            "Acme Logistics LLC",
            "Roadrunner Freight",
            "USDOT 7654321",
            "$2,500.00",
            "$3.20",
            "Pickup 1: Dallas, TX",
            "North Dock 4",
            "Delivery 1: Atlanta, GA",
            "Appointment Sat Dec 5 2026 09:00",
            "keep between -5 and 0 F",
            "Detention $50/hour",
            "TONU $150.",
        ] {
            assert!(t.contains(want), "{want:?} missing from {t}");
        }
        assert!(!t.contains("Electronic signatures"));
    }

    #[test]
    fn the_signed_version_prints_each_signature_and_the_hash_signed() {
        let sig = PrintedSignature {
            party: Party::Carrier,
            signer_name: "Dana Driver".into(),
            signer_title: Some("Dispatcher".into()),
            organization: "Roadrunner Freight".into(),
            signed_at: Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 5).unwrap(),
            ip: "203.0.113.9".into(),
            document_sha256: "ab".repeat(32),
        };
        let model = Model::RateConfirmation(paper());
        let t = text(&model.render(std::slice::from_ref(&sig)));
        for want in [
            "Signed for the carrier",
            "Dana Driver",
            "Dispatcher",
            "Dec 2 2026 16:00:05 UTC",
            "203.0.113.9",
            &"ab".repeat(32),
        ] {
            assert!(t.contains(want), "{want:?} missing from {t}");
        }
        // The same model renders the same bytes: what a signature names can be rebuilt.
        assert_eq!(model.render(&[]), model.render(&[]));
    }

    #[test]
    fn a_bill_of_lading_names_shipper_consignee_and_blank_signature_lines() {
        let t = text(&Model::BillOfLading(paper()).render(&[]));
        for want in [
            "Bill of lading",
            "not negotiable",
            "Ship from",
            "North Dock 4",
            "Ship to",
            "Atlanta, GA",
            "frozen vegetables",
            "42,000",
            "Consignee",
            "Signature: ____",
        ] {
            assert!(t.contains(want), "{want:?} missing from {t}");
        }
    }

    #[test]
    fn an_invoice_totals_its_lines() {
        let inv = InvoicePaper {
            number: "INV-000042".into(),
            load_id: Uuid::nil(),
            load_reference: "RC-1001".into(),
            issued_at: Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap(),
            due_at: Utc.with_ymd_and_hms(2027, 1, 5, 0, 0, 0).unwrap(),
            from: paper().broker,
            bill_to: Letterhead {
                name: "Big Box Retail".into(),
                lines: vec!["ap@bigbox.example".into()],
            },
            lines: vec![("Linehaul".into(), 300_000), ("Lumper".into(), 12_550)],
            currency: "USD".into(),
            conditions: None,
            pay_url: Some("https://pay.example/i/42".into()),
            logo: None,
        };
        let model = Model::Invoice(inv);
        let t = text(&model.render(&[]));
        for want in [
            "Invoice INV-000042",
            "Big Box Retail",
            "$3,125.50",
            "$125.50",
            "Jan 5 2027",
            "https://pay.example/i/42",
        ] {
            assert!(t.contains(want), "{want:?} missing from {t}");
        }
        assert_eq!(model.file_name(false), "invoice-INV-000042.pdf");
    }

    #[test]
    fn dollars_group_thousands_and_keep_cents() {
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(123_456_789), "$1,234,567.89");
        assert_eq!(dollars(-100_000), "-$1,000.00");
        assert_eq!(dollars(i64::MIN), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn a_model_survives_its_json() {
        let m = Model::RateConfirmation(paper());
        let back: Model = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.file_name(true), "rate-confirmation-RC-1001-signed.pdf");
    }
}
