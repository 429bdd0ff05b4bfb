//! The gateway's limits beyond one per principal: plans (an organization's per-minute
//! limit and daily quota, set by operators) and tighter limits on costly routes, counted in
//! the cache (in memory embedded, Redis on the full stack, shared by every instance).
//! Refusals are `429` with `Retry-After` and say which limit; the plan change is audited;
//! bad plan and route settings are refused when the configuration is loaded.

use lanerunner::testing::{expect_problem, json_of, Backend, TestApp};
use lanerunner_platform::config::{PlanLimits, RouteLimit};
use lanerunner_platform::Config;
use reqwest::StatusCode;

fn limits(c: &mut Config) {
    c.http.rate_limit_per_minute = 1_000;
    c.http.plans.insert(
        "trial".into(),
        PlanLimits {
            per_minute: 1_000,
            daily_quota: 6,
        },
    );
    c.http.route_limits.push(RouteLimit {
        method: Some("get".into()),
        path: "/v1/org/users".into(),
        per_minute: 2,
    });
}

/// Puts `org` on `plan` as operators do: one asks, another approves.
async fn put_on_plan(
    identity: &lanerunner_identity::IdentityService,
    operators: &mut lanerunner::testing::Operators,
    org: lanerunner_core::OrgId,
    plan: Option<&str>,
) -> lanerunner_identity::OrgRow {
    let code = operators.code("alice").await;
    let asked = identity
        .request_plan_change(org, plan, "alice", &code, "the customer's pilot")
        .await
        .unwrap();
    let code = operators.code("bob").await;
    identity
        .approve_plan_change(asked.id, "bob", &code, &|_| true)
        .await
        .unwrap()
        .1
}

async fn plans_quotas_and_route_limits(backend: Backend) {
    let app = TestApp::spawn_with(backend, limits).await;
    let open = app.signup("open@plans.example", "broker").await;
    let trial = app.signup("trial@plans.example", "broker").await;

    // A costly route: two a minute per principal, then 429 naming the route; other
    // routes and other principals are not held back by it.
    for _ in 0..2 {
        assert_eq!(
            app.get("/v1/org/users", Some(&open.access)).await.status(),
            StatusCode::OK
        );
    }
    let refused = app.get("/v1/org/users", Some(&open.access)).await;
    assert!(refused.headers().contains_key("retry-after"));
    let p = expect_problem(refused, 429, "rate-limited").await;
    assert_eq!(
        (p["route"].as_str(), p["limit"].as_u64()),
        (Some("/v1/org/users"), Some(2)),
        "{p}"
    );
    let below = format!("/v1/org/users/{}", open.user_id);
    expect_problem(
        app.get(&below, Some(&open.access)).await,
        429,
        "rate-limited",
    )
    .await;
    assert_eq!(
        app.get("/v1/org", Some(&open.access)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/org/users", Some(&trial.access)).await.status(),
        StatusCode::OK
    );

    // The trial organization: six requests a day, then 429 quota-exceeded until midnight
    // UTC; the organization shows its plan; the change is in its audit trail.
    let identity = app.app().identity().unwrap();
    let mut operators =
        lanerunner::testing::Operators::enrolled(&identity, &["alice", "bob"]).await;
    let trial_org = lanerunner_core::OrgId(trial.org_id.parse().unwrap());
    let org = put_on_plan(&identity, &mut operators, trial_org, Some("trial")).await;
    assert_eq!(org.plan.as_deref(), Some("trial"));
    let view = json_of(
        app.get("/v1/org", Some(&trial.access)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(view["plan"], "trial");
    let audit = json_of(
        app.get("/v1/org/audit-events?limit=50", Some(&trial.access))
            .await,
        StatusCode::OK,
    )
    .await;
    let change = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "plan_changed")
        .cloned();
    assert_eq!(
        change.map(|c| c["detail"]["to"].clone()),
        Some(serde_json::json!("trial"))
    );
    // Two requests so far today on the plan; four more make six.
    for _ in 0..4 {
        assert_eq!(
            app.get("/v1/me", Some(&trial.access)).await.status(),
            StatusCode::OK
        );
    }
    let refused = app.get("/v1/me", Some(&trial.access)).await;
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    let p = expect_problem(refused, 429, "quota-exceeded").await;
    assert_eq!(
        (p["plan"].as_str(), p["quota"].as_u64()),
        (Some("trial"), Some(6)),
        "{p}"
    );
    // Every request of the organization counts against one quota; other organizations
    // have none.
    for _ in 0..10 {
        assert_eq!(
            app.get("/v1/me", Some(&open.access)).await.status(),
            StatusCode::OK
        );
    }

    // Back on the default limits: the quota no longer applies.
    put_on_plan(&identity, &mut operators, trial_org, None).await;
    assert_eq!(
        app.get("/v1/me", Some(&trial.access)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_quotas_and_route_limits_embedded() {
    plans_quotas_and_route_limits(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_quotas_and_route_limits_on_redis() {
    if lanerunner_platform::testing::skip_engine_test("PostgreSQL, RabbitMQ, Redis and Kafka") {
        return;
    }
    plans_quotas_and_route_limits(Backend::FullStack).await;
}

#[test]
fn bad_plans_and_route_limits_are_refused_at_load() {
    let bad: [(&str, fn(&mut Config)); 5] = [
        ("http.plans", |c| {
            c.http.plans.insert(
                "Gold Plan".into(),
                PlanLimits {
                    per_minute: 10,
                    daily_quota: 0,
                },
            );
        }),
        ("http.plans", |c| {
            c.http.plans.insert(
                "gold".into(),
                PlanLimits {
                    per_minute: 0,
                    daily_quota: 0,
                },
            );
        }),
        ("http.route_limits", |c| {
            c.http.route_limits.push(RouteLimit {
                method: None,
                path: "/admin".into(),
                per_minute: 5,
            });
        }),
        ("http.route_limits", |c| {
            c.http.route_limits.push(RouteLimit {
                method: None,
                path: "/v1/loads".into(),
                per_minute: 0,
            });
        }),
        ("http.route_limits", |c| {
            c.http.route_limits.push(RouteLimit {
                method: Some("FETCH ME".into()),
                path: "/v1/loads".into(),
                per_minute: 5,
            });
        }),
    ];
    for (field, break_it) in bad {
        let mut c = Config::default();
        break_it(&mut c);
        let err = c.validate().expect_err(field).to_string();
        assert!(err.contains(field), "{err}");
    }
}
