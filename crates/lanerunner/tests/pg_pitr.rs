//! Point-in-time recovery on the project's own archiving cluster (`scripts/pg-pitr.sh`,
//! 127.0.0.1:5444, rebuilt for the run): after a base backup, a load whose WAL the archive
//! got comes back when the cluster is destroyed and recovered from the base backup and the
//! archive; a load and an erasure the archive never got are lost with the cluster (the
//! recovery point) — and identity, starting on the recovered database, erases the member
//! again from the erasure register, so the recovery does not bring them back.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use lanerunner::testing::{dallas_atlanta_load, json_of, posted, Backend, TestApp, TEST_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

const URL: &str = "postgres://postgres@127.0.0.1:5444/lanerunner_pitr";

fn pg_pitr(args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-pitr.sh");
    let status = Command::new("bash")
        .arg(&script)
        .args(args)
        .status()
        .expect("bash runs");
    assert!(status.success(), "scripts/pg-pitr.sh {args:?} failed");
}

/// Closes the WAL segment written so far and waits until the archive has it.
async fn archive_now() {
    let mut db = PgConnection::connect("postgres://postgres@127.0.0.1:5444/postgres")
        .await
        .expect("the cluster answers");
    let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last: Option<String> =
            sqlx::query_scalar("SELECT last_archived_wal FROM pg_stat_archiver")
                .fetch_one(&mut db)
                .await
                .unwrap();
        if last.is_some_and(|l| l >= segment) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "segment {segment} was not archived in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json(
        "/v1/auth/login",
        &json!({"email": email, "password": TEST_PASSWORD}),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_to_the_end_of_the_archive_keeps_what_was_archived_and_every_erasure() {
    // No segment closes by itself during the test: it closes them when it means to.
    pg_pitr(&["create", "3600"]);
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.database.url = Some(URL.into());
        c.database.max_connections = 4;
    })
    .await;
    let owner = app.signup("pitr-owner@example.com", "broker").await;
    let gone = app
        .invite_and_join(&owner, "pitr-gone@example.com", "dispatcher")
        .await;
    let before = posted(&app, &owner, &dallas_atlanta_load("PITR-BEFORE", 250_000)).await;
    pg_pitr(&["basebackup"]);
    let archived = posted(&app, &owner, &dallas_atlanta_load("PITR-ARCHIVED", 250_000)).await;
    archive_now().await;

    // Past the recovery point: WAL the archive never gets.
    let lost = posted(&app, &owner, &dallas_atlanta_load("PITR-LOST", 250_000)).await;
    let member = format!("/v1/org/users/{}", gone.user_id);
    json_of(
        app.patch_json(&member, &json!({"active": false}), Some(&owner.access))
            .await,
        StatusCode::OK,
    )
    .await;
    json_of(
        app.post_json(
            &format!("{member}/erasure"),
            &json!({}),
            Some(&owner.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        login(&app, "pitr-gone@example.com").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The disaster: the cluster and its volume are gone; recovered from the base backup and
    // the archive. The blob store (the erasure register) is not the database's.
    let stopped = app.stop().await;
    pg_pitr(&["destroy"]);
    pg_pitr(&["recover"]);
    let app = stopped.start().await;

    let res = login(&app, "pitr-owner@example.com").await;
    let body = json_of(res, StatusCode::OK).await;
    let token = body["tokens"]["access_token"]
        .as_str()
        .or(body["access_token"].as_str())
        .unwrap()
        .to_owned();
    for (id, status) in [
        (&before, StatusCode::OK),
        (&archived, StatusCode::OK),
        (&lost, StatusCode::NOT_FOUND),
    ] {
        let res = app.get(&format!("/v1/loads/{id}"), Some(&token)).await;
        assert_eq!(res.status(), status, "load {id}");
    }
    // The erasure was lost with the cluster and made again before the first request.
    assert_eq!(
        login(&app, "pitr-gone@example.com").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let shown: Value = json_of(app.get(&member, Some(&token)).await, StatusCode::OK).await;
    assert_eq!(shown["name"], "Erased member", "{shown}");
    let audit = json_of(
        app.get("/v1/org/audit-events?limit=200", Some(&token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "member_erased" && a["detail"]["reapplied"].is_object()),
        "{audit}"
    );
    let verify = json_of(
        app.get("/v1/org/audit-events/verify", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(verify["intact"], true, "{verify}");
    drop(app);
    pg_pitr(&["remove"]);
}
