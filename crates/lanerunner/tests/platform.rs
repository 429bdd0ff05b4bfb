//! Platform-level behaviour of the assembled binary, on SQLite and on PostgreSQL.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lanerunner::both_backends;
use lanerunner::testing::TestApp;
use serde_json::Value;

const PROBLEM_JSON: &str = "application/problem+json";

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

both_backends!(
    async fn healthz_answers(app: TestApp) {
        let response = app.get("/healthz", None).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
    }

    async fn readyz_checks_every_store(app: TestApp) {
        let response = app.get("/readyz", None).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ready", "{body}");
        assert_eq!(body["checks"]["identity.database"], "ok", "{body}");
    }

    async fn metrics_count_requests(app: TestApp) {
        assert_eq!(app.get("/healthz", None).await.status(), 200);
        let response = app.get("/metrics", None).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(text.contains("http_requests_total"), "{text}");
        assert!(text.contains("route=\"/healthz\""), "{text}");
    }

    async fn business_metrics_count_postings_bookings_and_time_to_cover(app: TestApp) {
        let scrape = || async { app.get("/metrics", None).await.text().await.unwrap() };
        let before = scrape().await;
        let broker = app.signup("metrics-broker@example.com", "broker").await;
        let carrier = app.signup("metrics-carrier@example.com", "carrier").await;
        lanerunner::testing::posted(
            &app,
            &broker,
            &lanerunner::testing::dallas_atlanta_load("M-1", 250_000),
        )
        .await;
        lanerunner::testing::book(
            &app,
            &broker,
            &carrier,
            &lanerunner::testing::dallas_atlanta_load("M-2", 250_000),
        )
        .await;
        let after = scrape().await;
        // Other tests in this process count too: at least ours.
        assert!(
            sample(&after, "loads_posted_total") >= sample(&before, "loads_posted_total") + 2.0,
            "{after}"
        );
        assert!(
            sample(&after, "loads_booked_total") >= sample(&before, "loads_booked_total") + 1.0,
            "{after}"
        );
        assert!(
            sample(&after, "load_time_to_cover_seconds_bucket{le=\"60\"}")
                >= sample(&before, "load_time_to_cover_seconds_bucket{le=\"60\"}") + 1.0,
            "time to cover has buckets of minutes to days: {after}"
        );
        assert!(
            after.contains("load_time_to_cover_seconds_bucket{le=\"604800\"}"),
            "{after}"
        );
    }

    async fn openapi_document_is_3_1(app: TestApp) {
        let response = app.get("/v1/openapi.json", None).await;
        assert_eq!(response.status(), 200);
        let doc: Value = response.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
        assert_eq!(doc["info"]["title"], "LaneRunner API");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
            "{doc}"
        );
    }

    async fn docs_page_and_its_assets_load(app: TestApp) {
        let response = app.get("/docs", None).await;
        assert_eq!(response.status(), 200);
        assert!(content_type(&response).starts_with("text/html"));
        let page = response.text().await.unwrap();
        assert!(page.contains("/docs/swagger-ui-bundle.js"));
        let js = app.get("/docs/swagger-ui-bundle.js", None).await;
        assert_eq!(js.status(), 200);
        assert!(content_type(&js).contains("javascript"));
        assert!(js.bytes().await.unwrap().len() > 10_000);
        assert_eq!(app.get("/docs/swagger-ui.css", None).await.status(), 200);
    }

    async fn unknown_route_is_a_404_problem(app: TestApp) {
        let response = app.get("/v1/no-such-thing", None).await;
        assert_eq!(response.status(), 404);
        assert!(
            content_type(&response).starts_with(PROBLEM_JSON),
            "{}",
            content_type(&response)
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], 404, "{body}");
    }

    async fn wrong_method_is_a_405_problem(app: TestApp) {
        let response = app.delete("/healthz", None).await;
        assert_eq!(response.status(), 405);
        assert!(
            content_type(&response).starts_with(PROBLEM_JSON),
            "{}",
            content_type(&response)
        );
    }

    async fn request_id_is_returned_and_echoed(app: TestApp) {
        let response = app.get("/healthz", None).await;
        let generated = response
            .headers()
            .get("x-request-id")
            .expect("a generated request id")
            .to_str()
            .unwrap()
            .to_string();
        assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

        let response = app
            .send(
                app.client
                    .get(app.url("/healthz"))
                    .header("x-request-id", "trace-me-42"),
                None,
            )
            .await;
        assert_eq!(
            response.headers().get("x-request-id").unwrap(),
            "trace-me-42"
        );

        // Also on responses that are not from a handler.
        let response = app.get("/nowhere", None).await;
        assert!(response.headers().get("x-request-id").is_some());
    }
);

/// The binary, with a clean environment as far as LaneRunner is concerned.
fn lanerunner() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lanerunner"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LANERUNNER_") {
            command.env_remove(key);
        }
    }
    command.env_remove("RUST_LOG");
    command
}

fn temp_dir() -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("lanerunner-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn config_check_prints_the_masked_configuration() {
    let output = lanerunner()
        .args(["config", "check"])
        .env(
            "LANERUNNER_DATABASE_URL",
            "postgres://lr:hunter2@db.example:5432/lr",
        )
        .env("LANERUNNER_AUTH__ISSUER", "https://id.example")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("[database]"), "{stdout}");
    assert!(stdout.contains("lr:****@db.example"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(stdout.contains("https://id.example"), "{stdout}");
}

#[test]
fn config_check_rejects_an_invalid_value_naming_its_key() {
    let output = lanerunner()
        .args(["config", "check"])
        .env("LANERUNNER_DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("database.url"), "{stderr}");
}

#[test]
fn config_check_reads_the_file_named_by_the_environment() {
    let dir = temp_dir();
    let file = dir.join("lanerunner.toml");
    std::fs::write(
        &file,
        "public_url = \"https://freight.example\"\n[http]\nbody_limit_bytes = 4096\n",
    )
    .unwrap();
    let output = lanerunner()
        .args(["config", "check"])
        .env("LANERUNNER_CONFIG", &file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("https://freight.example") && stdout.contains("4096"),
        "{stdout}"
    );
}

#[test]
fn unknown_service_is_an_error_listing_the_valid_ones() {
    let output = lanerunner()
        .args(["serve", "--services", "nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nope") && stderr.contains("identity"),
        "{stderr}"
    );
}

#[test]
fn version_prints_the_version() {
    let output = lanerunner().arg("version").output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let dir = temp_dir();
    let output = lanerunner()
        .args(["migrate", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let exists = dir.join("identity.db").exists();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(exists, "the identity store was created");
}

/// `lanerunner serve` on a free port with its state in `dir`; the child and its address
/// (read from the `listening` log line on stderr).
fn spawn_serve(dir: &std::path::Path) -> (std::process::Child, String) {
    let mut child = lanerunner()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("LANERUNNER_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str::<Value>(&line) {
                if event["message"] == "listening" {
                    let _ = tx.send(event["address"].as_str().unwrap_or_default().to_string());
                }
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(address) => (child, address),
        Err(_) => {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "serve did not report its address; stdout:\n{}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
    }
}

fn sigterm_and_wait(child: &mut std::process::Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            return exit;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("serve did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    let dir = temp_dir();
    let (mut child, address) = spawn_serve(&dir);
    let body = healthz(&address);
    assert!(body.contains("\"ok\""), "{body}");
    let exit = sigterm_and_wait(&mut child);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(exit.success(), "exit status {exit:?}");
}

/// A rolling deploy stops an instance while it works: a request already being handled when
/// SIGTERM arrives is finished and answered (its account committed), no new connection is
/// taken, and the process exits cleanly. The sign-up hashes its password with Argon2id at
/// production cost, so it is still running when the signal lands.
#[test]
fn sigterm_mid_request_finishes_the_request_before_stopping() {
    use std::io::{Read, Write};
    let dir = temp_dir();
    let (mut child, address) = spawn_serve(&dir);
    let legal = {
        let mut s = std::net::TcpStream::connect(&address).unwrap();
        write!(
            s,
            "GET /v1/legal HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    let terms = legal
        .split("\"terms_version\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the terms version")
        .to_string();
    let body = serde_json::json!({ "organization": {"name": "Drain co", "kind": "broker"}, "name": "Pat",
        "email": "drain@example.com", "password": "a long enough passphrase", "terms_version": terms }).to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /v1/auth/signup HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Let the server take the request in before the signal (Argon2id then runs for a while).
    std::thread::sleep(Duration::from_millis(150));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight is answered: {answer}"
    );
    let exit = sigterm_and_wait(&mut child);
    assert!(exit.success(), "exit status {exit:?}");

    // The account it answered for is there when the instance comes back.
    let (mut again, address) = spawn_serve(&dir);
    let mut s = std::net::TcpStream::connect(&address).unwrap();
    let login =
        serde_json::json!({ "email": "drain@example.com", "password": "a long enough passphrase" })
            .to_string();
    write!(
        s,
        "POST /v1/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{login}",
        login.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let _ = sigterm_and_wait(&mut again);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

/// A plain HTTP/1.1 GET, to keep this test free of an async runtime.
fn healthz(address: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The gateway's CORS and retirement: an allowed origin's preflight is answered and others
/// get no CORS headers; a deprecated prefix answers with `Deprecation`, `Sunset` and its
/// successor, a sunset one with `410 Gone`; bad settings stop the configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_for_allowed_origins_and_retired_routes_say_so() {
    use lanerunner_platform::http::gateway::Deprecation;
    let soon = chrono::Utc::now() + chrono::Duration::days(30);
    let app = TestApp::spawn_with(lanerunner::testing::Backend::Sqlite, |c| {
        c.http.cors_allowed_origins = vec!["https://tms.example.com".into()];
        c.http.deprecations = vec![
            Deprecation {
                path_prefix: "/v1/org/audit-events".into(),
                deprecated_at: "2026-11-01T00:00:00Z".parse().unwrap(),
                sunset_at: Some(soon),
                successor: Some("/v2/audit-events".into()),
            },
            Deprecation {
                path_prefix: "/v1/quotes".into(),
                deprecated_at: "2025-01-01T00:00:00Z".parse().unwrap(),
                sunset_at: Some("2026-01-01T00:00:00Z".parse().unwrap()),
                successor: None,
            },
        ];
    })
    .await;
    let owner = app.signup("owner@gateway.example", "broker").await;

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/loads"))
        .header("origin", "https://tms.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], "https://tms.example.com");
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("authorization"));
    let other = app
        .send(
            app.client
                .get(app.url("/v1/org"))
                .header("origin", "https://evil.example"),
            Some(&owner.access),
        )
        .await;
    assert_eq!(other.status(), 200);
    assert!(other.headers().get("access-control-allow-origin").is_none());
    assert!(other.headers().get("deprecation").is_none());

    let deprecated = app.get("/v1/org/audit-events", Some(&owner.access)).await;
    assert_eq!(deprecated.status(), 200);
    let h = deprecated.headers();
    assert_eq!(
        h["deprecation"],
        format!(
            "@{}",
            "2026-11-01T00:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
                .timestamp()
        )
        .as_str()
    );
    assert_eq!(h["sunset"], httpdate::fmt_http_date(soon.into()).as_str());
    assert_eq!(h["link"], "</v2/audit-events>; rel=\"successor-version\"");

    let gone = app.get("/v1/quotes/anything", Some(&owner.access)).await;
    assert_eq!(gone.status(), 410);
    assert_eq!(gone.headers()["content-type"], "application/problem+json");
    assert_eq!(gone.headers()["sunset"], "Thu, 01 Jan 2026 00:00:00 GMT");
    let body: Value = gone.json().await.unwrap();
    assert!(body["type"].as_str().unwrap().ends_with("/gone"), "{body}");

    let mut config = lanerunner_platform::Config::default();
    config.http.cors_allowed_origins = vec!["tms.example.com".into()];
    assert!(config
        .validate()
        .unwrap_err()
        .to_string()
        .contains("http.cors_allowed_origins"));
    let mut config = lanerunner_platform::Config::default();
    config.http.trusted_proxies = vec!["proxy.internal".into()];
    assert!(config
        .validate()
        .unwrap_err()
        .to_string()
        .contains("http.trusted_proxies"));
}

/// The value of the series `series` (a name, or a name with its labels) in a scrape; 0
/// when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(name, _)| *name == series)
        .map(|(_, v)| v.parse::<f64>().unwrap())
        .sum()
}

/// A request its route cannot answer in time is a 503 problem, and counted as one against
/// that route (the availability SLO sees it). Argon2id at production cost takes far longer
/// than the 1 ms allowed here.
#[tokio::test]
async fn a_timed_out_request_counts_against_its_route() {
    let app = TestApp::spawn_with(lanerunner::testing::Backend::Sqlite, |c| {
        c.http.request_timeout_ms = 1;
        c.auth.argon2_memory_kib = 19_456;
        c.auth.argon2_iterations = 2;
    })
    .await;
    let series = "http_requests_total{method=\"POST\",route=\"/v1/auth/signup\",status=\"503\"}";
    // Read in-process: a scrape over HTTP would have 1 ms too.
    let scrape = || lanerunner_platform::http::ops::prometheus().render();
    let before = sample(&scrape(), series);
    let body = serde_json::json!({ "organization": {"name": "Slow co", "kind": "broker"}, "name": "Pat", "email": "slow@example.com", "password": lanerunner::testing::TEST_PASSWORD, "terms_version": "2026-11-01" });
    let res = app.post_json("/v1/auth/signup", &body, None).await;
    assert_eq!(res.status(), 503);
    assert_eq!(content_type(&res), PROBLEM_JSON);
    let after = sample(&scrape(), series);
    assert!(
        after >= before + 1.0,
        "the timeout is counted on its route: {before} → {after}"
    );
}
