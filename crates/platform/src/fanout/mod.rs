//! The fan-out seam: publish a message to an organization on every instance; each instance
//! reads one local feed of everything published (its WebSockets filter by organization).
//! In process ([`InMemoryFanout`]) when the cache is in memory — one process is the whole
//! deployment — and Redis pub/sub ([`RedisFanout`]) when the cache is Redis, so every
//! instance hears every push. Services see only the [`Fanout`] trait, from their context.

mod memory;
mod redis;

pub use self::memory::InMemoryFanout;
pub use self::redis::RedisFanout;

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_core::OrgId;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::config::{CacheBackend, CacheConfig};

/// How many pushes an instance buffers for a slow socket before it tells it that it lagged.
pub(crate) const LOCAL_BUFFER: usize = 4_096;

/// One message for the sockets of one organization, or of every organization (`None`:
/// what the public board shows, such as a public load's posting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Push {
    pub org_id: Option<OrgId>,
    /// What the socket receives, as JSON.
    pub message: serde_json::Value,
}

#[async_trait]
pub trait Fanout: Send + Sync + 'static {
    /// Delivers `push` to every instance's local feed (at most once; nothing is kept for
    /// an instance that is not listening).
    async fn publish(&self, push: &Push) -> anyhow::Result<()>;

    /// This instance's feed of every push, from now on.
    fn local(&self) -> broadcast::Receiver<Arc<Push>>;

    fn backend(&self) -> &'static str;
}

/// The fan-out that goes with the configured cache.
pub async fn from_config(cache: &CacheConfig) -> anyhow::Result<Arc<dyn Fanout>> {
    Ok(match (&cache.backend, &cache.url) {
        (CacheBackend::Redis, Some(url)) => {
            let target = crate::cache::RedisTarget::of(url, crate::cache::TlsFiles::of(cache))?;
            Arc::new(RedisFanout::connect_with(target, &cache.prefix).await?)
        }
        _ => Arc::new(InMemoryFanout::default()),
    })
}
