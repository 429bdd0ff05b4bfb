//! Single-use recovery codes, shown once when MFA is enrolled, for when the
//! authenticator is lost.
//!
//! A code is ten characters from a 31-letter alphabet, about 49.5 bits of entropy,
//! written `xxxxx-xxxxx`. They are stored as plain SHA-256, not Argon2: they are random,
//! not chosen by a person, so there is no dictionary to try first, and a slow hash on
//! each of ten codes per login would cost far more than it protects. Even a stolen hash
//! table only yields a second factor; the password is still needed.

use rand::Rng;

use super::digest::{constant_time_eq, sha256_hex};

/// How many codes an enrolment issues.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters per code, dash excluded.
pub const RECOVERY_CODE_CHARS: usize = 10;
/// Lowercase letters and digits without `0 o 1 l i`, which are read or typed
/// interchangeably.
pub const RECOVERY_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// Ten distinct fresh codes, formatted `xxxxx-xxxxx`, to show the user once.
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    let mut codes: Vec<String> = Vec::with_capacity(RECOVERY_CODE_COUNT);
    while codes.len() < RECOVERY_CODE_COUNT {
        let raw: String = (0..RECOVERY_CODE_CHARS)
            .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
            .collect();
        let code = format!("{}-{}", &raw[..5], &raw[5..]);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The canonical form hashed and compared: lowercase, dashes and whitespace removed.
/// People retype codes from paper in any case and grouping.
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `input`, once normalised, has the shape of a recovery code. Lets the login
/// form tell a recovery code from a TOTP code without a database look-up.
pub fn is_well_formed(input: &str) -> bool {
    let n = normalize(input);
    n.len() == RECOVERY_CODE_CHARS && n.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))
}

/// SHA-256 hex of the normalised code: the value to store.
pub fn hash_code(input: &str) -> String {
    sha256_hex(normalize(input).as_bytes())
}

/// The index in `stored_hashes` of the hash `input` matches, if any. Every stored hash
/// is compared in constant time, so timing does not reveal which one matched.
pub fn find_match<S: AsRef<str>>(input: &str, stored_hashes: &[S]) -> Option<usize> {
    let candidate = hash_code(input);
    let mut found = None;
    for (i, stored) in stored_hashes.iter().enumerate() {
        let eq = constant_time_eq(candidate.as_bytes(), stored.as_ref().as_bytes());
        if eq && found.is_none() {
            found = Some(i);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn enrolment_yields_ten_distinct_well_formed_codes() {
        let codes = generate();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert!(is_well_formed(code), "{code}");
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
    }

    #[test]
    fn alphabet_has_no_ambiguous_characters() {
        for c in b"01oli" {
            assert!(!RECOVERY_ALPHABET.contains(c));
        }
        assert_eq!(RECOVERY_ALPHABET.len(), 31);
    }

    #[test]
    fn retyped_code_in_other_case_and_grouping_hashes_the_same() {
        let h = hash_code("abcde-fghjk");
        assert_eq!(hash_code("ABCDE FGHJK"), h);
        assert_eq!(hash_code(" abcdefghjk\n"), h);
        assert_eq!(hash_code("ab-cd-ef-gh-jk"), h);
    }

    #[test]
    fn hash_is_sha256_hex_of_the_normalised_code() {
        // sha256("abc")
        assert_eq!(
            hash_code("A-B-C"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn find_match_returns_the_index_of_the_matching_hash() {
        let codes = generate();
        let stored: Vec<String> = codes.iter().map(|c| hash_code(c)).collect();
        assert_eq!(find_match(&codes[3].to_uppercase(), &stored), Some(3));
        assert_eq!(find_match("zzzzz-zzzzz", &stored), None);
    }

    #[test]
    fn totp_code_is_not_a_recovery_code() {
        assert!(!is_well_formed("123456"));
        assert!(!is_well_formed("abcde-fghj0"));
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent(s in "\\PC{0,30}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once);
        }
    }
}
