//! `X-KT-Webhook-Signature`: the lowercase hex HMAC-SHA1 of the raw JSON body, keyed by the
//! webhook's shared secret as given (not decoded). Motive documents no timestamp, so a
//! replayed delivery is caught downstream (a position already seen is a duplicate).

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The header Motive signs with.
pub const SIGNATURE_HEADER: &str = "x-kt-webhook-signature";

/// The signature Motive sends for `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut m = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(body);
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `header` is the signature of `body` under `secret`, compared in constant time
/// (hex of either case; surrounding spaces ignored).
pub fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let expected = sign(secret, body);
    let given = header.trim().to_ascii_lowercase();
    subtle::ConstantTimeEq::ct_eq(given.as_bytes(), expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in Motive's webhook overview: this body under this secret.
    #[test]
    fn motives_published_example_verifies() {
        let body = br#"["fault_code_closed"]"#;
        let secret = "d9d36bea41c44ae49d1bfc4a48ba2abe";
        assert_eq!(
            sign(secret, body),
            "f04a8386a21a6cba0447024e83b3f0983352bb72"
        );
        assert!(verify(
            secret,
            "F04A8386A21A6CBA0447024E83B3F0983352BB72 ",
            body
        ));
    }

    #[test]
    fn another_body_secret_or_signature_does_not() {
        let body = br#"["fault_code_closed"]"#;
        let good = sign("secret-one", body);
        assert!(!verify("secret-two", &good, body));
        assert!(!verify("secret-one", &good, br#"["fault_code_opened"]"#));
        assert!(!verify("secret-one", "", body));
        assert!(!verify("secret-one", &good[..39], body));
    }
}
