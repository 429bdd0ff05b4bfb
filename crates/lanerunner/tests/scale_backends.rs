//! The application on the engines a real deployment uses: PostgreSQL, RabbitMQ and Redis
//! (`Backend::FullStack`), one instance and two sharing them.

use std::time::Duration;

use lanerunner::testing::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

async fn signup(app: &TestApp, email: &str) -> Value {
    let res = app
        .post_json(
            "/v1/auth/signup",
            &json!({ "organization": { "name": "Scale Freight", "kind": "broker" }, "name": "Pat Owner", "email": email, "password": PASSWORD, "terms_version": "2026-11-01" }),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "signup failed");
    res.json().await.unwrap()
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/v1/auth/login",
        &json!({ "email": email, "password": password }),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_verification_mail_travels_through_rabbitmq_and_readyz_reports_each_engine() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ, Redis and Kafka") {
        return;
    }
    let app = TestApp::spawn(Backend::FullStack).await;
    assert_eq!(app.app().bus().backend(), "rabbitmq");

    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["bus.rabbitmq"], "ok", "{ready}");
    assert_eq!(ready["checks"]["cache.redis"], "ok", "{ready}");

    let body = signup(&app, "owner@scale.example").await;
    let access = body["tokens"]["access_token"].as_str().unwrap().to_owned();
    // outbox → RabbitMQ → mailer consumer → spool.
    let mail = app
        .wait_for_mail(
            |m| m.contains("To: owner@scale.example") && m.contains("Your verification token:"),
            Duration::from_secs(15),
        )
        .await;
    let token = mail
        .lines()
        .find_map(|l| l.strip_prefix("Your verification token:"))
        .unwrap()
        .trim()
        .to_owned();
    let res = app
        .post_json("/v1/auth/verify-email", &json!({ "token": token }), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let me: Value = app.get("/v1/me", Some(&access)).await.json().await.unwrap();
    assert_eq!(me["user"]["email_verified"], true);

    // Logout marks the session revoked in Redis: the access token stops working at once.
    let res = app
        .post_json("/v1/auth/logout", &json!({}), Some(&access))
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        app.get("/v1/me", Some(&access)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("bus_published_total{backend=\"rabbitmq\""),
        "no publish counter for rabbitmq"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_failed_login_counter() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ, Redis and Kafka") {
        return;
    }
    let a = TestApp::spawn(Backend::FullStack).await;
    let b = a.spawn_sibling().await;
    assert_ne!(a.address, b.address);
    signup(&a, "shared@scale.example").await;
    // The account limit is 5 failures per window, counted in Redis: spread them over both.
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        let res = login(app, "shared@scale.example", "wrong password!!").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    for app in [&a, &b] {
        let res = login(app, "shared@scale.example", PASSWORD).await;
        assert_eq!(
            res.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "each instance sees all five failures"
        );
        assert!(res.headers().contains_key("retry-after"));
    }
    drop(b);
}

/// The API rate limit is counted in Redis: requests through either instance draw on one
/// budget per principal, and the refusal is a problem+json 429 with Retry-After.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_api_rate_limit() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ, Redis and Kafka") {
        return;
    }
    let a = TestApp::spawn_with(Backend::FullStack, |c| c.http.rate_limit_per_minute = 6).await;
    let b = a.spawn_sibling().await;
    let owner = a.signup("limit@example.com", "broker").await;
    let other = a.signup("other@example.com", "broker").await;
    for app in [&a, &b, &a, &b, &a, &b] {
        assert_eq!(
            app.get("/v1/me", Some(&owner.access)).await.status(),
            StatusCode::OK
        );
    }
    let refused = b.get("/v1/me", Some(&owner.access)).await;
    assert!(refused.headers().contains_key("retry-after"));
    let p = lanerunner::testing::expect_problem(refused, 429, "rate-limited").await;
    assert_eq!(p["limit"], 6);
    // Another principal has a budget of its own; unauthenticated routes are not counted.
    assert_eq!(
        a.get("/v1/me", Some(&other.access)).await.status(),
        StatusCode::OK
    );
    assert_eq!(b.get("/healthz", None).await.status(), StatusCode::OK);
    drop(b);
}

/// `/metrics` carries what an operator watches on the brokers: each consumer group's queue
/// depth and dead letters (sampled from RabbitMQ), consumer lag, outbox backlog and publish
/// and consume counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_queue_depths_lag_and_backlog() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ, Redis and Kafka") {
        return;
    }
    let app = TestApp::spawn(Backend::FullStack).await;
    app.signup("metrics@example.com", "broker").await;
    app.wait_for_mail(
        |m| m.contains("To: metrics@example.com"),
        Duration::from_secs(10),
    )
    .await;
    let needles = [
        "bus_queue_depth{group=\"mailer\"}",
        "bus_dead_letters{group=\"mailer\"}",
        "consumer_lag_seconds",
        "outbox_backlog{service=\"identity\"}",
        "bus_published_total",
    ];
    // Queue depths are sampled from the broker periodically (sooner while a group's queue
    // is not readable yet), so give the sampler a few rounds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = app.get("/metrics", None).await.text().await.unwrap();
        let missing: Vec<&str> = needles
            .iter()
            .copied()
            .filter(|n| !text.contains(n))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing:?} missing from /metrics:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
