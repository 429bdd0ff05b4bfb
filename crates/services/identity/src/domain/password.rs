//! Password rules and password hashing.
//!
//! The rules follow NIST SP 800-63B §5.1.1.2 as summarised by the OWASP Authentication
//! Cheat Sheet: a length floor and ceiling and a block-list of known passwords, and no
//! composition rules (they push people towards `Password1!`). The hash parameters are the
//! first Argon2id configuration of the OWASP Password Storage Cheat Sheet.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use thiserror::Error;

use super::common_passwords::COMMON_PASSWORDS;

/// Which rule a candidate password broke. Each variant names one rule so the API can
/// tell the person exactly what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PasswordPolicyError {
    #[error("password must be at least {min} characters")]
    TooShort { min: usize },
    #[error("password must be at most {max} characters")]
    TooLong { max: usize },
    #[error("password is one character repeated")]
    SingleRepeatedCharacter,
    #[error("password is among the most commonly used passwords")]
    CommonPassword,
    #[error("password must not contain your email address")]
    ContainsEmail,
}

/// The rules a new password must satisfy.
pub struct PasswordPolicy;

impl PasswordPolicy {
    /// NIST SP 800-63B asks for at least 8; we ask 12 because a dispatcher's login
    /// guards other companies' freight and money, and OWASP recommends longer where
    /// MFA is optional.
    pub const MIN_CHARS: usize = 12;
    /// Long enough for any passphrase or manager-generated password, short enough that
    /// hashing it cannot be used to burn our CPU.
    pub const MAX_CHARS: usize = 128;
    /// A local part shorter than this (`al@…`) is too likely to appear by chance.
    pub const MIN_EMAIL_LOCAL_CHARS: usize = 4;

    /// Checks `password` for a user whose address is `email`. Lengths count Unicode
    /// scalar values, not bytes, so non-ASCII passwords are not penalised.
    pub fn check(password: &str, email: &str) -> Result<(), PasswordPolicyError> {
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordPolicyError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordPolicyError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        let mut it = password.chars();
        let first = it.next();
        if it.all(|c| Some(c) == first) {
            return Err(PasswordPolicyError::SingleRepeatedCharacter);
        }
        let lowered = password.to_lowercase();
        if COMMON_PASSWORDS.contains(&lowered.as_str()) {
            return Err(PasswordPolicyError::CommonPassword);
        }
        let local = email
            .trim()
            .rsplit_once('@')
            .map_or(email.trim(), |(local, _)| local)
            .to_lowercase();
        if local.chars().count() >= Self::MIN_EMAIL_LOCAL_CHARS && lowered.contains(&local) {
            return Err(PasswordPolicyError::ContainsEmail);
        }
        Ok(())
    }
}

/// Hashing failed; only bad parameters or an internal error of the argon2 crate can
/// cause it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordHashError(String);

/// The cost of one hash: memory in KiB, iterations, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashCost {
    /// OWASP Password Storage Cheat Sheet, Argon2id: "m=19456 (19 MiB), t=2, p=1".
    pub const OWASP: HashCost = HashCost {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
}

impl Default for HashCost {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Argon2id password hashing with PHC string output (`$argon2id$v=19$m=…`), so the
/// parameters and salt travel with the hash and can be raised later without a migration.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
    cost: HashCost,
    /// A hash made at construction with the same cost; `verify_dummy` checks against it.
    dummy_phc: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher at the given cost. Tests use a cheap cost; production uses
    /// [`PasswordHasher::owasp`]. Computes the dummy hash once, here, so that
    /// `verify_dummy` later costs exactly one verification.
    pub fn new(cost: HashCost) -> Result<Self, PasswordHashError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| PasswordHashError(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut hasher = Self {
            argon,
            cost,
            dummy_phc: Arc::from(""),
        };
        hasher.dummy_phc = Arc::from(hasher.hash("lanerunner dummy password for timing")?);
        Ok(hasher)
    }

    /// A hasher at the OWASP cost.
    pub fn owasp() -> Self {
        Self::new(HashCost::OWASP).expect("the OWASP Argon2 parameters are valid")
    }

    pub fn cost(&self) -> HashCost {
        self.cost
    }

    /// Hashes with a fresh 128-bit salt (the length RFC 9106 recommends).
    pub fn hash(&self, password: &str) -> Result<String, PasswordHashError> {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordHashError(e.to_string()))?;
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordHashError(e.to_string()))
    }

    /// Whether `password` matches `phc`. The parameters come from the PHC string, so
    /// hashes made at an older cost still verify. A malformed PHC string never matches.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(parsed) => self
                .argon
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Spends the time of one `verify` and returns nothing. Call it when the login
    /// names an unknown user, so response time does not reveal which emails have
    /// accounts (OWASP Authentication Cheat Sheet, "Authentication Responses").
    pub fn verify_dummy(&self, password: &str) {
        let _ = std::hint::black_box(self.verify(password, &self.dummy_phc));
    }

    /// Whether `phc` was made with another algorithm or cost than this hasher's, so
    /// it should be replaced by a fresh hash after the next successful login.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(p) => {
                p.m_cost() != self.cost.memory_kib
                    || p.t_cost() != self.cost.iterations
                    || p.p_cost() != self.cost.parallelism
            }
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EMAIL: &str = "dispatch@acme-freight.com";

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(HashCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn a_long_uncommon_password_is_accepted() {
        assert_eq!(
            PasswordPolicy::check("correct horse battery staple", EMAIL),
            Ok(())
        );
    }

    #[test]
    fn eleven_characters_are_too_short() {
        assert_eq!(
            PasswordPolicy::check("abcdefghijk", EMAIL),
            Err(PasswordPolicyError::TooShort { min: 12 })
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 12 characters, 24 bytes.
        assert_eq!(PasswordPolicy::check("ñçüéåøßðþæœł", EMAIL), Ok(()));
    }

    #[test]
    fn more_than_128_characters_are_too_long() {
        let long = "ab".repeat(64) + "c";
        assert_eq!(
            PasswordPolicy::check(&long, EMAIL),
            Err(PasswordPolicyError::TooLong { max: 128 })
        );
        assert_eq!(PasswordPolicy::check(&"ab".repeat(64), EMAIL), Ok(()));
    }

    #[test]
    fn one_repeated_character_is_refused() {
        assert_eq!(
            PasswordPolicy::check("aaaaaaaaaaaaaaa", EMAIL),
            Err(PasswordPolicyError::SingleRepeatedCharacter)
        );
    }

    #[test]
    fn common_password_is_refused_whatever_its_case() {
        assert_eq!(
            PasswordPolicy::check("QwertyUiopAsdfgh", EMAIL),
            Err(PasswordPolicyError::CommonPassword)
        );
        assert_eq!(
            PasswordPolicy::check("123456789012", EMAIL),
            Err(PasswordPolicyError::CommonPassword)
        );
    }

    #[test]
    fn password_containing_the_email_local_part_is_refused() {
        assert_eq!(
            PasswordPolicy::check("my-DISPATCH-password", EMAIL),
            Err(PasswordPolicyError::ContainsEmail)
        );
    }

    #[test]
    fn short_email_local_part_is_not_matched() {
        assert_eq!(
            PasswordPolicy::check("alpine meadow 42", "al@example.com"),
            Ok(())
        );
    }

    #[test]
    fn common_password_list_is_lowercase_and_large() {
        assert!(COMMON_PASSWORDS.len() >= 200);
        assert!(COMMON_PASSWORDS.iter().all(|p| p.to_lowercase() == *p));
    }

    #[test]
    fn default_cost_is_owasp_argon2id() {
        assert_eq!(
            HashCost::default(),
            HashCost {
                memory_kib: 19_456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn owasp_hasher_produces_argon2id_phc_with_owasp_parameters() {
        let hasher = PasswordHasher::owasp();
        let phc = hasher.hash("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify("correct horse battery staple", &phc));
        assert!(!hasher.needs_rehash(&phc));
    }

    #[test]
    fn hash_verifies_the_right_password_only() {
        let hasher = cheap();
        let phc = hasher.hash("correct horse battery staple").unwrap();
        assert!(hasher.verify("correct horse battery staple", &phc));
        assert!(!hasher.verify("correct horse battery stapler", &phc));
    }

    #[test]
    fn same_password_hashes_differently_each_time() {
        let hasher = cheap();
        assert_ne!(
            hasher.hash("same password").unwrap(),
            hasher.hash("same password").unwrap()
        );
    }

    #[test]
    fn malformed_phc_never_verifies() {
        assert!(!cheap().verify("anything", "not a phc string"));
        assert!(!cheap().verify("anything", ""));
    }

    #[test]
    fn hash_from_another_cost_still_verifies_and_needs_rehash() {
        let old = cheap();
        let phc = old.hash("correct horse battery staple").unwrap();
        let new = PasswordHasher::new(HashCost {
            memory_kib: 128,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        assert!(new.verify("correct horse battery staple", &phc));
        assert!(new.needs_rehash(&phc));
        assert!(!old.needs_rehash(&phc));
    }

    #[test]
    fn dummy_hash_has_the_hashers_cost() {
        let hasher = cheap();
        assert!(hasher.dummy_phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        hasher.verify_dummy("whatever");
    }

    proptest! {
        #[test]
        fn passwords_shorter_than_twelve_characters_are_always_refused(p in "\\PC{0,11}") {
            prop_assert_eq!(
                PasswordPolicy::check(&p, EMAIL),
                Err(PasswordPolicyError::TooShort { min: 12 })
            );
        }

        #[test]
        fn accepted_passwords_satisfy_every_rule(p in "\\PC{12,40}") {
            if PasswordPolicy::check(&p, EMAIL).is_ok() {
                let n = p.chars().count();
                prop_assert!((12..=128).contains(&n));
                prop_assert!(!p.to_lowercase().contains("dispatch"));
                prop_assert!(!COMMON_PASSWORDS.contains(&p.to_lowercase().as_str()));
            }
        }
    }
}
