//! The seam to the provider that texts one-time codes and checks them (Twilio Verify in the
//! binary; a spool of files on embedded defaults). The provider keeps the code: identity
//! never sees it, only whether what the person typed matched.

use async_trait::async_trait;

/// Why a code was not sent or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneCodeError {
    /// The number cannot get texts (not a mobile, opted out, invalid).
    #[error("{0}")]
    Refused(String),
    /// Too many wrong codes for the one sent: a new one is needed.
    #[error("too many wrong codes: ask for a new one")]
    TooManyAttempts,
    /// The provider could not be reached or was busy: try again.
    #[error("{0}")]
    Unavailable(String),
}

#[async_trait]
pub trait PhoneCodes: Send + Sync + 'static {
    /// Texts a new one-time code to `to` (E.164).
    async fn send(&self, to: &str) -> Result<(), PhoneCodeError>;

    /// Whether `code` is the one last texted to `to`; a matched code is used up.
    async fn check(&self, to: &str, code: &str) -> Result<bool, PhoneCodeError>;
}
