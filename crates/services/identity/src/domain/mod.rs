//! The identity service's pure domain: rules and cryptography with no I/O, so every
//! piece is unit-tested without a database or a server.

pub mod allowlist;
pub mod audit;
pub mod audit_chain;
pub mod authority;
mod common_passwords;
pub mod consent;
pub mod digest;
pub mod email;
pub mod jwt;
pub mod password;
pub mod plan_change;
pub mod recovery;
pub mod secret_token;
pub mod totp;

pub use allowlist::IpAllowlist;
pub use audit::{AuditAction, AuditOutcome};
pub use authority::{AuthorityNumberError, McNumber, UsdotNumber};
pub use digest::{constant_time_eq, sha256_hex};
pub use email::{EmailAddress, EmailError};
pub use jwt::{AccessClaims, KeyGenerationError, KeySet, SignError, SigningKey, TokenError};
pub use lanerunner_core::tenancy::{OrgKind, Role, UnknownVariant};
pub use password::{
    HashCost, PasswordHashError, PasswordHasher, PasswordPolicy, PasswordPolicyError,
};
pub use secret_token::{SecretToken, SecretTokenError, TokenKind};
pub use totp::{TotpError, TotpSecret, TotpSecretError};
