//! A person's own data (GDPR), over real HTTP on every backend: consent given to the text
//! in force and withdrawn, each recorded with its version, time and address and in the
//! audit trail; bad consent refused naming the field; the export of everything the identity
//! service holds about the person, without a secret, itself audited.

use lanerunner::both_backends;
use lanerunner::testing::{expect_problem, json_of, TestApp, TEST_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn standing<'a>(view: &'a Value, purpose: &str) -> &'a Value {
    view["current"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["purpose"] == purpose)
        .unwrap()
}

both_backends!(
    async fn consent_is_recorded_by_version_and_the_export_holds_what_we_keep(app: TestApp) {
        let owner = app.signup("gdpr-owner@example.com", "broker").await;
        let colleague = app
            .invite_and_join(&owner, "gdpr-colleague@example.com", "dispatcher")
            .await;

        let view = json_of(
            app.get("/v1/me/consents", Some(&owner.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(view["current"].as_array().unwrap().len(), 3);
        let terms = standing(&view, "terms");
        // The terms were accepted on signing up; the privacy notice was not asked for.
        assert_eq!(
            (
                terms["granted"].as_bool(),
                terms["current_version"].as_str()
            ),
            (Some(true), Some("2026-11-01"))
        );
        assert_eq!(standing(&view, "privacy_notice")["granted"], false);

        // Bad input: an old version, no version, an unknown purpose, a wrong type.
        for (body, status, kind) in [
            (
                json!({"purpose": "terms", "granted": true, "version": "2019-01-01"}),
                422,
                "validation",
            ),
            (
                json!({"purpose": "terms", "granted": true}),
                422,
                "validation",
            ),
            (
                json!({"purpose": "cookies", "granted": true, "version": "2026-11-01"}),
                422,
                "invalid-body",
            ),
            (
                json!({"purpose": "terms", "granted": "yes"}),
                422,
                "invalid-body",
            ),
        ] {
            let p = expect_problem(
                app.post_json("/v1/me/consents", &body, Some(&owner.access))
                    .await,
                status,
                kind,
            )
            .await;
            if kind == "validation" {
                assert_eq!(p["errors"][0]["field"], "version", "{p}");
            }
        }

        // Given to the text in force; marketing given then withdrawn.
        for body in [
            json!({"purpose": "terms", "granted": true, "version": "2026-11-01"}),
            json!({"purpose": "privacy_notice", "granted": true, "version": "2026-11-01"}),
            json!({"purpose": "marketing_email", "granted": true, "version": "2026-11-01"}),
            json!({"purpose": "marketing_email", "granted": false}),
        ] {
            json_of(
                app.post_json("/v1/me/consents", &body, Some(&owner.access))
                    .await,
                StatusCode::OK,
            )
            .await;
        }
        let view = json_of(
            app.get("/v1/me/consents", Some(&owner.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(standing(&view, "terms")["granted"], true);
        assert_eq!(standing(&view, "terms")["renewal_needed"], false);
        assert_eq!(standing(&view, "marketing_email")["granted"], false);
        let history = view["history"].as_array().unwrap();
        assert_eq!(history.len(), 5);
        assert_eq!(history[4]["purpose"], "marketing_email");
        assert_eq!(history[4]["granted"], false);
        assert_eq!(history[0]["client_addr"], "127.0.0.1");

        // Each person has their own; nobody else's records show.
        let theirs = json_of(
            app.get("/v1/me/consents", Some(&colleague.access)).await,
            StatusCode::OK,
        )
        .await;
        let theirs = theirs["history"].as_array().unwrap();
        assert_eq!(theirs.len(), 1, "the terms accepted on joining: {theirs:?}");
        assert_eq!(theirs[0]["purpose"], "terms");

        // An API key is not a person.
        let key = json_of(
            app.post_json(
                "/v1/org/api-keys",
                &json!({"name": "tms", "scopes": ["identity:read"]}),
                Some(&owner.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let by_key = app
            .send(
                app.client
                    .get(app.url("/v1/me/export"))
                    .header("x-api-key", key["secret"].as_str().unwrap()),
                None,
            )
            .await;
        expect_problem(by_key, 403, "forbidden").await;

        // What other services hold joins it: their notification settings, a message they
        // wrote (not the one written to them).
        json_of(
            app.put_json(
                "/v1/notifications/settings",
                &json!({"time_zone": "America/Denver", "digest_minutes": 60}),
                Some(&owner.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let room = json_of(
            app.post_json(
                "/v1/chat/conversations",
                &json!({"member_ids": [colleague.user_id], "title": "Night desk"}),
                Some(&owner.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let messages = format!(
            "/v1/chat/conversations/{}/messages",
            room["id"].as_str().unwrap()
        );
        for (who, text) in [(&owner, "Call the shipper at six"), (&colleague, "Will do")] {
            json_of(
                app.post_json(&messages, &json!({"text": text}), Some(&who.access))
                    .await,
                StatusCode::CREATED,
            )
            .await;
        }

        // The export: the person, their organization, consents, sessions, keys they made,
        // the audit records about them, and each service's part; no secret.
        let res = app.get("/v1/me/export", Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        let text = res.text().await.unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["format"], "lanerunner.personal-data.v1");
        assert_eq!(doc["subject"]["email"], "gdpr-owner@example.com");
        assert_eq!(doc["subject"]["id"], owner.user_id);
        assert_eq!(doc["organization"]["id"], owner.org_id);
        assert_eq!(doc["consents"].as_array().unwrap().len(), 5);
        assert!(!doc["sessions"].as_array().unwrap().is_empty());
        assert_eq!(doc["api_keys_created"][0]["name"], "tms");
        assert_eq!(
            doc["held_by"],
            json!(["identity", "chat", "notifications"]),
            "{doc}"
        );
        let notifications = &doc["services"]["notifications"];
        assert_eq!(notifications["email"], "gdpr-owner@example.com");
        assert_eq!(notifications["settings"]["time_zone"], "America/Denver");
        let written = &doc["services"]["chat"]["messages_written"];
        assert_eq!(written.as_array().unwrap().len(), 1, "{written}");
        assert_eq!(written[0]["body"], "Call the shipper at six");
        assert_eq!(written[0]["conversation"], "Night desk");
        let actions: Vec<&str> = doc["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap())
            .collect();
        for action in [
            "signup",
            "consent_recorded",
            "api_key_created",
            "invitation_created",
        ] {
            assert!(
                actions.contains(&action),
                "{action} missing from {actions:?}"
            );
        }
        for secret in [
            "$argon2",
            TEST_PASSWORD,
            "password_hash",
            key["secret"].as_str().unwrap(),
            &owner.refresh,
        ] {
            assert!(
                !text.contains(secret),
                "the export holds a secret ({secret})"
            );
        }
        // The colleague's export is theirs alone; the owner's download is in the trail.
        let mine = json_of(
            app.get("/v1/me/export", Some(&colleague.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine["subject"]["email"], "gdpr-colleague@example.com");
        assert_eq!(mine["consents"].as_array().unwrap().len(), 1);
        let again = json_of(
            app.get("/v1/me/export", Some(&owner.access)).await,
            StatusCode::OK,
        )
        .await;
        assert!(again["audit_events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "personal_data_exported"));
    }
);

both_backends!(
    async fn joining_means_accepting_the_terms_in_force(app: TestApp) {
        // Public: the forms show the versions before anyone has an account.
        let legal = json_of(app.get("/v1/legal", None).await, StatusCode::OK).await;
        assert_eq!(
            legal,
            json!({"terms_version": "2026-11-01", "privacy_notice_version": "2026-11-01", "terms_required": true})
        );
        let body = |terms: Option<&str>, notice: Option<&str>| {
            let mut b = json!({"organization": {"name": "Terms Co", "kind": "broker"}, "name": "Tess",
                "email": "terms@example.com", "password": TEST_PASSWORD});
            if let Some(t) = terms {
                b["terms_version"] = json!(t);
            }
            if let Some(n) = notice {
                b["privacy_notice_version"] = json!(n);
            }
            b
        };
        // Not accepted, or accepted to another text: refused naming the field, nothing made.
        for (terms, notice, field) in [
            (None, None, "terms_version"),
            (Some("2020-01-01"), None, "terms_version"),
            (
                Some("2026-11-01"),
                Some("1999-01-01"),
                "privacy_notice_version",
            ),
        ] {
            let p = expect_problem(
                app.post_json("/v1/auth/signup", &body(terms, notice), None)
                    .await,
                422,
                "validation",
            )
            .await;
            let fields: Vec<&str> = p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, [field], "{p}");
        }
        let p = expect_problem(
            app.post_json("/v1/auth/signup", &json!({"terms_version": 7}), None)
                .await,
            422,
            "invalid-body",
        )
        .await;
        assert!(
            p.to_string().contains("terms_version") || p.to_string().contains("organization"),
            "{p}"
        );

        let made = json_of(
            app.post_json(
                "/v1/auth/signup",
                &body(Some("2026-11-01"), Some("2026-11-01")),
                None,
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let token = made["tokens"]["access_token"].as_str().unwrap();
        let view = json_of(
            app.get("/v1/me/consents", Some(token)).await,
            StatusCode::OK,
        )
        .await;
        for purpose in ["terms", "privacy_notice"] {
            let s = standing(&view, purpose);
            assert_eq!(
                (s["granted"].as_bool(), s["version"].as_str()),
                (Some(true), Some("2026-11-01")),
                "{view}"
            );
        }
        assert_eq!(standing(&view, "marketing_email")["granted"], false);
        assert_eq!(view["history"].as_array().unwrap().len(), 2);
        assert_eq!(view["history"][0]["client_addr"], "127.0.0.1");
    }
);

both_backends!(
    async fn an_invited_member_accepts_the_terms_too(app: TestApp) {
        let owner = app.signup("terms-owner@example.com", "broker").await;
        // The helper joins with the terms accepted: their consent is on record.
        let member = app
            .invite_and_join(&owner, "terms-member@example.com", "dispatcher")
            .await;
        let view = json_of(
            app.get("/v1/me/consents", Some(&member.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(standing(&view, "terms")["granted"], true, "{view}");
        // Without them, the invitation is not accepted and stays usable.
        json_of(
            app.post_json(
                "/v1/org/invitations",
                &json!({"email": "terms-late@example.com", "role": "viewer"}),
                Some(&owner.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let token = app.invitation_token("terms-late@example.com").await;
        let join = |terms: Option<&str>| {
            let mut b = json!({"token": token, "name": "Late", "password": TEST_PASSWORD});
            if let Some(t) = terms {
                b["terms_version"] = json!(t);
            }
            b
        };
        let p = expect_problem(
            app.post_json("/v1/auth/accept-invitation", &join(None), None)
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "terms_version", "{p}");
        json_of(
            app.post_json(
                "/v1/auth/accept-invitation",
                &join(Some("2026-11-01")),
                None,
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
);
