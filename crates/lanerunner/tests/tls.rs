//! TLS termination by `serve` (`http.tls`): the API over HTTPS with HSTS, plain HTTP on the
//! TLS port and on the plain listener redirected or refused, a renewed certificate presented
//! without a restart, and a bad renewal (wrong key, expired) refused while the current
//! certificate stays in service; certificates that fail their checks stop the start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lanerunner::test_certs::Leaf;
use lanerunner::testing::{Backend, TestApp};
use lanerunner_platform::http::tls::{CertificateError, CertificateFiles, PlainHttp};
use reqwest::StatusCode;
use rustls::pki_types::{CertificateDer, ServerName};

/// A test certificate authority that issues leaves for 127.0.0.1 and localhost.
struct TestCa(lanerunner::test_certs::TestCa);

impl TestCa {
    fn new() -> Self {
        Self(lanerunner::test_certs::TestCa::new("LaneRunner test CA").unwrap())
    }

    fn pem(&self) -> &str {
        &self.0.pem
    }

    fn leaf(&self, name: &str) -> Leaf {
        self.leaf_valid(name, None)
    }

    fn leaf_valid(&self, name: &str, years: Option<(i32, i32)>) -> Leaf {
        self.0
            .leaf(&["127.0.0.1", "localhost"], name, years)
            .unwrap()
    }
}

struct Files {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("lanerunner-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            dir,
        }
    }

    /// Writes both files as a renewal tool does: each replaced whole (write, then rename).
    fn install(&self, cert_pem: &str, key_pem: &str) {
        for (path, body) in [(&self.key, key_pem), (&self.cert, cert_pem)] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, body).unwrap();
            std::fs::rename(&tmp, path).unwrap();
        }
    }

    fn files(&self) -> CertificateFiles {
        CertificateFiles {
            cert: self.cert.clone(),
            key: self.key.clone(),
        }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn https_client(ca: &TestCa) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn healthz(client: &reqwest::Client, app: &TestApp) -> StatusCode {
    client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .status()
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The leaf certificate the server presents to a new connection.
async fn presented(address: SocketAddr, ca: &TestCa) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the handshake succeeds against the test CA");
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

async fn eventually_presented(address: SocketAddr, ca: &TestCa, der: &[u8]) {
    for _ in 0..100 {
        if presented(address, ca).await == der {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the renewed certificate was never presented");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn spawn_tls(files: &Files, plain_port: u16, policy: PlainHttp, ca: &TestCa) -> TestApp {
    let (cert, key) = (files.cert.clone(), files.key.clone());
    let mut app = TestApp::spawn_with(Backend::Sqlite, move |c| {
        c.http.tls.cert_file = Some(cert);
        c.http.tls.key_file = Some(key);
        c.http.tls.reload_secs = 1;
        c.http.tls.plain_http = policy;
        c.http.tls.plain_listen = Some(([127, 0, 0, 1], plain_port).into());
    })
    .await;
    app.client = https_client(ca);
    app
}

#[tokio::test]
async fn the_api_is_served_over_tls_with_hsts_and_plain_http_is_redirected_or_refused() {
    let ca = TestCa::new();
    let files = Files::new();
    let leaf = ca.leaf("api.lanerunner.test");
    files.install(&leaf.cert_pem, &leaf.key_pem);
    let plain_port = free_port();
    let app = spawn_tls(&files, plain_port, PlainHttp::Redirect, &ca).await;
    assert_eq!(presented(app.address, &ca).await, leaf.der);

    // The API works over HTTPS (a write with a body, then an authenticated read) and every
    // answer carries HSTS.
    let account = app.signup("tls@example.com", "broker").await;
    let res = app
        .client
        .get(app.url("/v1/me"))
        .bearer_auth(&account.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let res = app.client.get(app.url("/v1/nowhere")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers().contains_key("strict-transport-security"));

    // Plain HTTP to the TLS port: GET is redirected to the same URL over HTTPS; a write
    // is refused (its contents already crossed in the clear), with no redirect to follow.
    let plain = plain_client();
    let port = app.address.port();
    let res = plain
        .get(format!("http://127.0.0.1:{port}/v1/loads?limit=5"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        res.headers()["location"],
        format!("https://127.0.0.1:{port}/v1/loads?limit=5").as_str()
    );
    assert!(!res.headers().contains_key("strict-transport-security"));
    let res = plain
        .post(format!("http://127.0.0.1:{port}/v1/auth/login"))
        .json(&serde_json::json!({"email": "tls@example.com", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = res.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("https-required"),
        "{problem}"
    );

    // The plain listener redirects to the HTTPS port.
    let res = plain
        .get(format!("http://127.0.0.1:{plain_port}/healthz?probe=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        res.headers()["location"],
        format!("https://127.0.0.1:{port}/healthz?probe=1").as_str()
    );
    // The redirect leads somewhere that answers.
    let res = app
        .client
        .get(res.headers()["location"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // A client that does not trust the certificate's issuer refuses the connection.
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(untrusting.get(app.url("/healthz")).send().await.is_err());
}

#[tokio::test]
async fn the_refuse_policy_redirects_nothing() {
    let ca = TestCa::new();
    let files = Files::new();
    let leaf = ca.leaf("api.lanerunner.test");
    files.install(&leaf.cert_pem, &leaf.key_pem);
    let plain_port = free_port();
    let app = spawn_tls(&files, plain_port, PlainHttp::Refuse, &ca).await;
    let plain = plain_client();
    for url in [
        format!("http://127.0.0.1:{}/healthz", app.address.port()),
        format!("http://127.0.0.1:{plain_port}/healthz"),
    ] {
        let res = plain.get(&url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(!res.headers().contains_key("location"));
    }
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_renewed_certificate_is_presented_without_a_restart_and_a_bad_one_is_refused() {
    let ca = TestCa::new();
    let files = Files::new();
    let first = ca.leaf("first.lanerunner.test");
    files.install(&first.cert_pem, &first.key_pem);
    let app = spawn_tls(&files, free_port(), PlainHttp::Redirect, &ca).await;
    assert_eq!(presented(app.address, &ca).await, first.der);

    // A connection opened before the renewal keeps working after it.
    let before = https_client(&ca);
    assert_eq!(healthz(&before, &app).await, StatusCode::OK);

    let renewed = ca.leaf("renewed.lanerunner.test");
    files.install(&renewed.cert_pem, &renewed.key_pem);
    eventually_presented(app.address, &ca, &renewed.der).await;
    assert_eq!(healthz(&before, &app).await, StatusCode::OK);

    // A renewal whose key belongs to another certificate, then an expired one: both
    // refused; the renewed certificate stays in service and new clients still connect.
    let other = ca.leaf("other.lanerunner.test");
    files.install(&renewed.cert_pem, &other.key_pem);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(presented(app.address, &ca).await, renewed.der);
    let expired = ca.leaf_valid("expired.lanerunner.test", Some((2020, 2021)));
    files.install(&expired.cert_pem, &expired.key_pem);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(presented(app.address, &ca).await, renewed.der);
    assert_eq!(healthz(&https_client(&ca), &app).await, StatusCode::OK);

    // The next good renewal is taken.
    let third = ca.leaf("third.lanerunner.test");
    files.install(&third.cert_pem, &third.key_pem);
    eventually_presented(app.address, &ca, &third.der).await;
}

#[test]
fn certificates_that_fail_their_checks_are_refused_with_the_reason() {
    let ca = TestCa::new();
    let files = Files::new();
    let now = Utc::now();
    let good = ca.leaf("good.lanerunner.test");
    files.install(&good.cert_pem, &good.key_pem);
    let loaded = files.files().load(now).unwrap();
    assert!(
        loaded.subject.contains("good.lanerunner.test"),
        "{}",
        loaded.subject
    );

    let other = ca.leaf("other.lanerunner.test");
    files.install(&good.cert_pem, &other.key_pem);
    assert!(matches!(
        files.files().load(now),
        Err(CertificateError::Mismatch { .. })
    ));

    let expired = ca.leaf_valid("expired.lanerunner.test", Some((2020, 2021)));
    files.install(&expired.cert_pem, &expired.key_pem);
    let err = files.files().load(now).unwrap_err();
    assert!(matches!(err, CertificateError::Expired { .. }), "{err}");
    assert!(err.to_string().contains("expired at 2021-01-01"), "{err}");

    let future = ca.leaf_valid("future.lanerunner.test", Some((2090, 2091)));
    files.install(&future.cert_pem, &future.key_pem);
    assert!(matches!(
        files.files().load(now),
        Err(CertificateError::NotYetValid { .. })
    ));

    files.install("not a certificate", &good.key_pem);
    assert!(matches!(
        files.files().load(now),
        Err(CertificateError::NoCertificate { .. })
    ));
    files.install(
        &good.cert_pem,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    assert!(matches!(
        files.files().load(now),
        Err(CertificateError::Key { .. })
    ));
    std::fs::remove_file(&files.key).unwrap();
    let err = files.files().load(now).unwrap_err();
    assert!(matches!(err, CertificateError::Read { .. }), "{err}");
    assert!(
        err.to_string().contains(&files.key.display().to_string()),
        "{err}"
    );
}

#[test]
fn serve_and_config_check_refuse_an_expired_certificate_before_starting() {
    let ca = TestCa::new();
    let files = Files::new();
    let expired = ca.leaf_valid("expired.lanerunner.test", Some((2020, 2021)));
    files.install(&expired.cert_pem, &expired.key_pem);
    let data = files.dir.join("data");
    for args in [
        vec!["config", "check"],
        vec!["serve", "--listen", "127.0.0.1:0"],
    ] {
        let output = lanerunner(&files.cert, &files.key)
            .args(&args)
            .env("LANERUNNER_DATA_DIR", &data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "{args:?} started with an expired certificate"
        );
        assert!(
            stderr.contains("expired at 2021-01-01"),
            "{args:?}: {stderr}"
        );
        // Refused before anything was migrated or created.
        assert!(!data.join("identity.db").exists());
    }
    // Half a pair is a configuration error naming the missing key.
    let output = lanerunner(&files.cert, &files.key)
        .env_remove("LANERUNNER_HTTP__TLS__KEY_FILE")
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("http.tls.key_file"));
}

fn lanerunner(cert: &Path, key: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lanerunner"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LANERUNNER_") {
            command.env_remove(name);
        }
    }
    command
        .env("LANERUNNER_HTTP__TLS__CERT_FILE", cert)
        .env("LANERUNNER_HTTP__TLS__KEY_FILE", key);
    command
}
