//! The cache (and the realtime fan-out) over TLS to Redis, with certificate verification: a
//! `redis-server` of this test's own with TLS only (`--port 0 --tls-port …`), its
//! certificate issued by a test CA for `localhost`. With the CA named in
//! `cache.tls_ca_file` the configured cache works; a server whose issuer is not trusted, or
//! that is reached by another name, is refused, and so is plain `redis://` to the TLS port.
//! A server that asks clients for a certificate (`tls-auth-clients yes`) accepts the
//! cache's own (`cache.tls_client_cert_file`, `cache.tls_client_key_file`, issued by the
//! server's CA) and refuses a cache with none or with one from another CA.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lanerunner_platform::cache::{self, RedisCache, RedisTarget, TlsFiles};
use lanerunner_platform::config::{CacheBackend, CacheConfig};
use lanerunner_platform::testing::skip_engine_test;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

struct TlsRedis {
    child: Child,
    port: u16,
    dir: PathBuf,
    ca: PathBuf,
    /// A client certificate (and its key) issued by the server's CA.
    client_cert: PathBuf,
    client_key: PathBuf,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (Issuer::new(params, key), pem)
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

/// A certificate for `name` issued by `issuer`, written to `dir`: (certificate, key).
fn issue(dir: &Path, issuer: &Issuer<'static, KeyPair>, name: &str) -> (PathBuf, PathBuf) {
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (
        write(dir, &format!("{name}.pem"), &cert.pem()),
        write(dir, &format!("{name}.key.pem"), &key.serialize_pem()),
    )
}

/// Starts `redis-server` (installed with Redis, which the test command requires) with TLS
/// only; asking clients for a certificate when `auth_clients`.
async fn start(auth_clients: bool) -> TlsRedis {
    let dir = std::env::temp_dir().join(format!(
        "lanerunner-redis-tls-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (issuer, ca_pem) = ca("LaneRunner test cache CA");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let ca = write(&dir, "ca.pem", &ca_pem);
    let cert_file = write(&dir, "cert.pem", &cert.pem());
    let key_file = write(&dir, "key.pem", &key.serialize_pem());
    let (client_cert, client_key) = issue(&dir, &issuer, "lanerunner-client");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .arg("--tls-cert-file")
        .arg(&cert_file)
        .arg("--tls-key-file")
        .arg(&key_file)
        .arg("--tls-ca-cert-file")
        .arg(&ca)
        .args([
            "--tls-auth-clients",
            if auth_clients { "yes" } else { "no" },
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed (the test command requires Redis)");
    let server = TlsRedis {
        child,
        port,
        dir,
        ca,
        client_cert,
        client_key,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server with TLS did not start on {port}");
}

#[tokio::test]
async fn the_cache_talks_to_redis_over_verified_tls() {
    if skip_engine_test("Redis (redis-server with TLS)") {
        return;
    }
    let server = start(false).await;
    let url = format!("rediss://localhost:{}", server.port);

    // The configured cache, as `serve` builds it: set, read, count.
    let config = CacheConfig {
        backend: CacheBackend::Redis,
        url: Some(url.clone()),
        prefix: "tls-test:".into(),
        tls_ca_file: Some(server.ca.clone()),
        ..Default::default()
    };
    let cache = cache::from_config(&config)
        .await
        .expect("TLS cache connects");
    cache
        .set("k", b"over tls", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        cache.get("k").await.unwrap().as_deref(),
        Some(&b"over tls"[..])
    );
    let fanout = lanerunner_platform::fanout::from_config(&config).await;
    assert!(fanout.is_ok(), "the fan-out connects over TLS too");

    // Refused: an issuer not trusted; another name than the certificate's; plain text.
    let dir = server.dir.join("other");
    std::fs::create_dir_all(&dir).unwrap();
    let other_ca = write(&dir, "other-ca.pem", &ca("another CA").1);
    let refusals = [
        RedisTarget::of(&url, TlsFiles::ca(&other_ca)).unwrap(),
        RedisTarget::of(
            &format!("rediss://127.0.0.1:{}", server.port),
            TlsFiles::ca(&server.ca),
        )
        .unwrap(),
        RedisTarget::of(&url, TlsFiles::default()).unwrap(),
        RedisTarget::of(
            &format!("redis://localhost:{}", server.port),
            TlsFiles::default(),
        )
        .unwrap(),
    ];
    for (n, client) in refusals.into_iter().enumerate() {
        let connected = tokio::time::timeout(
            // Plain text to a TLS port gets no answer at all: bounded here.
            Duration::from_secs(6),
            RedisCache::connect_with(client, "tls-test:"),
        )
        .await;
        assert!(
            !matches!(connected, Ok(Ok(_))),
            "case {n}: a connection that must be refused was accepted"
        );
    }
    // A CA file that cannot be read is named.
    let err = RedisTarget::of(&url, TlsFiles::ca(&dir.join("missing.pem"))).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
}

#[tokio::test]
async fn a_server_that_asks_for_a_client_certificate_gets_the_caches_own() {
    if skip_engine_test("Redis (redis-server with TLS)") {
        return;
    }
    let server = start(true).await;
    let config = CacheConfig {
        backend: CacheBackend::Redis,
        url: Some(format!("rediss://localhost:{}", server.port)),
        prefix: "mtls-test:".into(),
        tls_ca_file: Some(server.ca.clone()),
        tls_client_cert_file: Some(server.client_cert.clone()),
        tls_client_key_file: Some(server.client_key.clone()),
    };
    config_checks(&config);
    let cache = cache::from_config(&config)
        .await
        .expect("the cache proves who it is");
    cache
        .set("k", b"mutual", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        cache.get("k").await.unwrap().as_deref(),
        Some(&b"mutual"[..])
    );
    assert!(
        lanerunner_platform::fanout::from_config(&config)
            .await
            .is_ok(),
        "the fan-out presents it too"
    );

    // Refused: no client certificate; one issued by another CA.
    let dir = server.dir.join("stranger");
    std::fs::create_dir_all(&dir).unwrap();
    let (stranger_cert, stranger_key) = issue(&dir, &ca("a stranger's CA").0, "stranger");
    let without = CacheConfig {
        tls_client_cert_file: None,
        tls_client_key_file: None,
        ..config.clone()
    };
    let stranger = CacheConfig {
        tls_client_cert_file: Some(stranger_cert),
        tls_client_key_file: Some(stranger_key),
        ..config.clone()
    };
    for (case, refused) in [("no certificate", without), ("another CA's", stranger)] {
        let connected = tokio::time::timeout(Duration::from_secs(6), async {
            let cache = cache::from_config(&refused).await?;
            // A TLS 1.3 server may refuse the certificate only after the handshake: the
            // first command shows it.
            cache.ping().await
        })
        .await;
        assert!(
            !matches!(connected, Ok(Ok(()))),
            "{case}: a client the server must refuse was accepted"
        );
    }
}

/// The configuration check: both files or neither, and only with TLS.
fn config_checks(good: &CacheConfig) {
    let mut c = lanerunner_platform::Config::default();
    c.cache = good.clone();
    c.validate().unwrap();
    c.cache.tls_client_key_file = None;
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("cache.tls_client_key_file"), "{err}");
    c.cache = good.clone();
    c.cache.url = Some("redis://localhost:6379".into());
    c.cache.tls_ca_file = None;
    let err = c.validate().unwrap_err().to_string();
    assert!(err.contains("cache.tls_client_cert_file"), "{err}");
}
