//! The stored form of a sealed field: `lre1.<data key version>.<base64url(nonce ‖ ciphertext
//! ‖ tag)>`, text, so it fits the `TEXT` column the clear value used. The version says which
//! data key opens it, and lets SQL find records under a given version by prefix
//! (`LIKE 'lre1.3.%'`) for the sweep and the report. A value without the prefix is a
//! clear value written before sealing existed; the sweep seals it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;

pub const PREFIX: &str = "lre1.";

/// What a stored field holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored<'a> {
    Sealed {
        version: u32,
        bytes: Vec<u8>,
    },
    /// Written before the field was sealed.
    Clear(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value that is not in the lre1 form (damaged in the store)")]
pub struct Malformed;

pub fn format(version: u32, sealed: &[u8]) -> String {
    format!("{PREFIX}{version}.{}", B64.encode(sealed))
}

pub fn parse(stored: &str) -> Result<Stored<'_>, Malformed> {
    let Some(rest) = stored.strip_prefix(PREFIX) else {
        return Ok(Stored::Clear(stored));
    };
    let (version, body) = rest.split_once('.').ok_or(Malformed)?;
    let version = version.parse().map_err(|_| Malformed)?;
    let bytes = B64.decode(body).map_err(|_| Malformed)?;
    Ok(Stored::Sealed { version, bytes })
}

/// The `LIKE` pattern of the values sealed under `version`.
pub fn like_version(version: u32) -> String {
    format!("{PREFIX}{version}.%")
}

/// The `LIKE` pattern of every sealed value.
pub fn like_any() -> String {
    format!("{PREFIX}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_round_trips_and_a_clear_one_is_told_apart() {
        let s = format(12, &[0, 1, 2, 250]);
        assert!(s.starts_with("lre1.12."));
        assert_eq!(
            parse(&s).unwrap(),
            Stored::Sealed {
                version: 12,
                bytes: vec![0, 1, 2, 250]
            }
        );
        assert_eq!(
            parse("+15551234567").unwrap(),
            Stored::Clear("+15551234567")
        );
        assert_eq!(
            parse("JBSWY3DPEHPK3PXP").unwrap(),
            Stored::Clear("JBSWY3DPEHPK3PXP")
        );
        for bad in ["lre1.", "lre1.x.AAAA", "lre1.3", "lre1.3.***"] {
            assert_eq!(parse(bad), Err(Malformed), "{bad}");
        }
    }
}
