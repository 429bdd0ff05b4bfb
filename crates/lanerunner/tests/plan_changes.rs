//! Plan changes under dual control (SOX separation of duties): a plan is the only way past
//! an organization's limits, so one operator asks and another decides. Each operator gives
//! a code from their own authenticator, so the two names are two people. The one who asked
//! cannot approve; a request is decided once, even when two approvals arrive together;
//! one waits per organization; a stale one expires; every step is in the organization's
//! audit trail with both names; and `lanerunner org plan` and `lanerunner operator` do the
//! same at the command line.

use std::sync::Arc;

use lanerunner::both_backends;
use lanerunner::testing::{json_of, Account, Operators, TestApp};
use lanerunner_core::OrgId;
use lanerunner_identity::domain::TotpSecret;
use lanerunner_identity::{IdentityError, IdentityService};
use lanerunner_platform::on_db;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::Barrier;

fn org_of(who: &Account) -> OrgId {
    OrgId(who.org_id.parse().unwrap())
}

fn identity(app: &TestApp) -> Arc<IdentityService> {
    app.app().identity().unwrap()
}

const ANY_PLAN: &dyn Fn(&str) -> bool = &|_| true;

/// The organization's audit records of `action`.
async fn audited(app: &TestApp, who: &Account, action: &str) -> Vec<Value> {
    let page = json_of(
        app.get("/v1/org/audit-events?limit=200", Some(&who.access))
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == action)
        .cloned()
        .collect()
}

async fn plan_of(app: &TestApp, who: &Account) -> Value {
    json_of(app.get("/v1/org", Some(&who.access)).await, StatusCode::OK).await["plan"].clone()
}

both_backends! {
    /// Asked by one, approved by another: only then is the organization on the plan.
    async fn a_plan_change_takes_two_operators(app: TestApp) {
        let owner = app.signup("owner@dual.example", "broker").await;
        let org = org_of(&owner);
        let ops = identity(&app);
        let mut apps = Operators::enrolled(&ops, &["alice", "bob", "carol"]).await;

        let code = apps.code("alice").await;
        let asked = ops.request_plan_change(org, Some("trial"), " alice ", &code, "pilot for Q1").await.unwrap();
        assert_eq!((asked.requested_by.as_str(), asked.plan.as_deref()), ("alice", Some("trial")));
        assert_eq!(plan_of(&app, &owner).await, Value::Null, "nothing changes on a request");
        // A code is accepted once: the same code again is refused, whoever gives it.
        for name in ["alice", "bob"] {
            let replayed = ops.reject_plan_change(asked.id, name, &code, "again").await.unwrap_err();
            assert!(matches!(replayed, IdentityError::Forbidden(m) if m.contains("current code")), "{replayed:?}");
        }
        // One request waits per organization.
        let c = apps.code("carol").await;
        let again = ops.request_plan_change(org, None, "carol", &c, "back to default").await.unwrap_err();
        assert!(matches!(again, IdentityError::Conflict("plan-change-pending", _)), "{again:?}");
        // The one who asked cannot approve, whatever the case of their name (a refused
        // step leaves the code unused: alice uses it below).
        let alices = apps.code("alice").await;
        let own = ops.approve_plan_change(asked.id, "ALICE", &alices, ANY_PLAN).await.unwrap_err();
        assert!(matches!(own, IdentityError::Forbidden(m) if m.contains("separation of duties")), "{own:?}");
        // Nor approve as someone else: a name is only as good as its owner's code.
        let c = alices.clone();
        let posing = ops.approve_plan_change(asked.id, "bob", &c, ANY_PLAN).await.unwrap_err();
        assert!(matches!(posing, IdentityError::Forbidden(m) if m.contains("current code")), "{posing:?}");
        // A plan no longer configured is not carried out.
        let c = apps.code("bob").await;
        let gone = ops.approve_plan_change(asked.id, "bob", &c, &|_| false).await.unwrap_err();
        assert!(matches!(gone, IdentityError::Conflict("plan-not-configured", _)), "{gone:?}");

        let (approved, org_row) = ops.approve_plan_change(asked.id, "bob", &c, ANY_PLAN).await.unwrap();
        assert_eq!(org_row.plan.as_deref(), Some("trial"));
        assert_eq!(approved.decided_by.as_deref(), Some("bob"));
        assert_eq!(approved.plan_before, None);
        assert_eq!(plan_of(&app, &owner).await, "trial");
        let c = apps.code("carol").await;
        let twice = ops.approve_plan_change(asked.id, "carol", &c, ANY_PLAN).await.unwrap_err();
        assert!(matches!(twice, IdentityError::Conflict("plan-change-decided", _)), "{twice:?}");

        // Withdrawn by the one who asked: a rejection with a reason; nothing changes.
        let back = ops.request_plan_change(org, None, "alice", &alices, "pilot over").await.unwrap();
        let c = apps.code("alice").await;
        let no_reason = ops.reject_plan_change(back.id, "alice", &c, "  ").await.unwrap_err();
        assert!(matches!(&no_reason, IdentityError::Invalid(f) if f[0].0 == "reason"), "{no_reason:?}");
        let withdrawn = ops.reject_plan_change(back.id, "alice", &c, "asked too early").await.unwrap();
        assert_eq!(withdrawn.status.as_str(), "rejected");
        assert_eq!(plan_of(&app, &owner).await, "trial");

        // Everything is kept, and audited with both names.
        let all = ops.plan_changes(Some(org), false).await.unwrap();
        assert_eq!(all.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(), ["rejected", "approved"]);
        assert!(ops.plan_changes(Some(org), true).await.unwrap().is_empty());
        let changed = audited(&app, &owner, "plan_changed").await;
        assert_eq!(changed.len(), 1, "{changed:?}");
        let d = &changed[0]["detail"];
        assert_eq!((d["requested_by"].as_str(), d["approved_by"].as_str(), d["to"].as_str()), (Some("alice"), Some("bob"), Some("trial")));
        assert_eq!(audited(&app, &owner, "plan_change_requested").await.len(), 2);
        assert_eq!(audited(&app, &owner, "plan_change_rejected").await[0]["detail"]["reason"], "asked too early");
    }

    /// Operators: the first enrols alone, later ones are vouched for by an enrolled
    /// operator's code; a name is taken whatever its case, and stays taken; a retired
    /// operator's codes are refused, and the last one serving cannot retire; the secrets
    /// are sealed at rest.
    async fn operators_are_vouched_for_and_retired(app: TestApp) {
        let owner = app.signup("owner@operators.example", "broker").await;
        let ops = identity(&app);
        let mut apps = Operators::enrolled(&ops, &["alice"]).await;
        let Err(e) = ops.enroll_operator("mallory", None).await else { panic!("enrolled") };
        assert!(matches!(e, IdentityError::Forbidden(m) if m.contains("vouches")), "{e:?}");
        let Err(e) = ops.enroll_operator("mallory", Some(("olga", "000000"))).await else { panic!("enrolled") };
        assert!(matches!(e, IdentityError::Forbidden(m) if m.contains("current code")), "{e:?}");
        let Err(e) = ops.enroll_operator(" ", None).await else { panic!("enrolled") };
        assert!(matches!(&e, IdentityError::Invalid(f) if f[0].0 == "name"), "{e:?}");
        let c = apps.code("olga").await;
        let Err(e) = ops.enroll_operator(" ALICE ", Some(("olga", &c))).await else { panic!("enrolled") };
        assert!(matches!(e, IdentityError::Conflict("operator-exists", _)), "{e:?}");

        // Retired (vouched for with olga's code, which that failed enrolment left unused).
        ops.retire_operator("alice", "olga", &c).await.unwrap();
        let code = apps.code("alice").await;
        let e = ops.request_plan_change(org_of(&owner), Some("trial"), "alice", &code, "r").await.unwrap_err();
        assert!(matches!(e, IdentityError::Forbidden(m) if m.contains("current code")), "{e:?}");
        // The last serving operator cannot retire (enrolment would be closed to everyone).
        let c = apps.code("olga").await;
        let last = ops.retire_operator("olga", "olga", &c).await.unwrap_err();
        assert!(matches!(last, IdentityError::Conflict("last-operator", _)), "{last:?}");
        let listed = ops.operators().await.unwrap();
        let seen: Vec<(&str, bool)> = listed.iter().map(|o| (o.name.as_str(), o.retired_at.is_some())).collect();
        assert_eq!(seen, [("alice", true), ("olga", false)]);

        // Sealed: the store holds neither secret.
        let db = app.app().db("identity").unwrap();
        let stored: Vec<String> = on_db!(&db, |p| sqlx::query_scalar("SELECT totp_secret FROM operators")
            .fetch_all(p)
            .await)
        .unwrap();
        assert_eq!(stored.len(), 2);
        for name in ["olga", "alice"] {
            let secret = apps.secret_of(name);
            assert!(stored.iter().all(|s| !s.contains(&secret)), "{name}'s secret readable: {stored:?}");
        }
    }

    /// Bad input: no name or reason, an unknown organization or request.
    async fn bad_plan_change_requests_are_refused_and_change_nothing(app: TestApp) {
        let owner = app.signup("owner@bad-plan.example", "broker").await;
        let ops = identity(&app);
        let mut apps = Operators::enrolled(&ops, &["alice", "bob"]).await;
        let e = ops.request_plan_change(org_of(&owner), Some("trial"), " ", "123456", "").await.unwrap_err();
        let IdentityError::Invalid(fields) = e else { panic!("{e:?}") };
        assert_eq!(fields.iter().map(|f| f.0).collect::<Vec<_>>(), ["by", "reason"]);
        let long = "x".repeat(101);
        assert!(matches!(ops.request_plan_change(org_of(&owner), None, &long, "123456", "r").await, Err(IdentityError::Invalid(_))));
        // No code, a malformed one, a wrong one, or an operator never enrolled: refused alike.
        let right = apps.code("alice").await;
        let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
        for (by, code) in [("alice", ""), ("alice", "12ab56"), ("alice", wrong.as_str()), ("mallory", right.as_str())] {
            let e = ops.request_plan_change(org_of(&owner), Some("trial"), by, code, "r").await.unwrap_err();
            assert!(matches!(e, IdentityError::Forbidden(m) if m.contains("current code")), "{by} {code}: {e:?}");
        }
        let e = ops.request_plan_change(OrgId::new(), Some("trial"), "alice", &right, "r").await.unwrap_err();
        assert!(matches!(e, IdentityError::NotFound("organization")), "{e:?}");
        let c = apps.code("bob").await;
        let e = ops.approve_plan_change(lanerunner_core::PlanChangeId::new(), "bob", &c, ANY_PLAN).await.unwrap_err();
        assert!(matches!(e, IdentityError::NotFound("plan change")), "{e:?}");
        assert!(ops.plan_changes(Some(org_of(&owner)), false).await.unwrap().is_empty());
        assert_eq!(plan_of(&app, &owner).await, Value::Null);
    }

    /// Two operators approving the same request at the same instant: it is carried out
    /// once, the other told it was decided.
    async fn two_approvals_released_together_carry_the_change_out_once(app: TestApp) {
        let owner = app.signup("owner@race-plan.example", "broker").await;
        let ops = identity(&app);
        let mut apps = Operators::enrolled(&ops, &["alice", "bob", "carol"]).await;
        let c = apps.code("alice").await;
        let asked = ops.request_plan_change(org_of(&owner), Some("trial"), "alice", &c, "pilot").await.unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let codes = [apps.code("bob").await, apps.code("carol").await];
        let approvals = ["bob", "carol"].into_iter().zip(codes).map(|(who, code)| {
            let (ops, barrier) = (ops.clone(), barrier.clone());
            async move {
                barrier.wait().await;
                ops.approve_plan_change(asked.id, who, &code, ANY_PLAN).await
            }
        });
        let results = futures::future::join_all(approvals).await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
        assert!(results.iter().any(|r| matches!(r, Err(IdentityError::Conflict("plan-change-decided", _)))), "{results:?}");
        assert_eq!(audited(&app, &owner, "plan_changed").await.len(), 1);
    }

    /// A request undecided for more than 7 days cannot be approved; the next request
    /// closes it as expired.
    async fn a_stale_plan_change_expires(app: TestApp) {
        let owner = app.signup("owner@stale-plan.example", "broker").await;
        let ops = identity(&app);
        let mut apps = Operators::enrolled(&ops, &["alice", "bob"]).await;
        let c = apps.code("alice").await;
        let asked = ops.request_plan_change(org_of(&owner), Some("trial"), "alice", &c, "pilot").await.unwrap();
        let db = app.app().db("identity").unwrap();
        on_db!(&db, |p| sqlx::query("UPDATE plan_changes SET requested_at = $2 WHERE id = $1")
            .bind(asked.id)
            .bind(chrono::Utc::now() - chrono::Duration::days(8))
            .execute(p)
            .await
            .map(|_| ()))
        .unwrap();
        let c = apps.code("bob").await;
        let e = ops.approve_plan_change(asked.id, "bob", &c, ANY_PLAN).await.unwrap_err();
        assert!(matches!(e, IdentityError::Conflict("plan-change-expired", _)), "{e:?}");
        let c = apps.code("alice").await;
        let next = ops.request_plan_change(org_of(&owner), Some("trial"), "alice", &c, "pilot, again").await.unwrap();
        let all = ops.plan_changes(Some(org_of(&owner)), false).await.unwrap();
        assert_eq!(all.iter().map(|r| (r.id, r.status.as_str())).collect::<Vec<_>>(), [(next.id, "pending"), (asked.id, "expired")]);
    }
}

/// The command line: `lanerunner operator enroll|list|retire` and `lanerunner org plan
/// request|approve|list` on the deployment's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_change_a_plan_at_the_command_line() {
    let app = TestApp::spawn(lanerunner::testing::Backend::Sqlite).await;
    let owner = app.signup("owner@cli-plan.example", "broker").await;
    let dir = app.app().config().data_dir.clone();
    let config = dir.join("plans.toml");
    std::fs::write(
        &config,
        "[http.plans.trial]\nper_minute = 1000\ndaily_quota = 6\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lanerunner"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("LANERUNNER_CONFIG")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The code of an enrolment's authenticator `ahead` steps from now (a code is accepted
    // once: an operator's second use within a step takes the next step's).
    let code_of = |enrolled: &str, ahead: i64| {
        let v: Value = serde_json::from_str(enrolled.trim()).unwrap();
        let secret = TotpSecret::from_base32(v["secret"].as_str().unwrap()).unwrap();
        secret.code_at(chrono::Utc::now().timestamp().div_euclid(30) + ahead)
    };
    let org = owner.org_id.as_str();
    let request = |by: &str, code: &str| {
        let args = [
            "org", "plan", "request", "--org", org, "--plan", "trial", "--by", by,
        ];
        run(&[&args[..], &["--code", code, "--reason", "pilot"]].concat())
    };

    let (ok, alice, err) = run(&["operator", "enroll", "--name", "alice"]);
    assert!(ok, "the first operator enrols alone: {err}");
    let (ok, _, err) = run(&["operator", "enroll", "--name", "bob"]);
    assert!(!ok && err.contains("vouches"), "{err}");
    let vouch = code_of(&alice, 0);
    let (ok, bob, err) = run(&[
        "operator", "enroll", "--name", "bob", "--by", "alice", "--code", &vouch,
    ]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["operator", "list"]);
    assert!(
        ok && out.contains("\"alice\"") && out.contains("\"bob\""),
        "{out}"
    );
    assert!(!out.contains("secret"), "never a secret: {out}");

    let gold = [
        "org", "plan", "request", "--org", org, "--plan", "gold", "--by", "alice", "--code",
        "000000", "--reason", "r",
    ];
    let (ok, _, err) = run(&gold);
    assert!(!ok && err.contains("no plan \"gold\""), "{err}");
    let (ok, _, err) = run(&[
        "org", "plan", "request", "--org", org, "--plan", "trial", "--by", "alice", "--reason", "r",
    ]);
    assert!(!ok && err.contains("--code"), "a code is required: {err}");
    let (ok, _, err) = request("alice", &vouch);
    assert!(
        !ok && err.contains("current code"),
        "the code that vouched is used: {err}"
    );
    let (ok, out, err) = request("alice", &code_of(&alice, 1));
    assert!(ok, "{err}");
    let asked: Value = serde_json::from_str(out.trim()).unwrap();
    let id = asked["id"].as_str().unwrap().to_owned();
    let (ok, out, _) = run(&["org", "plan", "list"]);
    assert!(ok && out.contains(&id), "{out}");
    let approve = |code: &str| {
        let by_bob = ["org", "plan", "approve", "--request", &id, "--by", "bob"];
        run(&[&by_bob[..], &["--code", code]].concat())
    };
    let (ok, _, err) = approve("123456");
    assert!(!ok && err.contains("current code"), "{err}");
    let (ok, out, err) = approve(&code_of(&bob, 0));
    assert!(ok, "{err}");
    let done: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(done["plan"], "trial");
    assert_eq!(done["request"]["decided_by"], "bob");
    assert_eq!(plan_of(&app, &owner).await, "trial");

    // bob retires himself with his next code (what retirement refuses: the test above).
    let (ok, _, err) = run(&[
        "operator",
        "retire",
        "--name",
        "bob",
        "--by",
        "bob",
        "--code",
        &code_of(&bob, 1),
    ]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["operator", "list"]);
    let bob_line = out
        .lines()
        .find(|l| l.contains("\"bob\""))
        .unwrap_or_default();
    assert!(ok && !bob_line.contains("\"retired_at\":null"), "{out}");
}
