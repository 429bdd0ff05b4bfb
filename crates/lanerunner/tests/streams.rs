//! The application with Kafka streams (`Backend::FullStack` sets
//! `streams.backend = "kafka"` under a topic prefix of its own): readiness, and every domain
//! event copied to the audit stream keyed by its aggregate, commands left out.

use std::collections::HashMap;
use std::time::Duration;

use lanerunner::testing::{Backend, TestApp};
use lanerunner_core::EventEnvelope;
use lanerunner_platform::streams::AUDIT_TOPIC;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_events_reach_the_kafka_audit_stream_keyed_by_aggregate() {
    if lanerunner_platform::testing::skip_engine_test("Kafka") {
        return;
    }
    let app = TestApp::spawn(Backend::FullStack).await;
    let streams = app.app().streams();
    assert_eq!(streams.backend(), "kafka");
    let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!(ready["checks"]["streams.kafka"], "ok", "{ready}");

    let res = app
        .post_json(
            "/v1/auth/signup",
            &json!({ "organization": { "name": "Audit Freight", "kind": "broker" }, "name": "Ann Auditor", "email": "ann@audit.example", "password": "correct horse battery staple", "terms_version": "2026-11-01" }),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let org_id = body["organization"]["id"].as_str().unwrap().to_owned();
    let user_id = body["user"]["id"].as_str().unwrap().to_owned();

    // Signup commits an organization, its owner and a verification email command; the two
    // events reach the stream, the command does not.
    let mut reader = streams
        .subscribe("test-reader", &[AUDIT_TOPIC])
        .await
        .unwrap();
    let mut seen: HashMap<String, EventEnvelope> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(seen.contains_key("identity.org_created.v1")
        && seen.contains_key("identity.user_registered.v1"))
    {
        let record = tokio::time::timeout_at(deadline, reader.next())
            .await
            .expect("signup's events on the audit stream within 30 s")
            .expect("subscription open")
            .expect("a record");
        let event: EventEnvelope = serde_json::from_slice(&record.payload).unwrap();
        assert!(
            !event.event_type.starts_with("email."),
            "a command reached the audit stream: {}",
            event.event_type
        );
        assert_eq!(record.key, event.aggregate_id.to_string().into_bytes());
        reader.commit(&record).await.unwrap();
        seen.insert(event.event_type.clone(), event);
    }
    // Keyed by aggregate: the organization's history and the user's.
    assert_eq!(
        seen["identity.org_created.v1"].aggregate_id.to_string(),
        org_id
    );
    assert_eq!(
        seen["identity.user_registered.v1"].aggregate_id.to_string(),
        user_id
    );

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("streams_published_total{backend=\"kafka\""),
        "{metrics}"
    );
}
