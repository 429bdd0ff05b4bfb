//! The bus over TLS to RabbitMQ (`amqps://`), with certificate verification, against the
//! machine's broker with its TLS listener on (scripts/rabbitmq-tls.sh: 127.0.0.1:5671, a
//! test CA, a certificate for `localhost` only, and a listener that asks every client for a
//! certificate the test CA issued). With the CA given (`bus.tls_ca_file`) and the client
//! certificate (`bus.tls_client_cert_file`, `…_key_file`) an event goes round; without the
//! CA (an untrusted issuer), by another name than the certificate's, as TLS to the plain
//! port, without a client certificate or with one another CA issued, the connection is
//! refused.

use std::time::Duration;

use lanerunner_core::{EventEnvelope, EventType};
use lanerunner_platform::bus::rabbitmq::{delete_namespace, AmqpTls};
use lanerunner_platform::bus::{self, RabbitMqBus};
use lanerunner_platform::config::{BusBackend, BusConfig};
use lanerunner_platform::testing::skip_engine_test;

fn tls_dir() -> std::path::PathBuf {
    std::env::var("LANERUNNER_RABBITMQ_TLS_DIR")
        .unwrap_or_else(|_| "/var/tmp/lanerunner-rabbitmq/tls".into())
        .into()
}

fn ca_file() -> std::path::PathBuf {
    tls_dir().join("ca.crt")
}

/// The client certificate and key the test CA issued.
fn client() -> (std::path::PathBuf, std::path::PathBuf) {
    (tls_dir().join("client.crt"), tls_dir().join("client.key"))
}

/// TLS with `ca` trusted and, if given, a client certificate.
fn tls(
    ca: Option<&std::path::Path>,
    client: Option<&(std::path::PathBuf, std::path::PathBuf)>,
) -> AmqpTls {
    AmqpTls::from_files(ca, client.map(|(c, k)| (c.as_path(), k.as_path()))).unwrap()
}

const TLS_URL: &str = "amqps://guest:guest@localhost:5671/%2f";

fn namespace() -> String {
    format!("tls{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

async fn refused(url: &str, tls: AmqpTls) -> String {
    let ns = namespace();
    match RabbitMqBus::connect_with(url, tls, &ns, 3, Duration::from_millis(10)).await {
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
    assert!(
        client().0.exists(),
        "{} missing: scripts/rabbitmq-tls.sh sets the broker's TLS up",
        client().0.display()
    );

    // As configured: bus.url amqps://, bus.tls_ca_file and the client certificate.
    let ns = namespace();
    let config = BusConfig {
        backend: BusBackend::Rabbitmq,
        url: Some(TLS_URL.into()),
        tls_ca_file: Some(ca_path.clone()),
        tls_client_cert_file: Some(client().0),
        tls_client_key_file: Some(client().1),
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
    let why = refused(TLS_URL, tls(None, Some(&client()))).await;
    assert!(
        why.to_lowercase().contains("certificate") || why.contains("UnknownIssuer"),
        "{why}"
    );
    // The certificate names localhost, not 127.0.0.1.
    let why = refused(
        "amqps://guest:guest@127.0.0.1:5671/%2f",
        tls(Some(&ca_path), Some(&client())),
    )
    .await;
    assert!(
        why.to_lowercase().contains("certificate") || why.contains("NotValidForName"),
        "{why}"
    );
    // TLS to the plain port.
    refused(
        "amqps://guest:guest@localhost:5672/%2f",
        tls(Some(&ca_path), Some(&client())),
    )
    .await;
    // No client certificate: the broker ends the handshake. (Under TLS 1.3 the client may
    // hear the broker's alert — CertificateRequired, UnknownCA below — or only a broken
    // pipe, depending on timing; the refusal is what is checked.)
    refused(TLS_URL, tls(Some(&ca_path), None)).await;
    // A client certificate another CA issued.
    let dir = std::env::temp_dir().join(namespace());
    std::fs::create_dir_all(&dir).unwrap();
    let stranger_ca = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::new(ca_params, stranger_ca);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "lanerunner");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let stranger = (dir.join("client.crt"), dir.join("client.key"));
    std::fs::write(&stranger.0, cert.pem()).unwrap();
    std::fs::write(&stranger.1, key.serialize_pem()).unwrap();
    refused(TLS_URL, tls(Some(&ca_path), Some(&stranger))).await;
    let _ = std::fs::remove_dir_all(&dir);
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
