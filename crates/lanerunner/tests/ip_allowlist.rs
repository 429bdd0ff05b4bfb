//! IP allowlists, per organization and per API key: behind a trusted proxy (the loopback
//! peer here) a request from outside the list is refused `403 ip-not-allowed` with the
//! address named, for user tokens and API keys alike; a key's own list narrows the
//! organization's; a list that would shut out the request changing it, or a malformed
//! entry, is refused; a spoofed `X-Forwarded-For` from a peer that is not a trusted proxy
//! changes nothing; the change is audited and seen at once.

use lanerunner::testing::{expect_problem, json_of, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn get_from(app: &TestApp, path: &str, credential: &str, from: &str) -> reqwest::Response {
    let req = app
        .client
        .get(app.url(path))
        .header("x-forwarded-for", from);
    let req = if credential.starts_with("lr_ak_") {
        req.header("x-api-key", credential)
    } else {
        req.bearer_auth(credential)
    };
    req.send().await.unwrap()
}

async fn patch_from(
    app: &TestApp,
    token: &str,
    from: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    app.client
        .patch(app.url("/v1/org"))
        .header("x-forwarded-for", from)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn allowlists_hold(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.http.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let owner = app.signup("owner@allow.example", "broker").await;
    let office = "198.51.100.23";

    // Bad lists are refused with the entry named; so is one that shuts out this request.
    let bad = patch_from(
        &app,
        &owner.access,
        office,
        json!({ "ip_allowlist": ["198.51.100.0/33"] }),
    )
    .await;
    let p = expect_problem(bad, 422, "validation").await;
    assert!(p.to_string().contains("198.51.100.0/33"), "{p}");
    let lockout = patch_from(
        &app,
        &owner.access,
        office,
        json!({ "ip_allowlist": ["203.0.113.0/24"] }),
    )
    .await;
    let p = expect_problem(lockout, 422, "validation").await;
    assert!(p.to_string().contains("own address 198.51.100.23"), "{p}");

    // The office's block only.
    let set = patch_from(
        &app,
        &owner.access,
        office,
        json!({ "ip_allowlist": ["198.51.100.0/24"] }),
    )
    .await;
    let org = json_of(set, StatusCode::OK).await;
    assert_eq!(org["ip_allowlist"], json!(["198.51.100.0/24"]));

    // Seen at once: inside passes, outside is refused with the address named.
    assert_eq!(
        get_from(&app, "/v1/me", &owner.access, office)
            .await
            .status(),
        StatusCode::OK
    );
    let outside = get_from(&app, "/v1/me", &owner.access, "203.0.113.9").await;
    let p = expect_problem(outside, 403, "ip-not-allowed").await;
    assert!(p["detail"].as_str().unwrap().contains("203.0.113.9"), "{p}");

    // An API key with its own, narrower list: the organization's and the key's both apply.
    let created = app
        .client
        .post(app.url("/v1/org/api-keys"))
        .header("x-forwarded-for", office)
        .bearer_auth(&owner.access)
        .json(&json!({ "name": "tms", "scopes": ["loads:read"], "ip_allowlist": ["198.51.100.7"] }))
        .send()
        .await
        .unwrap();
    let created = json_of(created, StatusCode::CREATED).await;
    assert_eq!(created["key"]["ip_allowlist"], json!(["198.51.100.7/32"]));
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(
        get_from(&app, "/v1/loads", secret, "198.51.100.7")
            .await
            .status(),
        StatusCode::OK
    );
    let p = expect_problem(
        get_from(&app, "/v1/loads", secret, office).await,
        403,
        "ip-not-allowed",
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("this API key"),
        "{p}"
    );
    let p = expect_problem(
        get_from(&app, "/v1/loads", secret, "203.0.113.9").await,
        403,
        "ip-not-allowed",
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("this organization"),
        "{p}"
    );
    let bad_key = app
        .client
        .post(app.url("/v1/org/api-keys"))
        .header("x-forwarded-for", office)
        .bearer_auth(&owner.access)
        .json(&json!({ "name": "bad", "scopes": ["loads:read"], "ip_allowlist": ["0.0.0.0/0"] }))
        .send()
        .await
        .unwrap();
    expect_problem(bad_key, 422, "validation").await;

    // The change is in the audit trail, with the lists before and after.
    let events = json_of(
        get_from(
            &app,
            "/v1/org/audit-events?limit=100",
            &owner.access,
            office,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let changed = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "org_ip_allowlist_changed")
        .expect("audited");
    assert_eq!(changed["detail"]["after"], json!(["198.51.100.0/24"]));

    // Emptied again: any address.
    let cleared = patch_from(&app, &owner.access, office, json!({ "ip_allowlist": [] })).await;
    assert_eq!(cleared.status(), StatusCode::OK);
    assert_eq!(
        get_from(&app, "/v1/me", &owner.access, "203.0.113.9")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlists_hold_on_sqlite() {
    allowlists_hold(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowlists_hold_on_postgres() {
    if lanerunner::testing::skip_engine_test("PostgreSQL") {
        return;
    }
    allowlists_hold(Backend::Postgres).await;
}

/// Without a trusted proxy, `X-Forwarded-For` is the client's own claim and is ignored: the
/// request is judged by its real address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_forwarded_address_does_not_get_past_an_allowlist() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let owner = app.signup("owner@spoof.example", "broker").await;
    // The real peer is loopback: a list of loopback alone is accepted (not a lockout)...
    let set = patch_from(
        &app,
        &owner.access,
        "198.51.100.23",
        json!({ "ip_allowlist": ["127.0.0.1"] }),
    )
    .await;
    json_of(set, StatusCode::OK).await;
    // ...and one without it is refused, whatever the header claims.
    let lockout = patch_from(
        &app,
        &owner.access,
        "198.51.100.23",
        json!({ "ip_allowlist": ["198.51.100.0/24"] }),
    )
    .await;
    let p = expect_problem(lockout, 422, "validation").await;
    assert!(p.to_string().contains("own address 127.0.0.1"), "{p}");
    assert_eq!(
        get_from(&app, "/v1/me", &owner.access, "203.0.113.9")
            .await
            .status(),
        StatusCode::OK
    );
}
