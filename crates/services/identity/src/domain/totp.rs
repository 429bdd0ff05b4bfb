//! Time-based one-time passwords, RFC 6238 (TOTP) on RFC 4226 (HOTP).
//!
//! We use the parameters every authenticator app supports: HMAC-SHA1, 6 digits, a
//! 30-second step (RFC 6238 §5.2 recommends 30 s). SHA-1 is fine here: HOTP needs only
//! HMAC's pseudo-randomness, which collision attacks on SHA-1 do not break.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Length of a step in seconds (RFC 6238 §5.2).
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code as the user types it.
pub const DIGITS: u32 = 6;
/// Bytes of a generated secret: 160 bits, the length RFC 4226 §4 (R6) recommends.
pub const SECRET_BYTES: usize = 20;
/// RFC 4226 §4 (R6): the shared secret MUST be at least 128 bits.
const MIN_SECRET_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TotpError {
    #[error("a code is exactly 6 digits")]
    Malformed,
    #[error("the code does not match")]
    Mismatch,
    #[error("this code was already used")]
    Replayed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TotpSecretError {
    #[error("the secret is not valid base32")]
    NotBase32,
    #[error("the secret is shorter than 128 bits")]
    TooShort,
}

/// The shared secret of one enrolled authenticator. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// 20 random bytes from the operating system.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Wraps raw secret bytes, refusing secrets shorter than 128 bits.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpSecretError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(TotpSecretError::TooShort);
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, the form authenticator apps take (Key Uri Format).
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// Parses base32 as people copy it: any case, spaces, trailing `=` padding.
    pub fn from_base32(text: &str) -> Result<Self, TotpSecretError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = BASE32_NOPAD
            .decode(cleaned.trim_end_matches('=').as_bytes())
            .map_err(|_| TotpSecretError::NotBase32)?;
        Self::from_bytes(bytes)
    }

    /// The `otpauth://` URI for a QR code, per Google Authenticator's Key Uri Format:
    /// the label is `Issuer:account`, each half percent-encoded, and the issuer is
    /// repeated as a parameter because some apps read only one of the two.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let issuer = percent_encode(issuer);
        format!(
            "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            account = percent_encode(account),
            secret = self.to_base32(),
        )
    }

    /// The 6-digit code for time step `step` (`unix_time / 30`), zero-padded.
    pub fn code_at(&self, step: i64) -> String {
        format_code(hotp(&self.0, step as u64, DIGITS), DIGITS)
    }

    /// Checks `code` at `unix_time`, allowing one step of clock drift either way
    /// (RFC 6238 §5.2 recommends at most one step back). Returns the matched step,
    /// which the caller stores as `last_used_step`: any step at or before it is
    /// refused, so an observed code cannot be replayed (RFC 6238 §5.2, "the verifier
    /// MUST NOT accept the second attempt of the OTP").
    pub fn verify(
        &self,
        code: &str,
        unix_time: i64,
        last_used_step: Option<i64>,
    ) -> Result<i64, TotpError> {
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed);
        }
        let now = unix_time.div_euclid(STEP_SECONDS);
        let mut fresh_match = None;
        let mut replayed_match = false;
        // Every candidate is computed and compared, matched or not, so timing says
        // nothing about which step matched.
        for step in [now - 1, now, now + 1] {
            let matches: bool = self.code_at(step).as_bytes().ct_eq(code.as_bytes()).into();
            if matches {
                if last_used_step.is_some_and(|last| step <= last) {
                    replayed_match = true;
                } else if fresh_match.is_none() {
                    fresh_match = Some(step);
                }
            }
        }
        match (fresh_match, replayed_match) {
            (Some(step), _) => Ok(step),
            (None, true) => Err(TotpError::Replayed),
            (None, false) => Err(TotpError::Mismatch),
        }
    }
}

/// HOTP (RFC 4226 §5.3): HMAC-SHA1 of the big-endian counter, dynamic truncation to a
/// 31-bit number, reduced to `digits` decimal digits.
fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(digits)
}

fn format_code(value: u32, digits: u32) -> String {
    format!("{value:0width$}", width = digits as usize)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6238 Appendix B: the SHA1 seed is the ASCII string "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(RFC_SEED.to_vec()).unwrap()
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors_match() {
        let vectors: [(i64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, expected) in vectors {
            let step = (time / STEP_SECONDS) as u64;
            assert_eq!(
                format_code(hotp(RFC_SEED, step, 8), 8),
                expected,
                "T={time}"
            );
        }
    }

    #[test]
    fn six_digit_code_is_the_last_six_of_the_eight_digit_vector() {
        assert_eq!(rfc_secret().code_at(59 / 30), "287082");
        assert_eq!(rfc_secret().code_at(1_111_111_109 / 30), "081804");
    }

    #[test]
    fn code_of_the_current_step_is_accepted_and_returns_that_step() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let step = t / 30;
        assert_eq!(s.verify(&s.code_at(step), t, None), Ok(step));
    }

    #[test]
    fn codes_one_step_either_side_are_accepted() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let step = t / 30;
        assert_eq!(s.verify(&s.code_at(step - 1), t, None), Ok(step - 1));
        assert_eq!(s.verify(&s.code_at(step + 1), t, None), Ok(step + 1));
    }

    #[test]
    fn codes_two_steps_away_are_refused() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let step = t / 30;
        assert_eq!(
            s.verify(&s.code_at(step - 2), t, None),
            Err(TotpError::Mismatch)
        );
        assert_eq!(
            s.verify(&s.code_at(step + 2), t, None),
            Err(TotpError::Mismatch)
        );
    }

    #[test]
    fn a_code_used_once_is_refused_as_replay() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let code = s.code_at(t / 30);
        let used = s.verify(&code, t, None).unwrap();
        assert_eq!(s.verify(&code, t + 5, Some(used)), Err(TotpError::Replayed));
    }

    #[test]
    fn an_older_code_after_a_newer_one_is_refused_as_replay() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let step = t / 30;
        assert_eq!(
            s.verify(&s.code_at(step - 1), t, Some(step)),
            Err(TotpError::Replayed)
        );
    }

    #[test]
    fn the_next_code_after_a_used_one_is_accepted() {
        let s = rfc_secret();
        let t = 1_234_567_890;
        let step = t / 30;
        assert_eq!(s.verify(&s.code_at(step + 1), t, Some(step)), Ok(step + 1));
    }

    #[test]
    fn input_that_is_not_six_digits_is_malformed() {
        let s = rfc_secret();
        for bad in ["", "12345", "1234567", "12345a", " 123456", "１２３４５６"] {
            assert_eq!(
                s.verify(bad, 59, None),
                Err(TotpError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base32_round_trips_without_padding() {
        let s = TotpSecret::generate();
        let text = s.to_base32();
        assert_eq!(text.len(), 32);
        assert!(!text.contains('='));
        assert_eq!(TotpSecret::from_base32(&text).unwrap(), s);
    }

    #[test]
    fn base32_accepts_lowercase_spaces_and_padding() {
        let s = rfc_secret();
        let text = s.to_base32().to_lowercase();
        let spaced: String = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 4 == 3 { vec![c, ' '] } else { vec![c] })
            .collect();
        assert_eq!(TotpSecret::from_base32(&spaced).unwrap(), s);
        assert_eq!(
            TotpSecret::from_base32(&format!("{}====", s.to_base32())).unwrap(),
            s
        );
    }

    #[test]
    fn secrets_shorter_than_128_bits_are_refused() {
        assert_eq!(
            TotpSecret::from_bytes(vec![1; 15]),
            Err(TotpSecretError::TooShort)
        );
        assert_eq!(
            TotpSecret::from_base32("not base32!"),
            Err(TotpSecretError::NotBase32)
        );
    }

    #[test]
    fn generated_secrets_are_twenty_random_bytes() {
        let a = TotpSecret::generate();
        assert_eq!(a.as_bytes().len(), 20);
        assert_ne!(a, TotpSecret::generate());
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        assert_eq!(format!("{:?}", rfc_secret()), "TotpSecret(..)");
    }

    #[test]
    fn otpauth_uri_encodes_label_and_issuer() {
        let s = rfc_secret();
        let uri = s.otpauth_uri("Lane Runner", "ana+dispatch@acme.com");
        assert_eq!(
            uri,
            "otpauth://totp/Lane%20Runner:ana%2Bdispatch%40acme.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Lane%20Runner&algorithm=SHA1&digits=6&period=30"
        );
    }

    proptest! {
        #[test]
        fn current_code_always_verifies(secret in proptest::collection::vec(any::<u8>(), 16..64), t in 60i64..4_000_000_000) {
            let s = TotpSecret::from_bytes(secret).unwrap();
            let step = t.div_euclid(30);
            prop_assert_eq!(s.verify(&s.code_at(step), t, None), Ok(step));
            prop_assert_eq!(s.code_at(step).len(), 6);
        }

        #[test]
        fn nothing_at_or_before_last_used_step_is_ever_accepted(
            code in "[0-9]{6}", t in 60i64..4_000_000_000, back in -1i64..3
        ) {
            let s = rfc_secret();
            let last = t.div_euclid(30) + back;
            if let Ok(step) = s.verify(&code, t, Some(last)) {
                prop_assert!(step > last);
            }
        }
    }
}
