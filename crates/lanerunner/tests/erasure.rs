//! GDPR erasure (art. 17) and retention, over real HTTP on every backend: a member who has
//! left is erased by an owner or admin of their organization — in identity at once, in
//! notifications through `identity.user_erased` — while the audit trail keeps every record
//! and still verifies (the addresses go, the v2 seals stay); the append-only guard lets
//! that one change through and no other; erasure refused for an active member, by a
//! dispatcher, for another organization's member, twice; two erasures released together do
//! the work once; addresses past their retention are erased by the job; published events
//! leave the outbox after theirs.

use chrono::{Duration, Utc};
use lanerunner::both_backends;
use lanerunner::testing::{expect_problem, json_of, Account, TestApp, TEST_PASSWORD};
use lanerunner_platform::{on_db, Db};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

async fn scalar_text(db: &Db, sql: &str, id: Uuid) -> Option<String> {
    on_db!(db, |p| sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(p)
        .await)
    .unwrap()
}

async fn count(db: &Db, sql: &str, id: Uuid) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(sql).bind(id).fetch_one(p).await).unwrap()
}

async fn count_all(db: &Db, sql: &str) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(sql).fetch_one(p).await).unwrap()
}

async fn exec(db: &Db, sql: &str) -> Result<u64, sqlx::Error> {
    on_db!(db, |p| sqlx::query(sql)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
}

fn erasure_of(user: &Account) -> String {
    format!("/v1/org/users/{}/erasure", user.user_id)
}

async fn deactivate(app: &TestApp, owner: &Account, user: &Account) {
    json_of(
        app.patch_json(
            &format!("/v1/org/users/{}", user.user_id),
            &json!({"active": false}),
            Some(&owner.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

async fn audit_of(app: &TestApp, owner: &Account) -> Vec<Value> {
    let page = json_of(
        app.get("/v1/org/audit-events?limit=200", Some(&owner.access))
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

/// The organization's audit chain still verifies.
async fn assert_trail_intact(app: &TestApp, owner: &Account) {
    let report = json_of(
        app.get("/v1/org/audit-events/verify", Some(&owner.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["intact"], true, "{report}");
}

both_backends!(
    async fn a_member_who_left_is_erased_everywhere_and_the_trail_still_verifies(app: TestApp) {
        let owner = app.signup("erase-owner@example.com", "broker").await;
        let gone = app
            .invite_and_join(&owner, "erase-me@example.com", "dispatcher")
            .await;
        let admin = app
            .invite_and_join(&owner, "erase-admin@example.com", "dispatcher")
            .await;
        let other = app.signup("erase-other@example.com", "broker").await;
        let uid: Uuid = gone.user_id.parse().unwrap();

        // What they leave behind: a consent, notification settings and a phone waiting for
        // its code, audit records of their own sign-in.
        json_of(
            app.post_json(
                "/v1/me/consents",
                &json!({"purpose": "terms", "granted": true, "version": "2026-11-01"}),
                Some(&gone.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        json_of(
            app.put_json(
                "/v1/notifications/settings",
                &json!({"time_zone": "America/Chicago", "digest_minutes": 30}),
                Some(&gone.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let login = json!({"email": "erase-me@example.com", "password": TEST_PASSWORD});
        assert_eq!(
            app.post_json("/v1/auth/login", &login, None).await.status(),
            200
        );
        let notifications = app.app().db("notifications").unwrap();
        let identity = app.app().db("identity").unwrap();
        lanerunner::testing::poll(&app, "/v1/me", &owner, |_| true).await;

        // Refused: still active; then a dispatcher asking, another organization, nobody,
        // not an id.
        let refused = |path: String, who: &Account, status: u16, kind: &'static str| {
            let (app, token) = (&app, who.access.clone());
            async move {
                expect_problem(
                    app.post_json(&path, &json!({}), Some(&token)).await,
                    status,
                    kind,
                )
                .await;
            }
        };
        refused(erasure_of(&gone), &owner, 409, "member-active").await;
        deactivate(&app, &owner, &gone).await;
        refused(erasure_of(&gone), &admin, 403, "forbidden").await;
        refused(erasure_of(&gone), &other, 404, "not-found").await;
        refused(
            format!("/v1/org/users/{}/erasure", Uuid::now_v7()),
            &owner,
            404,
            "not-found",
        )
        .await;
        refused(
            "/v1/org/users/not-a-uuid/erasure".into(),
            &owner,
            400,
            "bad-request",
        )
        .await;

        let done = json_of(
            app.post_json(&erasure_of(&gone), &json!({}), Some(&owner.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(done["user"]["name"], "Erased member", "{done}");
        assert_eq!(
            done["user"]["email"],
            format!("erased-{uid}@erased.invalid")
        );
        assert_eq!(done["user"]["active"], false);
        assert!(done["user"]["erased_at"].is_string());
        assert!(
            done["erased"]["audit_addresses"].as_u64().unwrap() >= 2,
            "{done}"
        );
        assert_eq!(
            done["erased"]["consents"], 2,
            "the terms at joining, and one given since"
        );
        refused(erasure_of(&gone), &owner, 409, "already-erased").await;

        // Gone from identity: the old email signs nobody in, the row holds no trace.
        assert_eq!(
            app.post_json("/v1/auth/login", &login, None).await.status(),
            401
        );
        let shown = json_of(
            app.get(&format!("/v1/org/users/{uid}"), Some(&owner.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(shown["name"], "Erased member");
        assert!(shown["erased_at"].is_string());
        assert_eq!(
            count(
                &identity,
                "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND client_addr <> ''",
                uid
            )
            .await,
            0
        );
        assert_eq!(
            count(
                &identity,
                "SELECT COUNT(*) FROM consents WHERE user_id = $1 AND client_addr <> ''",
                uid
            )
            .await,
            0
        );
        assert_eq!(
            count_all(
                &identity,
                "SELECT COUNT(*) FROM invitations WHERE email = 'erase-me@example.com'"
            )
            .await,
            0
        );
        assert_eq!(
            scalar_text(
                &identity,
                "SELECT password_hash FROM users WHERE id = $1",
                uid
            )
            .await
            .as_deref(),
            Some("!erased")
        );

        // The trail: every record about them kept, their addresses empty, the erasure itself
        // recorded with the owner's, and every chain still whole.
        let audit = audit_of(&app, &owner).await;
        let theirs: Vec<&Value> = audit
            .iter()
            .filter(|a| a["actor_id"] == gone.user_id.as_str())
            .collect();
        assert!(theirs.len() >= 2, "{audit:?}");
        assert!(theirs.iter().all(|a| a["client_addr"] == ""), "{theirs:?}");
        // What the owner did to them keeps the owner's address.
        let by_owner = audit
            .iter()
            .find(|a| a["action"] == "user_deactivated" && a["target_id"] == gone.user_id.as_str())
            .unwrap();
        assert_ne!(by_owner["client_addr"], "", "{by_owner}");
        let erased = audit
            .iter()
            .find(|a| a["action"] == "member_erased")
            .unwrap();
        assert_eq!(erased["target_id"], gone.user_id.as_str());
        assert_ne!(erased["client_addr"], "");
        assert_trail_intact(&app, &owner).await;

        // Notifications erased its copy on the event: the email, the settings.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        while scalar_text(
            &notifications,
            "SELECT email FROM nt_members WHERE user_id = $1",
            uid,
        )
        .await
        .as_deref()
            != Some("")
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "notifications never erased the member"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            count(
                &notifications,
                "SELECT COUNT(*) FROM nt_settings WHERE user_id = $1",
                uid
            )
            .await,
            0
        );

        // The guard lets only the erasure through: an erased address cannot come back, a
        // kept one cannot change, nothing else of a record can.
        let rid: Uuid = theirs[0]["id"].as_str().unwrap().parse().unwrap();
        let writes = [
            format!("UPDATE audit_events SET client_addr = '203.0.113.5' WHERE id = '{rid}'"),
            format!("UPDATE audit_events SET outcome = 'failure' WHERE id = '{rid}'"),
            format!("DELETE FROM audit_events WHERE id = '{rid}'"),
        ];
        for sql in &writes {
            let sql = match identity {
                Db::Sqlite(_) => sql.replace(&format!("'{rid}'"), &format!("X'{}'", rid.simple())),
                Db::Postgres(_) => sql.clone(),
            };
            let err = exec(&identity, &sql).await.expect_err(&sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }

        // The email is free again: the person may be invited back as someone new.
        json_of(
            app.post_json(
                "/v1/org/invitations",
                &json!({"email": "erase-me@example.com", "role": "dispatcher"}),
                Some(&owner.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;

        // Published events leave the outbox once past their retention, and not before.
        use lanerunner_platform::outbox::prune_published;
        let published = "SELECT COUNT(*) FROM outbox WHERE published_at IS NOT NULL";
        assert!(count_all(&identity, published).await > 0);
        assert_eq!(
            prune_published(&identity, Utc::now() - Duration::hours(1), 10_000)
                .await
                .unwrap(),
            0
        );
        // The events published before the cutoff go (a relay committing later may still add
        // rows stamped before it: those were not there to prune).
        let cutoff = Utc::now();
        let before_cutoff = |db: Db| async move {
            let seqs: Vec<i64> = on_db!(&db, |p| sqlx::query_scalar(
                "SELECT seq FROM outbox WHERE published_at IS NOT NULL AND published_at < $1"
            )
            .bind(cutoff)
            .fetch_all(p)
            .await)
            .unwrap();
            seqs
        };
        let old = before_cutoff(identity.clone()).await;
        assert!(!old.is_empty());
        assert!(prune_published(&identity, cutoff, 10_000).await.unwrap() >= old.len() as u64);
        let still: Vec<i64> = before_cutoff(identity.clone())
            .await
            .into_iter()
            .filter(|s| old.contains(s))
            .collect();
        assert!(still.is_empty(), "{still:?}");
    }
);

both_backends!(
    async fn the_erasure_register_is_kept_whole_and_erases_nobody_it_does_not_name(app: TestApp) {
        let owner = app.signup("register-owner@example.com", "broker").await;
        let gone = app
            .invite_and_join(&owner, "register-gone@example.com", "dispatcher")
            .await;
        let stays = app
            .invite_and_join(&owner, "register-stays@example.com", "dispatcher")
            .await;
        deactivate(&app, &owner, &gone).await;
        json_of(
            app.post_json(&erasure_of(&gone), &json!({}), Some(&owner.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let blobs =
            lanerunner_platform::blob::open(&app.config.blob, &app.config.data_dir).unwrap();
        let key = |who: &Account| format!("privacy/erasures/{}/{}.json", who.org_id, who.user_id);
        let written = blobs
            .get(&key(&gone))
            .await
            .expect("the erasure is in the register");

        // Lost between the erasure's commit and the register (a crash): written again from
        // the store, with who erased them as the audit trail says.
        blobs.delete(&key(&gone)).await.unwrap();
        let identity = app.app().identity().unwrap();
        let done = identity.reconcile_erasures().await.unwrap();
        assert_eq!((done.recorded, done.reapplied.len()), (1, 0), "{done:?}");
        let back: Value = serde_json::from_slice(&blobs.get(&key(&gone)).await.unwrap()).unwrap();
        assert_eq!(back["erased_by"], owner.user_id.as_str(), "{back}");

        // Entries that must erase no one: the erased member's entry copied under a member
        // who stays, a format this release does not read under the owner's key, something
        // that is not an entry; and one for a member this store never had.
        blobs.put(&key(&stays), written.clone()).await.unwrap();
        let mut future: Value = serde_json::from_slice(&written).unwrap();
        future["format"] = json!(2);
        future["user_id"] = json!(owner.user_id);
        blobs
            .put(&key(&owner), serde_json::to_vec(&future).unwrap())
            .await
            .unwrap();
        blobs
            .put("privacy/erasures/notes.txt", b"not an entry".to_vec())
            .await
            .unwrap();
        let stranger = Uuid::now_v7();
        let mut unknown: Value = serde_json::from_slice(&written).unwrap();
        unknown["user_id"] = json!(stranger);
        blobs
            .put(
                &format!("privacy/erasures/{}/{stranger}.json", owner.org_id),
                serde_json::to_vec(&unknown).unwrap(),
            )
            .await
            .unwrap();
        let done = identity.reconcile_erasures().await.unwrap();
        assert!(done.reapplied.is_empty(), "{done:?}");
        assert_eq!(
            (done.entries, done.absent, done.unreadable.len()),
            (5, 1, 3),
            "{done:?}"
        );
        for who in [&stays, &owner] {
            let login = json!({"email": who.email, "password": TEST_PASSWORD});
            assert_eq!(
                app.post_json("/v1/auth/login", &login, None).await.status(),
                200,
                "{} keeps their account",
                who.email
            );
        }
    }

    async fn two_erasures_released_together_do_the_work_once(app: TestApp) {
        let owner = app.signup("race-owner@example.com", "broker").await;
        let gone = app
            .invite_and_join(&owner, "race-gone@example.com", "dispatcher")
            .await;
        deactivate(&app, &owner, &gone).await;
        let path = erasure_of(&gone);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let tries = (0..2).map(|_| {
            let (app, path, token, barrier) =
                (&app, path.clone(), owner.access.clone(), barrier.clone());
            async move {
                barrier.wait().await;
                app.post_json(&path, &json!({}), Some(&token))
                    .await
                    .status()
            }
        });
        let mut statuses: Vec<u16> = futures::future::join_all(tries)
            .await
            .into_iter()
            .map(|s| s.as_u16())
            .collect();
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let erasures = audit_of(&app, &owner)
            .await
            .into_iter()
            .filter(|a| a["action"] == "member_erased")
            .count();
        assert_eq!(erasures, 1);
    }
);

both_backends!(
    async fn addresses_past_their_retention_are_erased_and_the_chain_holds(app: TestApp) {
        let owner = app.signup("retain-owner@example.com", "broker").await;
        let org: Uuid = owner.org_id.parse().unwrap();
        let identity_db = app.app().db("identity").unwrap();
        // A record from two years ago, written as the service writes one (its address
        // sealed, v2) but directly, so its time can be set; then chained.
        let old = Uuid::now_v7();
        let salt = "5a17";
        let digest = lanerunner_identity::domain::audit_chain::address_digest(salt, "192.0.2.44");
        on_db!(&identity_db, |p| sqlx::query(
            "INSERT INTO audit_events (id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at, addr_salt, addr_digest) \
             VALUES ($1, $2, NULL, 'login', 'failure', NULL, '192.0.2.44', $3, $4, $5, $6)")
            .bind(old)
            .bind(org)
            .bind(sqlx::types::Json(json!({"reason": "old"})))
            .bind(Utc::now() - Duration::days(730))
            .bind(salt)
            .bind(&digest)
            .execute(p)
            .await
            .map(|_| ()))
        .unwrap();
        let identity = app.app().identity().unwrap();
        identity.chain_audit().await.unwrap();
        assert_eq!(identity.erase_expired_audit_addresses().await.unwrap(), 1);
        assert_eq!(identity.erase_expired_audit_addresses().await.unwrap(), 0);
        let audit = audit_of(&app, &owner).await;
        let rec = audit.iter().find(|a| a["id"] == old.to_string()).unwrap();
        assert_eq!(rec["client_addr"], "");
        // The recent records keep theirs.
        assert!(
            audit
                .iter()
                .filter(|a| a["id"] != old.to_string())
                .all(|a| a["client_addr"] != ""),
            "{audit:?}"
        );
        assert_trail_intact(&app, &owner).await;
    }
);
