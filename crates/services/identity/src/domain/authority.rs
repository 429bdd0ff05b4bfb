//! FMCSA authority numbers, the ids brokers and carriers are known by.
//!
//! An MC (docket) number and a USDOT number are both integers of at most 8 digits
//! (USDOT numbers are at 7 digits today). People write them many ways: `MC123456`,
//! `MC-123456`, `mc 123456`, `USDOT 1234567`, `DOT#1234567`, or bare digits. We keep
//! only the digits, without leading zeros, so the same carrier always compares equal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most digits either number has.
pub const MAX_AUTHORITY_DIGITS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AuthorityNumberError {
    #[error("expected digits, optionally after the prefix")]
    NotDigits,
    #[error("expected 1 to 8 digits")]
    WrongLength,
    #[error("the number cannot be zero")]
    Zero,
}

/// Strips the first matching prefix (case-insensitive) and any `-`, `#`, `:` or spaces
/// after it, then validates and canonicalises the digits.
fn parse_digits(input: &str, prefixes: &[&str]) -> Result<String, AuthorityNumberError> {
    let upper = input.trim().to_ascii_uppercase();
    let rest = prefixes
        .iter()
        .find_map(|p| upper.strip_prefix(p))
        .unwrap_or(&upper);
    let digits =
        rest.trim_start_matches(|c: char| c == '-' || c == '#' || c == ':' || c.is_whitespace());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthorityNumberError::NotDigits);
    }
    if digits.len() > MAX_AUTHORITY_DIGITS {
        return Err(AuthorityNumberError::WrongLength);
    }
    let canonical = digits.trim_start_matches('0');
    if canonical.is_empty() {
        return Err(AuthorityNumberError::Zero);
    }
    Ok(canonical.to_owned())
}

macro_rules! authority_number {
    ($(#[$meta:meta])* $name:ident, $display_prefix:literal, [$($prefix:literal),+]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, AuthorityNumberError> {
                parse_digits(input, &[$($prefix),+]).map(Self)
            }

            /// The canonical digits, as stored and serialised.
            pub fn digits(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = AuthorityNumberError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = AuthorityNumberError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(n: $name) -> String {
                n.0
            }
        }

        /// The form people read, with the prefix.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($display_prefix, "{}"), self.0)
            }
        }
    };
}

authority_number!(
    /// An FMCSA operating-authority docket number (`MC-123456`).
    McNumber,
    "MC-",
    ["MC"]
);

authority_number!(
    /// A USDOT number (`USDOT 1234567`). `USDOT` is tried before `DOT` so the longer
    /// prefix wins.
    UsdotNumber,
    "USDOT ",
    ["USDOT", "US DOT", "DOT"]
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mc_number_accepts_the_common_spellings() {
        for input in [
            "MC123456",
            "MC-123456",
            "mc 123456",
            "123456",
            " Mc#123456 ",
        ] {
            assert_eq!(
                McNumber::parse(input).unwrap().digits(),
                "123456",
                "{input}"
            );
        }
    }

    #[test]
    fn mc_number_displays_with_prefix_and_serialises_as_digits() {
        let mc = McNumber::parse("mc 0123456").unwrap();
        assert_eq!(mc.to_string(), "MC-123456");
        assert_eq!(serde_json::to_string(&mc).unwrap(), "\"123456\"");
        assert_eq!(
            serde_json::from_str::<McNumber>("\"MC-123456\"").unwrap(),
            mc
        );
    }

    #[test]
    fn mc_number_refuses_letters_empty_zero_and_nine_digits() {
        assert_eq!(
            McNumber::parse("MC12A456"),
            Err(AuthorityNumberError::NotDigits)
        );
        assert_eq!(McNumber::parse("MC-"), Err(AuthorityNumberError::NotDigits));
        assert_eq!(McNumber::parse(""), Err(AuthorityNumberError::NotDigits));
        assert_eq!(
            McNumber::parse("DOT123456"),
            Err(AuthorityNumberError::NotDigits)
        );
        assert_eq!(McNumber::parse("MC 000"), Err(AuthorityNumberError::Zero));
        assert_eq!(
            McNumber::parse("123456789"),
            Err(AuthorityNumberError::WrongLength)
        );
        assert!(McNumber::parse("12345678").is_ok());
        assert!(serde_json::from_str::<McNumber>("\"MC-x\"").is_err());
    }

    #[test]
    fn usdot_number_accepts_optional_usdot_or_dot_prefix() {
        for input in [
            "USDOT 1234567",
            "usdot1234567",
            "DOT-1234567",
            "dot 1234567",
            "1234567",
            "US DOT 1234567",
        ] {
            assert_eq!(
                UsdotNumber::parse(input).unwrap().digits(),
                "1234567",
                "{input}"
            );
        }
        assert_eq!(
            UsdotNumber::parse("1234567").unwrap().to_string(),
            "USDOT 1234567"
        );
    }

    #[test]
    fn usdot_number_refuses_mc_prefix_and_long_numbers() {
        assert_eq!(
            UsdotNumber::parse("MC123456"),
            Err(AuthorityNumberError::NotDigits)
        );
        assert_eq!(
            UsdotNumber::parse("USDOT 123456789"),
            Err(AuthorityNumberError::WrongLength)
        );
    }

    proptest! {
        #[test]
        fn any_one_to_eight_nonzero_digits_parse_in_every_spelling(n in 1u32..100_000_000) {
            let d = n.to_string();
            for input in [d.clone(), format!("MC{d}"), format!("mc-{d}"), format!("MC {d}")] {
                let mc = McNumber::parse(&input).unwrap();
                prop_assert_eq!(mc.digits(), d.as_str());
            }
            for input in [d.clone(), format!("USDOT{d}"), format!("dot {d}")] {
                let dot = UsdotNumber::parse(&input).unwrap();
                prop_assert_eq!(dot.digits(), d.as_str());
            }
        }

        #[test]
        fn parsing_the_display_form_gives_the_same_number(s in "\\PC{0,12}") {
            if let Ok(mc) = McNumber::parse(&s) {
                prop_assert_eq!(McNumber::parse(&mc.to_string()), Ok(mc));
            }
        }
    }
}
