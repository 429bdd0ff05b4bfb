//! One contract, every fan-out backend: in process, and Redis pub/sub
//! (`LANERUNNER_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`) with two instances under
//! one prefix, as two replicas of a deployment would be.

use std::sync::Arc;
use std::time::Duration;

use lanerunner_platform::fanout::{Fanout, InMemoryFanout, Push, RedisFanout};
use serde_json::json;
use uuid::Uuid;

fn redis_url() -> String {
    std::env::var("LANERUNNER_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn receive(feed: &mut tokio::sync::broadcast::Receiver<Arc<Push>>) -> Arc<Push> {
    tokio::time::timeout(Duration::from_secs(10), feed.recv())
        .await
        .expect("a push within 10 s")
        .expect("the feed is open")
}

/// What one instance publishes reaches every instance's local feed, once, in order.
async fn a_push_reaches_every_instance_in_order(a: Arc<dyn Fanout>, b: Arc<dyn Fanout>) {
    let mut feed_a = a.local();
    let mut feed_b = b.local();
    let org = lanerunner_core::OrgId::new();
    for n in 0..3 {
        // The last goes to every organization (a public board event).
        a.publish(&Push {
            org_id: (n < 2).then_some(org),
            message: json!({ "type": "t", "n": n }),
        })
        .await
        .unwrap();
    }
    for feed in [&mut feed_a, &mut feed_b] {
        for n in 0..3 {
            let push = receive(feed).await;
            assert_eq!(push.org_id, (n < 2).then_some(org));
            assert_eq!(push.message["n"], n);
        }
        assert!(feed.try_recv().is_err(), "each push arrives once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process() {
    let one: Arc<dyn Fanout> = Arc::new(InMemoryFanout::default());
    a_push_reaches_every_instance_in_order(one.clone(), one).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis() {
    if lanerunner_platform::testing::skip_engine_test("Redis") {
        return;
    }
    let prefix = format!("lr-test:{}:", Uuid::now_v7().simple());
    let a = RedisFanout::connect(&redis_url(), &prefix)
        .await
        .expect("redis reachable (set LANERUNNER_TEST_REDIS_URL)");
    let b = RedisFanout::connect(&redis_url(), &prefix).await.unwrap();
    a_push_reaches_every_instance_in_order(Arc::new(a), Arc::new(b)).await;
}
