//! Positions over MQTT (the project's Mosquitto with dynamic security,
//! `scripts/mosquitto.sh`): a carrier opens its device account through the API and its
//! device publishes under its own topic, QoS 1, and the position is applied; a client
//! without credentials, or with the old password after a re-key, is refused by the broker;
//! a carrier publishing under another carrier's topic is stopped by the broker, and one
//! publishing for a load it does not haul is refused by LaneRunner: nothing of theirs is
//! applied.

use std::time::Duration;

use lanerunner::testing::{
    book, dallas_atlanta_load, expect_problem, json_of, poll, skip_engine_test, Account, Backend,
    TestApp,
};
use reqwest::StatusCode;
use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};

const BROKER: (&str, u16) = ("127.0.0.1", 1884);

fn use_mosquitto(c: &mut lanerunner_platform::Config) {
    c.tracking.mqtt.url = Some(format!("mqtt://{}:{}", BROKER.0, BROKER.1));
    c.tracking.mqtt.password =
        Some(std::env::var("MQTT_ADMIN_PASSWORD").unwrap_or_else(|_| "lanerunner-test".into()));
    // Each app its own topics: apps sharing the broker would otherwise split one shared
    // subscription's positions between them.
    c.tracking.mqtt.topic_prefix = format!("lr{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
}

/// Connects as `user`; the broker's answer to the connection.
async fn device(
    user: Option<(&str, &str)>,
) -> (AsyncClient, rumqttc::EventLoop, ConnectReturnCode) {
    let mut opts = MqttOptions::new(
        format!("test-{}", uuid::Uuid::new_v4().simple()),
        BROKER.0,
        BROKER.1,
    );
    if let Some((u, p)) = user {
        opts.set_credentials(u, p);
    }
    let (client, mut events) = AsyncClient::new(opts, 16);
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(10), events.poll())
            .await
            .expect("the broker answers within 10 s")
        {
            Ok(Event::Incoming(Packet::ConnAck(a))) => break a.code,
            Ok(_) => continue,
            Err(rumqttc::ConnectionError::ConnectionRefused(code)) => break code,
            Err(e) => panic!("the broker could not be reached (bash scripts/mosquitto.sh): {e}"),
        }
    };
    (client, events, code)
}

/// Publishes at QoS 1 and waits for the broker's acknowledgement.
async fn publish(client: &AsyncClient, events: &mut rumqttc::EventLoop, topic: &str, body: &Value) {
    client
        .publish(topic, QoS::AtLeastOnce, false, body.to_string())
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.poll())
            .await
            .unwrap()
        {
            Ok(Event::Incoming(Packet::PubAck(_))) => return,
            Ok(_) => continue,
            Err(e) => panic!("publishing failed: {e}"),
        }
    }
}

async fn credentials(app: &TestApp, who: &Account) -> Value {
    json_of(
        app.post_json(
            "/v1/tracking/device-credentials",
            &json!({}),
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

async fn run(backend: Backend) {
    if skip_engine_test("Mosquitto with dynamic security") {
        return;
    }
    let app = TestApp::spawn_with(backend, use_mosquitto).await;
    let broker = app.signup("mqtt-b@example.com", "broker").await;
    let carrier = app.signup("mqtt-c@example.com", "carrier").await;
    let rival = app.signup("mqtt-r@example.com", "carrier").await;
    let load = book(
        &app,
        &broker,
        &carrier,
        &dallas_atlanta_load("MQTT-1", 240_000),
    )
    .await;
    let path = format!("/v1/loads/{load}/tracking");
    poll(&app, &path, &carrier, |t| t["status"] == "active").await;

    // The carrier's account, its password shown once.
    let creds = credentials(&app, &carrier).await;
    let topic = creds["topic"].as_str().unwrap().replace("{load_id}", &load);
    assert!(
        topic.ends_with(&format!("/positions/{}/{load}", carrier.org_id)),
        "{topic}"
    );
    assert_eq!(creds["url"], format!("mqtt://{}:{}", BROKER.0, BROKER.1));

    // No credentials: the broker refuses the connection.
    let (_, _, code) = device(None).await;
    assert_ne!(code, ConnectReturnCode::Success);

    // The carrier's device publishes a position for its load: applied.
    let (user, pass) = (
        creds["username"].as_str().unwrap(),
        creds["password"].as_str().unwrap(),
    );
    let (client, mut events, code) = device(Some((user, pass))).await;
    assert_eq!(code, ConnectReturnCode::Success);
    publish(
        &client,
        &mut events,
        &topic,
        &json!({"lat": 32.6, "lon": -96.6}),
    )
    .await;
    let t = poll(&app, &path, &carrier, |t| !t["last_position"].is_null()).await;
    assert_eq!(t["last_position"]["source"], "mqtt");
    assert_eq!(t["last_position"]["lat"], 32.6);

    // A rival's device: under the carrier's topic the broker drops it; under its own topic
    // for a load it does not haul, LaneRunner refuses it. Neither is applied.
    let rival_creds = credentials(&app, &rival).await;
    let (rc, mut rev, code) = device(Some((
        rival_creds["username"].as_str().unwrap(),
        rival_creds["password"].as_str().unwrap(),
    )))
    .await;
    assert_eq!(code, ConnectReturnCode::Success);
    publish(&rc, &mut rev, &topic, &json!({"lat": 32.61, "lon": -96.61})).await;
    let own_topic = rival_creds["topic"]
        .as_str()
        .unwrap()
        .replace("{load_id}", &load);
    publish(
        &rc,
        &mut rev,
        &own_topic,
        &json!({"lat": 32.62, "lon": -96.62}),
    )
    .await;
    // The carrier's next position (a few yards on) lands after them: only the carrier's
    // are there.
    publish(
        &client,
        &mut events,
        &topic,
        &json!({"lat": 32.6005, "lon": -96.6}),
    )
    .await;
    poll(&app, &path, &carrier, |t| {
        t["last_position"]["lat"] == 32.6005
    })
    .await;
    let positions = json_of(
        app.get(&format!("{path}/positions"), Some(&carrier.access))
            .await,
        StatusCode::OK,
    )
    .await;
    let lats: Vec<f64> = positions
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["lat"].as_f64().unwrap())
        .collect();
    assert_eq!(lats, [32.6005, 32.6], "{positions}");

    // A burst larger than the connection's request queue (600 positions sent at once, a
    // few yards apart): every one is applied, in order; none is lost or refused.
    let started = chrono::Utc::now();
    let acks = tokio::spawn(async move {
        let mut acked = 0;
        while acked < 600 {
            match tokio::time::timeout(Duration::from_secs(30), events.poll())
                .await
                .expect("the broker acknowledges the burst")
            {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("publishing failed: {e}"),
            }
        }
        events
    });
    for i in 1..=600 {
        let at = started + chrono::Duration::milliseconds(100 * i);
        let body =
            json!({"lat": 32.6005 + 0.00002 * i as f64, "lon": -96.6, "at": at.to_rfc3339()});
        client
            .publish(topic.as_str(), QoS::AtLeastOnce, false, body.to_string())
            .await
            .unwrap();
    }
    // Kept until the end: dropping the event loop would close the connection.
    let _events = acks.await.unwrap();
    let last = 32.6005 + 0.00002 * 600.0;
    poll(&app, &path, &carrier, |t| {
        t["last_position"]["lat"]
            .as_f64()
            .is_some_and(|l| (l - last).abs() < 1e-9)
    })
    .await;
    let burst = json_of(
        app.get(
            &format!("{path}/positions?limit=500"),
            Some(&carrier.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let burst = burst.as_array().unwrap();
    assert_eq!(burst.len(), 500);
    assert!(burst.iter().all(|p| p["refusal"].is_null()), "{burst:?}");

    // Re-keyed: the old password no longer connects.
    credentials(&app, &carrier).await;
    let (_, _, code) = device(Some((user, pass))).await;
    assert_ne!(code, ConnectReturnCode::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_publish_positions_over_mqtt_each_carrier_under_its_own_topic_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_publish_positions_over_mqtt_each_carrier_under_its_own_topic_postgres() {
    if skip_engine_test("PostgreSQL") {
        return;
    }
    run(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_broker_there_is_no_device_account() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let carrier = app.signup("mqtt-none@example.com", "carrier").await;
    expect_problem(
        app.post_json(
            "/v1/tracking/device-credentials",
            &json!({}),
            Some(&carrier.access),
        )
        .await,
        409,
        "no-device-gateway",
    )
    .await;
}
