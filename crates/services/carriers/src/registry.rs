//! The seam to the registry of operating authority. FMCSA's QCMobile sits behind it at
//! scale (the adapter is in the binary); embedded, nothing is asked and a carrier's word
//! stands, marked unverified.

use async_trait::async_trait;

use crate::domain::{Checked, Declaration};

/// The registry could not be asked (down, timed out, refused our key). Nothing is recorded
/// from a check that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RegistryError(pub String);

#[async_trait]
pub trait AuthorityRegistry: Send + Sync + 'static {
    /// What the registry says about the carrier `d` names (by MC docket when given, which
    /// names the carrier unambiguously, else by USDOT number).
    async fn check(&self, d: &Declaration) -> Result<Checked, RegistryError>;
}

/// No registry: every declaration stands unverified.
pub struct SelfDeclared;

#[async_trait]
impl AuthorityRegistry for SelfDeclared {
    async fn check(&self, _d: &Declaration) -> Result<Checked, RegistryError> {
        Ok(Checked::NotChecked)
    }
}
