//! The tamper-evident audit trail (SOX): every audited action joins its organization's hash
//! chain (appended with the action, chained in batches right after), in order even when
//! requests arrive together; the table refuses updates and deletes, of records waiting for
//! their places as of chained ones; and a record changed, deleted, moved, or cut off the end behind the database's
//! back is found by `GET /v1/org/audit-events/verify`, by the service, and by
//! `lanerunner audit verify`, anchors catching a chain rewritten from some record on.

use std::sync::Arc;

use lanerunner::both_backends;
use lanerunner::testing::{expect_problem, json_of, Account, TestApp, TEST_PASSWORD};
use lanerunner_platform::{on_db, on_tx, Db};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Barrier;
use uuid::Uuid;

/// `n` wrong-password sign-ins for `who`, released together: each is audited.
async fn failed_logins_at_once(app: &TestApp, email: &str, n: usize) {
    let barrier = Arc::new(Barrier::new(n));
    let body = json!({ "email": email, "password": "not the password at all" });
    let attempts = (0..n).map(|_| {
        let (barrier, body) = (barrier.clone(), body.clone());
        async move {
            barrier.wait().await;
            app.post_json("/v1/auth/login", &body, None).await.status()
        }
    });
    for status in futures::future::join_all(attempts).await {
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

/// The organization's records in chain order, once every record waiting is chained.
async fn chain(app: &TestApp, who: &Account) -> Vec<Value> {
    app.app().identity().unwrap().chain_audit().await.unwrap();
    let page = json_of(
        app.get("/v1/org/audit-events?limit=200", Some(&who.access))
            .await,
        StatusCode::OK,
    )
    .await;
    let mut items = page["items"].as_array().unwrap().clone();
    items.sort_by_key(|r| r["chain_seq"].as_i64());
    items
}

async fn verify(app: &TestApp, who: &Account) -> Value {
    json_of(
        app.get("/v1/org/audit-events/verify", Some(&who.access))
            .await,
        StatusCode::OK,
    )
    .await
}

fn breaks(report: &Value) -> Vec<(i64, String)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["seq"].as_i64().unwrap(),
                p["break"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn exec(db: &Db, sql: &str) -> Result<u64, sqlx::Error> {
    on_db!(db, |p| sqlx::query(sql)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
}

/// Lets the test do what an intruder with the database's password could: the triggers
/// that keep the trail append-only are turned off.
async fn drop_guards(db: &Db) {
    let sql: &[&str] = match db {
        Db::Postgres(_) => &[
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
            "ALTER TABLE audit_links DISABLE TRIGGER audit_links_append_only",
        ],
        Db::Sqlite(_) => &[
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
            "DROP TRIGGER audit_links_no_update",
            "DROP TRIGGER audit_links_no_delete",
        ],
    };
    for s in sql {
        exec(db, s).await.unwrap();
    }
}

/// Runs `change` (on the record `$1`) against a record appended in the same transaction,
/// and its link when `linked`, then rolls back: what the guards made of it.
async fn change_record(db: &Db, linked: bool, change: &str) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await.unwrap();
    let id = Uuid::now_v7();
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO audit_events (id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at, addr_salt, addr_digest) \
         VALUES ($1, NULL, NULL, 'login', 'failure', NULL, '192.0.2.7', $2, $3, 'salt', 'digest')")
        .bind(id)
        .bind(sqlx::types::Json(json!({"n": 1})))
        .bind(chrono::Utc::now())
        .execute(c)
        .await
        .map(|_| ()))
    .unwrap();
    if linked {
        on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO audit_links (record_id, chain_id, seq, prev_hash, hash) VALUES ($1, $2, 1000000, 'p', 'h')")
            .bind(id)
            .bind(Uuid::now_v7())
            .execute(c)
            .await
            .map(|_| ()))
        .unwrap();
    }
    on_tx!(&mut tx, |c| sqlx::query(change)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

fn org_of(who: &Account) -> Uuid {
    who.org_id.parse().unwrap()
}

both_backends! {
    /// Records join their chain in order, each once, even when they arrive together;
    /// an untouched chain verifies; the table refuses updates and deletes.
    async fn every_audited_action_joins_its_organizations_chain(app: TestApp) {
        let owner = app.signup("owner@chain.example", "broker").await;
        failed_logins_at_once(&app, "owner@chain.example", 4).await;
        // A sign-in with an email nobody has joins the chain of no organization.
        let stranger = json!({ "email": "nobody@chain.example", "password": TEST_PASSWORD });
        assert_eq!(app.post_json("/v1/auth/login", &stranger, None).await.status(), 401);

        let records = chain(&app, &owner).await;
        assert!(records.len() >= 5, "{records:?}");
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r["chain_seq"], i as i64 + 1, "{r}");
            let prev = if i == 0 { "0".repeat(64) } else { records[i - 1]["hash"].as_str().unwrap().to_owned() };
            assert_eq!(r["prev_hash"], prev.as_str());
        }
        let report = verify(&app, &owner).await;
        assert_eq!(report["intact"], true, "{report}");
        assert_eq!(report["records"], records.len());
        assert_eq!(report["head_hash"], records.last().unwrap()["hash"]);

        let identity = app.app().identity().unwrap();
        let all = identity.verify_audit(None).await.unwrap();
        assert!(all.iter().any(|c| c.chain_id == Uuid::nil() && c.records >= 1));
        assert!(all.iter().all(|c| c.intact), "{all:?}");

        // A record kept before there were chains (written without its place) is chained
        // after the others, and the chain still verifies.
        let db = app.app().db("identity").unwrap();
        let legacy = Uuid::now_v7();
        on_db!(&db, |p| sqlx::query(
            "INSERT INTO audit_events (id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at) \
             VALUES ($1, $2, NULL, 'login', 'failure', NULL, '192.0.2.1', $3, $4)")
            .bind(legacy)
            .bind(org_of(&owner))
            .bind(sqlx::types::Json(json!({"reason": "from before the chains", "n": 1.5})))
            .bind(chrono::Utc::now())
            .execute(p)
            .await
            .map(|_| ()))
        .unwrap();
        identity.chain_audit().await.unwrap();
        let records = chain(&app, &owner).await;
        assert_eq!(records.last().unwrap()["id"], legacy.to_string());
        assert_eq!(verify(&app, &owner).await["intact"], true);

        // Append-only.
        let refused = exec(&db, "UPDATE audit_events SET client_addr = '10.0.0.1'").await.unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
        let refused = exec(&db, "DELETE FROM audit_events").await.unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
        assert_eq!(chain(&app, &owner).await.len(), records.len());

        // Only an organization's admins see its chain.
        let member = app.invite_and_join(&owner, "member@chain.example", "dispatcher").await;
        expect_problem(app.get("/v1/org/audit-events/verify", Some(&member.access)).await, 403, "forbidden").await;
    }

    /// Passes of the chainer running at the same instant (instances sharing a database)
    /// each chain what the others did not: every waiting record once, the chain unbroken.
    async fn chainer_passes_released_together_chain_each_record_once(app: TestApp) {
        let owner = app.signup("owner@race.example", "broker").await;
        let db = app.app().db("identity").unwrap();
        for n in 0..300 {
            on_db!(&db, |p| sqlx::query(
                "INSERT INTO audit_events (id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at) \
                 VALUES ($1, $2, NULL, 'login', 'failure', NULL, '192.0.2.9', $3, $4)")
                .bind(Uuid::now_v7())
                .bind(org_of(&owner))
                .bind(sqlx::types::Json(json!({ "n": n })))
                .bind(chrono::Utc::now())
                .execute(p)
                .await
                .map(|_| ()))
            .unwrap();
        }
        let identity = app.app().identity().unwrap();
        let barrier = Arc::new(Barrier::new(4));
        let passes = (0..4).map(|_| {
            let (identity, barrier) = (identity.clone(), barrier.clone());
            async move {
                barrier.wait().await;
                identity.chain_audit().await.unwrap().records
            }
        });
        let chained: usize = futures::future::join_all(passes).await.into_iter().sum();
        let waiting: i64 = on_db!(&db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events e LEFT JOIN audit_links l ON l.record_id = e.id WHERE l.record_id IS NULL")
            .fetch_one(p)
            .await)
        .unwrap();
        assert_eq!(waiting, 0);
        let report = verify(&app, &owner).await;
        assert_eq!(report["intact"], true, "{report}");
        let records = report["records"].as_u64().unwrap() as usize;
        assert!(records > 300, "{report}");
        // None chained twice (the service's own chainer may have taken some first).
        assert!(chained <= records, "{chained} of {records}");
    }

    /// A record, waiting for its link or linked, accepts the erasure of its address and
    /// nothing else: not a change to what it says, to its address or its digest, not its
    /// deletion. A link accepts no change at all.
    async fn records_and_their_links_are_append_only(app: TestApp) {
        let db = app.app().db("identity").unwrap();
        for linked in [false, true] {
            let erasure = "UPDATE audit_events SET client_addr = '', addr_salt = NULL, addr_erased_at = CURRENT_TIMESTAMP WHERE id = $1";
            assert_eq!(change_record(&db, linked, erasure).await.unwrap(), 1, "linked {linked}");
            for refused in [
                "UPDATE audit_events SET detail = '{\"n\": 2}' WHERE id = $1",
                "UPDATE audit_events SET action = 'role_changed' WHERE id = $1",
                "UPDATE audit_events SET client_addr = '10.0.0.1' WHERE id = $1",
                "UPDATE audit_events SET client_addr = '', addr_salt = NULL, addr_erased_at = CURRENT_TIMESTAMP, addr_digest = 'other' WHERE id = $1",
                "DELETE FROM audit_events WHERE id = $1",
            ] {
                let e = change_record(&db, linked, refused).await.unwrap_err();
                assert!(e.to_string().contains("append-only"), "linked {linked}, {refused}: {e}");
            }
        }
        for refused in [
            "UPDATE audit_links SET hash = 'other' WHERE record_id = $1",
            "UPDATE audit_links SET seq = 7 WHERE record_id = $1",
            "DELETE FROM audit_links WHERE record_id = $1",
        ] {
            let e = change_record(&db, true, refused).await.unwrap_err();
            assert!(e.to_string().contains("append-only"), "{refused}: {e}");
        }
    }

    /// The access controls report: the period's changes to access (a role, an API key, a
    /// deactivation, the allowlist), named, with their places in the verified chain, and
    /// not the sign-ins; another organization's changes never; bad periods and a dispatcher
    /// refused.
    async fn the_access_report_lists_changes_to_access_with_the_chain_checked(app: TestApp) {
        let owner = app.signup("owner@access-report.example", "broker").await;
        let member = app.invite_and_join(&owner, "member@access-report.example", "dispatcher").await;
        let other = app.signup("owner@elsewhere.example", "broker").await;
        failed_logins_at_once(&app, "owner@access-report.example", 2).await;
        let patch = |path: String, body: Value, who: &Account| {
            let (app, token) = (&app, who.access.clone());
            async move { json_of(app.patch_json(&path, &body, Some(&token)).await, StatusCode::OK).await }
        };
        patch(format!("/v1/org/users/{}", member.user_id), json!({"role": "admin"}), &owner).await;
        patch("/v1/org".into(), json!({"ip_allowlist": ["127.0.0.0/8", "::1/128"]}), &owner).await;
        let key = json_of(
            app.post_json("/v1/org/api-keys", &json!({"name": "TMS sync", "scopes": ["identity:read"]}), Some(&owner.access)).await,
            StatusCode::CREATED,
        )
        .await;
        patch(format!("/v1/org/users/{}", member.user_id), json!({"active": false}), &owner).await;
        patch("/v1/org".into(), json!({"ip_allowlist": ["127.0.0.0/8"]}), &other).await;

        let today = chrono::Utc::now().date_naive();
        let query = format!("/v1/org/audit-events/access-report?from={}&to={today}", today - chrono::Duration::days(1));
        let res = app.get(&query, Some(&owner.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["audit-chain"], "intact");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let body = res.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let rows: Vec<std::collections::HashMap<String, String>> = reader.deserialize().map(Result::unwrap).collect();
        let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str()).collect();
        for expected in ["signup", "invitation_created", "invitation_accepted", "role_changed", "org_ip_allowlist_changed", "api_key_created", "user_deactivated"] {
            assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
        }
        assert!(!actions.contains(&"login"), "sign-ins are not access changes: {actions:?}");
        let role = rows.iter().find(|r| r["action"] == "role_changed").unwrap();
        assert_eq!(role["actor"], "owner@access-report.example");
        assert_eq!(role["target"], "member@access-report.example");
        assert!(role["detail"].contains("\"to\":\"admin\""), "{role:?}");
        assert!(!role["hash"].is_empty() && role["chain_seq"].parse::<i64>().unwrap() > 0, "{role:?}");
        let keyed = rows.iter().find(|r| r["action"] == "api_key_created").unwrap();
        assert_eq!(keyed["target_id"], key["key"]["id"].as_str().unwrap());
        assert!(rows.iter().all(|r| r["actor_id"] != other.user_id), "another organization's changes are not in it");
        // Oldest first.
        let times: Vec<&str> = rows.iter().map(|r| r["occurred_at"].as_str()).collect();
        assert!(times.windows(2).all(|w| chrono::DateTime::parse_from_rfc3339(w[0]).unwrap() <= chrono::DateTime::parse_from_rfc3339(w[1]).unwrap()));

        // A period before anything happened is the header alone.
        let empty = app.get("/v1/org/audit-events/access-report?from=2020-01-01&to=2020-01-31", Some(&owner.access)).await;
        assert_eq!(empty.text().await.unwrap().lines().count(), 1);
        for (bad, field) in [("from=2026-13-01&to=2026-12-31", "from"), ("from=2026-12-02&to=2026-12-01", "to"), ("from=2024-01-01&to=2026-12-31", "to")] {
            let res = app.get(&format!("/v1/org/audit-events/access-report?{bad}"), Some(&owner.access)).await;
            let problem = expect_problem(res, 422, "validation").await;
            assert_eq!(problem["errors"][0]["field"], field, "{bad}: {problem}");
        }
        // A period not given at all is refused as a malformed query, with problem+json too.
        let res = app.get("/v1/org/audit-events/access-report?to=2026-12-01", Some(&owner.access)).await;
        let status = res.status().as_u16();
        assert!(status == 400 || status == 422, "{status}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let dispatcher = app.invite_and_join(&owner, "dispatcher@access-report.example", "dispatcher").await;
        expect_problem(app.get(&query, Some(&dispatcher.access)).await, 403, "forbidden").await;
    }

    /// Behind the database's back: a changed record, a deleted one, two swapped, and a
    /// chain cut short with its head rewritten to match are each found where they are;
    /// an untouched organization's chain stays intact.
    async fn tampering_behind_the_databases_back_is_found(app: TestApp) {
        let mut orgs = Vec::new();
        for name in ["altered", "deleted", "swapped", "truncated", "untouched"] {
            let owner = app.signup(&format!("owner@{name}.example"), "broker").await;
            failed_logins_at_once(&app, &format!("owner@{name}.example"), 4).await;
            orgs.push(owner);
        }
        let identity = app.app().identity().unwrap();
        let anchored = identity.anchor_audit().await.unwrap();
        assert!(anchored.len() >= orgs.len());
        // Nothing moved since: nothing new to anchor.
        assert!(identity.anchor_audit().await.unwrap().is_empty());

        let db = app.app().db("identity").unwrap();
        drop_guards(&db).await;
        let [altered, deleted, swapped, truncated, untouched] = &orgs[..] else { unreachable!() };
        // Each statement changes one row of the organization's chain ($1).
        let run = |org: &Account, sql: String| {
            let (db, chain) = (db.clone(), org_of(org));
            async move {
                let changed = on_db!(&db, |p| sqlx::query(&sql).bind(chain).execute(p).await.map(|r| r.rows_affected())).unwrap();
                assert_eq!(changed, 1, "{sql}");
            }
        };
        // The link at a place of the chain, and the record it links.
        let at = |seq: i64| format!("chain_id = $1 AND seq = {seq}");
        let record_at = |seq: i64| format!("id = (SELECT record_id FROM audit_links WHERE {})", at(seq));
        run(altered, format!("UPDATE audit_events SET client_addr = '203.0.113.9' WHERE {}", record_at(2))).await;
        run(deleted, format!("DELETE FROM audit_events WHERE {}", record_at(3))).await;
        run(deleted, format!("DELETE FROM audit_links WHERE {}", at(3))).await;
        run(swapped, format!("UPDATE audit_links SET seq = 100 WHERE {}", at(2))).await;
        run(swapped, format!("UPDATE audit_links SET seq = 2 WHERE {}", at(3))).await;
        run(swapped, format!("UPDATE audit_links SET seq = 3 WHERE {}", at(100))).await;
        // Cut the newest record off and make the head say the chain ends before it.
        let records = chain(&app, truncated).await;
        let n = records.len() as i64;
        let before_last = records[records.len() - 2]["hash"].as_str().unwrap().to_owned();
        run(truncated, format!("DELETE FROM audit_events WHERE {}", record_at(n))).await;
        run(truncated, format!("DELETE FROM audit_links WHERE {}", at(n))).await;
        run(truncated, format!("UPDATE audit_chains SET seq = {}, hash = '{before_last}' WHERE chain_id = $1", n - 1)).await;

        assert_eq!(breaks(&verify(&app, altered).await), [(2, "altered".to_owned())]);
        assert_eq!(breaks(&verify(&app, deleted).await), [(4, "missing".to_owned()), (4, "unlinked".to_owned())]);
        let found = breaks(&verify(&app, swapped).await);
        assert!(found.contains(&(2, "unlinked".to_owned())) && found.contains(&(2, "altered".to_owned())), "{found:?}");
        assert_eq!(breaks(&verify(&app, truncated).await), [(n, "anchor_mismatch".to_owned())]);
        assert_eq!(verify(&app, untouched).await["intact"], true);

        // The command line says so too, and fails.
        if let Db::Sqlite(_) = db {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_lanerunner"))
                .args(["audit", "verify", "--data-dir"])
                .arg(&app.app().config().data_dir)
                .env_remove("LANERUNNER_CONFIG")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(!out.status.success(), "{stdout}");
            let broken = stdout.lines().filter(|l| l.contains("\"intact\":false")).count();
            assert_eq!(broken, 4, "{stdout}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("4 audit chain(s) broken"));
            let one = std::process::Command::new(env!("CARGO_BIN_EXE_lanerunner"))
                .args(["audit", "verify", "--org", &untouched.org_id, "--data-dir"])
                .arg(&app.app().config().data_dir)
                .env_remove("LANERUNNER_CONFIG")
                .output()
                .unwrap();
            assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
        }
    }
}

/// A failed sign-in sent with `X-Forwarded-For: forwarded`; the address its audit record
/// holds.
async fn recorded_addr(app: &TestApp, owner: &Account, email: &str, forwarded: &str) -> String {
    let body = json!({ "email": email, "password": "not the password at all" });
    let request = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("x-forwarded-for", forwarded)
        .json(&body);
    assert_eq!(app.send(request, None).await.status(), 401);
    let records = chain(app, owner).await;
    records.last().unwrap()["client_addr"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Behind a trusted proxy the client is the rightmost forwarded address that is not a
/// proxy; from any other peer the header changes nothing (a client cannot pick the address
/// its audit records and throttling buckets carry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_behind_a_trusted_proxy_is_recorded_and_spoofing_is_not() {
    let behind = TestApp::spawn_with(lanerunner::testing::Backend::Sqlite, |c| {
        c.http.trusted_proxies = vec!["127.0.0.1".into(), "10.0.0.0/8".into()];
    })
    .await;
    let owner = behind.signup("owner@proxied.example", "broker").await;
    let seen = recorded_addr(
        &behind,
        &owner,
        "owner@proxied.example",
        "1.2.3.4, 198.51.100.23, 10.0.0.7",
    )
    .await;
    assert_eq!(seen, "198.51.100.23");

    let direct = TestApp::spawn(lanerunner::testing::Backend::Sqlite).await;
    let owner = direct.signup("owner@direct.example", "broker").await;
    let seen = recorded_addr(&direct, &owner, "owner@direct.example", "198.51.100.23").await;
    assert_eq!(seen, "127.0.0.1");
}
