//! The cache seam: short-lived shared state (login throttles, rate limits, idempotency
//! keys, session revocations). In memory by default ([`InMemoryCache`]); Redis
//! ([`RedisCache`]) when `cache.backend = "redis"`, so that a limit is one limit across every
//! instance. Service code names only the [`Cache`] trait.

mod memory;
mod redis;
mod redis_conn;
mod redis_target;

use std::time::Duration;

use async_trait::async_trait;

pub use self::memory::InMemoryCache;
pub use self::redis::RedisCache;
pub use self::redis_conn::RedisConn;
pub use self::redis_target::{is_sentinel_url, RedisTarget, SentinelUrlError, TlsFiles};

/// The cache `config` selects, connected.
pub async fn from_config(
    config: &crate::config::CacheConfig,
) -> Result<std::sync::Arc<dyn Cache>, CacheError> {
    use crate::config::CacheBackend;
    Ok(match config.backend {
        CacheBackend::InMemory => std::sync::Arc::new(InMemoryCache::new()),
        CacheBackend::Redis => {
            let url = config
                .url
                .as_deref()
                .ok_or_else(|| CacheError("cache.url is not set".into()))?;
            let target = RedisTarget::of(url, TlsFiles::of(config))
                .map_err(|e| CacheError(format!("{e:#}")))?;
            std::sync::Arc::new(RedisCache::connect_with(target, &config.prefix).await?)
        }
    })
}

#[derive(Debug, thiserror::Error)]
#[error("cache backend: {0}")]
pub struct CacheError(pub String);

#[async_trait]
pub trait Cache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    /// Increments the counter at `key`, starting a `window` expiry when the key is new (a
    /// fixed window). Returns the new count and the time until the window closes. Atomic:
    /// concurrent callers (on any instance sharing the backend) each see a distinct count.
    async fn incr_in_window(
        &self,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), CacheError>;
    /// Reads a counter without changing it; `(0, 0)` when absent.
    async fn peek_counter(&self, key: &str) -> Result<(u64, Duration), CacheError>;
    /// Whether the backend answers; for `readyz`. Embedded backends always do.
    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
    fn backend(&self) -> &'static str;
}
