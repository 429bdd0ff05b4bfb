//! Email addresses as login names.

use std::fmt;
use std::str::FromStr;

use email_address::Options;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// RFC 5321 §4.5.3.1 limits a forward path to 256 octets including the angle
/// brackets, so an address has at most 254.
pub const MAX_EMAIL_BYTES: usize = 254;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("an email address has at most 254 characters")]
    TooLong,
    #[error("not a valid email address")]
    Invalid,
}

/// A trimmed, lowercased, syntactically valid address. Lowercasing the local part is
/// not strictly correct per RFC 5321, but no mainstream provider distinguishes case,
/// and people do not type their address the same way twice; one account per mailbox
/// matters more.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Refuses display names (`Ana <ana@x.com>`), IP-literal domains and domains
    /// without a dot: a login address must be a plain, deliverable mailbox.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let normalized = input.trim().to_lowercase();
        if normalized.len() > MAX_EMAIL_BYTES {
            return Err(EmailError::TooLong);
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        email_address::EmailAddress::parse_with_options(&normalized, options)
            .map_err(|_| EmailError::Invalid)?;
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the last `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(local, _)| local)
    }

    /// The part after the last `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EmailAddress {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn address_is_trimmed_and_lowercased() {
        let e = EmailAddress::parse("  Ana.Dispatch@ACME-Freight.com \n").unwrap();
        assert_eq!(e.as_str(), "ana.dispatch@acme-freight.com");
        assert_eq!(e.local_part(), "ana.dispatch");
        assert_eq!(e.domain(), "acme-freight.com");
    }

    #[test]
    fn plus_addressing_is_accepted() {
        assert!(EmailAddress::parse("ana+loads@acme.com").is_ok());
    }

    #[test]
    fn invalid_addresses_are_refused() {
        for bad in [
            "",
            "ana",
            "ana@",
            "@acme.com",
            "ana@@acme.com",
            "ana@localhost",
            "ana@[192.168.0.1]",
            "Ana <ana@acme.com>",
            "ana acme@acme.com",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(EmailError::Invalid), "{bad}");
        }
    }

    #[test]
    fn addresses_over_254_characters_are_refused() {
        let domain = format!("{}.com", vec!["a".repeat(60); 4].join("."));
        let long = format!("{}@{domain}", "b".repeat(254 - domain.len()));
        assert_eq!(long.len(), 255);
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn serde_normalises_and_validates() {
        let e: EmailAddress = serde_json::from_str("\"Ana@Acme.com\"").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"ana@acme.com\"");
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }

    proptest! {
        #[test]
        fn parsing_is_idempotent(s in "[A-Za-z0-9._+-]{1,20}@[A-Za-z0-9-]{1,20}\\.[A-Za-z]{2,6}") {
            if let Ok(e) = EmailAddress::parse(&s) {
                prop_assert_eq!(EmailAddress::parse(e.as_str()), Ok(e.clone()));
                prop_assert_eq!(e.as_str(), s.to_lowercase());
            }
        }
    }
}
