//! The streams over TLS to Kafka, the broker's certificate and name verified. The test runs
//! a Kafka-protocol broker of its own (tansu, which the test command installs) that
//! advertises a TLS endpoint, and terminates TLS there itself with a certificate for
//! `localhost` issued by a test CA — as a managed Kafka behind a TLS listener looks to a
//! client. (tansu 0.6 cannot serve TLS from its command line: its `--cert` and `--key`
//! exclude each other.) With the CA named (`streams.tls_ca_file`) records go round; an
//! untrusted issuer, another name, or plain text to the TLS port are refused.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lanerunner_platform::config::{StreamsBackend, StreamsConfig};
use lanerunner_platform::streams;
use lanerunner_platform::testing::skip_engine_test;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
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
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A certificate for `localhost` from a fresh test CA: (CA PEM, leaf DER, key DER).
fn certificates() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "LaneRunner test Kafka CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (
        ca_pem,
        cert.der().clone(),
        PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
    )
}

/// tansu on a plain port, advertising `localhost:<tls port>`, and TLS terminated on that
/// port in front of it.
async fn start() -> Broker {
    let dir = std::env::temp_dir().join(format!(
        "lanerunner-kafka-tls-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca_pem, cert, key) = certificates();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
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
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_speak_verified_tls_to_kafka() {
    if skip_engine_test("a Kafka-protocol broker (tansu)") {
        return;
    }
    let broker = start().await;
    let at = |host: &str| format!("{host}:{}", broker.tls_port);

    let s = streams::from_config(&config(at("localhost"), true, Some(broker.ca.clone())))
        .await
        .expect("TLS with the test CA");
    let position = s
        .publish("positions", b"truck-1", b"over tls")
        .await
        .unwrap();
    let mut sub = s.subscribe("reader", &["positions"]).await.unwrap();
    let record = tokio::time::timeout(Duration::from_secs(20), sub.next())
        .await
        .expect("a record within 20 s")
        .expect("subscription open")
        .expect("a record");
    assert_eq!(record.payload, b"over tls");
    assert_eq!(record.partition, position.partition);
    drop(sub);
    drop(s);

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
