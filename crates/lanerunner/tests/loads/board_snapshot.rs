//! Board snapshots: an instance starts from the deployment's snapshot and catches up from
//! the store; a corrupt, truncated, stale or foreign snapshot is refused (with its reason)
//! and the board rebuilt from the store, with the same answers either way.

use std::path::PathBuf;
use std::sync::Arc;

use lanerunner::testing::{Backend, StoppedApp};
use lanerunner_loads::{BoardStart, Loads, LoadsService};

use super::*;

fn loads(app: &TestApp) -> Arc<Loads> {
    app.app()
        .typed::<LoadsService>()
        .expect("the loads service runs")
        .loads()
        .clone()
}

fn snapshot_file(config: &lanerunner_platform::config::Config) -> PathBuf {
    config
        .data_dir
        .join("blobs")
        .join(lanerunner_loads::BOARD_SNAPSHOT_KEY)
}

/// What the board answers a carrier searching around Dallas: each load's id and reference
/// (one page holds every match).
async fn views(app: &TestApp, carrier: &Account) -> std::collections::BTreeMap<String, String> {
    let page = json_of(
        app.get(
            "/v1/loads/search?origin=Dallas,%20TX&limit=100",
            Some(&carrier.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let views: std::collections::BTreeMap<String, String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["load"]["id"].as_str().unwrap().to_string(),
                h["load"]["reference"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(page["total_matches"].as_u64(), Some(views.len() as u64));
    views
}

/// The ids of what the board answers a carrier searching around Dallas, sorted.
async fn board(app: &TestApp, carrier: &Account) -> Vec<String> {
    views(app, carrier).await.into_keys().collect()
}

/// Waits for the periodic writer's first snapshot in `app`'s data directory.
async fn first_snapshot(app: &TestApp) -> Vec<u8> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(bytes) = std::fs::read(snapshot_file(&app.config)) {
            return bytes;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no snapshot was written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops `app` and starts it again with `snapshot` in place of the snapshot file and no
/// snapshot writer; returns the app and how its board started.
async fn restart_with(app: TestApp, snapshot: &[u8], max_age_secs: u64) -> (TestApp, BoardStart) {
    let mut stopped: StoppedApp = app.stop().await;
    std::fs::write(snapshot_file(&stopped.config), snapshot).unwrap();
    stopped.config.loads.board_snapshot_interval_secs = 0;
    stopped.config.loads.board_snapshot_max_age_secs = max_age_secs;
    let app = stopped.start().await;
    let how = loads(&app).board_start();
    (app, how)
}

async fn snapshots_are_used_and_bad_ones_refused(backend: Backend) {
    let snapshots_every_second = |c: &mut lanerunner_platform::config::Config| {
        c.loads.board_snapshot_interval_secs = 1;
        c.loads.board_snapshot_max_age_secs = 3_600;
    };
    let mut app = TestApp::spawn_with(backend, snapshots_every_second).await;
    assert_eq!(
        loads(&app).board_start(),
        BoardStart::Store { refused: None }
    );
    let broker = app.signup("b@example.com", "broker").await;
    let carrier = app.signup("c@example.com", "carrier").await;
    let kept = posted(&app, &broker, &load("PO-1", "Dallas, TX", "Atlanta, GA")).await;
    let cancelled = posted(
        &app,
        &broker,
        &load("PO-2", "Fort Worth, TX", "Memphis, TN"),
    )
    .await;
    first_snapshot(&app).await;
    assert_eq!(loads(&app).write_board_snapshot().await.unwrap(), 2);
    let good = std::fs::read(snapshot_file(&app.config)).unwrap();
    // A change after the snapshot: the restarted board must not show the load.
    json_of(
        event(&app, &broker, cancelled["id"].as_str().unwrap(), "cancel").await,
        StatusCode::OK,
    )
    .await;
    let expected = vec![kept["id"].as_str().unwrap().to_string()];
    assert_eq!(board(&app, &carrier).await, expected);

    // Started from the good snapshot, caught up with the cancellation.
    let how;
    (app, how) = restart_with(app, &good, 3_600).await;
    assert_eq!(how, BoardStart::Snapshot);
    assert_eq!(board(&app, &carrier).await, expected);

    // Damaged, stale or foreign snapshots: refused, the board rebuilt from the store, the
    // same answers.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    let other = TestApp::spawn_with(backend, snapshots_every_second).await;
    let other_broker = other.signup("b@example.com", "broker").await;
    posted(
        &other,
        &other_broker,
        &load("PO-9", "Dallas, TX", "Tulsa, OK"),
    )
    .await;
    loads(&other).write_board_snapshot().await.unwrap();
    let foreign = std::fs::read(snapshot_file(&other.config)).unwrap();
    drop(other);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let cases: [(&str, &[u8], u64, &[&str]); 5] = [
        (
            "of garbage",
            b"not a snapshot at all",
            3_600,
            &["corrupt", "not_a_snapshot"],
        ),
        ("with a flipped byte", &flipped, 3_600, &["corrupt"]),
        ("truncated", &good[..good.len() - 9], 3_600, &["corrupt"]),
        ("older than the maximum age", &good, 1, &["too_old"]),
        (
            "of another deployment",
            &foreign,
            3_600,
            &["unknown_loads", "store_behind"],
        ),
    ];
    for (what, bytes, max_age, reasons) in cases {
        let how;
        (app, how) = restart_with(app, bytes, max_age).await;
        let BoardStart::Store {
            refused: Some(reason),
        } = how
        else {
            panic!("a snapshot {what} was not refused: {how:?}");
        };
        assert!(
            reasons.contains(&reason),
            "a snapshot {what} was refused as {reason}"
        );
        assert_eq!(
            board(&app, &carrier).await,
            expected,
            "after a snapshot {what}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_boards_start_from_snapshots_and_refuse_bad_ones() {
    snapshots_are_used_and_bad_ones_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_boards_start_from_snapshots_and_refuse_bad_ones() {
    if lanerunner::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    snapshots_are_used_and_bad_ones_refused(Backend::Postgres).await;
}

/// Of instances claiming the next snapshot at the same instant exactly one wins, and no one
/// wins again before the interval has (nearly) passed.
async fn one_instance_claims_each_snapshot(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    // A sibling shares the database on PostgreSQL; on SQLite (one instance per store) the
    // racers are tasks of one instance.
    let b = match backend {
        Backend::Sqlite => None,
        _ => Some(a.spawn_sibling().await),
    };
    let every = Duration::from_millis(1_500);
    let (la, lb) = (loads(&a), loads(b.as_ref().unwrap_or(&a)));
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let loads = if i % 2 == 0 { la.clone() } else { lb.clone() };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                loads.claim_board_snapshot(every).await.unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        won += usize::from(r.await.unwrap());
    }
    assert_eq!(won, 1, "claims won by instances racing for one snapshot");
    assert!(!lb.claim_board_snapshot(every).await.unwrap());
    tokio::time::sleep(every).await;
    assert!(lb.claim_board_snapshot(every).await.unwrap());
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_instances_claim_each_snapshot_once() {
    one_instance_claims_each_snapshot(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_claim_each_snapshot_once() {
    if lanerunner::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    one_instance_claims_each_snapshot(Backend::Postgres).await;
}

/// A board that starts empty compresses its views without a dictionary, trains one when it
/// has grown to 64 loads (recompressing every view), and hands it to the next instance in
/// its snapshot: every view reads back whole at each step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_board_trains_its_view_dictionary_and_its_snapshot_carries_it() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.loads.board_snapshot_interval_secs = 0;
    })
    .await;
    let broker = app.signup("b@example.com", "broker").await;
    let carrier = app.signup("c@example.com", "carrier").await;
    let origins = ["Dallas, TX", "Fort Worth, TX", "Arlington, TX", "Plano, TX"];
    let mut expected = std::collections::BTreeMap::new();
    for i in 0..70 {
        let l = posted(
            &app,
            &broker,
            &load(&format!("PO-{i}"), origins[i % 4], "Atlanta, GA"),
        )
        .await;
        expected.insert(
            l["id"].as_str().unwrap().to_string(),
            l["reference"].as_str().unwrap().to_string(),
        );
    }
    assert_eq!(views(&app, &carrier).await, expected);
    let stats = loads(&app).board_view_stats();
    assert_eq!((stats.loads, stats.trained_on), (70, 64), "{stats:?}");
    assert!(stats.dictionary_bytes > 0, "{stats:?}");
    assert_eq!(loads(&app).write_board_snapshot().await.unwrap(), 70);
    let snapshot = std::fs::read(snapshot_file(&app.config)).unwrap();
    let (app, how) = restart_with(app, &snapshot, 3_600).await;
    assert_eq!(how, BoardStart::Snapshot);
    assert_eq!(views(&app, &carrier).await, expected);
    assert_eq!(loads(&app).board_view_stats(), stats);
}
