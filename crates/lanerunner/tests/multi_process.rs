//! Real `lanerunner serve` processes sharing PostgreSQL, RabbitMQ and Redis, and what
//! happens when those engines or an instance misbehave. Outages are made with a TCP proxy in
//! front of the real server (`FlakyProxy`), so the servers other tests share keep running.
//! Every wait is bounded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lanerunner::testing::SharedEngines;
use lanerunner_platform::testing::FlakyProxy;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

/// One `lanerunner serve` process on a loopback port with a data directory of its own.
struct Serve {
    child: Child,
    base: String,
    data_dir: PathBuf,
    client: reqwest::Client,
}

impl Serve {
    async fn start(env: &[(String, String)], extra: &[(&str, &str)]) -> Serve {
        Serve::start_services(env, extra, &[]).await
    }

    /// A process running only `services` (all of them when empty), as one group of a
    /// split deployment.
    async fn start_services(
        env: &[(String, String)],
        extra: &[(&str, &str)],
        services: &[&str],
    ) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data_dir = std::env::temp_dir().join(format!("lr-serve-{}", uuid::Uuid::now_v7()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanerunner"));
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data_dir)
        .args(
            (!services.is_empty())
                .then(|| ["--services".to_string(), services.join(",")])
                .into_iter()
                .flatten(),
        )
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LANERUNNER_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("lanerunner serve starts");
        let serve = Serve {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = serve.client.get(serve.url("/healthz")).send().await {
                if r.status() == StatusCode::OK {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "serve on {port} did not come up in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        serve
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("the process answers")
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("the process answers")
    }

    async fn signup(&self, email: &str, kind: &str) -> Value {
        let mut org = json!({ "name": "Multi Freight", "kind": kind });
        if kind == "carrier" {
            org["usdot_number"] = json!("1234567");
            org["mc_number"] = json!("MC-654321");
        }
        let res = self
            .post(
                "/v1/auth/signup",
                &json!({"organization": org, "name": "Pat", "email": email, "password": PASSWORD, "terms_version": "2026-11-01"}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// A draft load from Dallas (in three days) to Atlanta; its id.
    async fn draft_load(&self, reference: &str, token: &str) -> String {
        let day = |d: i64, h: u32| {
            format!(
                "{}T{h:02}:00:00",
                (chrono::Utc::now().date_naive() + chrono::Duration::days(d)).format("%Y-%m-%d")
            )
        };
        let load = json!({"reference": reference, "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 40000, "commodity": "paper",
            "stops": [{"kind": "pickup", "location": {"place": "Dallas, TX"}, "window": {"start": day(3, 8), "end": day(3, 14)}},
                      {"kind": "delivery", "location": {"place": "Atlanta, GA"}, "appointment": day(5, 9)}]});
        let res = self.post("/v1/loads", &load, Some(token)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let created: Value = res.json().await.unwrap();
        created["id"].as_str().unwrap().to_string()
    }

    /// SIGKILL: no graceful shutdown, nothing flushed.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Verification mails spooled under `dirs`, counted per recipient.
fn mails_by_recipient(dirs: &[&Path]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("mail")) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            if let Some(to) = text.lines().find_map(|l| l.strip_prefix("To: ")) {
                *counts.entry(to.trim().to_string()).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// Waits until every address in `emails` has exactly one mail across `dirs`, then checks
/// a little longer that no duplicate arrives.
async fn each_mailed_exactly_once(dirs: &[&Path], emails: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = mails_by_recipient(dirs);
        if emails.iter().all(|e| counts.get(e) == Some(&1)) {
            break;
        }
        let missing: Vec<_> = emails
            .iter()
            .filter(|e| counts.get(*e) != Some(&1))
            .collect();
        assert!(
            Instant::now() < deadline,
            "not mailed exactly once within 30 s: {missing:?} (counts {counts:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = mails_by_recipient(dirs);
    for e in emails {
        assert_eq!(counts.get(e), Some(&1), "{e} was mailed twice");
    }
}

/// `host:port` of a server URL.
fn host_port(url: &str) -> String {
    let u = reqwest::Url::parse(url).expect("a server URL");
    format!(
        "{}:{}",
        u.host_str().unwrap_or("127.0.0.1"),
        u.port_or_known_default().unwrap_or(0)
    )
}

/// The same URL (credentials, path) pointed at a proxy on loopback.
fn through(url: &str, port: u16) -> String {
    let mut u = reqwest::Url::parse(url).expect("a server URL");
    u.set_host(Some("127.0.0.1")).unwrap();
    u.set_port(Some(port)).unwrap();
    u.to_string()
}

async fn track_groups(engines: &mut SharedEngines, serve: &Serve) {
    let metrics = serve.get("/metrics", None).await.text().await.unwrap();
    engines.track_groups_from_metrics(&metrics);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_share_postgres_rabbitmq_and_redis() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ and Redis") {
        return;
    }
    let mut engines = SharedEngines::create().await;
    let env = engines.env(None, None);
    let limit = [("LANERUNNER_HTTP__RATE_LIMIT_PER_MINUTE", "8")];
    let a = Serve::start(&env, &limit).await;
    let b = Serve::start(&env, &limit).await;
    track_groups(&mut engines, &a).await;

    // An event caused through A (the signup's verification-mail command) is consumed once by
    // the mailer group, whichever instance's member takes it.
    let broker = a.signup("broker@example.com", "broker").await;
    let carrier = b.signup("carrier@example.com", "carrier").await;
    each_mailed_exactly_once(
        &[&a.data_dir, &b.data_dir],
        &["broker@example.com".into(), "carrier@example.com".into()],
    )
    .await;

    // A load posted through A is found through B: B's board heard it on the bus.
    let (bt, ct) = (
        broker["tokens"]["access_token"].as_str().unwrap(),
        carrier["tokens"]["access_token"].as_str().unwrap(),
    );
    let id = a.draft_load("MP-1", bt).await;
    assert_eq!(
        a.post(&format!("/v1/loads/{id}/post"), &json!({}), Some(bt))
            .await
            .status(),
        StatusCode::OK
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let hits: Value = b
            .get("/v1/loads/search?origin=Dallas,%20TX", Some(ct))
            .await
            .json()
            .await
            .unwrap();
        if hits["total_matches"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B never saw the load posted through A: {hits}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // One rate limit across both: the carrier has used some of its 8 on B already.
    let mut statuses = Vec::new();
    for i in 0..12 {
        let via = if i % 2 == 0 { &a } else { &b };
        statuses.push(via.get("/v1/me", Some(ct)).await.status().as_u16());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        ok < 8 && statuses.contains(&429),
        "expected the shared budget of 8 to run out: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .skip_while(|s| **s == 200)
            .all(|s| *s == 429),
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_by_a_killed_instance_are_delivered_once_after_a_broker_outage() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ and Redis") {
        return;
    }
    let mut engines = SharedEngines::create().await;
    let proxy = FlakyProxy::start(&host_port(&engines.amqp_url))
        .await
        .unwrap();
    let via_proxy = through(&engines.amqp_url, proxy.port);
    let env_a = engines.env(Some(&via_proxy), None);
    let mut a = Serve::start(&env_a, &[]).await;
    track_groups(&mut engines, &a).await;

    // A stream of signups through A, with the broker going away in the middle of it: the
    // ones committed while it is away stay in A's outbox.
    let mut emails = Vec::new();
    for i in 0..24 {
        if i == 8 {
            proxy.down();
        }
        let email = format!("user{i}@example.com");
        a.signup(&email, "broker").await;
        emails.push(email);
    }
    // A dies without a chance to relay them.
    a.kill();

    // B starts (straight to the broker), relays A's backlog from the shared outbox, and the
    // mailer group delivers each verification mail exactly once across both spools.
    let b = Serve::start(&engines.env(None, None), &[]).await;
    each_mailed_exactly_once(&[&a.data_dir, &b.data_dir], &emails).await;

    // The broker comes back for a new instance behind the proxy, which works without help.
    proxy.restore();
    let c = Serve::start(&env_a, &[]).await;
    let late = vec!["late@example.com".to_string()];
    c.signup(&late[0], "broker").await;
    let mut all = emails.clone();
    all.extend(late);
    each_mailed_exactly_once(&[&a.data_dir, &b.data_dir, &c.data_dir], &all).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_degrades_sign_in_and_heals_without_a_restart() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ and Redis") {
        return;
    }
    let mut engines = SharedEngines::create().await;
    let proxy = FlakyProxy::start(&host_port(&engines.redis_url))
        .await
        .unwrap();
    let via_proxy = through(&engines.redis_url, proxy.port);
    let a = Serve::start(&engines.env(None, Some(&via_proxy)), &[]).await;
    track_groups(&mut engines, &a).await;
    let owner = a.signup("owner@example.com", "broker").await;
    let token = owner["tokens"]["access_token"].as_str().unwrap();
    let login = json!({"email": "owner@example.com", "password": PASSWORD});

    proxy.down();
    // Signed-in callers keep working (token checks and the rate limit do without Redis).
    assert_eq!(a.get("/v1/me", Some(token)).await.status(), StatusCode::OK);
    // Sign-in fails closed while its throttle counters are away: a clear 503, not a 500.
    let res = a.post("/v1/auth/login", &login, None).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    let readyz = a.get("/readyz", None).await;
    assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(readyz.text().await.unwrap().contains("cache.redis"));

    // Redis comes back; the same process recovers by itself.
    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = a.post("/v1/auth/login", &login, None).await;
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sign-in did not recover within 30 s: {}",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(a.get("/readyz", None).await.status(), StatusCode::OK);
}

/// The spans an OTLP/HTTP (JSON) receiver on loopback has been sent, flattened.
#[derive(Clone, Default)]
struct OtlpReceiver(std::sync::Arc<std::sync::Mutex<Vec<ExportedSpan>>>);

#[derive(Debug, Clone)]
struct ExportedSpan {
    service: String,
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    /// OTLP's span kind: 2 server, 5 consumer.
    kind: u64,
    attributes: HashMap<String, String>,
}

impl OtlpReceiver {
    /// Listens on a loopback port; returns the receiver and its base URL.
    async fn start() -> (OtlpReceiver, String) {
        let receiver = OtlpReceiver::default();
        let spans = receiver.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let spans = spans.clone();
                async move {
                    let export: Value = serde_json::from_slice(&body).expect("OTLP JSON");
                    spans.0.lock().unwrap().extend(flatten(&export));
                    axum::Json(json!({}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn of_trace(&self, trace_id: &str) -> Vec<ExportedSpan> {
        let spans = self.0.lock().unwrap();
        spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

/// OTLP/JSON's `resourceSpans → scopeSpans → spans`, with attribute values as text.
fn flatten(export: &Value) -> Vec<ExportedSpan> {
    fn text(v: &Value) -> String {
        ["stringValue", "intValue", "boolValue", "doubleValue"]
            .iter()
            .find_map(|k| v.get(*k))
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default()
    }
    fn attributes(list: &Value) -> HashMap<String, String> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (
                    a["key"].as_str().unwrap_or_default().to_string(),
                    text(&a["value"]),
                )
            })
            .collect()
    }
    let mut out = Vec::new();
    for resource in export["resourceSpans"].as_array().into_iter().flatten() {
        let service = attributes(&resource["resource"]["attributes"])
            .remove("service.name")
            .unwrap_or_default();
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                let field = |k: &str| span[k].as_str().unwrap_or_default().to_string();
                out.push(ExportedSpan {
                    service: service.clone(),
                    trace_id: field("traceId"),
                    span_id: field("spanId"),
                    parent: field("parentSpanId"),
                    name: field("name"),
                    kind: span["kind"].as_u64().unwrap_or_default(),
                    attributes: attributes(&span["attributes"]),
                });
            }
        }
    }
    out
}

/// One trace follows a request into every process it reaches. A client posts a load through
/// the edge process (identity and loads) with its own `traceparent`; the load's
/// `load.posted` event leaves through the outbox, reaches the matching projection in
/// another process over RabbitMQ, and analytics in that process over the Kafka audit stream.
/// Both processes export to one OTLP receiver, and the receiver holds one trace: the
/// client's trace id, the edge's server span under the client's span, and the other
/// process's consumer spans under the server span — and nothing else, since neither
/// process samples traces it starts itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_a_request_over_rabbitmq_and_kafka_into_another_process() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ, Redis and Kafka") {
        return;
    }
    let mut engines = SharedEngines::create().await;
    let (receiver, otlp) = OtlpReceiver::start().await;
    let brokers = std::env::var(lanerunner::testing::TEST_KAFKA_BROKERS_ENV)
        .unwrap_or_else(|_| lanerunner::testing::DEFAULT_TEST_KAFKA_BROKERS.to_string());
    let prefix = format!("{}.", engines.namespace);
    let mut env = engines.env(None, None);
    env.extend(
        [
            ("LANERUNNER_STREAMS__BACKEND", "kafka"),
            ("LANERUNNER_STREAMS_BROKERS", brokers.as_str()),
            ("LANERUNNER_STREAMS__TOPIC_PREFIX", prefix.as_str()),
            ("LANERUNNER_TRACING__OTLP_ENDPOINT", otlp.as_str()),
            // No new trace is recorded; a caller's sampled trace always is.
            ("LANERUNNER_TRACING__SAMPLE_RATIO", "0"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let edge = Serve::start_services(
        &env,
        &[("LANERUNNER_TRACING__SERVICE_NAME", "lanerunner-edge")],
        &["identity", "loads"],
    )
    .await;
    let insight = Serve::start_services(
        &env,
        &[("LANERUNNER_TRACING__SERVICE_NAME", "lanerunner-insight")],
        &["matching", "analytics"],
    )
    .await;
    track_groups(&mut engines, &edge).await;
    track_groups(&mut engines, &insight).await;

    let broker = edge.signup("traced@example.com", "broker").await;
    let token = broker["tokens"]["access_token"].as_str().unwrap();
    let id = edge.draft_load("TR-1", token).await;

    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let client_span = "00f067aa0ba902b7";
    let posted = edge
        .client
        .post(edge.url(&format!("/v1/loads/{id}/post")))
        .bearer_auth(token)
        .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);

    // Posting also changes the load's status; the consumer spans of `load.posted` are the
    // ones looked for.
    let consumed_by = |spans: &[ExportedSpan], group: &str| {
        let attribute = |s: &ExportedSpan, key: &str| s.attributes.get(key).cloned();
        spans
            .iter()
            .find(|s| {
                s.kind == 5
                    && attribute(s, "messaging.consumer.group.name").as_deref() == Some(group)
                    && attribute(s, "messaging.destination.name").as_deref()
                        == Some("load.posted.v1")
            })
            .cloned()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans = receiver.of_trace(&trace_id);
        if consumed_by(&spans, "matching.projection").is_some()
            && consumed_by(&spans, "analytics.ingest").is_some()
        {
            break spans;
        }
        assert!(
            Instant::now() < deadline,
            "the trace never reached both consumers: {spans:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let server = spans
        .iter()
        .find(|s| s.kind == 2)
        .expect("the edge's server span");
    assert_eq!(server.service, "lanerunner-edge");
    assert_eq!(server.parent, client_span, "under the client's span");
    assert_eq!(server.name, "POST /v1/loads/{id}/post");
    assert_eq!(server.attributes["http.route"], "/v1/loads/{id}/post");
    assert_eq!(server.attributes["http.response.status_code"], "200");
    for group in ["matching.projection", "analytics.ingest"] {
        let consumer = consumed_by(&spans, group).unwrap();
        assert_eq!(consumer.service, "lanerunner-insight", "{consumer:?}");
        assert_eq!(
            consumer.parent, server.span_id,
            "{group} under the request: {consumer:?}"
        );
        assert_eq!(consumer.name, "process load.posted.v1", "{consumer:?}");
    }
    // Requests without a caller's context (the sign-up, the draft) started traces of their
    // own, which a ratio of 0 does not record, nor what they caused in the other process.
    let exported = receiver.0.lock().unwrap().clone();
    let strays: Vec<_> = exported.iter().filter(|s| s.trace_id != trace_id).collect();
    assert!(strays.is_empty(), "{strays:#?}");
}

/// A deployment split as the manifests split it: identity in one process, notifications
/// and chat in another, sharing the blob store. A member's export gathers the other
/// process's part over the bus (through the blob store, which keeps nothing of it after);
/// with that process gone, the export is refused with the reason (503), never handed out
/// incomplete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_gathers_the_parts_held_by_another_process() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ and Redis") {
        return;
    }
    let mut engines = SharedEngines::create().await;
    let blobs = std::env::temp_dir().join(format!("lr-shared-blobs-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&blobs).unwrap();
    let mut env = engines.env(None, None);
    env.push((
        "LANERUNNER_BLOB__URL".into(),
        format!("file://{}", blobs.display()),
    ));
    let edge = Serve::start_services(&env, &[], &["identity", "loads"]).await;
    let comms = Serve::start_services(&env, &[], &["notifications", "chat"]).await;
    track_groups(&mut engines, &edge).await;
    track_groups(&mut engines, &comms).await;

    let broker = edge.signup("split-export@example.com", "broker").await;
    let token = broker["tokens"]["access_token"].as_str().unwrap();
    // Notifications, in the other process, hears of the member over the bus and keeps
    // their email to write to: its part of the export.
    let deadline = Instant::now() + Duration::from_secs(30);
    let export = loop {
        let res = edge.get("/v1/me/export", Some(token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let export: Value = res.json().await.unwrap();
        if export["held_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "notifications")
        {
            break export;
        }
        assert!(
            Instant::now() < deadline,
            "the notifications part never came: {export}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        export["services"]["notifications"]
            .to_string()
            .contains("split-export@example.com"),
        "{export}"
    );
    let parts = blobs.join("privacy/exports");
    let left = std::fs::read_dir(&parts)
        .map(|d| {
            d.flatten()
                .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten())
                .count()
        })
        .unwrap_or(0);
    assert_eq!(left, 0, "the parts left the blob store once read");

    // The process holding the part is gone: no export rather than an incomplete one.
    drop(comms);
    let res = edge.get("/v1/me/export", Some(token)).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = res.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("notifications"),
        "{problem}"
    );
    drop(edge);
    let _ = std::fs::remove_dir_all(&blobs);
}
