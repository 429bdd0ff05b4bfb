//! The holes an attacker's review found (issue 10), each pinned by a test on both stacks:
//! second factors raced with one code, pool reads inside transactions, stale roles in
//! tokens and keys, scope escalation, sockets outliving their credential, unthrottled
//! account flows, and error responses that were not problem+json. The loads service's part
//! (control characters, the Idempotency-Key race, date horizons, unreadable stored rows) is
//! tested beside its other scenarios, in `tests/loads/`.
//!
//! Races release their requests together: each request is its own task waiting on a
//! barrier, so they reach the server at the same instant; several rounds each.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lanerunner::both_backends;
use lanerunner::testing::{expect_problem, Account, TestApp, TEST_PASSWORD};
use lanerunner_identity::domain::TotpSecret;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message;

/// Sends every POST at once (each its own task, released by one barrier) and returns each
/// answer's status and body, in the order of `requests`.
async fn together(app: &TestApp, requests: Vec<(String, Value)>) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(path, body)| {
            let barrier = barrier.clone();
            let req = app.client.post(app.url(&path)).json(&body);
            tokio::spawn(async move {
                barrier.wait().await;
                let res = req.send().await.unwrap();
                (
                    res.status().as_u16(),
                    res.json::<Value>().await.unwrap_or(Value::Null),
                )
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// The statuses of [`together`]'s answers, sorted.
async fn statuses_together(app: &TestApp, requests: Vec<(String, Value)>) -> Vec<u16> {
    let mut statuses: Vec<u16> = together(app, requests)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    statuses.sort();
    statuses
}

/// Enrols TOTP for `who`; returns the secret, the step that confirmed it and the recovery codes.
async fn enrol_totp(app: &TestApp, who: &Account) -> (String, i64, Vec<String>) {
    let enrol: Value = app
        .post_json("/v1/me/mfa/totp", &json!({}), Some(&who.access))
        .await
        .json()
        .await
        .unwrap();
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let step = chrono::Utc::now().timestamp() / 30;
    let res = app
        .post_json(
            "/v1/me/mfa/totp/confirm",
            &json!({ "code": code_at(&secret, step) }),
            Some(&who.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, step, codes)
}

fn code_at(secret: &str, step: i64) -> String {
    TotpSecret::from_base32(secret).unwrap().code_at(step)
}

/// `n` fresh MFA challenges for `email` (the password step of a login).
async fn challenges(app: &TestApp, email: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let res = app
            .post_json(
                "/v1/auth/login",
                &json!({ "email": email, "password": TEST_PASSWORD }),
                None,
            )
            .await;
        let body: Value = res.json().await.unwrap();
        out.push(
            body["mfa_token"]
                .as_str()
                .expect("an MFA challenge")
                .to_owned(),
        );
    }
    out
}

async fn mint_key(app: &TestApp, token: &str, scopes: &[&str]) -> reqwest::Response {
    app.post_json(
        "/v1/org/api-keys",
        &json!({ "name": "integration", "scopes": scopes }),
        Some(token),
    )
    .await
}

async fn key_secret(res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["secret"].as_str().unwrap().to_owned()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(app: &TestApp, credential: &str) -> Result<Socket, u16> {
    let url = format!("ws://{}/v1/realtime?access_token={credential}", app.address);
    match tokio_tungstenite::connect_async(url).await {
        Ok((mut socket, _)) => {
            let first = next_text(&mut socket).await.expect("a ready message");
            assert_eq!(first["type"], "ready");
            Ok(socket)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("the WebSocket did not open: {e}"),
    }
}

/// The next text message, or `None` once the server closes the socket.
async fn next_text(socket: &mut Socket) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("a frame within 15 s");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
        }
    }
}

fn load_body(reference: &str) -> Value {
    use lanerunner::testing::at;
    json!({"reference": reference, "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 40000, "commodity": "paper",
        "stops": [{"kind": "pickup", "location": {"place": "Dallas, TX"}, "window": {"start": at(3, 8), "end": at(3, 14)}},
                  {"kind": "delivery", "location": {"place": "Atlanta, GA"}, "appointment": at(5, 9)}]})
}

both_backends! {
    /// A: one recovery code on five challenges released together signs in once.
    async fn one_recovery_code_signs_in_once_however_many_race(app: TestApp) {
        let who = app.signup("race-rc@broker.example", "broker").await;
        let (_, _, codes) = enrol_totp(&app, &who).await;
        for code in codes.iter().take(3) {
            let requests = challenges(&app, &who.email, 5)
                .await
                .into_iter()
                .map(|c| ("/v1/auth/login/mfa".to_owned(), json!({ "mfa_token": c, "code": code })))
                .collect();
            let statuses = statuses_together(&app, requests).await;
            // The losers are refused as replays, or by the attempt cap once failures add up.
            assert_eq!(statuses[0], 200, "{statuses:?}");
            assert!(statuses[1..].iter().all(|s| *s == 401 || *s == 429), "one code, one login: {statuses:?}");
        }
    }

    /// B: one TOTP code on five challenges released together signs in once (RFC 6238 §5.2).
    async fn one_totp_code_signs_in_once_however_many_race(app: TestApp) {
        // A fresh member per round: each code must be later than the one that confirmed
        // enrolment and still inside the verifier's window (one step either side of now),
        // which only the step right after enrolment is whenever the round runs.
        for round in 0..3 {
            let who = app.signup(&format!("race-totp{round}@broker.example"), "broker").await;
            let (secret, step, _) = enrol_totp(&app, &who).await;
            let code = code_at(&secret, step + 1);
            let requests = challenges(&app, &who.email, 5)
                .await
                .into_iter()
                .map(|c| ("/v1/auth/login/mfa".to_owned(), json!({ "mfa_token": c, "code": code })))
                .collect();
            let statuses = statuses_together(&app, requests).await;
            assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "round {round}: {statuses:?}");
        }
    }

    /// E: a burst of refreshes by different users all succeed: no flow holds a transaction
    /// while it waits for a second pooled connection.
    async fn a_burst_of_refreshes_all_succeed(app: TestApp) {
        let mut accounts = Vec::new();
        for i in 0..16 {
            accounts.push(app.signup(&format!("burst{i}@broker.example"), "broker").await);
        }
        for _round in 0..3 {
            // Each round rotates the tokens; the next round uses the new ones.
            let requests = accounts
                .iter()
                .map(|a| ("/v1/auth/refresh".to_owned(), json!({ "refresh_token": a.refresh })))
                .collect();
            for (account, (status, body)) in accounts.iter_mut().zip(together(&app, requests).await) {
                assert_eq!(status, 200, "{body}");
                account.refresh = body["refresh_token"].as_str().unwrap().to_owned();
            }
        }
    }

    /// 1 and 2: a demotion takes effect at once for the member's tokens and for the keys they
    /// minted; deactivation stops their keys.
    async fn demotion_and_deactivation_reach_tokens_and_keys_at_once(app: TestApp) {
        let owner = app.signup("owner@broker.example", "broker").await;
        let admin = app.invite_and_join(&owner, "admin@broker.example", "admin").await;
        let key = key_secret(mint_key(&app, &admin.access, &["identity:read", "identity:write", "loads:read"]).await).await;
        let invite = json!({ "email": "someone@broker.example", "role": "admin" });

        let res = app.patch_json(&format!("/v1/org/users/{}", admin.user_id), &json!({ "role": "viewer" }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        // The demoted admin's token is dead; nothing it carried survives.
        expect_problem(app.post_json("/v1/org/invitations", &invite, Some(&admin.access)).await, 401, "unauthenticated").await;
        expect_problem(mint_key(&app, &admin.access, &["loads:read"]).await, 401, "unauthenticated").await;
        // Their key now acts as a viewer: it reads, but no longer invites or mints.
        assert_eq!(app.get("/v1/org", Some(&key)).await.status(), StatusCode::OK);
        expect_problem(app.post_json("/v1/org/invitations", &invite, Some(&key)).await, 403, "forbidden").await;
        expect_problem(mint_key(&app, &key, &["identity:read"]).await, 403, "forbidden").await;
        // Promoted back, the key is an admin key again; deactivated, it is gone for good.
        let res = app.patch_json(&format!("/v1/org/users/{}", admin.user_id), &json!({ "role": "admin" }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(app.post_json("/v1/org/invitations", &invite, Some(&key)).await.status(), StatusCode::CREATED);
        let res = app.patch_json(&format!("/v1/org/users/{}", admin.user_id), &json!({ "active": false }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        expect_problem(app.get("/v1/org", Some(&key)).await, 401, "unauthenticated").await;
        let res = app.patch_json(&format!("/v1/org/users/{}", admin.user_id), &json!({ "active": true }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        expect_problem(app.get("/v1/org", Some(&key)).await, 401, "unauthenticated").await;
        let keys: Value = app.get("/v1/org/api-keys", Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(keys["items"][0]["revoked"], true, "{keys}");
    }

    /// 3: a key grants only scopes it holds; a key minted by a key belongs to the same member.
    async fn keys_cannot_mint_keys_with_more_scope(app: TestApp) {
        let owner = app.signup("scopes@broker.example", "broker").await;
        let parent = key_secret(mint_key(&app, &owner.access, &["identity:read", "identity:write"]).await).await;
        let res = mint_key(&app, &parent, &["loads:*"]).await;
        let body = expect_problem(res, 403, "forbidden").await;
        assert!(body["detail"].as_str().unwrap().contains("loads:*"), "{body}");
        let child = key_secret(mint_key(&app, &parent, &["identity:read"]).await).await;
        assert_eq!(app.get("/v1/org", Some(&child)).await.status(), StatusCode::OK);
        expect_problem(app.post_json("/v1/loads", &load_body("ESC-1"), Some(&child)).await, 403, "forbidden").await;
        // Route scopes are typed per resource: trucks need trucks:*, not loads:*.
        let loads_only = key_secret(mint_key(&app, &owner.access, &["loads:read"]).await).await;
        assert_eq!(app.get("/v1/loads", Some(&loads_only)).await.status(), StatusCode::OK);
        expect_problem(app.get("/v1/trucks", Some(&loads_only)).await, 403, "forbidden").await;
    }

    /// 5 and 6: wrong codes outside login share the login's cap; correct ones never count.
    async fn second_factor_attempts_are_capped_everywhere_and_successes_do_not_count(app: TestApp) {
        let who = app.signup("cap@broker.example", "broker").await;
        let (secret, step, codes) = enrol_totp(&app, &who).await;
        // Six correct MFA logins in a row: recovery codes, so no step is reused.
        for (i, code) in codes.iter().take(6).enumerate() {
            let challenge = challenges(&app, &who.email, 1).await.remove(0);
            let res = app.post_json("/v1/auth/login/mfa", &json!({ "mfa_token": challenge, "code": code }), None).await;
            assert_eq!(res.status(), StatusCode::OK, "correct login {i}");
        }
        let mut statuses = Vec::new();
        for _ in 0..7 {
            let res = app.post_json("/v1/me/mfa/recovery-codes", &json!({ "code": "000000" }), Some(&who.access)).await;
            statuses.push(res.status().as_u16());
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429], "{statuses:?}");
        // The cap is shared: disabling MFA and logging in are refused too, even with a good code.
        let res = app.post_json("/v1/me/mfa/disable", &json!({ "password": TEST_PASSWORD, "code": code_at(&secret, step + 1) }), Some(&who.access)).await;
        expect_problem(res, 429, "rate-limited").await;
    }

    /// 4 and 7: the feed delivers only what the credential may read, and a socket closes once
    /// its session is signed out.
    async fn sockets_hear_only_their_scopes_and_close_when_signed_out(app: TestApp) {
        let owner = app.signup("feed@broker.example", "broker").await;
        let identity_only = key_secret(mint_key(&app, &owner.access, &["identity:read"]).await).await;
        assert_eq!(open_socket(&app, &identity_only).await.err(), Some(403));
        let trucks_only = key_secret(mint_key(&app, &owner.access, &["trucks:read"]).await).await;
        let mut trucks_socket = open_socket(&app, &trucks_only).await.unwrap();
        let mut user_socket = open_socket(&app, &owner.access).await.unwrap();
        let res = app.post_json("/v1/loads", &load_body("FEED-1"), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let res = app.post_json(&format!("/v1/loads/{id}/post"), &json!({}), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        // The user hears the load; the trucks-only key does not (its next message is not a load's).
        loop {
            let m = next_text(&mut user_socket).await.expect("the user's socket is open");
            if m["type"] == "load.posted.v1" {
                break;
            }
        }
        let res = app.post_json("/v1/auth/logout", &json!({}), Some(&owner.access)).await;
        assert!(res.status().is_success(), "{}", res.status());
        // Signed out: the socket is closed by the server (within its re-check period).
        while let Some(m) = next_text(&mut user_socket).await {
            assert_ne!(m["type"], "ready", "{m}");
        }
        // The trucks-only socket heard no load event all along.
        let heard = tokio::time::timeout(Duration::from_millis(500), trucks_socket.next()).await;
        if let Ok(Some(Ok(Message::Text(t)))) = heard {
            assert!(!t.contains("load."), "a trucks-only key heard {t}");
        }
    }

    /// 8: flows anyone can start are limited per email (and per address).
    async fn account_flows_are_throttled(app: TestApp) {
        let who = app.signup("reset@broker.example", "broker").await;
        let mut statuses = Vec::new();
        for _ in 0..7 {
            let res = app.post_json("/v1/auth/password-reset", &json!({ "email": who.email }), None).await;
            statuses.push(res.status().as_u16());
        }
        assert_eq!(statuses, [202, 202, 202, 202, 202, 429, 429], "{statuses:?}");
        // Counted for unknown addresses too, so a 429 tells nothing about accounts.
        let mut unknown = Vec::new();
        for _ in 0..6 {
            let res = app.post_json("/v1/auth/password-reset", &json!({ "email": "nobody@broker.example" }), None).await;
            unknown.push(res.status().as_u16());
        }
        assert_eq!(unknown.last(), Some(&429), "{unknown:?}");
        // Signups for one email stop after the limit whatever the outcome (the first, which
        // made the account, counted too).
        let mut signups = Vec::new();
        for _ in 0..5 {
            let body = json!({ "organization": { "name": "x", "kind": "broker" }, "name": "X", "email": who.email, "password": TEST_PASSWORD, "terms_version": "2026-11-01" });
            signups.push(app.post_json("/v1/auth/signup", &body, None).await.status().as_u16());
        }
        assert_eq!(signups, [409, 409, 409, 409, 429], "{signups:?}");
        let mails = app.mails().iter().filter(|m| m.contains("To: reset@broker.example") && m.contains("Reset your")).count();
        assert!(mails <= 5, "{mails} reset emails");
    }

    /// C (identity's fields): control characters are refused with a 422 naming the field.
    async fn control_characters_in_identity_fields_are_refused(app: TestApp) {
        let body = json!({ "organization": { "name": "Nul\u{0}Freight", "kind": "broker" }, "name": "Pat", "email": "nul@broker.example", "password": TEST_PASSWORD, "terms_version": "2026-11-01" });
        let problem = expect_problem(app.post_json("/v1/auth/signup", &body, None).await, 422, "validation").await;
        assert!(problem.to_string().contains("organization.name"), "{problem}");
        let owner = app.signup("ctl@broker.example", "broker").await;
        let res = app.patch_json("/v1/org", &json!({ "name": "bad\u{7}name" }), Some(&owner.access)).await;
        expect_problem(res, 422, "validation").await;
        let res = app.post_json("/v1/org/api-keys", &json!({ "name": "k\u{0}", "scopes": ["identity:read"] }), Some(&owner.access)).await;
        expect_problem(res, 422, "validation").await;
    }

    /// 10 and 12: every error is problem+json naming the parameter; every response is
    /// nosniff; tokens are never stored by caches.
    async fn every_error_is_a_problem_and_responses_are_hardened(app: TestApp) {
        let owner = app.signup("errors@broker.example", "broker").await;
        for path in ["/v1/loads/not-a-uuid", "/v1/loads?limit=-1", "/v1/loads/search?colour=red"] {
            let res = app.get(path, Some(&owner.access)).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(res.headers()["content-type"], "application/problem+json", "{path}");
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
            let body: Value = res.json().await.unwrap();
            assert!(body["detail"].is_string(), "{path}: {body}");
        }
        let body: Value = app.get("/v1/loads?limit=-1", Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(body["parameter"], "limit", "{body}");
        let big = "reference,equipment\n".to_owned() + &"x".repeat(2 << 20);
        let res = app.client.post(app.url("/v1/loads/import")).bearer_auth(&owner.access)
            .header("content-type", "text/csv").body(big).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let res = app.post_json("/v1/auth/login", &json!({ "email": owner.email, "password": TEST_PASSWORD }), None).await;
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
}

/// 12: with an operations listener, `/metrics` leaves the API listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_to_the_operations_listener_when_one_is_set() {
    let app = TestApp::spawn_with(lanerunner::testing::Backend::Sqlite, |c| {
        c.http.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    expect_problem(app.get("/metrics", None).await, 404, "not-found").await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    let ops = app.app().ops_router().expect("an operations router");
    let res = tower::ServiceExt::oneshot(
        ops,
        axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
}

both_backends! {
    /// A role this build does not know, found in a member's row (corruption, or a newer
    /// writer), is never read as some default role: every read of that row fails loudly, and
    /// neither their password, nor their refresh token, nor the keys they own grant anything.
    async fn a_stored_unknown_role_fails_loudly_and_grants_nothing(app: TestApp) {
        let owner = app.signup("owner@captains.example", "broker").await;
        let crew = app.invite_and_join(&owner, "crew@captains.example", "admin").await;
        let key = key_secret(mint_key(&app, &crew.access, &["identity:read"]).await).await;
        let db = app.app().db("identity").expect("the identity store");
        let crew_id: uuid::Uuid = crew.user_id.parse().unwrap();
        let changed = lanerunner_platform::on_db!(&db, |p| sqlx::query("UPDATE users SET role = 'captain' WHERE id = $1")
            .bind(crew_id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        assert_eq!(changed, 1);

        let path = format!("/v1/org/users/{}", crew.user_id);
        expect_problem(app.get(&path, Some(&owner.access)).await, 500, "internal").await;
        expect_problem(app.get("/v1/org/users", Some(&owner.access)).await, 500, "internal").await;
        let login = json!({ "email": "crew@captains.example", "password": TEST_PASSWORD });
        let body = expect_problem(app.post_json("/v1/auth/login", &login, None).await, 500, "internal").await;
        assert!(body.get("tokens").is_none() && body.get("access_token").is_none(), "{body}");
        let refresh = json!({ "refresh_token": crew.refresh });
        expect_problem(app.post_json("/v1/auth/refresh", &refresh, None).await, 500, "internal").await;
        expect_problem(app.get("/v1/org", Some(&key)).await, 500, "internal").await;
        // Nobody could change the row through the API either; the rest of the organization
        // goes on working.
        expect_problem(app.patch_json(&path, &json!({ "role": "viewer" }), Some(&owner.access)).await, 500, "internal").await;
        assert_eq!(app.get("/v1/org", Some(&owner.access)).await.status(), StatusCode::OK);
    }
}
