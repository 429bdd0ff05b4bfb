//! What each service holds about a person, gathered into their export (GDPR art. 15 and
//! 20: everything, machine-readable, in one document). A service that keeps personal data
//! of its own hands the binary a [`PersonalData`]; the binary registers it in the
//! instance's [`PersonalDataSources`] as the service starts, and identity's export asks
//! each one in turn. (Erasure goes the other way, by event: `identity.user_erased`.)

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait PersonalData: Send + Sync + 'static {
    /// What the service holds about `user` of `org`, as JSON, without secrets; `None` when
    /// it holds nothing.
    async fn export(&self, org: Uuid, user: Uuid) -> anyhow::Result<Option<serde_json::Value>>;
}

/// The services of this instance that hold personal data, by name, in start-up order.
#[derive(Clone, Default)]
pub struct PersonalDataSources(Arc<RwLock<Vec<(&'static str, Arc<dyn PersonalData>)>>>);

impl PersonalDataSources {
    pub fn register(&self, service: &'static str, source: Arc<dyn PersonalData>) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((service, source));
    }

    pub fn all(&self) -> Vec<(&'static str, Arc<dyn PersonalData>)> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
