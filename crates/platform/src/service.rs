//! What a service crate hands the binary: its routes (with their OpenAPI), its consumers,
//! and, for identity, the authenticator. The binary connects the service's own store,
//! applies its migrations, builds it with a [`ServiceContext`], and wires the rest.

use std::sync::Arc;

use async_trait::async_trait;
use utoipa_axum::router::OpenApiRouter;

use crate::bus::{EventBus, EventHandler};
use crate::cache::Cache;
use crate::db::Migrations;
use crate::http::ops::ReadinessCheck;
use crate::http::Authenticator;
use crate::outbox::OutboxSignal;
use crate::{Config, Db};

/// Everything a service is given at start-up. `db` is the service's own store.
#[derive(Clone)]
pub struct ServiceContext {
    pub config: Arc<Config>,
    pub db: Db,
    pub bus: Arc<dyn EventBus>,
    pub cache: Arc<dyn Cache>,
    pub outbox: OutboxSignal,
}

pub struct ConsumerSpec {
    /// The consumer group, unique across the system: `<service>.<purpose>`.
    pub group: String,
    pub patterns: Vec<String>,
    pub handler: Arc<dyn EventHandler>,
}

pub trait Service: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Routes under `/v1`, already bound to the service's state.
    fn routes(&self) -> OpenApiRouter;
    fn consumers(&self) -> Vec<ConsumerSpec> {
        Vec::new()
    }
    fn authenticator(&self) -> Option<Arc<dyn Authenticator>> {
        None
    }
}

/// `readyz` check for a service's store: reachable, and every migration applied.
pub struct StoreReadiness {
    pub service: &'static str,
    pub db: Db,
    pub migrations: Arc<Migrations>,
}

#[async_trait]
impl ReadinessCheck for StoreReadiness {
    fn name(&self) -> String {
        format!("{}.database", self.service)
    }

    async fn check(&self) -> Result<(), String> {
        self.db
            .ping()
            .await
            .map_err(|e| format!("unreachable: {e}"))?;
        match self.db.pending_migrations(&self.migrations).await {
            Ok(0) => Ok(()),
            Ok(n) => Err(format!("{n} migrations not applied")),
            Err(e) => Err(format!("cannot read migrations: {e}")),
        }
    }
}

/// `readyz` check for the bus when it is an external broker (`bus.rabbitmq`).
pub struct BusReadiness(pub Arc<dyn EventBus>);

#[async_trait]
impl ReadinessCheck for BusReadiness {
    fn name(&self) -> String {
        format!("bus.{}", self.0.backend())
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

/// `readyz` check for the cache when it is an external server (`cache.redis`).
pub struct CacheReadiness(pub Arc<dyn Cache>);

#[async_trait]
impl ReadinessCheck for CacheReadiness {
    fn name(&self) -> String {
        format!("cache.{}", self.0.backend())
    }

    async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(std::time::Duration::from_secs(2), self.0.ping()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err("no answer within 2 s".into()),
        }
    }
}
