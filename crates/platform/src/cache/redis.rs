//! The Redis cache: one cache (and so one rate limit) shared by every instance.
//!
//! Every key is stored under `prefix` (`lanerunner:` by default), so deployments and tests
//! can share a server. The connection ([`RedisConn`]) reconnects on its own after the server
//! restarts and follows the master when Sentinel fails over to another; an operation
//! attempted while no master answers fails with a [`CacheError`] instead of waiting.

use std::time::Duration;

use ::redis::aio::ConnectionManagerConfig;
use ::redis::{AsyncCommands, Script};
use async_trait::async_trait;

use super::redis_conn::RedisConn;
use super::redis_target::RedisTarget;
use super::{Cache, CacheError};

/// `INCR`, then start the window if the key has none (a new key, or one that lost its
/// expiry), then report the count and the milliseconds left, all in one atomic script.
/// (`PEXPIRE … NX` would do the same on Redis 7; this form also runs on Redis 6.)
const INCR_IN_WINDOW: &str = r"
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {n, redis.call('PTTL', KEYS[1])}
";

/// The counter and its remaining window, read together.
const PEEK_COUNTER: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return {0, 0} end
local n = tonumber(v)
if not n then return {0, 0} end
return {n, redis.call('PTTL', KEYS[1])}
";

/// How long one command may take before it is reported as a failure.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct RedisCache {
    conn: RedisConn,
    prefix: String,
    incr: Script,
    peek: Script,
}

fn err(e: impl std::fmt::Display) -> CacheError {
    CacheError(e.to_string())
}

impl RedisCache {
    /// Connects to `url` (`redis://[:password@]host[:port][/db]`, or a Sentinel URL:
    /// [`RedisTarget`]); every key gets `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, CacheError> {
        Self::connect_with(
            RedisTarget::of(url, Default::default()).map_err(err)?,
            prefix,
        )
        .await
    }

    /// Connects to `target` (a [`::redis::Client`] for one server, e.g. TLS with a private
    /// CA; or a [`RedisTarget`]); every key gets `prefix`.
    pub async fn connect_with(
        target: impl Into<RedisTarget>,
        prefix: &str,
    ) -> Result<Self, CacheError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(5))
            .set_response_timeout(COMMAND_TIMEOUT)
            .set_number_of_retries(2)
            .set_max_delay(2_000);
        let conn = RedisConn::connect(target.into(), config)
            .await
            .map_err(err)?;
        Ok(Self {
            conn,
            prefix: prefix.to_string(),
            incr: Script::new(INCR_IN_WINDOW),
            peek: Script::new(PEEK_COUNTER),
        })
    }

    /// `host:port` of the server the cache writes to now (with Sentinels, the master as
    /// last found).
    pub fn server(&self) -> String {
        self.conn.server()
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

fn remaining(pttl: i64) -> Duration {
    Duration::from_millis(pttl.max(0) as u64)
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let key = self.key(key);
        self.conn
            .run(|mut c| {
                let key = key.clone();
                async move { c.get(key).await }
            })
            .await
            .map_err(err)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let key = self.key(key);
        self.conn
            .run(|mut c| {
                let key = key.clone();
                async move { c.pset_ex(key, value, millis(ttl)).await }
            })
            .await
            .map_err(err)
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        self.conn
            .run(|mut c| {
                let key = key.clone();
                async move { c.del(key).await }
            })
            .await
            .map_err(err)
    }

    async fn incr_in_window(
        &self,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), CacheError> {
        let mut incr = self.incr.key(self.key(key));
        incr.arg(millis(window));
        let incr = &incr;
        let (count, pttl): (u64, i64) = self
            .conn
            .run(|mut c| async move { incr.invoke_async(&mut c).await })
            .await
            .map_err(err)?;
        Ok((count, remaining(pttl)))
    }

    async fn peek_counter(&self, key: &str) -> Result<(u64, Duration), CacheError> {
        let peek = self.peek.key(self.key(key));
        let peek = &peek;
        let (count, pttl): (u64, i64) = self
            .conn
            .run(|mut c| async move { peek.invoke_async(&mut c).await })
            .await
            .map_err(err)?;
        Ok((count, remaining(pttl)))
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let pong: String = self
            .conn
            .run(|mut c| async move { ::redis::cmd("PING").query_async(&mut c).await })
            .await
            .map_err(err)?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(CacheError(format!("unexpected PING reply {pong}")))
        }
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
