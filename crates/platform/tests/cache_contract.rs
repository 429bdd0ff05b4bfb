//! One contract, every cache backend: the in-memory map and a real Redis
//! (`LANERUNNER_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`). Each Redis test works
//! under a key prefix of its own, so the tests run in parallel on one server.

use std::sync::Arc;
use std::time::Duration;

use lanerunner_platform::cache::{Cache, InMemoryCache, RedisCache};
use uuid::Uuid;

fn redis_url() -> String {
    std::env::var("LANERUNNER_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn redis() -> Arc<dyn Cache> {
    let prefix = format!("lr-test:{}:", Uuid::now_v7().simple());
    Arc::new(
        RedisCache::connect(&redis_url(), &prefix)
            .await
            .expect("redis reachable (set LANERUNNER_TEST_REDIS_URL)"),
    )
}

fn memory() -> Arc<dyn Cache> {
    Arc::new(InMemoryCache::new())
}

async fn values_are_set_read_deleted_and_expire(cache: Arc<dyn Cache>) {
    assert_eq!(cache.get("a").await.unwrap(), None);
    cache
        .set("a", b"x", Duration::from_millis(150))
        .await
        .unwrap();
    assert_eq!(cache.get("a").await.unwrap().as_deref(), Some(&b"x"[..]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        cache.get("a").await.unwrap(),
        None,
        "expired value still read"
    );
    cache.set("b", b"y", Duration::from_secs(5)).await.unwrap();
    cache.delete("b").await.unwrap();
    assert_eq!(cache.get("b").await.unwrap(), None);
    cache.ping().await.unwrap();
}

async fn counters_count_in_a_fixed_window(cache: Arc<dyn Cache>) {
    let w = Duration::from_millis(300);
    assert_eq!(cache.peek_counter("k").await.unwrap(), (0, Duration::ZERO));
    let (n, left) = cache.incr_in_window("k", w).await.unwrap();
    assert_eq!(n, 1);
    assert!(left <= w && left > Duration::ZERO, "{left:?}");
    assert_eq!(cache.incr_in_window("k", w).await.unwrap().0, 2);
    let (n, left) = cache.peek_counter("k").await.unwrap();
    assert_eq!(n, 2);
    assert!(left <= w);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(cache.peek_counter("k").await.unwrap().0, 0);
    assert_eq!(cache.incr_in_window("k", w).await.unwrap().0, 1);
}

async fn concurrent_increments_are_atomic(cache: Arc<dyn Cache>) {
    let window = Duration::from_secs(30);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.incr_in_window("hot", window).await.unwrap().0 })
        })
        .collect();
    let mut seen: Vec<u64> = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=200).collect::<Vec<u64>>(),
        "each caller a distinct count"
    );
    let (n, left) = cache.peek_counter("hot").await.unwrap();
    assert_eq!(n, 200);
    assert!(left > Duration::ZERO && left <= window);
}

macro_rules! on_both {
    ($($name:ident),+) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    super::$name(super::memory()).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn redis() {
                    if lanerunner_platform::testing::skip_engine_test("Redis") {
                        return;
                    }
                    super::$name(super::redis().await).await
                }
            }
        )+
    };
}

on_both!(
    values_are_set_read_deleted_and_expire,
    counters_count_in_a_fixed_window,
    concurrent_increments_are_atomic
);

#[tokio::test]
async fn prefixes_keep_deployments_apart() {
    if lanerunner_platform::testing::skip_engine_test("Redis") {
        return;
    }
    let a = redis().await;
    let b = redis().await;
    a.set("same", b"a", Duration::from_secs(5)).await.unwrap();
    assert_eq!(b.get("same").await.unwrap(), None);
    assert_eq!(
        a.incr_in_window("c", Duration::from_secs(5))
            .await
            .unwrap()
            .0,
        1
    );
    assert_eq!(
        b.incr_in_window("c", Duration::from_secs(5))
            .await
            .unwrap()
            .0,
        1
    );
}
