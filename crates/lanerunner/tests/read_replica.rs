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
