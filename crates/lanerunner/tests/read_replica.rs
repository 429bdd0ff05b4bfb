//! Reads that tolerate lag are served by a real streaming replica (`scripts/pg-replica.sh`:
//! a primary on 127.0.0.1:5440 and a `pg_basebackup` replica on 5441). With the replica's
//! replay paused, the truck search (a replica read) cannot see a truck the primary has; once
//! replay resumes it does. A second instance started while the replica lags rebuilds its
//! board from the replica and catches up from the primary, so it misses nothing.

use std::time::{Duration, Instant};

use lanerunner::testing::{at, replica_url, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

fn truck(place: &str) -> Value {
    json!({"equipment": "V", "available_at": {"place": place}, "available_from": at(1, 6),
           "available_until": at(4, 18), "max_deadhead_miles": 200})
}

/// Pauses the replica's WAL replay while alive; resumes it when dropped.
struct PausedReplay(String);

impl PausedReplay {
    async fn start(url: &str) -> PausedReplay {
        let mut c = PgConnection::connect(url).await.expect("replica reachable");
        sqlx::query("SELECT pg_wal_replay_pause()")
            .execute(&mut c)
            .await
            .unwrap();
        PausedReplay(url.to_string())
    }
}

impl Drop for PausedReplay {
    fn drop(&mut self) {
        let url = self.0.clone();
        // Drop cannot await: resume on a thread of its own with its own runtime.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    if let Ok(mut c) = PgConnection::connect(&url).await {
                        let _ = sqlx::query("SELECT pg_wal_replay_resume()")
                            .execute(&mut c)
                            .await;
                    }
                })
        })
        .join();
    }
}

async fn trucks_near_dallas(app: &TestApp, token: &str) -> usize {
    let res = app
        .get(
            "/v1/trucks/search?origin=Dallas,%20TX&radius_miles=300",
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap().as_array().unwrap().len()
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_tolerant_reads_are_served_by_the_streaming_replica() {
    if lanerunner_platform::testing::skip_engine_test("the PostgreSQL primary and replica") {
        return;
    }
    let a = TestApp::spawn(Backend::PostgresReplica).await;
    let db_name = a
        .config
        .database
        .url
        .as_deref()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let replica = replica_url(&db_name);
    let readyz: Value = a.get("/readyz", None).await.json().await.unwrap();
    assert!(
        readyz.to_string().contains("loads.read_replica"),
        "{readyz}"
    );

    let broker = a.signup("b@example.com", "broker").await;
    let carrier = a.signup("c@example.com", "carrier").await;
    let res = a
        .post_json("/v1/trucks", &truck("Irving, TX"), Some(&carrier.access))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    eventually("the replica replays the first truck", async || {
        trucks_near_dallas(&a, &broker.access).await == 1
    })
    .await;

    let paused = PausedReplay::start(&replica).await;
    let res = a
        .post_json("/v1/trucks", &truck("Waco, TX"), Some(&carrier.access))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let load = json!({
        "reference": "PO-1", "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 40000, "commodity": "paper",
        "stops": [
            {"kind": "pickup", "location": {"place": "Dallas, TX"}, "window": {"start": at(3, 8), "end": at(3, 14)}},
            {"kind": "delivery", "location": {"place": "Atlanta, GA"}, "appointment": at(5, 9)}]
    });
    let created: Value = a
        .post_json("/v1/loads", &load, Some(&broker.access))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let res = a
        .post_json(
            &format!("/v1/loads/{id}/post"),
            &json!({}),
            Some(&broker.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // The primary has two trucks; the paused replica, which serves the search, has one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        trucks_near_dallas(&a, &broker.access).await,
        1,
        "truck search is read from the replica"
    );

    // A second instance starting now rebuilds its board from the lagging replica, then
    // catches up from the primary: the load posted during the lag is on its board.
    let b = a.spawn_sibling().await;
    let hits: Value = b
        .get(
            "/v1/loads/search?origin=Dallas,%20TX",
            Some(&carrier.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hits["total_matches"], 1, "{hits}");

    drop(paused);
    eventually("the replica replays the second truck", async || {
        trucks_near_dallas(&a, &broker.access).await == 2
    })
    .await;
    drop(b);
}

/// `pg_is_in_recovery()` of the server the reader pool reads from, or `None` when no read
/// goes through.
async fn reads_from_a_standby(reader: &lanerunner_platform::Db) -> Option<bool> {
    let lanerunner_platform::Db::Postgres(pool) = reader else {
        panic!("the reader is PostgreSQL");
    };
    sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(pool.pool())
        .await
        .ok()
}

fn host_of(url: &str) -> String {
    let url = reqwest::Url::parse(url).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
}

/// `database.read_url` listing several hosts (libpq's form): reads go to a standby — the
/// primary listed first is passed over — and move to another standby when the one in use
/// goes away; with none left they fall back to the primary (`prefer-standby`, the default)
/// and return to a standby as soon as one answers. With `target_session_attrs=standby`
/// there is no falling back. Two proxies in front of the one replica stand for two standbys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_url_host_list_follows_the_standbys() {
    if lanerunner_platform::testing::skip_engine_test("the PostgreSQL primary and replica") {
        return;
    }
    let primary = std::env::var(lanerunner::testing::TEST_PG_PRIMARY_URL_ENV)
        .unwrap_or_else(|_| lanerunner::testing::DEFAULT_TEST_PG_PRIMARY_URL.into());
    let replica = host_of(&replica_url("postgres"));
    let a = lanerunner_platform::testing::FlakyProxy::start(&replica)
        .await
        .unwrap();
    let b = lanerunner_platform::testing::FlakyProxy::start(&replica)
        .await
        .unwrap();
    let list = |attrs: &str| {
        format!(
            "postgres://postgres@{},127.0.0.1:{},127.0.0.1:{}/postgres{attrs}",
            host_of(&primary),
            a.port,
            b.port
        )
    };
    let mut config = lanerunner_platform::Config::default();
    config.database.url = Some(primary.clone());
    config.database.read_url = Some(list(""));
    config.database.acquire_timeout_ms = 3_000;
    config.validate().expect("a host list is a valid read_url");
    let db = lanerunner_platform::db::connect(&config, "read_list")
        .await
        .unwrap();
    let reader = lanerunner_platform::db::connect_reader(&config, "read_list", &db).unwrap();

    eventually("a standby serves the reads", async || {
        reads_from_a_standby(&reader).await == Some(true)
    })
    .await;
    // Each process starts its search at a place of its own (the primary, here, one time in
    // three): every one ends on a standby, whatever its first connection met.
    for i in 0..6 {
        let mut other = config.clone();
        other.database.read_url = Some(list(&format!("?application_name=reader{i}")));
        let reader = lanerunner_platform::db::connect_reader(&other, "read_list", &db).unwrap();
        let _ = reads_from_a_standby(&reader).await;
        eventually("every reader ends on a standby", async || {
            reads_from_a_standby(&reader).await == Some(true)
        })
        .await;
    }
    for (cut, other) in [(&a, &b), (&b, &a)] {
        cut.down();
        other.restore();
        eventually("reads go on on the other standby", async || {
            reads_from_a_standby(&reader).await == Some(true)
        })
        .await;
    }
    a.down();
    b.down();
    eventually(
        "with no standby, reads fall back to the primary",
        async || reads_from_a_standby(&reader).await == Some(false),
    )
    .await;
    b.restore();
    eventually("back on a standby once one answers", async || {
        reads_from_a_standby(&reader).await == Some(true)
    })
    .await;

    // `standby` only: with no standby answering, no read is served (by the primary or
    // anyone), and a standby that comes back serves them again.
    let mut strict = config.clone();
    strict.database.read_url = Some(list("?target_session_attrs=standby"));
    b.down();
    let reader = lanerunner_platform::db::connect_reader(&strict, "read_list", &db).unwrap();
    for _ in 0..3 {
        assert_eq!(reads_from_a_standby(&reader).await, None);
    }
    a.restore();
    eventually(
        "a standby that answers again serves the reads",
        async || reads_from_a_standby(&reader).await == Some(true),
    )
    .await;

    // A read_url that asks for the primary is refused by the configuration check.
    let mut wrong = config.clone();
    wrong.database.read_url = Some(list("?target_session_attrs=read-write"));
    let err = wrong.validate().unwrap_err().to_string();
    assert!(
        err.contains("database.read_url") && err.contains("prefer-standby"),
        "{err}"
    );
    if let lanerunner_platform::Db::Postgres(pool) = &db {
        let _ = sqlx::query("DROP SCHEMA read_list CASCADE")
            .execute(pool.pool())
            .await;
    }
}
