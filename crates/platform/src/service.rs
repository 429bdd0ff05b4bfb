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
use crate::Db;

/// The shared seams every service is given at start-up. `db` is the service's own store.
/// Settings are not here: each service's `start` takes its own section of the
/// configuration (the binary picks it out), so no service reads another's settings.
#[derive(Clone)]
pub struct ServiceContext {
    pub db: Db,
    /// For reads that tolerate lag (a read replica when `database.read_url` is set, else
    /// the same pool as `db`). Never for a read that decides a write.
    pub read_db: Db,
    pub bus: Arc<dyn EventBus>,
    pub cache: Arc<dyn Cache>,
    /// Pushes to every instance's WebSockets (in process, or Redis pub/sub at scale).
    pub fanout: Arc<dyn crate::fanout::Fanout>,
    pub outbox: OutboxSignal,
    /// Files: a local directory embedded, an S3-compatible bucket at scale.
    pub blobs: crate::blob::Blobs,
    /// Keyed, retained logs (in process, or Kafka at scale): truck positions.
    pub streams: Arc<dyn crate::streams::Streams>,
    /// Seals and opens this store's sensitive fields under its data keys.
    pub sealer: Arc<crate::sealing::FieldSealer>,
    /// Every service of this instance that holds personal data (for the export).
    pub personal_data: crate::personal_data::PersonalDataSources,
}

pub struct ConsumerSpec {
    /// The consumer group, unique across the system: `<service>.<purpose>`.
    pub group: String,
    pub patterns: Vec<String>,
    pub handler: Arc<dyn EventHandler>,
    pub source: ConsumerSource,
}

/// Where a consumer group reads its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerSource {
    /// The bus: each event delivered, acknowledged, retried, dead-lettered.
    Bus,
    /// The audit stream (every domain event, retained and replayable) when the streams run
    /// on Kafka; the bus when they are in process, where the stream holds nothing the bus
    /// does not. For consumers of the market's history (analytics), which a stream serves
    /// at scale: a new group can replay what is retained, and a slow one holds no broker
    /// queue.
    AuditStream,
}

/// A listener every instance runs: it hears every matching event (a broadcast
/// subscription), for per-instance state such as an in-memory index. Nothing is retried
/// or kept for it, so it must be safe to miss events while down (state rebuilt from the
/// store at start-up) and to hear one twice.
pub struct ListenerSpec {
    /// For logs and metrics: `<service>.<purpose>`.
    pub name: String,
    pub patterns: Vec<String>,
    pub listener: Arc<dyn EventListener>,
}

#[async_trait]
pub trait EventListener: Send + Sync + 'static {
    async fn on_event(&self, event: &lanerunner_core::EventEnvelope) -> anyhow::Result<()>;

    /// Called once the subscription exists, before any event: the moment to re-read what
    /// changed while the state was being built (nothing can be missed after this point).
    async fn on_subscribed(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

pub trait Service: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Routes under `/v1`, already bound to the service's state.
    fn routes(&self) -> OpenApiRouter;
    fn consumers(&self) -> Vec<ConsumerSpec> {
        Vec::new()
    }
    fn listeners(&self) -> Vec<ListenerSpec> {
        Vec::new()
    }
    fn authenticator(&self) -> Option<Arc<dyn Authenticator>> {
        None
    }
    /// What the service holds about a person, for their export; none when it keeps no
    /// personal data of its own.
    fn personal_data(&self) -> Option<Arc<dyn crate::personal_data::PersonalData>> {
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

/// `readyz` check for a service's read replica: reachable and in recovery (a replica that
/// was promoted, or a URL that names a primary, is reported rather than silently used).
pub struct ReplicaReadiness {
    pub service: &'static str,
    pub db: Db,
}

#[async_trait]
impl ReadinessCheck for ReplicaReadiness {
    fn name(&self) -> String {
        format!("{}.read_replica", self.service)
    }

    async fn check(&self) -> Result<(), String> {
        let Db::Postgres(pg) = &self.db else {
            return Ok(());
        };
        let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(pg.exec())
            .await
            .map_err(|e| format!("unreachable: {e}"))?;
        if in_recovery {
            Ok(())
        } else {
            Err("database.read_url names a server that is not a replica".into())
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
