//! The identity service over real HTTP, on SQLite and on PostgreSQL.

use std::time::Duration;

use lanerunner::both_backends;
use lanerunner::testing::TestApp;
use lanerunner_identity::domain::{AccessClaims, KeySet, SigningKey, TotpSecret};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery staple";

struct Account {
    access: String,
    refresh: String,
    org_id: String,
    user_id: String,
    email: String,
}

async fn signup(app: &TestApp, email: &str, kind: &str) -> Account {
    let mut org = json!({ "name": format!("{kind} co"), "kind": kind });
    if kind == "carrier" {
        org["usdot_number"] = json!("1234567");
        org["mc_number"] = json!("MC-654321");
    }
    let res = app
        .post_json("/v1/auth/signup", &json!({ "organization": org, "name": "Pat Owner", "email": email, "password": PASSWORD, "terms_version": "2026-11-01" }), None)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "signup failed");
    let body: Value = res.json().await.unwrap();
    Account {
        access: body["tokens"]["access_token"].as_str().unwrap().into(),
        refresh: body["tokens"]["refresh_token"].as_str().unwrap().into(),
        org_id: body["organization"]["id"].as_str().unwrap().into(),
        user_id: body["user"]["id"].as_str().unwrap().into(),
        email: email.into(),
    }
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/v1/auth/login",
        &json!({ "email": email, "password": password }),
        None,
    )
    .await
}

async fn login_tokens(app: &TestApp, email: &str, password: &str) -> Value {
    let res = login(app, email, password).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["tokens"].clone()
}

/// Asserts a problem+json response with this status and type, and returns its body.
async fn problem(res: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("https://lanerunner.dev/problems/{kind}"),
        "{body}"
    );
    body
}

/// The token the last email to `to` carried after `marker`.
async fn token_from_mail(app: &TestApp, to: &str, marker: &str) -> String {
    let mail = app
        .wait_for_mail(
            |m| m.contains(&format!("To: {to}")) && m.contains(marker),
            Duration::from_secs(10),
        )
        .await;
    let line = mail
        .lines()
        .find(|l| l.starts_with(marker))
        .expect("token line");
    line.trim_start_matches(marker).trim().to_owned()
}

fn current_step() -> i64 {
    chrono::Utc::now().timestamp() / 30
}

fn totp_at(secret: &str, step: i64) -> String {
    TotpSecret::from_base32(secret).unwrap().code_at(step)
}

both_backends! {
    async fn signup_creates_org_owner_and_me_shows_them(app: TestApp) {
        let acct = signup(&app, "owner@broker.example", "broker").await;
        let me: Value = app.get("/v1/me", Some(&acct.access)).await.json().await.unwrap();
        assert_eq!(me["user"]["email"], "owner@broker.example");
        assert_eq!(me["user"]["role"], "owner");
        assert_eq!(me["user"]["email_verified"], false);
        assert_eq!(me["organization"]["kind"], "broker");
        assert_eq!(me["organization"]["id"], acct.org_id.as_str());

        // The verification email went through outbox → bus → mailer → spool.
        let token = token_from_mail(&app, &acct.email, "Your verification token:").await;
        let res = app.post_json("/v1/auth/verify-email", &json!({ "token": token }), None).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let me: Value = app.get("/v1/me", Some(&acct.access)).await.json().await.unwrap();
        assert_eq!(me["user"]["email_verified"], true);
        // A verification token works once.
        let again = app.post_json("/v1/auth/verify-email", &json!({ "token": token }), None).await;
        problem(again, 401, "invalid-token").await;
    }

    async fn carriers_need_a_valid_usdot_and_mc(app: TestApp) {
        let base = |org: Value| json!({ "organization": org, "name": "C", "email": "c@carrier.example", "password": PASSWORD, "terms_version": "2026-11-01" });
        let res = app.post_json("/v1/auth/signup", &base(json!({ "name": "C", "kind": "carrier" })), None).await;
        let body = problem(res, 422, "validation").await;
        assert_eq!(body["errors"][0]["field"], "organization.usdot_number");
        let res = app
            .post_json("/v1/auth/signup", &base(json!({ "name": "C", "kind": "carrier", "usdot_number": "12x", "mc_number": "1" })), None)
            .await;
        problem(res, 422, "validation").await;
        let res = app
            .post_json("/v1/auth/signup", &base(json!({ "name": "C", "kind": "carrier", "usdot_number": "USDOT 0012345", "mc_number": "mc 123456" })), None)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["organization"]["usdot_number"], "12345");
        assert_eq!(body["organization"]["mc_number"], "123456");
    }

    async fn bad_input_gets_typed_problems_and_damages_nothing(app: TestApp) {
        let acct = signup(&app, "first@broker.example", "broker").await;
        let url = app.url("/v1/auth/signup");
        let malformed = app.client.post(&url).header("content-type", "application/json").body("{\"organization\":").send().await.unwrap();
        problem(malformed, 400, "malformed-json").await;
        let no_type = app.client.post(&url).body("{}").send().await.unwrap();
        problem(no_type, 415, "unsupported-media-type").await;
        let unknown_field = app
            .post_json("/v1/auth/signup", &json!({ "organization": { "name": "x", "kind": "broker" }, "name": "x", "email": "a@b.example", "password": PASSWORD, "admin": true }), None)
            .await;
        problem(unknown_field, 422, "invalid-body").await;
        let wrong_type = app.post_json("/v1/auth/login", &json!({ "email": 5, "password": [] }), None).await;
        problem(wrong_type, 422, "invalid-body").await;
        let bad_kind = app
            .post_json("/v1/auth/signup", &json!({ "organization": { "name": "x", "kind": "pirate" }, "name": "x", "email": "a@b.example", "password": PASSWORD, "terms_version": "2026-11-01" }), None)
            .await;
        problem(bad_kind, 422, "invalid-body").await;
        // The server answers 413 before reading the whole body and closes the connection;
        // the client can see that as a reset while it is still writing, so allow retries.
        let huge = json!({ "email": "x".repeat(2 << 20), "password": "p" });
        let mut oversize = None;
        for _ in 0..5 {
            if let Ok(res) = app.client.post(app.url("/v1/auth/login")).json(&huge).send().await {
                oversize = Some(res);
                break;
            }
        }
        problem(oversize.expect("a 413 answer in five tries"), 413, "payload-too-large").await;
        for (email, password, field) in [
            ("not-an-email", PASSWORD, "email"),
            ("weak@broker.example", "password123", "password"),
            ("weak@broker.example", "short", "password"),
        ] {
            let res = app
                .post_json("/v1/auth/signup", &json!({ "organization": { "name": "x", "kind": "broker" }, "name": "x", "email": email, "password": password, "terms_version": "2026-11-01" }), None)
                .await;
            let body = problem(res, 422, "validation").await;
            assert_eq!(body["errors"][0]["field"], field);
        }
        // The same email again: conflict, and the first account is untouched.
        let dup = app
            .post_json("/v1/auth/signup", &json!({ "organization": { "name": "y", "kind": "shipper" }, "name": "y", "email": "FIRST@broker.example", "password": "another long passphrase", "terms_version": "2026-11-01" }), None)
            .await;
        problem(dup, 409, "email-taken").await;
        let tokens = login_tokens(&app, "first@broker.example", PASSWORD).await;
        let me: Value = app.get("/v1/me", tokens["access_token"].as_str()).await.json().await.unwrap();
        assert_eq!(me["organization"]["id"], acct.org_id.as_str());
        assert_eq!(me["organization"]["kind"], "broker");
    }

    async fn failed_logins_are_throttled_with_retry_after(app: TestApp) {
        signup(&app, "t@broker.example", "broker").await;
        for _ in 0..5 {
            problem(login(&app, "t@broker.example", "wrong password!!").await, 401, "invalid-credentials").await;
        }
        let res = login(&app, "t@broker.example", PASSWORD).await;
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry > 0 && retry <= 900, "{retry}");
        problem(res, 429, "rate-limited").await;
        // Unknown accounts look the same as wrong passwords.
        problem(login(&app, "nobody@broker.example", PASSWORD).await, 401, "invalid-credentials").await;
    }

    async fn forged_and_malformed_tokens_are_refused(app: TestApp) {
        let acct = signup(&app, "f@broker.example", "broker").await;
        use base64::Engine;
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let real_header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(acct.access.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        let kid = real_header["kid"].as_str().unwrap().to_owned();
        let now = chrono::Utc::now().timestamp();
        let claims = json!({ "sub": acct.user_id, "org": acct.org_id, "role": "owner", "org_kind": "broker", "mfa": true, "iat": now, "exp": now + 600,
            "iss": "lanerunner", "aud": "lanerunner-api", "jti": uuid::Uuid::now_v7() });
        let alg_none = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT", "kid": kid })), b64(&claims));
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header { kid: Some(kid.clone()), ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256) },
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"guessable"),
        )
        .unwrap();
        // A token signed by an attacker's own Ed25519 key claiming the real key id.
        let mut rogue = SigningKey::generate(chrono::Utc::now(), chrono::Duration::days(1)).unwrap();
        rogue.kid = kid.clone();
        let rogue_claims: AccessClaims = serde_json::from_value(claims.clone()).unwrap();
        let wrong_key = KeySet::new("lanerunner", "lanerunner-api", rogue).sign(&rogue_claims).unwrap();
        let mut tampered_parts: Vec<String> = acct.access.split('.').map(str::to_owned).collect();
        let mut tampered_claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&tampered_parts[1]).unwrap()).unwrap();
        tampered_claims["role"] = json!("owner");
        tampered_claims["org"] = json!(uuid::Uuid::now_v7());
        tampered_parts[1] = b64(&tampered_claims);
        let tampered = tampered_parts.join(".");
        for token in [alg_none.as_str(), hs256.as_str(), wrong_key.as_str(), tampered.as_str(), "garbage", "a.b.c", "lr_ak_nope"] {
            let res = app.get("/v1/me", Some(token)).await;
            assert!(res.headers().contains_key("www-authenticate"));
            problem(res, 401, "unauthenticated").await;
        }
        problem(app.get("/v1/me", None).await, 401, "unauthenticated").await;
        let basic = app.client.get(app.url("/v1/me")).header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
        problem(basic, 401, "unauthenticated").await;
        // The real token still works.
        assert_eq!(app.get("/v1/me", Some(&acct.access)).await.status(), StatusCode::OK);
    }

    async fn refresh_rotates_and_reuse_revokes_the_whole_session(app: TestApp) {
        let acct = signup(&app, "r@broker.example", "broker").await;
        let res = app.post_json("/v1/auth/refresh", &json!({ "refresh_token": acct.refresh }), None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let second: Value = res.json().await.unwrap();
        assert_ne!(second["refresh_token"], acct.refresh.as_str());
        let second_access = second["access_token"].as_str().unwrap();
        assert_eq!(app.get("/v1/me", Some(second_access)).await.status(), StatusCode::OK);

        // The first refresh token again: someone else has it. The family dies.
        let reuse = app.post_json("/v1/auth/refresh", &json!({ "refresh_token": acct.refresh }), None).await;
        problem(reuse, 401, "refresh-token-reused").await;
        let after = app.post_json("/v1/auth/refresh", &json!({ "refresh_token": second["refresh_token"] }), None).await;
        problem(after, 401, "invalid-token").await;
        problem(app.get("/v1/me", Some(second_access)).await, 401, "unauthenticated").await;
        // Other sessions of the same user are not affected.
        let other = login_tokens(&app, "r@broker.example", PASSWORD).await;
        assert_eq!(app.get("/v1/me", other["access_token"].as_str()).await.status(), StatusCode::OK);
        problem(app.post_json("/v1/auth/refresh", &json!({ "refresh_token": "lr_rt_short" }), None).await, 401, "invalid-token").await;
    }

    async fn logout_ends_the_session_at_once(app: TestApp) {
        let acct = signup(&app, "l@broker.example", "broker").await;
        let res = app.post_json("/v1/auth/logout", &json!({}), Some(&acct.access)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        problem(app.get("/v1/me", Some(&acct.access)).await, 401, "unauthenticated").await;
        problem(app.post_json("/v1/auth/refresh", &json!({ "refresh_token": acct.refresh }), None).await, 401, "invalid-token").await;
    }

    async fn totp_enrolment_login_replay_and_recovery_codes(app: TestApp) {
        let acct = signup(&app, "m@broker.example", "broker").await;
        let enrol: Value = app.post_json("/v1/me/mfa/totp", &json!({}), Some(&acct.access)).await.json().await.unwrap();
        let secret = enrol["secret"].as_str().unwrap().to_owned();
        assert!(enrol["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/LaneRunner:m%40broker.example?secret="));
        problem(app.post_json("/v1/me/mfa/totp/confirm", &json!({ "code": "000000x" }), Some(&acct.access)).await, 401, "invalid-mfa-code").await;
        // Fixed steps, so a 30-second boundary during the test changes nothing.
        let step = current_step();
        let confirm = app.post_json("/v1/me/mfa/totp/confirm", &json!({ "code": totp_at(&secret, step) }), Some(&acct.access)).await;
        assert_eq!(confirm.status(), StatusCode::OK);
        let codes: Value = confirm.json().await.unwrap();
        let recovery: Vec<String> = codes["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        assert_eq!(recovery.len(), 10);

        // Password alone no longer signs in.
        let first: Value = login(&app, &acct.email, PASSWORD).await.json().await.unwrap();
        assert_eq!(first["mfa_required"], true);
        assert!(first.get("tokens").is_none());
        let challenge = first["mfa_token"].as_str().unwrap();
        // The code used to confirm cannot be replayed.
        let replay = app.post_json("/v1/auth/login/mfa", &json!({ "mfa_token": challenge, "code": totp_at(&secret, step) }), None).await;
        problem(replay, 401, "mfa-code-replayed").await;
        let next = totp_at(&secret, step + 1);
        let ok = app.post_json("/v1/auth/login/mfa", &json!({ "mfa_token": challenge, "code": next }), None).await;
        assert_eq!(ok.status(), StatusCode::OK);
        let tokens: Value = ok.json().await.unwrap();
        assert_eq!(app.get("/v1/me", tokens["access_token"].as_str()).await.status(), StatusCode::OK);
        // The challenge is single-use.
        let again = app.post_json("/v1/auth/login/mfa", &json!({ "mfa_token": challenge, "code": next }), None).await;
        problem(again, 401, "invalid-token").await;

        // A recovery code works once.
        let second: Value = login(&app, &acct.email, PASSWORD).await.json().await.unwrap();
        let res = app.post_json("/v1/auth/login/mfa", &json!({ "mfa_token": second["mfa_token"], "code": recovery[0].to_uppercase() }), None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let third: Value = login(&app, &acct.email, PASSWORD).await.json().await.unwrap();
        let res = app.post_json("/v1/auth/login/mfa", &json!({ "mfa_token": third["mfa_token"], "code": recovery[0] }), None).await;
        problem(res, 401, "invalid-mfa-code").await;
        let audit: Value = app.get("/v1/org/audit-events?limit=200", Some(&acct.access)).await.json().await.unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"mfa_enabled"), "{actions:?}");
        assert!(actions.contains(&"login_mfa"), "{actions:?}");
    }

    async fn org_that_requires_mfa_confines_unenrolled_members_to_enrolment(app: TestApp) {
        let owner = signup(&app, "boss@broker.example", "broker").await;
        let res = app.patch_json("/v1/org", &json!({ "require_mfa": true }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.post_json("/v1/org/invitations", &json!({ "email": "new@broker.example", "role": "dispatcher" }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let token = token_from_mail(&app, "new@broker.example", "Your invitation token:").await;
        let res = app.post_json("/v1/auth/accept-invitation", &json!({ "token": token, "name": "Dee Spatcher", "password": "a long new passphrase", "terms_version": "2026-11-01" }), None).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let joined: Value = res.json().await.unwrap();
        assert_eq!(joined["tokens"]["mfa_enrollment_required"], true);
        let restricted = joined["tokens"]["access_token"].as_str().unwrap();
        problem(app.get("/v1/org", Some(restricted)).await, 403, "mfa-enrollment-required").await;
        assert_eq!(app.get("/v1/me", Some(restricted)).await.status(), StatusCode::OK);
        let enrol: Value = app.post_json("/v1/me/mfa/totp", &json!({}), Some(restricted)).await.json().await.unwrap();
        let confirmed: Value = app
            .post_json("/v1/me/mfa/totp/confirm", &json!({ "code": totp_at(enrol["secret"].as_str().unwrap(), current_step()) }), Some(restricted))
            .await
            .json()
            .await
            .unwrap();
        let full = confirmed["tokens"]["access_token"].as_str().unwrap();
        assert_eq!(app.get("/v1/org", Some(full)).await.status(), StatusCode::OK);
        // MFA cannot be switched off while the organization requires it.
        let res = app.post_json("/v1/me/mfa/disable", &json!({ "password": "a long new passphrase", "code": "123456" }), Some(full)).await;
        problem(res, 403, "forbidden").await;
    }

    async fn invitations_roles_and_deactivation(app: TestApp) {
        let owner = signup(&app, "o@broker.example", "broker").await;
        app.post_json("/v1/org/invitations", &json!({ "email": "d@broker.example", "role": "dispatcher" }), Some(&owner.access)).await;
        let token = token_from_mail(&app, "d@broker.example", "Your invitation token:").await;
        let joined: Value = app
            .post_json("/v1/auth/accept-invitation", &json!({ "token": token, "name": "Dee", "password": "dispatcher passphrase", "terms_version": "2026-11-01" }), None)
            .await
            .json()
            .await
            .unwrap();
        let dispatcher = joined["tokens"]["access_token"].as_str().unwrap().to_owned();
        let dispatcher_id = joined["user"]["id"].as_str().unwrap().to_owned();
        assert_eq!(joined["user"]["email_verified"], true);
        // The invitation is spent.
        let res = app.post_json("/v1/auth/accept-invitation", &json!({ "token": token, "name": "X", "password": "dispatcher passphrase", "terms_version": "2026-11-01" }), None).await;
        problem(res, 401, "invalid-token").await;
        // A dispatcher manages nobody.
        let res = app.post_json("/v1/org/invitations", &json!({ "email": "z@broker.example", "role": "viewer" }), Some(&dispatcher)).await;
        problem(res, 403, "forbidden").await;
        let res = app.patch_json(&format!("/v1/org/users/{}", owner.user_id), &json!({ "role": "viewer" }), Some(&dispatcher)).await;
        problem(res, 403, "forbidden").await;
        // The owner promotes them to admin; an admin cannot make owners or touch the owner.
        let res = app.patch_json(&format!("/v1/org/users/{dispatcher_id}"), &json!({ "role": "admin" }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let admin = login_tokens(&app, "d@broker.example", "dispatcher passphrase").await;
        let admin = admin["access_token"].as_str().unwrap();
        let res = app.post_json("/v1/org/invitations", &json!({ "email": "x@broker.example", "role": "owner" }), Some(admin)).await;
        problem(res, 403, "forbidden").await;
        let res = app.patch_json(&format!("/v1/org/users/{}", owner.user_id), &json!({ "active": false }), Some(admin)).await;
        problem(res, 403, "forbidden").await;
        // The last owner cannot step down.
        let res = app.patch_json(&format!("/v1/org/users/{}", owner.user_id), &json!({ "role": "admin" }), Some(&owner.access)).await;
        problem(res, 409, "last-owner").await;
        let res = app.patch_json(&format!("/v1/org/users/{dispatcher_id}"), &json!({ "role": "captain" }), Some(&owner.access)).await;
        problem(res, 422, "validation").await;
        // Deactivation ends their sessions and their logins.
        let res = app.patch_json(&format!("/v1/org/users/{dispatcher_id}"), &json!({ "active": false }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        problem(app.get("/v1/me", Some(admin)).await, 401, "unauthenticated").await;
        problem(login(&app, "d@broker.example", "dispatcher passphrase").await, 401, "invalid-credentials").await;
        let users: Value = app.get("/v1/org/users?limit=1", Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(users["items"].as_array().unwrap().len(), 1);
        let next = users["next_cursor"].as_str().unwrap();
        let page2: Value = app.get(&format!("/v1/org/users?limit=1&cursor={next}"), Some(&owner.access)).await.json().await.unwrap();
        assert_eq!(page2["items"][0]["id"], dispatcher_id.as_str());
        assert_eq!(page2["items"][0]["active"], false);
        assert!(page2.get("next_cursor").is_none());
        let audit: Value = app.get("/v1/org/audit-events?limit=200", Some(&owner.access)).await.json().await.unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
        for expected in ["invitation_created", "invitation_accepted", "role_changed", "user_deactivated"] {
            assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
        }
    }

    async fn api_keys_are_scoped_shown_once_and_revocable(app: TestApp) {
        let owner = signup(&app, "k@broker.example", "broker").await;
        let res = app.post_json("/v1/org/api-keys", &json!({ "name": "TMS sync", "scopes": ["identity:read"] }), Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let created: Value = res.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("lr_ak_"));
        let key_id = created["key"]["id"].as_str().unwrap().to_owned();
        let res = app.client.get(app.url("/v1/org")).header("x-api-key", &secret).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(app.get("/v1/org/users", Some(&secret)).await.status(), StatusCode::OK);
        let res = app.patch_json("/v1/org", &json!({ "name": "hijacked" }), Some(&secret)).await;
        problem(res, 403, "forbidden").await;
        problem(app.get("/v1/me", Some(&secret)).await, 403, "forbidden").await;
        let res = app.post_json("/v1/org/api-keys", &json!({ "name": "x", "scopes": ["root"] }), Some(&owner.access)).await;
        problem(res, 422, "validation").await;
        let keys: Value = app.get("/v1/org/api-keys", Some(&owner.access)).await.json().await.unwrap();
        let listed = &keys["items"][0];
        assert_eq!(listed["id"], key_id.as_str());
        assert!(listed["last_used_at"].is_string(), "{listed}");
        assert!(!keys.to_string().contains(&secret));
        assert_eq!(app.delete(&format!("/v1/org/api-keys/{key_id}"), Some(&owner.access)).await.status(), StatusCode::NO_CONTENT);
        problem(app.get("/v1/org", Some(&secret)).await, 401, "unauthenticated").await;
    }

    async fn another_organizations_identity_resources_are_not_found(app: TestApp) {
        let a = signup(&app, "a@broker.example", "broker").await;
        let b = signup(&app, "b@carrier.example", "carrier").await;
        let inv: Value = app
            .post_json("/v1/org/invitations", &json!({ "email": "bee@carrier.example", "role": "driver" }), Some(&b.access))
            .await
            .json()
            .await
            .unwrap();
        let key: Value = app
            .post_json("/v1/org/api-keys", &json!({ "name": "b", "scopes": ["identity:*"] }), Some(&b.access))
            .await
            .json()
            .await
            .unwrap();
        let b_user = format!("/v1/org/users/{}", b.user_id);
        problem(app.get(&b_user, Some(&a.access)).await, 404, "not-found").await;
        problem(app.patch_json(&b_user, &json!({ "role": "viewer" }), Some(&a.access)).await, 404, "not-found").await;
        problem(app.patch_json(&b_user, &json!({ "active": false }), Some(&a.access)).await, 404, "not-found").await;
        problem(app.delete(&format!("/v1/org/invitations/{}", inv["id"].as_str().unwrap()), Some(&a.access)).await, 404, "not-found").await;
        problem(app.delete(&format!("/v1/org/api-keys/{}", key["key"]["id"].as_str().unwrap()), Some(&a.access)).await, 404, "not-found").await;
        for list in ["/v1/org/users", "/v1/org/invitations", "/v1/org/api-keys", "/v1/org/audit-events"] {
            let body = app.get(list, Some(&a.access)).await.text().await.unwrap();
            assert!(!body.contains(&b.user_id) && !body.contains(&b.org_id), "{list} leaks B: {body}");
        }
        let org: Value = app.get("/v1/org", Some(&a.access)).await.json().await.unwrap();
        assert_eq!(org["id"], a.org_id.as_str());
        // B's resources are intact.
        let b_users: Value = app.get("/v1/org/users", Some(&b.access)).await.json().await.unwrap();
        assert_eq!(b_users["items"][0]["role"], "owner");
        assert_eq!(b_users["items"][0]["active"], true);
    }

    async fn password_reset_and_change_revoke_other_sessions(app: TestApp) {
        let acct = signup(&app, "p@broker.example", "broker").await;
        assert_eq!(app.post_json("/v1/auth/password-reset", &json!({ "email": "nobody@x.example" }), None).await.status(), StatusCode::ACCEPTED);
        assert_eq!(app.post_json("/v1/auth/password-reset", &json!({ "email": "p@broker.example" }), None).await.status(), StatusCode::ACCEPTED);
        let token = token_from_mail(&app, "p@broker.example", "Your reset token:").await;
        let weak = app.post_json("/v1/auth/password-reset/confirm", &json!({ "token": token, "new_password": "123456789012" }), None).await;
        problem(weak, 422, "validation").await;
        // The refused attempt did not spend the token.
        let ok = app.post_json("/v1/auth/password-reset/confirm", &json!({ "token": token, "new_password": "brand new passphrase" }), None).await;
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        problem(app.get("/v1/me", Some(&acct.access)).await, 401, "unauthenticated").await;
        problem(login(&app, "p@broker.example", PASSWORD).await, 401, "invalid-credentials").await;
        let one = login_tokens(&app, "p@broker.example", "brand new passphrase").await;
        let two = login_tokens(&app, "p@broker.example", "brand new passphrase").await;
        let res = app
            .post_json("/v1/me/password", &json!({ "current_password": "wrong one here", "new_password": "third passphrase!" }), one["access_token"].as_str())
            .await;
        problem(res, 422, "validation").await;
        let res = app
            .post_json("/v1/me/password", &json!({ "current_password": "brand new passphrase", "new_password": "third passphrase!" }), one["access_token"].as_str())
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get("/v1/me", one["access_token"].as_str()).await.status(), StatusCode::OK);
        problem(app.get("/v1/me", two["access_token"].as_str()).await, 401, "unauthenticated").await;
    }

    async fn jwks_publishes_keys_and_rotation_keeps_old_tokens_valid(app: TestApp) {
        let acct = signup(&app, "j@broker.example", "broker").await;
        let jwks: Value = app.get("/v1/.well-known/jwks.json", None).await.json().await.unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
        let old_kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
        let new_kid = app.app().identity().unwrap().rotate_signing_key().await.unwrap();
        assert_ne!(new_kid, old_kid);
        let jwks: Value = app.get("/v1/.well-known/jwks.json", None).await.json().await.unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(app.get("/v1/me", Some(&acct.access)).await.status(), StatusCode::OK);
        let fresh = login_tokens(&app, "j@broker.example", PASSWORD).await;
        use base64::Engine;
        let header = fresh["access_token"].as_str().unwrap().split('.').next().unwrap();
        let header: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header["kid"], new_kid.as_str());
    }
}

both_backends! {
    async fn state_changes_reach_the_bus_through_the_outbox(app: TestApp) {
        let bus = app.app().bus();
        let mut sub = bus.subscribe("test.observer", &["identity.#"]).await.unwrap();
        let body = json!({ "organization": { "name": "E", "kind": "broker" }, "name": "E", "email": "e@broker.example", "password": PASSWORD, "terms_version": "2026-11-01" });
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let request = app.client.post(app.url("/v1/auth/signup")).header("x-request-id", "req-e-1").header("traceparent", traceparent).json(&body);
        let res = app.send(request, None).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let signed_up: Value = res.json().await.unwrap();
        let org_id = signed_up["organization"]["id"].as_str().unwrap();
        let user_id = signed_up["user"]["id"].as_str().unwrap();
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let delivery = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("events arrive").unwrap();
            seen.push((delivery.event.event_type.clone(), delivery.event.clone()));
            delivery.ack().await;
        }
        let types: Vec<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["identity.org_created.v1", "identity.user_registered.v1", "identity.audit_recorded.v1"], "{types:?}");
        let (_, registered) = &seen[1];
        assert_eq!(registered.org_id.unwrap().to_string(), org_id);
        assert_eq!(registered.payload["user_id"], user_id);
        // Every event carries the trace of the request that caused it.
        for (_, e) in &seen {
            assert_eq!(e.trace.request_id.as_deref(), Some("req-e-1"));
            assert_eq!(e.trace.traceparent.as_deref(), Some(traceparent));
        }
        assert_eq!(registered.payload["via"], "signup");
        // Events never carry secrets.
        for (_, e) in &seen {
            let text = e.payload.to_string();
            assert!(!text.contains("argon2") && !text.contains("lr_rt_") && !text.contains(PASSWORD), "{text}");
        }
    }
}

mod hostile_bodies {
    use super::*;
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::hash_map("[a-z_]{1,12}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Whatever JSON arrives at the unauthenticated endpoints, the answer is a typed problem
    /// or a success, never a 500.
    #[test]
    fn arbitrary_json_never_causes_a_server_error() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = rt.block_on(TestApp::spawn(lanerunner::testing::Backend::Sqlite));
        let paths = [
            "/v1/auth/signup",
            "/v1/auth/login",
            "/v1/auth/login/mfa",
            "/v1/auth/refresh",
            "/v1/auth/password-reset/confirm",
            "/v1/auth/verify-email",
            "/v1/auth/accept-invitation",
        ];
        let config = ProptestConfig {
            cases: 96,
            ..ProptestConfig::default()
        };
        proptest!(config, |(path_idx in 0usize..7, body in json_value(), email in "[a-z]{1,8}@[a-z]{1,8}\\.example", password in ".{0,20}")| {
            let path = paths[path_idx];
            // Half the time, a body of roughly the right shape with hostile values.
            let body = if path_idx == 0 && email.len() % 2 == 0 {
                json!({ "organization": { "name": body.to_string(), "kind": "carrier", "usdot_number": password.clone() }, "name": "n", "email": email, "password": password, "terms_version": "2026-11-01" })
            } else {
                body
            };
            let status = rt.block_on(async { app.post_json(path, &body, None).await.status() });
            prop_assert!(status.as_u16() < 500, "{} answered {} to {}", path, status, body);
        });
    }
}

both_backends! {
    /// Validation has one shape everywhere: every invalid field of a signup is listed at
    /// once, as the loads service lists a load's.
    async fn signup_lists_every_invalid_field_at_once(app: TestApp) {
        let body = json!({
            "organization": { "name": " ", "kind": "broker", "usdot_number": "1234567" },
            "name": "Pat\u{0}", "email": "not-an-email", "password": "short"
        });
        let res = app.post_json("/v1/auth/signup", &body, None).await;
        let p = problem(res, 422, "validation").await;
        let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        for expected in ["email", "organization.name", "name", "password", "organization.kind", "terms_version"] {
            assert!(fields.contains(&expected), "{expected} missing from {fields:?}");
        }
    }

    /// The other identity forms list every invalid field too.
    async fn every_identity_form_lists_all_its_invalid_fields(app: TestApp) {
        fn fields(p: &Value) -> Vec<String> {
            p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
        }
        let owner = signup(&app, "o@broker.example", "broker").await;
        let res = app.post_json("/v1/org/invitations", &json!({ "email": "nope", "role": "emperor" }), Some(&owner.access)).await;
        assert_eq!(fields(&problem(res, 422, "validation").await), ["email", "role"]);

        let res = app.patch_json("/v1/org", &json!({ "name": "", "mc_number": "MC-123456", "usdot_number": "1" }), Some(&owner.access)).await;
        assert_eq!(fields(&problem(res, 422, "validation").await), ["name", "mc_number", "usdot_number"]);

        let res = app.post_json("/v1/org/api-keys", &json!({ "name": "", "scopes": ["root"], "expires_at": "2001-01-01T00:00:00Z" }), Some(&owner.access)).await;
        assert_eq!(fields(&problem(res, 422, "validation").await), ["name", "scopes", "expires_at"]);

        app.post_json("/v1/org/invitations", &json!({ "email": "d@broker.example", "role": "dispatcher" }), Some(&owner.access)).await;
        let token = token_from_mail(&app, "d@broker.example", "Your invitation token:").await;
        let res = app.post_json("/v1/auth/accept-invitation", &json!({ "token": token, "name": "\u{7}", "password": "short", "terms_version": "2026-11-01" }), None).await;
        assert_eq!(fields(&problem(res, 422, "validation").await), ["name", "password"]);
        // Nothing was spent: the invitation still works with good fields.
        let res = app.post_json("/v1/auth/accept-invitation", &json!({ "token": token, "name": "Dee", "password": "dispatcher passphrase", "terms_version": "2026-11-01" }), None).await;
        assert!(res.status().is_success(), "{}", res.status());
    }
}

// ---- texted codes (Twilio Verify) as a second factor ----

mod sms_second_factor {
    use super::*;
    use lanerunner::testing::Backend;
    use lanerunner_twilio::testing::TwilioStandIn;

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "twilio-auth-token-for-tests";
    const PHONE: &str = "+14155550142";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        enrol_sign_in_and_use_up_texted_codes(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if lanerunner::testing::skip_engine_test("PostgreSQL") {
            return;
        }
        enrol_sign_in_and_use_up_texted_codes(Backend::Postgres).await
    }

    fn code(twilio: &TwilioStandIn) -> String {
        twilio
            .verification_code(PHONE)
            .expect("Verify texted a code")
    }

    /// Enrols a phone through Twilio's Verify API on the stand-in, signs in with a texted
    /// code (two requests racing with one code: one wins), adds an app beside it, uses a
    /// texted code for new recovery codes, runs into the texting allowance, and turns MFA off.
    async fn enrol_sign_in_and_use_up_texted_codes(backend: Backend) {
        let twilio = TwilioStandIn::start(ACCOUNT, TOKEN).await.unwrap();
        let app =
            TestApp::spawn_with_twilio(backend, &twilio.base_url, ACCOUNT, TOKEN, |_| {}).await;
        let acct = signup(&app, "sms@broker.example", "broker").await;
        let me = Some(acct.access.as_str());

        // Bad numbers and unknown fields are refused before anything is texted.
        let bad = app
            .post_json("/v1/me/mfa/sms", &json!({ "phone": "555-0142" }), me)
            .await;
        problem(bad, 422, "validation").await;
        problem(
            app.post_json("/v1/me/mfa/sms/confirm", &json!({ "code": "123456" }), me)
                .await,
            409,
            "mfa-state",
        )
        .await;
        assert!(twilio.verification_code(PHONE).is_none());

        let res = app
            .post_json("/v1/me/mfa/sms", &json!({ "phone": "(415) 555-0142" }), me)
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        assert_eq!(res.json::<Value>().await.unwrap()["phone"], "•••0142");
        let sent = code(&twilio);
        let wrong = if sent == "000000" { "111111" } else { "000000" };
        problem(
            app.post_json("/v1/me/mfa/sms/confirm", &json!({ "code": wrong }), me)
                .await,
            401,
            "invalid-mfa-code",
        )
        .await;
        let res = app
            .post_json("/v1/me/mfa/sms/confirm", &json!({ "code": sent }), me)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let recovery: Vec<String> = res.json::<Value>().await.unwrap()["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(recovery.len(), 10);
        let user: Value = app.get("/v1/me", me).await.json().await.unwrap();
        assert_eq!(user["user"]["mfa_enabled"], true);
        assert_eq!(user["user"]["mfa_methods"], json!(["sms"]));
        assert_eq!(user["user"]["mfa_phone"], "•••0142");
        problem(
            app.post_json("/v1/me/mfa/sms", &json!({ "phone": PHONE }), me)
                .await,
            409,
            "mfa-state",
        )
        .await;

        // Signing in: the password, then a texted code.
        let first: Value = login(&app, &acct.email, PASSWORD)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(first["mfa_required"], true);
        assert_eq!(first["mfa_methods"], json!(["sms"]));
        let challenge = first["mfa_token"].as_str().unwrap().to_owned();
        // A six-digit guess before any text is simply wrong (the provider is not asked).
        let guess = app
            .post_json(
                "/v1/auth/login/mfa",
                &json!({ "mfa_token": challenge, "code": "123456" }),
                None,
            )
            .await;
        problem(guess, 401, "invalid-mfa-code").await;
        let forged = app
            .post_json(
                "/v1/auth/login/mfa/sms",
                &json!({ "mfa_token": "lr_rt_forged" }),
                None,
            )
            .await;
        problem(forged, 401, "invalid-token").await;
        let res = app
            .post_json(
                "/v1/auth/login/mfa/sms",
                &json!({ "mfa_token": challenge }),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let texted = code(&twilio);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let attempt = |b: std::sync::Arc<tokio::sync::Barrier>| {
            let (app, challenge, texted) = (&app, challenge.clone(), texted.clone());
            async move {
                b.wait().await;
                app.post_json(
                    "/v1/auth/login/mfa",
                    &json!({ "mfa_token": challenge, "code": texted }),
                    None,
                )
                .await
                .status()
            }
        };
        let (a, b) = tokio::join!(attempt(barrier.clone()), attempt(barrier));
        let mut statuses = [a.as_u16(), b.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 401], "one sign-in per texted code");

        // An authenticator app beside the phone keeps the recovery codes already given.
        let enrol: Value = app
            .post_json("/v1/me/mfa/totp", &json!({}), me)
            .await
            .json()
            .await
            .unwrap();
        let secret = enrol["secret"].as_str().unwrap().to_owned();
        let step = current_step();
        let res = app
            .post_json(
                "/v1/me/mfa/totp/confirm",
                &json!({ "code": totp_at(&secret, step) }),
                me,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.json::<Value>().await.unwrap()["recovery_codes"],
            json!([])
        );
        let user: Value = app.get("/v1/me", me).await.json().await.unwrap();
        assert_eq!(user["user"]["mfa_methods"], json!(["totp", "sms"]));
        let again: Value = login(&app, &acct.email, PASSWORD)
            .await
            .json()
            .await
            .unwrap();
        let res = app
            .post_json(
                "/v1/auth/login/mfa",
                &json!({ "mfa_token": again["mfa_token"], "code": recovery[0] }),
                None,
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "a recovery code from the phone's enrolment still works"
        );

        // In a session: a texted code for new recovery codes.
        assert_eq!(
            app.post_json("/v1/me/mfa/sms/send", &json!({}), me)
                .await
                .status(),
            StatusCode::ACCEPTED
        );
        let res = app
            .post_json(
                "/v1/me/mfa/recovery-codes",
                &json!({ "code": code(&twilio) }),
                me,
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);

        // Five texts per person per ten minutes (three sent so far).
        for _ in 0..2 {
            assert_eq!(
                app.post_json("/v1/me/mfa/sms/send", &json!({}), me)
                    .await
                    .status(),
                StatusCode::ACCEPTED
            );
        }
        problem(
            app.post_json("/v1/me/mfa/sms/send", &json!({}), me).await,
            429,
            "rate-limited",
        )
        .await;

        // Turning MFA off removes the app and the phone.
        let res = app
            .post_json(
                "/v1/me/mfa/disable",
                &json!({ "password": PASSWORD, "code": totp_at(&secret, step + 1) }),
                me,
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let user: Value = app.get("/v1/me", me).await.json().await.unwrap();
        assert_eq!(user["user"]["mfa_enabled"], false);
        assert_eq!(user["user"]["mfa_methods"], json!([]));
        assert!(user["user"].get("mfa_phone").is_none());
        problem(
            app.post_json("/v1/me/mfa/sms/send", &json!({}), me).await,
            409,
            "mfa-state",
        )
        .await;
    }
}
