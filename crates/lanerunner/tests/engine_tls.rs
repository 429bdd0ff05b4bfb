//! TLS to the engines, with certificate verification: PostgreSQL (the project's primary on
//! 127.0.0.1:5440 has TLS on, `scripts/pg-replica.sh`, with a test CA and a certificate for
//! `localhost` only). The whole application runs on a verified TLS connection; a server
//! certificate from an issuer the client does not trust, or for another host name, is
//! refused with the reason before anything is read or written. A client certificate named in
//! the URL (`sslcert`, `sslkey`) signs in where the database asks for one.

use std::path::PathBuf;

use lanerunner::testing::{skip_engine_test, Backend, TestApp, TEST_PG_PRIMARY_URL_ENV};
use lanerunner_platform::config::Config;
use reqwest::StatusCode;

fn database_ca() -> PathBuf {
    PathBuf::from(
        std::env::var("LANERUNNER_PG_REPLICA_DIR")
            .unwrap_or_else(|_| "/var/tmp/lanerunner-pg".into()),
    )
    .join("tls/ca.crt")
}

/// The test database's URL rewritten to `host` with `sslmode` and the CA file.
fn with_tls(url: &str, host: &str, mode: &str, ca: &std::path::Path) -> String {
    let url = url.replace("127.0.0.1:5440", &format!("{host}:5440"));
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}sslmode={mode}&sslrootcert={}", ca.display())
}

fn skipped() -> bool {
    skip_engine_test("PostgreSQL with TLS (scripts/pg-replica.sh)")
        || std::env::var(TEST_PG_PRIMARY_URL_ENV).is_ok()
}

#[tokio::test]
async fn the_application_runs_on_verified_tls_to_postgresql() {
    if skipped() {
        return;
    }
    let ca = database_ca();
    assert!(
        ca.exists(),
        "{} missing: run scripts/pg-replica.sh",
        ca.display()
    );
    let app = TestApp::spawn_with(Backend::PostgresReplica, |c| {
        let url = c.database.url.clone().unwrap();
        c.database.url = Some(with_tls(&url, "localhost", "verify-full", &ca));
    })
    .await;
    let account = app.signup("tls-db@example.com", "broker").await;
    let res = app.get("/v1/me", Some(&account.access)).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Every pooled connection of the service's store is encrypted.
    let db = app.app().db("identity").expect("identity runs here");
    let lanerunner_platform::db::Db::Postgres(pool) = &db else {
        panic!("the store is PostgreSQL");
    };
    let (ssl, version): (bool, String) =
        sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(pool.pool())
            .await
            .unwrap();
    assert!(ssl);
    assert!(version.starts_with("TLSv1."), "{version}");
}

#[tokio::test]
async fn an_untrusted_or_misnamed_database_certificate_is_refused() {
    if skipped() {
        return;
    }
    let trusted = database_ca();
    let base = std::env::var(TEST_PG_PRIMARY_URL_ENV)
        .unwrap_or_else(|_| lanerunner::testing::DEFAULT_TEST_PG_PRIMARY_URL.into());

    // A CA that did not issue the server's certificate.
    let dir = std::env::temp_dir().join(format!(
        "lanerunner-dbtls-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let other_ca = dir.join("other-ca.crt");
    let untrusted = lanerunner::test_certs::TestCa::new("not the database's CA").unwrap();
    std::fs::write(&other_ca, &untrusted.pem).unwrap();

    for (url, why) in [
        (
            with_tls(&base, "localhost", "verify-full", &other_ca),
            "an untrusted issuer",
        ),
        // The certificate names localhost only: verify-full to the address is refused.
        (
            with_tls(&base, "127.0.0.1", "verify-full", &trusted),
            "another host name",
        ),
        (
            with_tls(&base, "127.0.0.1", "verify-ca", &trusted),
            "another host name (verify-ca)",
        ),
    ] {
        let mut config = Config::default();
        config.database.url = Some(url);
        let err = lanerunner_platform::db::connect(&config, "identity")
            .await
            .err()
            .unwrap_or_else(|| panic!("a connection to a server with {why} was accepted"));
        let message = format!("{err:#}").to_lowercase();
        assert!(
            message.contains("certificate") || message.contains("tls") || message.contains("ssl"),
            "{why}: {message}"
        );
    }
    // The trusted issuer and the right name: accepted. (rustls checks the name under
    // `verify-ca` too, so the address is refused there as well: stricter than libpq.)
    let mut config = Config::default();
    config.database.url = Some(with_tls(&base, "localhost", "verify-full", &trusted));
    let db = lanerunner_platform::db::connect(&config, "identity")
        .await
        .unwrap();
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Client certificates, as libpq names them in the URL (`sslcert`, `sslkey`): the test
/// database lets the role `lanerunner_cert` in only over TLS with a certificate its CA
/// issued for that name (pg_hba `cert`, `scripts/pg-replica.sh`). With its certificate the
/// store connects as that role and the server sees the certificate; without one, or with one
/// another CA issued for the same name, the connection is refused with the reason.
#[tokio::test]
async fn a_client_certificate_signs_in_where_the_database_asks_for_one() {
    if skipped() {
        return;
    }
    let ca = database_ca();
    let tls = ca.parent().unwrap().to_path_buf();
    let url = |cert: Option<(&std::path::Path, &std::path::Path)>| {
        let mut url = format!(
            "postgres://lanerunner_cert@localhost:5440/postgres?sslmode=verify-full&sslrootcert={}",
            ca.display()
        );
        if let Some((cert, key)) = cert {
            url += &format!("&sslcert={}&sslkey={}", cert.display(), key.display());
        }
        url
    };
    let connect = |url: String| async move {
        let mut config = Config::default();
        config.database.url = Some(url);
        lanerunner_platform::db::connect(&config, "identity").await
    };

    let db = connect(url(Some((
        &tls.join("client.crt"),
        &tls.join("client.key"),
    ))))
    .await
    .expect("the certificate the database's CA issued is accepted");
    let lanerunner_platform::db::Db::Postgres(pool) = &db else {
        panic!("the store is PostgreSQL");
    };
    let (user, dn): (String, Option<String>) = sqlx::query_as(
        "SELECT current_user::text, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .fetch_one(pool.pool())
    .await
    .unwrap();
    assert_eq!(user, "lanerunner_cert");
    assert_eq!(dn.as_deref(), Some("/CN=lanerunner_cert"));
    db.close().await;

    let err = connect(url(None))
        .await
        .err()
        .expect("no certificate: refused");
    let message = format!("{err:#}");
    assert!(
        message.contains("requires a valid client certificate"),
        "{message}"
    );

    // The same name, issued by a CA the database does not trust.
    let dir = std::env::temp_dir().join(format!(
        "lanerunner-dbcert-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let stranger = lanerunner::test_certs::TestCa::new("not the database's CA")
        .unwrap()
        .leaf(&["localhost"], "lanerunner_cert", None)
        .unwrap();
    let (cert, key) = (dir.join("client.crt"), dir.join("client.key"));
    std::fs::write(&cert, &stranger.cert_pem).unwrap();
    std::fs::write(&key, &stranger.key_pem).unwrap();
    let err = connect(url(Some((&cert, &key))))
        .await
        .err()
        .expect("another CA's certificate: refused");
    // The server's TLS alert says why: the issuer is unknown to it.
    let message = format!("{err:#}");
    assert!(message.contains("UnknownCA"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
