//! The outbox relay and the idempotent consumer against real stores: SQLite, and
//! PostgreSQL in a throwaway schema.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_core::{EventEnvelope, EventType};
use lanerunner_platform::bus::{run_consumer, EventBus, EventHandler, InMemoryBus};
use lanerunner_platform::db::{connect, Migrations};
use lanerunner_platform::outbox::{enqueue, OutboxRelay, OutboxSignal};
use lanerunner_platform::{on_db, Config, Db, Tx};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const HAPPENED: EventType = EventType::new("test.happened", 1);

fn no_service_migrations() -> Migrations {
    // The platform's own tables are all these tests need.
    Migrations::platform()
}

struct Store {
    db: Db,
    cleanup: Option<(String, String)>,
    _dir: std::path::PathBuf,
}

async fn store(postgres: bool) -> Store {
    let dir = std::env::temp_dir().join(format!("lr-platform-{}", Uuid::now_v7()));
    let mut config = Config {
        data_dir: dir.clone(),
        ..Config::default()
    };
    let letters: String = Uuid::now_v7()
        .simple()
        .to_string()
        .chars()
        .rev()
        .take(12)
        .map(|c| (b'a' + (c as u8 % 26)) as char)
        .collect();
    let schema = format!("t_{letters}");
    let mut cleanup = None;
    if postgres {
        let url = std::env::var("LANERUNNER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        config.database.url = Some(url.clone());
        cleanup = Some((url, schema.clone()));
    }
    let db = connect(&config, &schema)
        .await
        .expect("store reachable (set LANERUNNER_TEST_POSTGRES_URL)");
    db.migrate(&no_service_migrations()).await.unwrap();
    Store {
        db,
        cleanup,
        _dir: dir,
    }
}

impl Store {
    async fn drop_schema(self) {
        self.db.close().await;
        if let Some((url, schema)) = self.cleanup {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&pool)
                .await
                .unwrap();
        }
        let _ = std::fs::remove_dir_all(self._dir);
    }
}

fn event(n: u32) -> EventEnvelope {
    EventEnvelope::new(
        HAPPENED,
        None,
        Uuid::now_v7(),
        &serde_json::json!({ "n": n }),
    )
    .unwrap()
}

async fn unpublished(db: &Db) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"
    )
    .fetch_one(p)
    .await)
    .unwrap()
}

async fn relay_publishes_committed_events_in_order_and_never_rolled_back_ones(postgres: bool) {
    let s = store(postgres).await;
    let bus = Arc::new(InMemoryBus::default());
    let mut sub = bus.subscribe("observer", &["test.#"]).await.unwrap();
    let mut tx = s.db.begin().await.unwrap();
    for n in 0..3 {
        enqueue(&mut tx, &event(n)).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut rolled_back = s.db.begin().await.unwrap();
    enqueue(&mut rolled_back, &event(99)).await.unwrap();
    rolled_back.rollback().await.unwrap();
    assert_eq!(unpublished(&s.db).await, 3);

    let relay = OutboxRelay::new(
        "test",
        s.db.clone(),
        bus.clone(),
        OutboxSignal::default(),
        Duration::from_millis(50),
        2,
    );
    assert_eq!(relay.relay_batch().await.unwrap(), 2);
    assert_eq!(relay.relay_batch().await.unwrap(), 1);
    assert_eq!(relay.relay_batch().await.unwrap(), 0);
    assert_eq!(unpublished(&s.db).await, 0);
    for n in 0..3 {
        let d = sub.next().await.unwrap();
        assert_eq!(d.event.payload["n"], n);
        d.ack().await;
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(100), sub.next())
            .await
            .is_err(),
        "the rolled-back event leaked"
    );
    s.drop_schema().await;
}

/// Counts effects, and fails the first `fail_first` calls.
struct Counting {
    calls: AtomicUsize,
    fail_first: usize,
}

#[async_trait]
impl EventHandler for Counting {
    async fn handle(&self, _event: &EventEnvelope, _tx: &mut Tx) -> anyhow::Result<()> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        anyhow::ensure!(call >= self.fail_first, "transient failure {call}");
        Ok(())
    }
}

async fn processed(db: &Db) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events"
    )
    .fetch_one(p)
    .await)
    .unwrap()
}

async fn consumer_applies_each_event_once_and_retries_failures(postgres: bool) {
    let s = store(postgres).await;
    let bus: Arc<dyn EventBus> = Arc::new(InMemoryBus::new(5, Duration::from_millis(5)));
    let handler = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        fail_first: 2,
    });
    let stop = CancellationToken::new();
    // Join the group before publishing, as the application does at start-up.
    drop(bus.subscribe("test.counter", &["test.#"]).await.unwrap());
    let task = tokio::spawn(run_consumer(
        bus.clone(),
        s.db.clone(),
        "test.counter".into(),
        vec!["test.#".into()],
        handler.clone(),
        OutboxSignal::default(),
        stop.clone(),
    ));
    let e = event(1);
    // At-least-once delivery: the same event arrives three times.
    for _ in 0..3 {
        bus.publish(&e).await.unwrap();
    }
    bus.publish(&event(2)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while processed(&s.db).await < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not processed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Two failures (rolled back, redelivered), then one effect per distinct event; the
    // duplicates were acknowledged without running the handler.
    assert_eq!(handler.calls.load(Ordering::SeqCst), 4);
    assert_eq!(processed(&s.db).await, 2);
    assert!(bus.dead_letters("test.counter").await.unwrap().is_empty());
    stop.cancel();
    task.await.unwrap().unwrap();
    s.drop_schema().await;
}

/// Fails every time on one event; counts calls.
struct Poisoned {
    poison: Uuid,
    calls: AtomicUsize,
}

#[async_trait]
impl EventHandler for Poisoned {
    async fn handle(&self, event: &EventEnvelope, _tx: &mut Tx) -> anyhow::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        anyhow::ensure!(event.id != self.poison, "poison");
        Ok(())
    }
}

/// Ten events queued before the consumer starts are taken as one batch; the fifth always
/// fails, so the batch is rolled back and applied one event at a time: the nine others are
/// applied once, the fifth alone is refused until it is dead-lettered.
async fn a_failing_event_in_a_batch_costs_only_itself(postgres: bool) {
    let s = store(postgres).await;
    let bus: Arc<dyn EventBus> = Arc::new(InMemoryBus::new(5, Duration::from_millis(5)));
    drop(bus.subscribe("test.batch", &["test.#"]).await.unwrap());
    let events: Vec<EventEnvelope> = (0..10).map(event).collect();
    for e in &events {
        bus.publish(e).await.unwrap();
    }
    let handler = Arc::new(Poisoned {
        poison: events[4].id,
        calls: AtomicUsize::new(0),
    });
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_consumer(
        bus.clone(),
        s.db.clone(),
        "test.batch".into(),
        vec!["test.#".into()],
        handler.clone(),
        OutboxSignal::default(),
        stop.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bus.dead_letters("test.batch").await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "poison not dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = bus.dead_letters("test.batch").await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event.id, events[4].id);
    assert_eq!(processed(&s.db).await, 9);
    // The batch ran events 0–4 and was rolled back (5 calls); one at a time, all ten ran
    // (10); the poison's four redeliveries ran alone (4).
    assert_eq!(handler.calls.load(Ordering::SeqCst), 19);
    stop.cancel();
    task.await.unwrap().unwrap();
    s.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_failure_sqlite() {
    a_failing_event_in_a_batch_costs_only_itself(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_failure_postgres() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    a_failing_event_in_a_batch_costs_only_itself(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_in_order_sqlite() {
    relay_publishes_committed_events_in_order_and_never_rolled_back_ones(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_in_order_postgres() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    relay_publishes_committed_events_in_order_and_never_rolled_back_ones(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_idempotent_sqlite() {
    consumer_applies_each_event_once_and_retries_failures(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_idempotent_postgres() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    consumer_applies_each_event_once_and_retries_failures(true).await;
}

/// Three relays (three instances) over one PostgreSQL outbox while a writer commits: every
/// event is published exactly once and in commit order, because one relay holds the
/// advisory lock at a time (`SKIP LOCKED` batches would let a later batch overtake).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_relays_publish_once_each_in_commit_order_postgres() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    let s = store(true).await;
    let bus = Arc::new(InMemoryBus::default());
    let mut sub = bus.subscribe("observer", &["test.#"]).await.unwrap();
    let stop = CancellationToken::new();
    let signal = OutboxSignal::default();
    for _ in 0..3 {
        let relay = OutboxRelay::new(
            "test",
            s.db.clone(),
            bus.clone(),
            signal.clone(),
            Duration::from_millis(20),
            7,
        );
        tokio::spawn(relay.run(stop.clone()));
    }
    const TXS: u32 = 100;
    let writer = {
        let (db, signal) = (s.db.clone(), signal.clone());
        tokio::spawn(async move {
            for t in 0..TXS {
                let mut tx = db.begin().await.unwrap();
                for k in 0..3 {
                    enqueue(&mut tx, &event(t * 3 + k)).await.unwrap();
                }
                tx.commit().await.unwrap();
                signal.committed();
            }
        })
    };
    for expected in 0..TXS * 3 {
        let d = tokio::time::timeout(Duration::from_secs(20), sub.next())
            .await
            .expect("every event within 20 s")
            .unwrap();
        assert_eq!(
            d.event.payload["n"], expected,
            "published out of commit order, or twice"
        );
        d.ack().await;
    }
    writer.await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sub.next())
            .await
            .is_err(),
        "an event was published twice"
    );
    assert_eq!(unpublished(&s.db).await, 0);
    stop.cancel();
    s.drop_schema().await;
}
