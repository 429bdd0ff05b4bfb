//! Outgoing webhooks over real HTTP to a receiver on loopback that verifies every
//! delivery's Standard Webhooks signature: an organization's endpoint hears its own load's
//! events in order and nobody else's; failures are retried with backoff, dead-lettered and
//! replayed with the same `webhook-id`; a rotated secret signs beside the new one during
//! its overlap; a hanging endpoint times out; a private address is refused when the
//! operator has not allowed it; two instances never send one delivery twice.

use std::sync::Arc;
use std::time::Duration;

use lanerunner::both_backends;
use lanerunner::testing::{
    book, dallas_atlanta_load, expect_problem, json_of, poll, posted, Account, Backend, TestApp,
};
use lanerunner::webhook_receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{json, Value};

const ENDPOINTS: &str = "/v1/webhooks/endpoints";

async fn endpoint(
    app: &TestApp,
    who: &Account,
    receiver: &Receiver,
    types: &[&str],
) -> (String, String) {
    let created = json_of(
        app.post_json(
            ENDPOINTS,
            &json!({"url": receiver.url, "description": "our TMS", "event_types": types}),
            Some(&who.access),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    receiver.hold(&[&secret]);
    (created["id"].as_str().unwrap().to_owned(), secret)
}

/// Waits until `receiver` has requests satisfying `done`; panics after 20 s.
async fn wait_for(
    receiver: &Receiver,
    what: &str,
    done: impl Fn(&[lanerunner::webhook_receiver::Received]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = receiver.received();
        if done(&got) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the receiver never got {what}: {:?}",
            got.iter()
                .map(|r| (&r.body["type"], r.answered))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Queues a `webhook.test.v1` message for the endpoint: its delivery.
async fn send_test(app: &TestApp, who: &Account, endpoint: &str) -> Value {
    json_of(
        app.post_json(
            &format!("{ENDPOINTS}/{endpoint}/test"),
            &json!({}),
            Some(&who.access),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await
}

/// Queues a test message for the endpoint and waits until its delivery is dead (the apps
/// in these tests try once): the delivery, with its log.
async fn dead_test(app: &TestApp, who: &Account, endpoint: &str) -> Value {
    let sent = send_test(app, who, endpoint).await;
    let path = format!("/v1/webhooks/deliveries/{}", sent["id"].as_str().unwrap());
    poll(app, &path, who, |d| d["status"] == "dead").await
}

async fn deliveries(app: &TestApp, who: &Account, endpoint: &str, query: &str) -> Vec<Value> {
    let page = json_of(
        app.get(
            &format!("{ENDPOINTS}/{endpoint}/deliveries{query}"),
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

both_backends!(
    async fn an_endpoint_hears_its_own_loads_events_signed_and_in_order(app: TestApp) {
        let broker = app.signup("wh-broker@example.com", "broker").await;
        let carrier = app.signup("wh-carrier@example.com", "carrier").await;
        let receiver = Receiver::start().await.unwrap();
        let theirs = Receiver::start().await.unwrap();

        // The catalog holds customer-facing events only.
        let types = json_of(
            app.get("/v1/webhooks/event-types", Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let names: Vec<&str> = types
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["event_type"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"load.booked.v1"));
        assert!(!names
            .iter()
            .any(|n| n.starts_with("email.") || n.starts_with("identity.")));

        let (id, _) = endpoint(
            &app,
            &broker,
            &receiver,
            &["load.posted.v1", "load.status_changed.v1", "load.booked.v1"],
        )
        .await;
        // The carrier's endpoint wants everything, and still hears nothing of the broker's load.
        let (carrier_endpoint, _) = endpoint(&app, &carrier, &theirs, &[]).await;
        let load = book(
            &app,
            &broker,
            &carrier,
            &dallas_atlanta_load("WH-1", 210_000),
        )
        .await;

        wait_for(
            &receiver,
            "the posting, the booking and the status change",
            |got| {
                ["load.posted.v1", "load.booked.v1", "load.status_changed.v1"]
                    .iter()
                    .all(|t| {
                        got.iter()
                            .any(|r| r.body["type"] == *t && r.answered == 200)
                    })
            },
        )
        .await;
        let got = receiver.received();
        for r in &got {
            assert!(r.verified, "every delivery verifies: {r:?}");
            assert!(r.id.starts_with("msg_"));
            assert_eq!(r.signature.split(' ').count(), 1);
        }
        // One load's events arrive in the order they happened: posted before booked.
        let position = |t: &str| got.iter().position(|r| r.body["type"] == t).unwrap();
        assert!(position("load.posted.v1") < position("load.booked.v1"));
        let booked = &got[position("load.booked.v1")].body;
        assert_eq!(booked["data"]["load_id"], load.as_str());
        assert!(booked["timestamp"].is_string());
        // Each message once: no request for an acknowledged id came again.
        assert!(receiver.acknowledged().values().all(|after| *after == 0));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !theirs
                .received()
                .iter()
                .any(|r| r.body["type"] == "load.posted.v1"),
            "another organization's posting reached the carrier's endpoint"
        );

        // The log: each delivered at the first attempt, with the receiver's answer.
        let log = deliveries(&app, &broker, &id, "?status=delivered").await;
        assert!(log.len() >= 3, "{log:?}");
        assert!(log
            .iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 1));
        let detail = json_of(
            app.get(
                &format!("/v1/webhooks/deliveries/{}", log[0]["id"].as_str().unwrap()),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(detail["attempts_log"][0]["status_code"], 200);
        assert_eq!(detail["attempts_log"][0]["trigger"], "scheduled");
        assert!(detail["payload"]["type"].is_string());
        let listed = json_of(
            app.get(ENDPOINTS, Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        assert!(
            listed["items"][0]["deliveries"]["delivered"]
                .as_i64()
                .unwrap()
                >= 3
        );
        assert!(
            listed["items"][0].get("secret").is_none(),
            "the list never shows a secret"
        );

        // Another organization's endpoint and delivery are not found.
        let carriers_log = deliveries(&app, &carrier, &carrier_endpoint, "").await;
        expect_problem(
            app.get(
                &format!("{ENDPOINTS}/{carrier_endpoint}"),
                Some(&broker.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.get(
                &format!("{ENDPOINTS}/{id}/deliveries"),
                Some(&carrier.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.get(&format!("{ENDPOINTS}/{id}/secret"), Some(&carrier.access))
                .await,
            404,
            "not-found",
        )
        .await;
        if let Some(d) = carriers_log.first() {
            expect_problem(
                app.post_json(
                    &format!(
                        "/v1/webhooks/deliveries/{}/replay",
                        d["id"].as_str().unwrap()
                    ),
                    &json!({}),
                    Some(&broker.access),
                )
                .await,
                404,
                "not-found",
            )
            .await;
        }

        // Nor can another organization change, rotate, test or recover it.
        let theirs_put = json!({"url": "https://example.com/x"});
        expect_problem(
            app.put_json(
                &format!("{ENDPOINTS}/{id}"),
                &theirs_put,
                Some(&carrier.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.delete(&format!("{ENDPOINTS}/{id}"), Some(&carrier.access))
                .await,
            404,
            "not-found",
        )
        .await;
        for action in ["secret/rotate", "test"] {
            expect_problem(
                app.post_json(
                    &format!("{ENDPOINTS}/{id}/{action}"),
                    &json!({}),
                    Some(&carrier.access),
                )
                .await,
                404,
                "not-found",
            )
            .await;
        }
        expect_problem(
            app.post_json(
                &format!("{ENDPOINTS}/{id}/recover"),
                &json!({"since": "2020-01-01T00:00:00Z"}),
                Some(&carrier.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;

        // A disabled endpoint is sent nothing and refuses a test.
        let disabled =
            json!({"url": receiver.url, "event_types": ["load.posted.v1"], "disabled": true});
        let put = json_of(
            app.put_json(
                &format!("{ENDPOINTS}/{id}"),
                &disabled,
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(put["disabled"], true);
        expect_problem(
            app.post_json(
                &format!("{ENDPOINTS}/{id}/test"),
                &json!({}),
                Some(&broker.access),
            )
            .await,
            409,
            "endpoint-disabled",
        )
        .await;
        let before = receiver.received().len();
        posted(&app, &broker, &dallas_atlanta_load("WH-2", 190_000)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(receiver.received().len(), before);

        // Deleting removes the endpoint and its log.
        assert_eq!(
            app.delete(&format!("{ENDPOINTS}/{id}"), Some(&broker.access))
                .await
                .status(),
            StatusCode::NO_CONTENT
        );
        expect_problem(
            app.get(
                &format!("{ENDPOINTS}/{id}/deliveries"),
                Some(&broker.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
    }

    async fn failures_are_retried_dead_lettered_and_replayed_in_order(app: TestApp) {
        let broker = app.signup("wh-retry@example.com", "broker").await;
        let receiver = Receiver::start().await.unwrap();
        let (id, _) = endpoint(&app, &broker, &receiver, &[]).await;

        // Two failures, then an acknowledgement: three attempts with the same webhook-id.
        receiver.script(&[500, 503]);
        let first = send_test(&app, &broker, &id).await;
        let first_id = first["id"].as_str().unwrap().to_owned();
        let delivery = format!("/v1/webhooks/deliveries/{first_id}");
        let done = poll(&app, &delivery, &broker, |d| d["status"] == "delivered").await;
        assert_eq!(done["attempts"], 3);
        let codes: Vec<&Value> = done["attempts_log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["status_code"])
            .collect();
        assert_eq!(codes, [&json!(500), &json!(503), &json!(200)]);
        assert_eq!(done["attempts_log"][0]["error"], "HTTP 500");
        let got = receiver.received();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|r| r.id == got[0].id && r.verified));

        // Every attempt fails: dead after the last (4 here). A second message of the same
        // endpoint and aggregate waits behind it, never overtaking.
        receiver.fail_ratio(1.0);
        let a = send_test(&app, &broker, &id).await;
        let b = send_test(&app, &broker, &id).await;
        let (a_msg, b_msg) = (
            a["message_id"].as_str().unwrap().to_owned(),
            b["message_id"].as_str().unwrap().to_owned(),
        );
        let a_path = format!("/v1/webhooks/deliveries/{}", a["id"].as_str().unwrap());
        let dead = poll(&app, &a_path, &broker, |d| d["status"] == "dead").await;
        assert_eq!(dead["attempts"], 4);
        assert!(dead["next_attempt_at"].is_null());
        let b_path = format!("/v1/webhooks/deliveries/{}", b["id"].as_str().unwrap());
        poll(&app, &b_path, &broker, |d| d["status"] == "dead").await;
        let got = receiver.received();
        let last_a = got.iter().rposition(|r| r.id == a_msg).unwrap();
        let first_b = got.iter().position(|r| r.id == b_msg).unwrap();
        assert!(
            last_a < first_b,
            "a later message overtook an earlier one of the same aggregate"
        );
        assert_eq!(
            deliveries(&app, &broker, &id, "?status=dead").await.len(),
            2
        );

        // Replaying one sends it again with the same id; recovering sends every dead one.
        receiver.fail_ratio(0.0);
        let replayed = json_of(
            app.post_json(
                &format!("{a_path}/replay"),
                &json!({}),
                Some(&broker.access),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        assert_eq!(replayed["status"], "pending");
        let again = poll(&app, &a_path, &broker, |d| d["status"] == "delivered").await;
        assert_eq!(
            again["attempts_log"].as_array().unwrap().last().unwrap()["trigger"],
            "replay"
        );
        let recovered = json_of(
            app.post_json(
                &format!("{ENDPOINTS}/{id}/recover"),
                &json!({"since": "2020-01-01T00:00:00Z"}),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(recovered["replayed"], 1);
        poll(&app, &b_path, &broker, |d| d["status"] == "delivered").await;
        let acked = receiver.acknowledged();
        assert_eq!(acked.get(&b_msg), Some(&0));
        assert!(deliveries(&app, &broker, &id, "?status=dead")
            .await
            .is_empty());

        // Bad input.
        expect_problem(
            app.get(
                &format!("{ENDPOINTS}/{id}/deliveries?status=lost"),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            app.post_json(
                "/v1/webhooks/deliveries/0190a1b2-0000-7000-8000-000000000000/replay",
                &json!({}),
                Some(&broker.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.post_json(
                &format!("{ENDPOINTS}/{id}/recover"),
                &json!({"since": "yesterday"}),
                Some(&broker.access),
            )
            .await,
            422,
            "invalid-body",
        )
        .await;
        for bad in [
            json!({"url": "ftp://example.com/x"}),
            json!({"url": "https://example.com/x", "event_types": ["email.send_requested.v1"]}),
            json!({"url": format!("https://example.com/{}", "x".repeat(2100))}),
        ] {
            expect_problem(
                app.post_json(ENDPOINTS, &bad, Some(&broker.access)).await,
                422,
                "validation",
            )
            .await;
        }
        expect_problem(
            app.post_json(
                ENDPOINTS,
                &json!({"url": "https://example.com/x", "colour": "red"}),
                Some(&broker.access),
            )
            .await,
            422,
            "invalid-body",
        )
        .await;
        // Only owners and admins manage endpoints.
        let dispatcher = app
            .invite_and_join(&broker, "wh-dispatcher@example.com", "dispatcher")
            .await;
        expect_problem(
            app.post_json(
                ENDPOINTS,
                &json!({"url": receiver.url}),
                Some(&dispatcher.access),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
        expect_problem(
            app.get(
                &format!("{ENDPOINTS}/{id}/secret"),
                Some(&dispatcher.access),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
        json_of(
            app.get(
                &format!("{ENDPOINTS}/{id}/deliveries"),
                Some(&dispatcher.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }

    async fn a_rotated_secret_signs_beside_the_new_one_during_its_overlap(app: TestApp) {
        let broker = app.signup("wh-rotate@example.com", "broker").await;
        let receiver = Receiver::start().await.unwrap();
        let (id, old) = endpoint(&app, &broker, &receiver, &[]).await;
        let rotate = format!("{ENDPOINTS}/{id}/secret/rotate");

        let rotated = json_of(
            app.post_json(&rotate, &json!({"overlap_hours": 2}), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let new = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        assert!(rotated["previous_secret_expires_at"].is_string());
        let shown = json_of(
            app.get(&format!("{ENDPOINTS}/{id}/secret"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(shown["secret"], new.as_str());

        // A receiver still on the old secret, and one already on the new, both verify.
        for held in [&old, &new] {
            receiver.hold(&[held]);
            let before = receiver.received().len();
            send_test(&app, &broker, &id).await;
            wait_for(&receiver, "the test", |got| got.len() > before).await;
            let r = receiver.received().pop().unwrap();
            assert!(r.verified, "held {held}: {r:?}");
            assert_eq!(r.signature.split(' ').count(), 2);
        }

        // No overlap: the old secret stops signing at once.
        let rotated = json_of(
            app.post_json(&rotate, &json!({"overlap_hours": 0}), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert!(rotated["previous_secret_expires_at"].is_null());
        receiver.hold(&[&new]);
        let before = receiver.received().len();
        send_test(&app, &broker, &id).await;
        wait_for(&receiver, "the test", |got| got.len() > before).await;
        let r = receiver.received().pop().unwrap();
        assert!(!r.verified, "the replaced secret still signed");
        assert_eq!(r.signature.split(' ').count(), 1);

        expect_problem(
            app.post_json(
                &rotate,
                &json!({"overlap_hours": 1000}),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            app.post_json(&rotate, &json!({"overlap": 1}), Some(&broker.access))
                .await,
            422,
            "invalid-body",
        )
        .await;
    }
);

/// Without the operator's leave, a delivery to this host's own addresses is refused when
/// the sender connects, and the receiver hears nothing; a receiver that never answers runs
/// into the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_and_a_hanging_endpoint_times_out() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.webhooks.allow_private_targets = false;
        c.webhooks.max_attempts = 1;
    })
    .await;
    let broker = app.signup("wh-ssrf@example.com", "broker").await;
    let receiver = Receiver::start().await.unwrap();
    for url in [
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "localhost"),
    ] {
        let created = json_of(
            app.post_json(ENDPOINTS, &json!({"url": url}), Some(&broker.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        let dead = dead_test(&app, &broker, created["id"].as_str().unwrap()).await;
        let error = dead["last_error"].as_str().unwrap();
        assert!(
            error.contains("refused") && (error.contains("127.0.0.1") || error.contains("::1")),
            "{url}: {error}"
        );
    }
    assert!(receiver.received().is_empty());

    // Through an egress proxy (here a closed port), a delivery goes nowhere else.
    let proxied = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.webhooks.max_attempts = 1;
        c.webhooks.proxy = Some("http://127.0.0.1:9".into());
    })
    .await;
    let owner = proxied.signup("wh-proxy@example.com", "broker").await;
    let (id, _) = endpoint(&proxied, &owner, &receiver, &[]).await;
    let dead = dead_test(&proxied, &owner, &id).await;
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .starts_with("could not connect"),
        "{dead}"
    );
    assert!(receiver.received().is_empty());

    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.webhooks.max_attempts = 1).await;
    let broker = app.signup("wh-hang@example.com", "broker").await;
    let receiver = Receiver::start().await.unwrap();
    receiver.hang(true);
    let (id, _) = endpoint(&app, &broker, &receiver, &[]).await;
    let dead = dead_test(&app, &broker, &id).await;
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .starts_with("no answer within"),
        "{dead}"
    );
    assert!(dead["attempts_log"][0]["status_code"].is_null());
}

/// Two instances on one PostgreSQL database lease deliveries from the same table at the
/// same moments: each message reaches the receiver exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_send_one_delivery_twice() {
    if lanerunner::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let sibling = Arc::new(app.spawn_sibling().await);
    let broker = app.signup("wh-pair@example.com", "broker").await;
    let receiver = Receiver::start().await.unwrap();
    endpoint(&app, &broker, &receiver, &["load.posted.v1"]).await;
    let posts = (0..12).map(|i| {
        let (app, broker) = (&app, &broker);
        async move {
            posted(
                app,
                broker,
                &dallas_atlanta_load(&format!("WH-P{i}"), 200_000),
            )
            .await
        }
    });
    futures::future::join_all(posts).await;
    wait_for(&receiver, "twelve postings", |got| {
        got.iter().filter(|r| r.answered == 200).count() >= 12
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 12, "a delivery was sent twice");
    assert!(receiver.acknowledged().values().all(|after| *after == 0));
    drop(sibling);
}
