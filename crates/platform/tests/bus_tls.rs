//! The bus over TLS to RabbitMQ (`amqps://`), with certificate verification, against the
//! machine's broker with its TLS listener on (scripts/rabbitmq-tls.sh: 127.0.0.1:5671, a
//! test CA, a certificate for `localhost` only). With the CA given (`bus.tls_ca_file`) an
//! event goes round; without it (an untrusted issuer), by another name than the
//! certificate's, or as TLS to the plain port, the connection is refused.

use std::time::Duration;

use lanerunner_core::{EventEnvelope, EventType};
use lanerunner_platform::bus::rabbitmq::delete_namespace;
use lanerunner_platform::bus::{self, RabbitMqBus};
use lanerunner_platform::config::{BusBackend, BusConfig};
use lanerunner_platform::testing::skip_engine_test;

fn ca_file() -> std::path::PathBuf {
    std::env::var("LANERUNNER_TEST_AMQPS_CA")
        .unwrap_or_else(|_| "/var/tmp/lanerunner-rabbitmq/tls/ca.crt".into())
        .into()
}

const TLS_URL: &str = "amqps://guest:guest@localhost:5671/%2f";

fn namespace() -> String {
    format!("tls{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

async fn refused(url: &str, ca: Option<String>) -> String {
    let ns = namespace();
    match RabbitMqBus::connect_with(url, ca, &ns, 3, Duration::from_millis(10)).await {
        Ok(_) => panic!("{url} connected"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_speaks_verified_tls_to_rabbitmq() {
    if skip_engine_test("RabbitMQ with TLS (scripts/rabbitmq-tls.sh)") {
        return;
    }
    let ca_path = ca_file();
    let ca = std::fs::read_to_string(&ca_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (scripts/rabbitmq-tls.sh sets the broker's TLS up)",
            ca_path.display()
        )
    });

    // As configured: bus.url amqps:// and bus.tls_ca_file.
    let ns = namespace();
    let config = BusConfig {
        backend: BusBackend::Rabbitmq,
        url: Some(TLS_URL.into()),
        tls_ca_file: Some(ca_path.clone()),
        namespace: ns.clone(),
        max_attempts: 3,
        redelivery_delay_ms: 10,
    };
    let bus = bus::from_config(&config).await.expect("amqps with the CA");
    let group = format!("{ns}.tls");
    let topic = format!("{ns}.sealed.v1");
    let mut sub = bus.subscribe(&group, &[topic.as_str()]).await.unwrap();
    let event = EventEnvelope::new(
        EventType::new(String::leak(format!("{ns}.sealed")), 1),
        None,
        uuid::Uuid::now_v7(),
        &serde_json::json!({"over": "tls"}),
    )
    .unwrap();
    bus.publish(&event).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("the event came back over TLS")
        .expect("the subscription is open");
    assert_eq!(got.event.id, event.id);
    assert_eq!(got.event.payload["over"], "tls");
    got.ack().await;
    drop(sub);
    drop(bus);
    delete_namespace("amqp://guest:guest@127.0.0.1:5672/%2f", &ns, &[group])
        .await
        .unwrap();

    // An issuer not trusted: the system's roots alone do not know the test CA.
    let why = refused(TLS_URL, None).await;
    assert!(
        why.to_lowercase().contains("certificate") || why.contains("UnknownIssuer"),
        "{why}"
    );
    // The certificate names localhost, not 127.0.0.1.
    let why = refused("amqps://guest:guest@127.0.0.1:5671/%2f", Some(ca.clone())).await;
    assert!(
        why.to_lowercase().contains("certificate") || why.contains("NotValidForName"),
        "{why}"
    );
    // TLS to the plain port.
    refused("amqps://guest:guest@localhost:5672/%2f", Some(ca.clone())).await;
    // A CA file that is not a certificate.
    let junk = std::env::temp_dir().join(format!("{}.pem", namespace()));
    std::fs::write(&junk, "not a certificate").unwrap();
    let config = BusConfig {
        tls_ca_file: Some(junk.clone()),
        namespace: namespace(),
        ..config
    };
    assert!(bus::from_config(&config).await.is_err());
    let _ = std::fs::remove_file(junk);
}
