//! The embedded cache: one process, a map behind a mutex.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Cache, CacheError};

#[derive(Default)]
pub struct InMemoryCache {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    value: Value,
    expires_at: Instant,
}

enum Value {
    Bytes(Vec<u8>),
    Counter(u64),
}

/// Expired entries are dropped lazily on access, and swept whenever the map doubles past
/// this size, so memory stays bounded by the live keys.
const SWEEP_ABOVE: usize = 4096;

impl InMemoryCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_live<R>(
        &self,
        key: &str,
        f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> R,
    ) -> R {
        let mut map = self.entries.lock().expect("cache lock");
        let now = Instant::now();
        if map.get(key).is_some_and(|e| e.expires_at <= now) {
            map.remove(key);
        }
        if map.len() > SWEEP_ABOVE && map.len().is_power_of_two() {
            map.retain(|_, e| e.expires_at > now);
        }
        f(&mut map, now)
    }
}

#[async_trait]
impl Cache for InMemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        Ok(self.with_live(key, |map, _| match map.get(key) {
            Some(Entry {
                value: Value::Bytes(b),
                ..
            }) => Some(b.clone()),
            Some(Entry {
                value: Value::Counter(n),
                ..
            }) => Some(n.to_string().into_bytes()),
            None => None,
        }))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        self.with_live(key, |map, now| {
            map.insert(
                key.to_string(),
                Entry {
                    value: Value::Bytes(value.to_vec()),
                    expires_at: now + ttl,
                },
            );
        });
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.entries.lock().expect("cache lock").remove(key);
        Ok(())
    }

    async fn incr_in_window(
        &self,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), CacheError> {
        self.with_live(key, |map, now| {
            let entry = map.entry(key.to_string()).or_insert_with(|| Entry {
                value: Value::Counter(0),
                expires_at: now + window,
            });
            let count = match &mut entry.value {
                Value::Counter(n) => {
                    *n += 1;
                    *n
                }
                other => {
                    *other = Value::Counter(1);
                    1
                }
            };
            Ok((count, entry.expires_at.saturating_duration_since(now)))
        })
    }

    async fn peek_counter(&self, key: &str) -> Result<(u64, Duration), CacheError> {
        Ok(self.with_live(key, |map, now| match map.get(key) {
            Some(Entry {
                value: Value::Counter(n),
                expires_at,
            }) => (*n, expires_at.saturating_duration_since(now)),
            _ => (0, Duration::ZERO),
        }))
    }

    fn backend(&self) -> &'static str {
        "in-memory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counters_count_within_their_window_and_reset_after() {
        let cache = InMemoryCache::new();
        let w = Duration::from_millis(40);
        assert_eq!(cache.incr_in_window("k", w).await.unwrap().0, 1);
        assert_eq!(cache.incr_in_window("k", w).await.unwrap().0, 2);
        let (n, left) = cache.peek_counter("k").await.unwrap();
        assert_eq!(n, 2);
        assert!(left <= w);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.peek_counter("k").await.unwrap().0, 0);
        assert_eq!(cache.incr_in_window("k", w).await.unwrap().0, 1);
    }

    #[tokio::test]
    async fn values_expire() {
        let cache = InMemoryCache::new();
        cache
            .set("a", b"x", Duration::from_millis(20))
            .await
            .unwrap();
        assert_eq!(cache.get("a").await.unwrap().as_deref(), Some(&b"x"[..]));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.get("a").await.unwrap(), None);
        cache.set("b", b"y", Duration::from_secs(5)).await.unwrap();
        cache.delete("b").await.unwrap();
        assert_eq!(cache.get("b").await.unwrap(), None);
    }
}
