//! An organization's letterhead and standing terms, printed on the documents it issues:
//! its legal name, address and contacts, a logo, the terms under every rate confirmation
//! and every invoice. Pure: validation only.

use lanerunner_platform::http::Violations;
use serde::{Deserialize, Serialize};

/// The largest logo accepted, in bytes.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
const MAX_LINE: usize = 200;
const MAX_ADDRESS: usize = 400;
const MAX_TERMS: usize = 8_000;

/// What an organization sets (`PUT /v1/documents/template`). Absent fields are cleared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The name documents are issued under; default the organization's name.
    #[serde(default)]
    pub legal_name: Option<String>,
    /// Street, city, state and ZIP; line breaks are kept.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Printed under every rate confirmation (detention, layover, TONU, payment terms...).
    #[serde(default)]
    pub rate_confirmation_terms: Option<String>,
    /// Printed on every invoice (remit-to, late fees...).
    #[serde(default)]
    pub invoice_terms: Option<String>,
}

impl TemplateInput {
    /// Trims every field (an empty one is cleared) and checks lengths and the email.
    pub fn clean(mut self) -> Result<TemplateInput, lanerunner_platform::http::Invalid> {
        let mut v = Violations::default();
        let fields: [(&str, &mut Option<String>, usize, bool); 6] = [
            ("legal_name", &mut self.legal_name, MAX_LINE, false),
            ("address", &mut self.address, MAX_ADDRESS, true),
            ("phone", &mut self.phone, 40, false),
            ("email", &mut self.email, MAX_LINE, false),
            (
                "rate_confirmation_terms",
                &mut self.rate_confirmation_terms,
                MAX_TERMS,
                true,
            ),
            ("invoice_terms", &mut self.invoice_terms, MAX_TERMS, true),
        ];
        for (name, value, max, multiline) in fields {
            let trimmed = value.as_deref().map(str::trim).filter(|t| !t.is_empty());
            let Some(t) = trimmed else {
                *value = None;
                continue;
            };
            if t.chars().count() > max {
                v.add(name, format!("must be at most {max} characters"));
            } else if t
                .chars()
                .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
            {
                v.add(name, "must not hold control characters");
            } else if lanerunner_core::pan::contains(t) {
                // PCI: printed on every document the organization issues.
                v.add(name, lanerunner_core::pan::REFUSED);
            }
            *value = Some(t.to_owned());
        }
        if let Some(email) = &self.email {
            if !email_address::EmailAddress::is_valid(email) {
                v.add("email", "must be an email address");
            }
        }
        v.into_result(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_and_blank_ones_cleared() {
        let t = TemplateInput {
            legal_name: Some("  Acme Logistics LLC ".into()),
            address: Some("1 Main St\nDallas, TX 75201".into()),
            phone: Some("   ".into()),
            ..Default::default()
        }
        .clean()
        .unwrap();
        assert_eq!(t.legal_name.as_deref(), Some("Acme Logistics LLC"));
        assert_eq!(t.address.as_deref(), Some("1 Main St\nDallas, TX 75201"));
        assert_eq!(t.phone, None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = TemplateInput {
            legal_name: Some("x".repeat(201)),
            phone: Some("555\n1212".into()),
            email: Some("not an email".into()),
            ..Default::default()
        }
        .clean()
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["legal_name", "phone", "email"]);
    }

    #[test]
    fn a_card_number_in_any_printed_field_is_refused() {
        let err = TemplateInput {
            legal_name: Some("Acme 4111 1111 1111 1111".into()),
            address: Some("1 Main St\ncard 5500-0000-0000-0004".into()),
            invoice_terms: Some("Pay by card 378282246310005".into()),
            // A phone number, an MC number and a reference are not card numbers.
            phone: Some("+1 214 555 0134".into()),
            rate_confirmation_terms: Some("MC-938251, ref 1234567890123".into()),
            ..Default::default()
        }
        .clean()
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["legal_name", "address", "invoice_terms"]);
        assert!(err.0.iter().all(|f| f.message.contains("card number")));
    }
}
