//! Carrier vetting over real HTTP, on SQLite, on PostgreSQL and on the full stack: a
//! carrier's authority is checked with FMCSA (a stand-in speaking QCMobile's JSON), brokers
//! decide what an unverified carrier may do, private loads reach only the broker's network,
//! and a carrier whose authority lapses mid-negotiation can no longer offer or agree.

use std::time::Duration;

use lanerunner::testing::{
    dallas_atlanta_load, expect_problem, json_of, skip_engine_test, Account, Backend, TestApp,
};
use lanerunner_fmcsa::testing::QcMobileStandIn;
use reqwest::StatusCode;
use serde_json::{json, Value};

const DOT: u64 = 2_751_903;
const MC: u64 = 938_251;

async fn fmcsa_app(backend: Backend, fmcsa: &QcMobileStandIn) -> TestApp {
    let url = fmcsa.base_url.clone();
    TestApp::spawn_with(backend, move |c| {
        c.carriers.registry = lanerunner_platform::config::CarrierRegistry::Fmcsa;
        c.carriers.fmcsa.base_url = url;
        c.carriers.fmcsa.web_key = Some("web-key".into());
        c.carriers.fmcsa.timeout_ms = 2_000;
    })
    .await
}

fn declaration(dot: u64, mc: Option<u64>) -> Value {
    json!({"usdot_number": dot, "mc_number": mc, "insurance_expires_on": "2099-06-30"})
}

async fn post(app: &TestApp, path: &str, who: &Account, body: Value) -> reqwest::Response {
    app.post_json(path, &body, Some(&who.access)).await
}

/// Repeats `attempt` until it answers `want` with a body containing `has` (standings and
/// loads travel to the negotiation service as events), and returns that body.
async fn eventually(
    want: StatusCode,
    has: &str,
    mut attempt: impl AsyncFnMut() -> reqwest::Response,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let res = attempt().await;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status == want && body.to_string().contains(has) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {status} (wanted {want} with {has:?}): {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn problem_kind(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
}

async fn messages(app: &TestApp, who: &Account, id: &str) -> usize {
    let n = json_of(
        app.get(&format!("/v1/negotiations/{id}"), Some(&who.access))
            .await,
        StatusCode::OK,
    )
    .await;
    n["messages"].as_array().unwrap().len()
}

async fn vetting_with_fmcsa(backend: Backend) {
    let fmcsa = QcMobileStandIn::start("web-key");
    fmcsa.put(Some(MC), QcMobileStandIn::good(DOT));
    let app = fmcsa_app(backend, &fmcsa).await;
    let broker = app.signup("b@example.com", "broker").await;
    let good = app.signup("good@example.com", "carrier").await;
    let twin = app.signup("twin@example.com", "carrier").await;
    let unknown = app.signup("unknown@example.com", "carrier").await;

    // Bad declarations name every field and record nothing.
    let p = expect_problem(
        app.put_json(
            "/v1/carriers/authority",
            &json!({"usdot_number": 0, "mc_number": 123_456_789_012u64, "insurance_expires_on": "2001-01-01"}),
            Some(&good.access),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert_eq!(p["errors"].as_array().unwrap().len(), 3, "{p}");
    expect_problem(
        app.put_json(
            "/v1/carriers/authority",
            &declaration(DOT, None),
            Some(&broker.access),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // FMCSA down: 503, and nothing recorded.
    fmcsa.set_down(true);
    expect_problem(
        app.put_json(
            "/v1/carriers/authority",
            &declaration(DOT, Some(MC)),
            Some(&good.access),
        )
        .await,
        503,
        "unavailable",
    )
    .await;
    fmcsa.set_down(false);
    expect_problem(
        app.get("/v1/carriers/authority", Some(&good.access)).await,
        404,
        "not-found",
    )
    .await;

    // A carrier in good standing verifies; its USDOT number is then its own.
    let a = json_of(
        app.put_json(
            "/v1/carriers/authority",
            &declaration(DOT, Some(MC)),
            Some(&good.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            a["standing"].as_str(),
            a["source"].as_str(),
            a["legal_name"].as_str()
        ),
        (Some("verified"), Some("fmcsa"), Some("CARRIER 2751903 LLC")),
        "{a}"
    );
    expect_problem(
        app.put_json(
            "/v1/carriers/authority",
            &declaration(DOT, None),
            Some(&twin.access),
        )
        .await,
        409,
        "usdot-number-claimed",
    )
    .await;
    // A number FMCSA does not know fails, with the reason.
    let a = json_of(
        app.put_json(
            "/v1/carriers/authority",
            &declaration(1_234_567, None),
            Some(&unknown.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(a["standing"], "failed");
    assert!(
        a["reasons"][0]
            .as_str()
            .unwrap()
            .contains("knows no carrier"),
        "{a}"
    );
    // Brokers see any carrier's standing; carriers see only their own.
    let seen = json_of(
        app.get(
            &format!("/v1/carriers/{}/authority", good.org_id),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(seen["standing"], "verified");
    expect_problem(
        app.get(
            &format!("/v1/carriers/{}/authority", good.org_id),
            Some(&unknown.access),
        )
        .await,
        404,
        "not-found",
    )
    .await;

    // The broker requires verification. Only its admins set that, with both fields.
    expect_problem(
        app.put_json(
            "/v1/negotiations/vetting-policy",
            &json!({"allow_unverified": false}),
            Some(&broker.access),
        )
        .await,
        422,
        "validation",
    )
    .await;
    expect_problem(
        app.put_json(
            "/v1/negotiations/vetting-policy",
            &json!({"allow_unverified": false, "private_loads_vetted_only": true}),
            Some(&good.access),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let policy = json_of(
        app.put_json(
            "/v1/negotiations/vetting-policy",
            &json!({"allow_unverified": false, "private_loads_vetted_only": true}),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(policy["allow_unverified"], false);

    let load = lanerunner::testing::posted(&app, &broker, &dallas_atlanta_load("V", 250_000)).await;
    let open = json!({"load_id": load, "move": {"move": "offer", "rate_cents": 260_000}});
    // The failed carrier is refused, and told why.
    // (Until its standing arrives it is refused as undeclared; wait for the check.)
    let p = eventually(StatusCode::FORBIDDEN, "failed its check", async || {
        post(&app, "/v1/negotiations", &unknown, open.clone()).await
    })
    .await;
    assert_eq!(problem_kind(&p), "carrier-not-vetted");
    assert!(
        p["detail"].as_str().unwrap().contains("knows no carrier"),
        "{p}"
    );
    // A carrier that never declared is refused too.
    expect_problem(
        post(&app, "/v1/negotiations", &twin, open.clone()).await,
        403,
        "carrier-not-vetted",
    )
    .await;
    // The verified carrier opens.
    let n = eventually(StatusCode::CREATED, "", async || {
        post(&app, "/v1/negotiations", &good, open.clone()).await
    })
    .await;
    let id = n["id"].as_str().unwrap().to_string();
    let moves = format!("/v1/negotiations/{id}/moves");
    json_of(
        post(
            &app,
            &moves,
            &broker,
            json!({"move": {"move": "offer", "rate_cents": 240_000}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    // Mid-negotiation, FMCSA puts the carrier out of service; the broker re-checks it.
    let mut oos = QcMobileStandIn::good(DOT);
    oos.oos_date = Some("2026-01-15".into());
    oos.allowed_to_operate = Some("N".into());
    fmcsa.put(Some(MC), oos);
    let a = json_of(
        post(
            &app,
            &format!("/v1/carriers/{}/authority/check", good.org_id),
            &broker,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(a["standing"], "failed");
    assert!(
        a["reasons"]
            .to_string()
            .contains("out of service since 2026-01-15"),
        "{a}"
    );
    // It can no longer counter or accept, nor can the broker agree with it; nothing is
    // recorded. (A counter made before the new standing reached the negotiation service
    // may go through: the standing travels as an event.)
    let p = eventually(StatusCode::FORBIDDEN, "out of service", async || {
        post(
            &app,
            &moves,
            &good,
            json!({"move": {"move": "offer", "rate_cents": 250_000}}),
        )
        .await
    })
    .await;
    assert_eq!(problem_kind(&p), "carrier-not-vetted");
    let before = messages(&app, &broker, &id).await;
    expect_problem(
        post(&app, &moves, &good, json!({"text": "deal"})).await,
        403,
        "carrier-not-vetted",
    )
    .await;
    expect_problem(
        post(&app, &moves, &broker, json!({"move": {"move": "accept"}})).await,
        403,
        "carrier-not-vetted",
    )
    .await;
    assert_eq!(messages(&app, &broker, &id).await, before);
    // Walking away is still allowed.
    let n = json_of(
        post(&app, &moves, &good, json!({"move": {"move": "withdraw"}})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(n["status"], "withdrawn");

    // Reinstated, re-checked by the carrier itself.
    fmcsa.put(Some(MC), QcMobileStandIn::good(DOT));
    let a = json_of(
        post(
            &app,
            &format!("/v1/carriers/{}/authority/check", good.org_id),
            &good,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(a["standing"], "verified");

    // A private load: hidden from a verified carrier outside the broker's network, open to
    // it once preferred.
    let mut private = dallas_atlanta_load("P", 250_000);
    private["visibility"] = json!("private");
    let private = lanerunner::testing::posted(&app, &broker, &private).await;
    let open_private =
        json!({"load_id": private, "move": {"move": "offer", "rate_cents": 260_000}});
    // The load reaches the service first (a verified, preferred carrier would see it) ...
    app.put_json(
        &format!("/v1/negotiations/carrier-lists/{}", twin.org_id),
        &json!({"list": "preferred"}),
        Some(&broker.access),
    )
    .await;
    eventually(
        StatusCode::FORBIDDEN,
        "private loads only to FMCSA-verified",
        async || post(&app, "/v1/negotiations", &twin, open_private.clone()).await,
    )
    .await;
    // ... and stays not found to a carrier outside the network.
    expect_problem(
        post(&app, "/v1/negotiations", &good, open_private.clone()).await,
        404,
        "not-found",
    )
    .await;
    let res = app
        .put_json(
            &format!("/v1/negotiations/carrier-lists/{}", good.org_id),
            &json!({"list": "preferred"}),
            Some(&broker.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    eventually(StatusCode::CREATED, "", async || {
        post(&app, "/v1/negotiations", &good, open_private.clone()).await
    })
    .await;
    assert!(fmcsa.requests() >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vetting_with_fmcsa_on_sqlite() {
    vetting_with_fmcsa(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vetting_with_fmcsa_on_postgres() {
    if skip_engine_test("PostgreSQL") {
        return;
    }
    vetting_with_fmcsa(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vetting_with_fmcsa_on_the_full_stack() {
    if skip_engine_test("PostgreSQL, RabbitMQ, Redis and Kafka") {
        return;
    }
    vetting_with_fmcsa(Backend::FullStack).await;
}

lanerunner::both_backends!(
    /// Embedded, with no registry: a carrier's word stands, unverified; brokers allow it by
    /// default, and can refuse it.
    async fn self_declared_carriers_are_unverified_and_brokers_decide(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let a = json_of(
            app.put_json(
                "/v1/carriers/authority",
                &declaration(DOT, Some(MC)),
                Some(&carrier.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (a["standing"].as_str(), a["source"].as_str()),
            (Some("unverified"), Some("self_declared"))
        );
        assert!(a["legal_name"].is_null());
        let policy = json_of(
            app.get("/v1/negotiations/vetting-policy", Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (
                policy["allow_unverified"].as_bool(),
                policy["updated_at"].is_null()
            ),
            (Some(true), true)
        );

        let load =
            lanerunner::testing::posted(&app, &broker, &dallas_atlanta_load("U", 250_000)).await;
        let n = eventually(StatusCode::CREATED, "", async || {
            post(
                &app,
                "/v1/negotiations",
                &carrier,
                json!({"load_id": load, "text": "2600?"}),
            )
            .await
        })
        .await;
        let moves = format!("/v1/negotiations/{}/moves", n["id"].as_str().unwrap());
        app.put_json(
            "/v1/negotiations/vetting-policy",
            &json!({"allow_unverified": false, "private_loads_vetted_only": true}),
            Some(&broker.access),
        )
        .await;
        // The broker's own accept would book an unverified carrier: refused too.
        let p = expect_problem(
            post(&app, &moves, &broker, json!({"move": {"move": "accept"}})).await,
            403,
            "carrier-not-vetted",
        )
        .await;
        assert!(
            p["detail"].as_str().unwrap().contains("self-declared"),
            "{p}"
        );
        expect_problem(
            post(&app, &moves, &carrier, json!({"text": "2550"})).await,
            403,
            "carrier-not-vetted",
        )
        .await;
        let n = json_of(
            post(&app, &moves, &broker, json!({"move": {"move": "reject"}})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(n["status"], "rejected");
    }
);
