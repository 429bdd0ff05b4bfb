//! The streams over TLS to Kafka, the broker's certificate and name verified. The test runs
//! a Kafka-protocol broker of its own (tansu, which the test command installs) that
//! advertises a TLS endpoint, and terminates TLS there itself with a certificate for
//! `localhost` issued by a test CA — as a managed Kafka behind a TLS listener looks to a
//! client. (tansu 0.6 cannot serve TLS from its command line: its `--cert` and `--key`
//! exclude each other.) With the CA named (`streams.tls_ca_file`) records go round; an
//! untrusted issuer, another name, or plain text to the TLS port are refused. Where the
//! broker asks for a client certificate, the one the configuration names
//! (`streams.tls_client_cert_file`, `…_key_file`) lets records go round; none, or one
//! another CA issued, is refused.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lanerunner_platform::config::{StreamsBackend, StreamsConfig};
use lanerunner_platform::streams;
use lanerunner_platform::testing::skip_engine_test;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Broker {
    child: Child,
    dir: PathBuf,
    tls_port: u16,
    ca: PathBuf,
    /// A client certificate and key (PEM files) the test CA issued, and a pair another CA
    /// issued for the same name.
    client: (PathBuf, PathBuf),
    stranger: (PathBuf, PathBuf),
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh CA: its certificate (PEM and DER) and what signs with it.
fn test_ca(name: &str) -> (String, CertificateDer<'static>, Issuer<'static, KeyPair>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    let ca_key = KeyPair::generate().unwrap();
    let cert = ca.self_signed(&ca_key).unwrap();
    (cert.pem(), cert.der().clone(), Issuer::new(ca, ca_key))
}

/// A client certificate for `lanerunner` from `issuer`: (certificate PEM, key PEM).
fn client_certificate(issuer: &Issuer<'static, KeyPair>) -> (String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "lanerunner");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A certificate for `localhost` from a fresh test CA: (CA PEM, CA DER, leaf DER, key DER,
/// a client certificate and key in PEM).
#[allow(clippy::type_complexity)]
fn certificates() -> (
    String,
    CertificateDer<'static>,
    CertificateDer<'static>,
    PrivateKeyDer<'static>,
    (String, String),
) {
    let (ca_pem, ca_der, issuer) = test_ca("LaneRunner test Kafka CA");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (
        ca_pem,
        ca_der,
        cert.der().clone(),
        PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        client_certificate(&issuer),
    )
}

/// tansu on a plain port, advertising `localhost:<tls port>`, and TLS terminated on that
/// port in front of it; with `client_auth`, only for clients with a certificate the test CA
/// issued.
async fn start(client_auth: bool) -> Broker {
    let dir = std::env::temp_dir().join(format!(
        "lanerunner-kafka-tls-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca_pem, ca_der, cert, key, (client_pem, client_key)) = certificates();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let client = (dir.join("client.pem"), dir.join("client.key"));
    std::fs::write(&client.0, client_pem).unwrap();
    std::fs::write(&client.1, client_key).unwrap();
    let (stranger_pem, stranger_key) = client_certificate(&test_ca("not the brokers' CA").2);
    let stranger = (dir.join("stranger.pem"), dir.join("stranger.key"));
    std::fs::write(&stranger.0, stranger_pem).unwrap();
    std::fs::write(&stranger.1, stranger_key).unwrap();
    let (plain_port, tls_port) = (free_port(), free_port());
    let tansu = std::env::var("HOME")
        .map(|h| format!("{h}/.cargo/bin/tansu"))
        .ok()
        .filter(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| "tansu".into());
    let child = Command::new(tansu)
        .args(["broker", "--listener-url"])
        .arg(format!("tcp://127.0.0.1:{plain_port}"))
        .arg("--advertised-listener-url")
        .arg(format!("tcp://localhost:{tls_port}"))
        .args(["--storage-engine", "memory://tansu/", "--silent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tansu is installed (bash scripts/kafka.sh)");
    let builder = rustls::ServerConfig::builder();
    let builder = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_der).unwrap();
        builder.with_client_cert_verifier(
            rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .unwrap(),
        )
    } else {
        builder.with_no_client_auth()
    };
    let config = builder.with_single_cert(vec![cert], key).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", tls_port))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) =
                    tokio::net::TcpStream::connect(("127.0.0.1", plain_port)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", plain_port))
            .await
            .is_ok()
        {
            return Broker {
                child,
                dir,
                tls_port,
                ca,
                client,
                stranger,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("tansu did not start on {plain_port}");
}

fn config(brokers: String, tls: bool, ca: Option<PathBuf>) -> StreamsConfig {
    StreamsConfig {
        backend: StreamsBackend::Kafka,
        brokers: Some(brokers),
        topic_prefix: format!("tls{}.", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        partitions: 1,
        tls,
        tls_ca_file: ca,
        ..StreamsConfig::default()
    }
}

/// A record published on `s` is read back by a subscriber.
async fn goes_round(s: std::sync::Arc<dyn streams::Streams>, payload: &[u8]) {
    let position = s.publish("positions", b"truck-1", payload).await.unwrap();
    let mut sub = s.subscribe("reader", &["positions"]).await.unwrap();
    let record = tokio::time::timeout(Duration::from_secs(20), sub.next())
        .await
        .expect("a record within 20 s")
        .expect("subscription open")
        .expect("a record");
    assert_eq!(record.payload, payload);
    assert_eq!(record.partition, position.partition);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_speak_verified_tls_to_kafka() {
    if skip_engine_test("a Kafka-protocol broker (tansu)") {
        return;
    }
    let broker = start(false).await;
    let at = |host: &str| format!("{host}:{}", broker.tls_port);

    let s = streams::from_config(&config(at("localhost"), true, Some(broker.ca.clone())))
        .await
        .expect("TLS with the test CA");
    goes_round(s, b"over tls").await;

    // Refused, each within the connect check: an issuer nobody trusts (the system's roots),
    // a name the certificate does not carry, and plain text to the TLS port.
    let configs = [
        config(at("localhost"), true, None),
        config(at("127.0.0.1"), true, Some(broker.ca.clone())),
        config(at("localhost"), false, None),
    ];
    let (untrusted, wrong_name, plain) = tokio::join!(
        streams::from_config(&configs[0]),
        streams::from_config(&configs[1]),
        streams::from_config(&configs[2]),
    );
    for (what, result) in [
        ("untrusted issuer", untrusted),
        ("wrong name", wrong_name),
        ("plain text", plain),
    ] {
        assert!(result.is_err(), "{what}: connected");
    }
    // A CA file that is not there is a configuration error, said at once.
    let missing = config(at("localhost"), true, Some(broker.dir.join("absent.pem")));
    let err = streams::from_config(&missing).await.err().expect("refused");
    assert!(err.to_string().contains("streams.tls_ca_file"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_presented_where_the_broker_asks_for_one() {
    if skip_engine_test("a Kafka-protocol broker (tansu)") {
        return;
    }
    let broker = start(true).await;
    let brokers = format!("localhost:{}", broker.tls_port);
    let with = |pair: Option<&(PathBuf, PathBuf)>| StreamsConfig {
        tls_client_cert_file: pair.map(|p| p.0.clone()),
        tls_client_key_file: pair.map(|p| p.1.clone()),
        ..config(brokers.clone(), true, Some(broker.ca.clone()))
    };

    let s = streams::from_config(&with(Some(&broker.client)))
        .await
        .expect("the certificate the brokers' CA issued is accepted");
    goes_round(s, b"mutual tls").await;

    let refused = [with(None), with(Some(&broker.stranger))];
    let (none, stranger) = tokio::join!(
        streams::from_config(&refused[0]),
        streams::from_config(&refused[1]),
    );
    assert!(none.is_err(), "no client certificate: connected");
    assert!(stranger.is_err(), "another CA's certificate: connected");
    // A key file that is not there is a configuration error, said at once.
    let missing = (broker.client.0.clone(), broker.dir.join("absent.key"));
    let err = streams::from_config(&with(Some(&missing)))
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("streams.tls_client_key_file"),
        "{err}"
    );
}
