//! Stripe's webhook signatures (<https://docs.stripe.com/webhooks#verify-manually>): the
//! `Stripe-Signature` header carries `t=<unix seconds>` and one or more `v1=<hex>`, each an
//! HMAC-SHA256 under the endpoint's secret of `"{t}.{raw body}"`. A signature is accepted
//! when any `v1` matches any of the endpoint's secrets (two during a secret's rotation),
//! compared in constant time, and `t` is within the tolerance of now (a replayed old
//! delivery is refused). Only then is the body read as an event.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Stripe's own libraries' default: five minutes.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature does not match the body under the endpoint's secret")]
    Mismatch,
    #[error("the signature is {age_secs} s from now; at most {tolerance_secs} s is accepted")]
    Stale { age_secs: i64, tolerance_secs: i64 },
    #[error("the signed body is not a Stripe event: {0}")]
    NotAnEvent(String),
}

/// An event as Stripe sends it: `data.object` is the object it is about.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub data: EventData,
    /// The connected account a Connect event concerns (`account.updated`, a connected
    /// account's `payout.paid`); absent for the platform's own events.
    #[serde(default)]
    pub account: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// The `Stripe-Signature` value for `body` at `timestamp` under `secret` (what Stripe, or
/// a test, sends).
pub fn sign(body: &[u8], timestamp: i64, secret: &str) -> String {
    format!("t={timestamp},v1={}", hex(&mac(body, timestamp, secret)))
}

fn mac(body: &[u8], timestamp: i64, secret: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `header` over `body` and, only if it holds, reads the event.
pub fn verify(
    body: &[u8],
    header: Option<&str>,
    secrets: &[&str],
    now: i64,
    tolerance_secs: i64,
) -> Result<Event, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(unhex(v)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let matched = secrets.iter().any(|secret| {
        let expected = mac(body, timestamp, secret);
        signatures
            .iter()
            .any(|s| bool::from(s.as_slice().ct_eq(expected.as_slice())))
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age = now.saturating_sub(timestamp);
    if age.abs() > tolerance_secs {
        return Err(SignatureError::Stale {
            age_secs: age,
            tolerance_secs,
        });
    }
    serde_json::from_slice(body).map_err(|e| SignatureError::NotAnEvent(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded","created":1700000000,"data":{"object":{"id":"pi_1"}}}"#;

    #[test]
    fn a_signed_event_is_read_and_anything_else_is_refused_first() {
        let header = sign(BODY, 1_700_000_000, "whsec_a");
        let event = verify(BODY, Some(&header), &["whsec_a"], 1_700_000_010, 300).unwrap();
        assert_eq!(
            (event.id.as_str(), event.kind.as_str()),
            ("evt_1", "payment_intent.succeeded")
        );
        assert_eq!(event.data.object["id"], "pi_1");
        // Either of two secrets (a rotation), and a header with an extra v1 and v0.
        let both = format!("{header},v1={},v0=abc", "00".repeat(32));
        assert!(verify(
            BODY,
            Some(&both),
            &["whsec_old", "whsec_a"],
            1_700_000_000,
            300
        )
        .is_ok());

        assert_eq!(
            verify(BODY, None, &["whsec_a"], 0, 300).unwrap_err(),
            SignatureError::Missing
        );
        assert_eq!(
            verify(BODY, Some("v1=00"), &["whsec_a"], 0, 300).unwrap_err(),
            SignatureError::Malformed
        );
        assert_eq!(
            verify(BODY, Some("t=5"), &["whsec_a"], 0, 300).unwrap_err(),
            SignatureError::Malformed
        );
        assert_eq!(
            verify(BODY, Some(&header), &["whsec_b"], 1_700_000_000, 300).unwrap_err(),
            SignatureError::Mismatch
        );
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            verify(&tampered, Some(&header), &["whsec_a"], 1_700_000_000, 300).unwrap_err(),
            SignatureError::Mismatch
        );
        assert!(matches!(
            verify(BODY, Some(&header), &["whsec_a"], 1_700_000_301, 300),
            Err(SignatureError::Stale { age_secs: 301, .. })
        ));
        let junk = b"not json";
        let h = sign(junk, 10, "whsec_a");
        assert!(matches!(
            verify(junk, Some(&h), &["whsec_a"], 10, 300),
            Err(SignatureError::NotAnEvent(_))
        ));
    }
}
