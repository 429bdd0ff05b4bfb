//! PostgreSQL failover under write load, on the project's own primary and synchronous
//! streaming replica (`scripts/pg-ha.sh`: 127.0.0.1:5442 and 5443, rebuilt for each run).
//! The app's `database.url` lists both hosts; writers create and post loads without pause
//! (each create retried under its Idempotency-Key until acknowledged); the primary is killed
//! mid-stream (`pg_ctl stop -m immediate`) and the replica promoted. Without a restart, the
//! app serves writes on the new primary, which holds every write that was acknowledged, and
//! the outbox drains into the consumers.
//!
//! `LANERUNNER_PG_FAILOVER_MODE=async` runs the same failover with asynchronous replication
//! for the benchmark (`bench/pg-failover/run.sh`), which reads the `pg-failover:` line; there
//! an acknowledged write may be lost, so the RPO is reported rather than asserted.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lanerunner::testing::{dallas_atlanta_load, Account, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const PRIMARY: &str = "127.0.0.1:5442";
const REPLICA: &str = "127.0.0.1:5443";
const DATABASE: &str = "lr_failover";
/// Concurrent writers, so that writes are in flight when the primary dies.
const WRITERS: usize = 4;
/// Loads each writer gets acknowledged before the kill, and again after the promotion.
const WRITES_PER_PHASE: usize = 15;

fn pg_ha(args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-ha.sh");
    let status = Command::new("bash")
        .arg(&script)
        .args(args)
        .status()
        .expect("bash runs");
    assert!(status.success(), "scripts/pg-ha.sh {args:?} failed");
}

fn url_of(hosts: &str) -> String {
    format!("postgres://postgres@{hosts}/{DATABASE}")
}

/// What the writers saw.
#[derive(Default)]
struct Ledger {
    /// Acknowledged creates: load id → when the acknowledging request started and ended.
    acknowledged: BTreeMap<String, (Instant, Instant)>,
    /// Creates and posts that failed and were retried (5xx, refused, in flight elsewhere).
    failed_attempts: u64,
}

struct Writers {
    ledger: Mutex<Ledger>,
    stop: AtomicBool,
    /// Acknowledged creates whose request started after the promotion.
    after_promotion: AtomicU64,
    promoted_at: Mutex<Option<Instant>>,
}

impl Writers {
    fn failed(&self) {
        self.ledger.lock().unwrap().failed_attempts += 1;
    }
}

/// Creates loads under fresh Idempotency-Keys and posts each, retrying every step until it
/// succeeds, until told to stop.
async fn write(app: Arc<TestApp>, broker: Arc<Account>, writer: usize, shared: Arc<Writers>) {
    let mut n = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("failover-{writer}-{n}");
        let body = dallas_atlanta_load(&key, 250_000);
        let id = loop {
            let started = Instant::now();
            let res = app
                .client
                .post(app.url("/v1/loads"))
                .bearer_auth(&broker.access)
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
                .await;
            match res {
                Ok(r) if r.status() == StatusCode::CREATED => {
                    let created: Value = r.json().await.expect("a created load");
                    let id = created["id"].as_str().unwrap().to_string();
                    shared
                        .ledger
                        .lock()
                        .unwrap()
                        .acknowledged
                        .insert(id.clone(), (started, Instant::now()));
                    let promoted = *shared.promoted_at.lock().unwrap();
                    if promoted.is_some_and(|p| started >= p) {
                        shared.after_promotion.fetch_add(1, Ordering::Relaxed);
                    }
                    break id;
                }
                Ok(r) => {
                    let status = r.status();
                    assert!(
                        status.is_server_error() || status == StatusCode::CONFLICT,
                        "a create is refused for good: {status} {}",
                        r.text().await.unwrap_or_default()
                    );
                    shared.failed();
                }
                Err(_) => shared.failed(),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        loop {
            let res = app
                .post_json(
                    &format!("/v1/loads/{id}/post"),
                    &json!({}),
                    Some(&broker.access),
                )
                .await;
            match res.status() {
                StatusCode::OK => break,
                // The load is gone: an acknowledged write lost (asynchronous replication).
                StatusCode::NOT_FOUND => break,
                // A post that committed but whose answer was lost: repeating it conflicts.
                StatusCode::CONFLICT => {
                    let load: Value = app
                        .get(&format!("/v1/loads/{id}"), Some(&broker.access))
                        .await
                        .json()
                        .await
                        .unwrap_or_default();
                    if load["status"] == "posted" {
                        break;
                    }
                    shared.failed();
                }
                _ => shared.failed(),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "{what} within 120 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scalar_i64(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_synchronous_replica_takes_over_without_losing_an_acknowledged_write() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL (a primary and replica pair)") {
        return;
    }
    let synchronous = std::env::var("LANERUNNER_PG_FAILOVER_MODE").as_deref() != Ok("async");
    pg_ha(&["rebuild", if synchronous { "sync" } else { "async" }]);
    let mut admin = PgConnection::connect(&format!("postgres://postgres@{PRIMARY}/postgres"))
        .await
        .expect("the primary answers");
    sqlx::query(&format!("CREATE DATABASE {DATABASE}"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();

    let url = format!(
        "{}?target_session_attrs=read-write",
        url_of(&format!("{PRIMARY},{REPLICA}"))
    );
    let app = Arc::new(
        TestApp::spawn_with(Backend::Sqlite, |c| {
            c.database.url = Some(url);
            c.database.max_connections = 4;
            // The writers are one principal sending as fast as they can.
            c.http.rate_limit_per_minute = 0;
            c.http.route_limits.clear();
        })
        .await,
    );
    let broker = Arc::new(app.signup("ha@example.com", "broker").await);

    let shared = Arc::new(Writers {
        ledger: Mutex::default(),
        stop: AtomicBool::new(false),
        after_promotion: AtomicU64::new(0),
        promoted_at: Mutex::new(None),
    });
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write(app.clone(), broker.clone(), w, shared.clone())))
        .collect();
    wait_until("the writers' first loads", || {
        shared.ledger.lock().unwrap().acknowledged.len() >= WRITERS * WRITES_PER_PHASE
    })
    .await;

    pg_ha(&["kill-primary"]);
    let killed_at = Instant::now();
    let acknowledged_before_kill = shared.ledger.lock().unwrap().acknowledged.len();
    pg_ha(&["promote"]);
    *shared.promoted_at.lock().unwrap() = Some(Instant::now());
    let promoted_after = killed_at.elapsed();

    wait_until("writes on the new primary", || {
        shared.after_promotion.load(Ordering::Relaxed) >= (WRITERS * WRITES_PER_PHASE) as u64
    })
    .await;
    shared.stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("a writer panicked");
    }

    let ledger = std::mem::take(&mut *shared.ledger.lock().unwrap());
    // The service is back when a write sent after the kill is acknowledged.
    let recovered_after = ledger
        .acknowledged
        .values()
        .filter(|(started, _)| *started >= killed_at)
        .map(|(_, ended)| ended.duration_since(killed_at))
        .min()
        .expect("writes after the kill");

    let mut new_primary = PgConnection::connect(&url_of(REPLICA)).await.unwrap();
    let stored: HashSet<String> = sqlx::query_scalar::<_, Uuid>("SELECT id FROM loads.loads")
        .fetch_all(&mut new_primary)
        .await
        .unwrap()
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    let lost: Vec<&String> = ledger
        .acknowledged
        .keys()
        .filter(|id| !stored.contains(*id))
        .collect();

    // The outbox drains on the new primary, and every load.posted event reaches the matching
    // projection (a bus consumer) there.
    let mut drained = false;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let unpublished = scalar_i64(
            &mut new_primary,
            "SELECT count(*) FROM loads.outbox WHERE published_at IS NULL",
        )
        .await;
        let unconsumed = scalar_i64(
            &mut new_primary,
            "SELECT count(*) FROM loads.outbox o WHERE o.topic = 'load.posted.v1' AND NOT EXISTS \
             (SELECT 1 FROM matching.processed_events p \
              WHERE p.consumer = 'matching.projection' AND p.event_id = o.id)",
        )
        .await;
        if unpublished == 0 && unconsumed == 0 {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let posted = scalar_i64(
        &mut new_primary,
        "SELECT count(*) FROM loads.outbox WHERE topic = 'load.posted.v1'",
    )
    .await;

    println!(
        "pg-failover: mode={} acknowledged={} acknowledged_before_kill={} lost={} failed_attempts={} \
         promoted_ms={} rto_ms={} posted_events={} drained={}",
        if synchronous { "sync" } else { "async" },
        ledger.acknowledged.len(),
        acknowledged_before_kill,
        lost.len(),
        ledger.failed_attempts,
        promoted_after.as_millis(),
        recovered_after.as_millis(),
        posted,
        drained,
    );
    if synchronous {
        assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    }
    assert!(
        drained,
        "the outbox drains into the consumers on the new primary"
    );
    assert!(
        posted as usize >= ledger.acknowledged.len() - lost.len(),
        "every acknowledged load was posted"
    );

    // A process that has not met the pair yet (`lanerunner backup`) finds the new primary.
    let found = lanerunner_platform::db::primary_url(&url_of(&format!("{PRIMARY},{REPLICA}")))
        .await
        .unwrap();
    assert_eq!(found, url_of(REPLICA));

    let app = Arc::into_inner(app).expect("the writers are done");
    app.stop().await;
    new_primary.close().await.unwrap();
}
