//! `lanerunner dlq list|replay` against the real RabbitMQ.

use std::process::Command;
use std::time::Duration;

use lanerunner::testing::DEFAULT_TEST_AMQP_URL;
use lanerunner_core::{EventEnvelope, EventType};
use lanerunner_platform::bus::rabbitmq::{delete_namespace, RabbitMqBus};
use lanerunner_platform::bus::EventBus;
use uuid::Uuid;

fn dlq(args: &[&str], namespace: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanerunner"));
    cmd.arg("dlq").args(args);
    if let Some(ns) = namespace {
        cmd.env("LANERUNNER_BUS__BACKEND", "rabbitmq")
            .env("LANERUNNER_BUS_URL", DEFAULT_TEST_AMQP_URL)
            .env("LANERUNNER_BUS__NAMESPACE", ns);
    }
    cmd.output().unwrap()
}

#[test]
fn dlq_needs_a_broker() {
    let out = dlq(&["list", "--group", "mailer"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rabbitmq"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_and_replayed_from_the_command_line() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL and RabbitMQ") {
        return;
    }
    let namespace = format!("lrdlq{}", Uuid::now_v7().simple());
    let group = "dlq.test".to_string();
    let bus = RabbitMqBus::connect(
        DEFAULT_TEST_AMQP_URL,
        &namespace,
        1,
        Duration::from_millis(1),
    )
    .await
    .unwrap();
    let mut sub = bus.subscribe(&group, &["test.#"]).await.unwrap();
    let event = EventEnvelope::new(
        EventType::new("test.broken", 1),
        None,
        Uuid::now_v7(),
        &serde_json::json!({ "n": 1 }),
    )
    .unwrap();
    bus.publish(&event).await.unwrap();
    let delivery = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap()
        .unwrap();
    delivery.nack("the handler was broken").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bus.dead_letters(&group).await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let ns = namespace.clone();
    let g = group.clone();
    let listed = tokio::task::spawn_blocking(move || dlq(&["list", "--group", &g], Some(&ns)))
        .await
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let text = String::from_utf8(listed.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["event"]["id"], event.id.to_string());
    assert_eq!(lines[0]["reason"], "the handler was broken");

    let ns = namespace.clone();
    let g = group.clone();
    let replayed = tokio::task::spawn_blocking(move || dlq(&["replay", "--group", &g], Some(&ns)))
        .await
        .unwrap();
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    assert!(String::from_utf8_lossy(&replayed.stdout).contains("replayed 1"));
    let again = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.event.id, event.id);
    again.ack().await;
    assert!(bus.dead_letters(&group).await.unwrap().is_empty());
    drop(sub);
    delete_namespace(DEFAULT_TEST_AMQP_URL, &namespace, &[group])
        .await
        .unwrap();
}
