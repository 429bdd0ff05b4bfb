//! A bounded, time-limited map of forward-geocoding answers. Oldest entries go first when
//! it is full; an entry older than the TTL is a miss.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<V> {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    /// Value, when stored, and the insertion number that `order` refers to.
    map: HashMap<String, (V, Instant, u64)>,
    /// Keys in insertion order; an item whose number no longer matches the map's is stale.
    order: VecDeque<(String, u64)>,
    next: u64,
}

impl<V: Clone> TtlCache<V> {
    /// `capacity` 0 stores nothing.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity,
            ttl,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
                next: 0,
            }),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match inner.map.get(key) {
            Some((v, at, _)) if at.elapsed() < self.ttl => Some(v.clone()),
            Some(_) => {
                inner.map.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn insert(&self, key: String, value: V) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let n = inner.next;
        inner.next += 1;
        inner.map.insert(key.clone(), (value, Instant::now(), n));
        inner.order.push_back((key, n));
        while inner.map.len() > self.capacity {
            let Some((old, n)) = inner.order.pop_front() else {
                break;
            };
            if inner.map.get(&old).is_some_and(|e| e.2 == n) {
                inner.map.remove(&old);
            }
        }
        // Re-inserted keys leave stale items behind; keep the queue proportional.
        if inner.order.len() > 2 * self.capacity + 16 {
            let Inner { map, order, .. } = &mut *inner;
            order.retain(|(k, n)| map.get(k).is_some_and(|e| e.2 == *n));
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_entry_is_evicted_when_full() {
        let c = TtlCache::new(2, Duration::from_secs(60));
        c.insert("a".into(), 1);
        c.insert("b".into(), 2);
        c.insert("a".into(), 10); // refreshed: now the newest
        c.insert("c".into(), 3);
        assert_eq!(c.get("b"), None);
        assert_eq!(c.get("a"), Some(10));
        assert_eq!(c.get("c"), Some(3));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn expired_entries_are_misses_and_zero_capacity_stores_nothing() {
        let c = TtlCache::new(4, Duration::from_millis(30));
        c.insert("a".into(), 1);
        assert_eq!(c.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("a"), None);
        assert!(c.is_empty());
        let off = TtlCache::new(0, Duration::from_secs(60));
        off.insert("a".into(), 1);
        assert_eq!(off.get("a"), None);
    }

    #[test]
    fn repeated_refreshes_keep_the_queue_bounded() {
        let c = TtlCache::new(3, Duration::from_secs(60));
        for i in 0..1_000 {
            c.insert("same".into(), i);
        }
        assert_eq!(c.get("same"), Some(999));
        assert!(c.inner.lock().unwrap().order.len() <= 2 * 3 + 17);
    }
}
