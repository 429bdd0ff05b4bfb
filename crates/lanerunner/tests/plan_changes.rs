//! Plan changes under dual control (SOX separation of duties): a plan is the only way past
//! an organization's limits, so one operator asks and another decides. The one who asked
//! cannot approve; a request is decided once, even when two approvals arrive together;
//! one waits per organization; a stale one expires; every step is in the organization's
//! audit trail with both names; and `lanerunner org plan` does the same at the command line.

use std::sync::Arc;

use lanerunner::both_backends;
use lanerunner::testing::{json_of, Account, TestApp};
use lanerunner_core::OrgId;
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

        let asked = ops.request_plan_change(org, Some("trial"), " alice ", "pilot for Q1").await.unwrap();
        assert_eq!((asked.requested_by.as_str(), asked.plan.as_deref()), ("alice", Some("trial")));
        assert_eq!(plan_of(&app, &owner).await, Value::Null, "nothing changes on a request");
        // One request waits per organization.
        let again = ops.request_plan_change(org, None, "carol", "back to default").await.unwrap_err();
        assert!(matches!(again, IdentityError::Conflict("plan-change-pending", _)), "{again:?}");
        // The one who asked cannot approve, whatever the case of their name.
        let own = ops.approve_plan_change(asked.id, "ALICE", ANY_PLAN).await.unwrap_err();
        assert!(matches!(own, IdentityError::Forbidden(m) if m.contains("separation of duties")), "{own:?}");
        // A plan no longer configured is not carried out.
        let gone = ops.approve_plan_change(asked.id, "bob", &|_| false).await.unwrap_err();
        assert!(matches!(gone, IdentityError::Conflict("plan-not-configured", _)), "{gone:?}");

        let (approved, org_row) = ops.approve_plan_change(asked.id, "bob", ANY_PLAN).await.unwrap();
        assert_eq!(org_row.plan.as_deref(), Some("trial"));
        assert_eq!(approved.decided_by.as_deref(), Some("bob"));
        assert_eq!(approved.plan_before, None);
        assert_eq!(plan_of(&app, &owner).await, "trial");
        let twice = ops.approve_plan_change(asked.id, "carol", ANY_PLAN).await.unwrap_err();
        assert!(matches!(twice, IdentityError::Conflict("plan-change-decided", _)), "{twice:?}");

        // Withdrawn by the one who asked: a rejection with a reason; nothing changes.
        let back = ops.request_plan_change(org, None, "alice", "pilot over").await.unwrap();
        let no_reason = ops.reject_plan_change(back.id, "alice", "  ").await.unwrap_err();
        assert!(matches!(&no_reason, IdentityError::Invalid(f) if f[0].0 == "reason"), "{no_reason:?}");
        let withdrawn = ops.reject_plan_change(back.id, "alice", "asked too early").await.unwrap();
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

    /// Bad input: no name or reason, an unknown organization or request.
    async fn bad_plan_change_requests_are_refused_and_change_nothing(app: TestApp) {
        let owner = app.signup("owner@bad-plan.example", "broker").await;
        let ops = identity(&app);
        let e = ops.request_plan_change(org_of(&owner), Some("trial"), " ", "").await.unwrap_err();
        let IdentityError::Invalid(fields) = e else { panic!("{e:?}") };
        assert_eq!(fields.iter().map(|f| f.0).collect::<Vec<_>>(), ["by", "reason"]);
        let long = "x".repeat(101);
        assert!(matches!(ops.request_plan_change(org_of(&owner), None, &long, "r").await, Err(IdentityError::Invalid(_))));
        let e = ops.request_plan_change(OrgId::new(), Some("trial"), "alice", "r").await.unwrap_err();
        assert!(matches!(e, IdentityError::NotFound("organization")), "{e:?}");
        let e = ops.approve_plan_change(lanerunner_core::PlanChangeId::new(), "bob", ANY_PLAN).await.unwrap_err();
        assert!(matches!(e, IdentityError::NotFound("plan change")), "{e:?}");
        assert!(ops.plan_changes(Some(org_of(&owner)), false).await.unwrap().is_empty());
        assert_eq!(plan_of(&app, &owner).await, Value::Null);
    }

    /// Two operators approving the same request at the same instant: it is carried out
    /// once, the other told it was decided.
    async fn two_approvals_released_together_carry_the_change_out_once(app: TestApp) {
        let owner = app.signup("owner@race-plan.example", "broker").await;
        let ops = identity(&app);
        let asked = ops.request_plan_change(org_of(&owner), Some("trial"), "alice", "pilot").await.unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let approvals = ["bob", "carol"].map(|who| {
            let (ops, barrier) = (ops.clone(), barrier.clone());
            async move {
                barrier.wait().await;
                ops.approve_plan_change(asked.id, who, ANY_PLAN).await
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
        let asked = ops.request_plan_change(org_of(&owner), Some("trial"), "alice", "pilot").await.unwrap();
        let db = app.app().db("identity").unwrap();
        on_db!(&db, |p| sqlx::query("UPDATE plan_changes SET requested_at = $2 WHERE id = $1")
            .bind(asked.id)
            .bind(chrono::Utc::now() - chrono::Duration::days(8))
            .execute(p)
            .await
            .map(|_| ()))
        .unwrap();
        let e = ops.approve_plan_change(asked.id, "bob", ANY_PLAN).await.unwrap_err();
        assert!(matches!(e, IdentityError::Conflict("plan-change-expired", _)), "{e:?}");
        let next = ops.request_plan_change(org_of(&owner), Some("trial"), "alice", "pilot, again").await.unwrap();
        let all = ops.plan_changes(Some(org_of(&owner)), false).await.unwrap();
        assert_eq!(all.iter().map(|r| (r.id, r.status.as_str())).collect::<Vec<_>>(), [(next.id, "pending"), (asked.id, "expired")]);
    }
}

/// The command line: `lanerunner org plan request|approve|list` on the deployment's data.
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
            .args(["org", "plan"])
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
    let (ok, _, err) = run(&[
        "request",
        "--org",
        &owner.org_id,
        "--plan",
        "gold",
        "--by",
        "alice",
        "--reason",
        "r",
    ]);
    assert!(!ok && err.contains("no plan \"gold\""), "{err}");
    let (ok, out, err) = run(&[
        "request",
        "--org",
        &owner.org_id,
        "--plan",
        "trial",
        "--by",
        "alice",
        "--reason",
        "pilot",
    ]);
    assert!(ok, "{err}");
    let asked: Value = serde_json::from_str(out.trim()).unwrap();
    let id = asked["id"].as_str().unwrap().to_owned();
    let (ok, out, _) = run(&["list"]);
    assert!(ok && out.contains(&id), "{out}");
    let (ok, _, err) = run(&["approve", "--request", &id, "--by", "alice"]);
    assert!(!ok && err.contains("separation of duties"), "{err}");
    let (ok, out, err) = run(&["approve", "--request", &id, "--by", "bob"]);
    assert!(ok, "{err}");
    let done: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(done["plan"], "trial");
    assert_eq!(done["request"]["decided_by"], "bob");
    assert_eq!(plan_of(&app, &owner).await, "trial");
}
