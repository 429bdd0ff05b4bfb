//! The matching service over real HTTP, on SQLite and on PostgreSQL: loads (posted by
//! brokers) and trucks (posted by carriers) go through the loads service's API; matching
//! hears them as events, and its matches, reload chains, runs and `match.suggested` events
//! are checked against what the rules allow and against a brute-force optimum.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use lanerunner::both_backends;
use lanerunner::testing::{at, expect_problem, json_of, poll, Account, TestApp};
use lanerunner_platform::bus::Subscription;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A load picking up at `origin` on day 3 between 08:00 and 14:00.
fn load(reference: &str, origin: &str, dest: &str, delivery: String, equipment: &str) -> Value {
    json!({
        "reference": reference,
        "stops": [
            {"kind": "pickup", "location": {"place": origin}, "window": {"start": at(3, 8), "end": at(3, 14)}},
            {"kind": "delivery", "location": {"place": dest}, "appointment": delivery}
        ],
        "equipment": equipment, "trailer_length_ft": 48, "weight_lbs": 30000, "commodity": "paper",
        "rate": {"kind": "all_in", "amount_cents": 180000},
        "target_rate_cents": 150000, "max_rate_cents": 199000
    })
}

fn truck(equipment: &str, place: &str, from: String, max_deadhead: u32) -> Value {
    json!({
        "equipment": equipment, "trailer_length_ft": 53,
        "available_at": {"place": place},
        "available_from": from, "available_until": at(7, 18),
        "max_deadhead_miles": max_deadhead
    })
}

async fn post_load(app: &TestApp, who: &Account, body: &Value) -> String {
    let l = json_of(
        app.post_json("/v1/loads", body, Some(&who.access)).await,
        StatusCode::CREATED,
    )
    .await;
    let id = l["id"].as_str().unwrap().to_string();
    json_of(
        app.post_json(
            &format!("/v1/loads/{id}/post"),
            &json!({}),
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    id
}

async fn post_truck(app: &TestApp, who: &Account, body: &Value) -> String {
    let t = json_of(
        app.post_json("/v1/trucks", body, Some(&who.access)).await,
        StatusCode::CREATED,
    )
    .await;
    t["id"].as_str().unwrap().to_string()
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m[field].as_str().unwrap().to_string())
        .collect()
}

/// `match.suggested.v1` events received within `wait` that satisfy `keep`.
async fn suggestions(
    sub: &mut Box<dyn Subscription>,
    wait: Duration,
    keep: impl Fn(&Value) -> bool,
    enough: usize,
) -> Vec<Value> {
    let mut got = Vec::new();
    let deadline = Instant::now() + wait;
    while got.len() < enough {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(d)) = tokio::time::timeout(left, sub.next()).await else {
            break;
        };
        if keep(&d.event.payload) {
            got.push(d.event.payload.clone());
        }
        d.ack().await;
    }
    got
}

/// Max cardinality, then min cost, over every assignment of loads (rows) to trucks.
fn brute_force(costs: &[Vec<Option<f64>>], trucks: usize) -> (usize, f64) {
    fn go(
        r: usize,
        costs: &[Vec<Option<f64>>],
        used: &mut [bool],
        n: usize,
        c: f64,
        best: &mut (usize, f64),
    ) {
        if r == costs.len() {
            if n > best.0 || (n == best.0 && c < best.1) {
                *best = (n, c);
            }
            return;
        }
        go(r + 1, costs, used, n, c, best);
        for j in 0..used.len() {
            if let (false, Some(x)) = (used[j], costs[r][j]) {
                used[j] = true;
                go(r + 1, costs, used, n + 1, c + x, best);
                used[j] = false;
            }
        }
    }
    let mut best = (0, 0.0);
    go(0, costs, &mut vec![false; trucks], 0, 0.0, &mut best);
    best
}

both_backends!(
    async fn trucks_for_a_load_are_feasible_ranked_explained_and_suggested(app: TestApp) {
        let mut sub = app
            .app()
            .bus()
            .subscribe("test.suggestions", &["match.suggested.v1"])
            .await
            .unwrap();
        let broker = app.signup("b@example.com", "broker").await;
        let rival = app.signup("r@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let other = app.signup("c2@example.com", "carrier").await;

        let fort_worth =
            post_truck(&app, &carrier, &truck("V", "Fort Worth, TX", at(2, 6), 150)).await;
        let waco = post_truck(&app, &carrier, &truck("V", "Waco, TX", at(2, 6), 150)).await;
        let flatbed = post_truck(&app, &carrier, &truck("F", "Dallas, TX", at(2, 6), 150)).await;
        let houston = post_truck(&app, &carrier, &truck("V", "Houston, TX", at(2, 6), 150)).await;
        let late = post_truck(&app, &carrier, &truck("V", "Dallas, TX", at(4, 6), 150)).await;
        let reefer = post_truck(&app, &other, &truck("R", "Irving, TX", at(2, 6), 150)).await;

        let l = post_load(
            &app,
            &broker,
            &load("ATL", "Dallas, TX", "Atlanta, GA", at(5, 9), "V"),
        )
        .await;
        let path = format!("/v1/loads/{l}/matches");
        let got = poll(&app, &path, &broker, |b| b["available_trucks"] == 6).await;
        // Nearest first (no other term differs); the reefer covers a van load.
        assert_eq!(
            ids(&got["matches"], "truck_id"),
            [reefer.clone(), fort_worth.clone(), waco.clone()]
        );
        for (i, m) in got["matches"].as_array().unwrap().iter().enumerate() {
            assert_eq!(m["rank"], i + 1);
            let terms = m["terms"].as_array().unwrap();
            let sum: f64 = terms
                .iter()
                .map(|t| t["cost_cents"].as_f64().unwrap())
                .sum();
            assert!(
                (sum - m["cost_cents"].as_f64().unwrap()).abs() < 1e-6,
                "{m}"
            );
            assert!(
                terms.iter().any(|t| t["name"] == "deadhead"
                    && t["detail"].as_str().unwrap().contains("empty miles")),
                "{m}"
            );
            assert!(terms.iter().any(|t| t["name"] == "rate"), "{m}");
        }
        let costs: Vec<f64> = got["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["cost_cents"].as_f64().unwrap())
            .collect();
        assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
        for never in [&flatbed, &houston, &late] {
            assert!(
                !got.to_string().contains(never.as_str()),
                "an infeasible truck was suggested"
            );
        }
        let top = json_of(
            app.get(&format!("{path}?limit=1"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(ids(&top["matches"], "truck_id"), [reefer.clone()]);

        // Only the owning broker sees a load's matches.
        for who in [&rival, &carrier] {
            expect_problem(app.get(&path, Some(&who.access)).await, 404, "not-found").await;
        }
        expect_problem(
            app.get(&format!("{path}?limit=0"), Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;

        // The posting itself produced suggestions: the best feasible trucks, to the broker.
        let posted = suggestions(
            &mut sub,
            Duration::from_secs(10),
            |p| p["load_id"] == l.as_str() && p["source"] == "load_posted",
            3,
        )
        .await;
        let suggested: Vec<&str> = posted
            .iter()
            .map(|p| p["truck_id"].as_str().unwrap())
            .collect();
        assert_eq!(suggested, [&reefer, &fort_worth, &waco]);
        assert_eq!(posted[0]["rank"], 1);
        assert_eq!(posted[0]["broker_org_id"], broker.org_id.as_str());
        assert_eq!(posted[0]["carrier_org_id"], other.org_id.as_str());
        assert!(!posted[0].to_string().contains("max_rate"), "{}", posted[0]);

        // Unposted: no longer matched, and the answer says why.
        let res = app
            .post_json(
                &format!("/v1/loads/{l}/unpost"),
                &json!({}),
                Some(&broker.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let res = app.get(&path, Some(&broker.access)).await;
            if res.status() == StatusCode::CONFLICT {
                let p = expect_problem(res, 409, "not-matchable").await;
                assert_eq!(p["current_state"], "draft");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the unposting never reached matching"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn a_carrier_sees_its_truck_s_public_loads_and_reload_chain(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let other = app.signup("c2@example.com", "carrier").await;
        let t = post_truck(&app, &carrier, &truck("V", "Dallas, TX", at(3, 6), 150)).await;
        let first = post_load(
            &app,
            &broker,
            &load("HOU", "Dallas, TX", "Houston, TX", at(3, 22), "V"),
        )
        .await;
        let mut reload = load("SAT", "Houston, TX", "San Antonio, TX", at(5, 9), "V");
        reload["stops"][0]["window"] = json!({"start": at(4, 6), "end": at(4, 18)});
        let reload = post_load(&app, &broker, &reload).await;
        let mut private = load("PRIV", "Dallas, TX", "Atlanta, GA", at(5, 9), "V");
        private["visibility"] = json!("private");
        let private = post_load(&app, &broker, &private).await;
        let far = post_load(
            &app,
            &broker,
            &load("CHI", "Chicago, IL", "Detroit, MI", at(4, 9), "V"),
        )
        .await;

        let path = format!("/v1/trucks/{t}/matches");
        let got = poll(&app, &path, &carrier, |b| b["reload_chain"].is_object()).await;
        // Houston is beyond the truck's 150-mile deadhead from Dallas: only as a reload.
        assert_eq!(ids(&got["matches"], "load_id"), [first.clone()]);
        let chain = &got["reload_chain"];
        assert_eq!(chain["load_ids"], json!([first, reload]));
        assert_eq!(chain["revenue_cents"], 360000);
        // Dallas → Houston, then Houston → San Antonio: hardly an empty mile, each costing $2.
        let empty = chain["empty_miles"].as_f64().unwrap();
        assert!(empty < 5.0, "{chain}");
        assert_eq!(empty, (empty * 10.0).round() / 10.0, "miles to a tenth");
        // The value is whole cents, computed from the unrounded miles: off by at most half a
        // cent plus $2 for each of the 0.05 miles the shown distance may be off.
        assert!(chain["value_cents"].is_i64(), "{chain}");
        assert!(
            (chain["value_cents"].as_f64().unwrap() - (360000.0 - 200.0 * empty)).abs()
                <= 0.5 + 200.0 * 0.05,
            "{chain}"
        );
        let text = got.to_string();
        assert!(!text.contains(&private), "a private load reached a carrier");
        assert!(!text.contains(&far));
        assert!(
            !text.contains("max_rate") && !text.contains("target_rate") && !text.contains("199000"),
            "{text}"
        );
        let m = &got["matches"][0];
        assert_eq!(m["all_in_rate_cents"], 180000);
        assert!(m["timing"]["deadhead_miles"].as_f64().unwrap() < 5.0, "{m}");
        for m in got["matches"].as_array().unwrap() {
            for miles in [&m["timing"]["deadhead_miles"], &m["loaded_miles"]] {
                let miles = miles.as_f64().unwrap();
                assert_eq!(miles, (miles * 10.0).round() / 10.0, "to a tenth: {m}");
            }
        }

        // Only the truck's carrier sees its matches.
        for who in [&other, &broker] {
            expect_problem(app.get(&path, Some(&who.access)).await, 404, "not-found").await;
        }
        // A removed truck is no longer matched.
        assert_eq!(
            app.delete(&format!("/v1/trucks/{t}"), Some(&carrier.access))
                .await
                .status(),
            204
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let res = app.get(&path, Some(&carrier.access)).await;
            if res.status() == StatusCode::CONFLICT {
                let p = expect_problem(res, 409, "not-matchable").await;
                assert_eq!(p["current_state"], "removed");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the removal never reached matching"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn a_run_is_the_exact_optimum_stored_and_published(app: TestApp) {
        let mut sub = app
            .app()
            .bus()
            .subscribe("test.suggestions", &["match.suggested.v1"])
            .await
            .unwrap();
        let broker = app.signup("b@example.com", "broker").await;
        let rival = app.signup("r@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let trucks = [
            post_truck(&app, &carrier, &truck("V", "Irving, TX", at(2, 6), 150)).await,
            post_truck(&app, &carrier, &truck("R", "Dallas, TX", at(2, 6), 150)).await,
            post_truck(&app, &carrier, &truck("V", "Arlington, TX", at(2, 6), 150)).await,
            post_truck(&app, &carrier, &truck("F", "Dallas, TX", at(2, 6), 150)).await,
            post_truck(&app, &carrier, &truck("V", "Denton, TX", at(2, 6), 60)).await,
        ];
        let mut hazmat = load("HAZ", "Dallas, TX", "Houston, TX", at(4, 9), "V");
        hazmat["hazmat"] = json!(true);
        let loads = [
            post_load(
                &app,
                &broker,
                &load("A", "Dallas, TX", "Houston, TX", at(4, 9), "V"),
            )
            .await,
            post_load(
                &app,
                &broker,
                &load("B", "Fort Worth, TX", "Austin, TX", at(4, 9), "V"),
            )
            .await,
            post_load(
                &app,
                &broker,
                &load("C", "Dallas, TX", "Oklahoma City, OK", at(4, 9), "R"),
            )
            .await,
            post_load(
                &app,
                &broker,
                &load("D", "Plano, TX", "Tulsa, OK", at(4, 9), "V"),
            )
            .await,
            post_load(&app, &broker, &hazmat).await,
        ];
        let theirs = post_load(
            &app,
            &rival,
            &load("X", "Dallas, TX", "Houston, TX", at(4, 9), "V"),
        )
        .await;

        // The cost of every feasible pair, as the matches endpoint reports it.
        let mut costs: Vec<Vec<Option<f64>>> = Vec::new();
        for l in &loads {
            let got = poll(
                &app,
                &format!("/v1/loads/{l}/matches?limit=50"),
                &broker,
                |b| b["available_trucks"] == 5,
            )
            .await;
            let by_truck: HashMap<String, f64> = got["matches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    (
                        m["truck_id"].as_str().unwrap().to_string(),
                        m["cost_cents"].as_f64().unwrap(),
                    )
                })
                .collect();
            costs.push(trucks.iter().map(|t| by_truck.get(t).copied()).collect());
        }
        assert!(
            costs[4].iter().all(Option::is_none),
            "no truck is hazmat-qualified"
        );
        assert_eq!(
            costs[2].iter().filter(|c| c.is_some()).count(),
            1,
            "only the reefer hauls reefer freight"
        );
        let (best_n, best_cost) = brute_force(&costs, trucks.len());
        assert_eq!(best_n, 4);

        let run = json_of(
            app.post_json("/v1/matching/runs", &json!({}), Some(&broker.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(run["loads"], 5);
        assert_eq!(run["available_trucks"], 5);
        let pairs = run["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), best_n);
        let objective = run["objective_cents"].as_f64().unwrap();
        assert!(
            (objective - best_cost).abs() < 1e-6 * best_cost.abs().max(1.0),
            "{objective} vs brute force {best_cost}"
        );
        let mut used = HashSet::new();
        for p in pairs {
            let li = loads
                .iter()
                .position(|l| p["load_id"] == l.as_str())
                .expect("only the broker's loads");
            let ti = trucks
                .iter()
                .position(|t| p["truck_id"] == t.as_str())
                .unwrap();
            assert!(used.insert(ti), "a truck assigned twice");
            let c = costs[li][ti].expect("an assigned pair is feasible");
            assert!((p["cost_cents"].as_f64().unwrap() - c).abs() < 1e-6);
            assert_eq!(p["carrier_org_id"], carrier.org_id.as_str());
            assert!(!p["terms"].as_array().unwrap().is_empty());
        }
        assert!(
            !run.to_string().contains(&theirs),
            "another broker's load was in the run"
        );
        let left = run["unassigned_loads"].as_array().unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["load_id"], loads[4].as_str());
        assert!(
            left[0]["reason"].as_str().unwrap().contains("hazmat"),
            "{}",
            left[0]
        );
        assert_eq!(left[0]["reason_code"], "no_feasible_truck");

        // Stored for its broker only.
        let id = run["id"].as_str().unwrap();
        let again = json_of(
            app.get(&format!("/v1/matching/runs/{id}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(again, run);
        expect_problem(
            app.get(&format!("/v1/matching/runs/{id}"), Some(&rival.access))
                .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.post_json("/v1/matching/runs", &json!({}), Some(&carrier.access))
                .await,
            403,
            "forbidden",
        )
        .await;

        // One match.suggested per assigned pair.
        let published = suggestions(
            &mut sub,
            Duration::from_secs(10),
            |p| p["run_id"] == id,
            pairs.len(),
        )
        .await;
        assert_eq!(published.len(), pairs.len());
        let published: HashSet<(String, String)> = published
            .iter()
            .map(|p| {
                (
                    p["load_id"].as_str().unwrap().into(),
                    p["truck_id"].as_str().unwrap().into(),
                )
            })
            .collect();
        let assigned: HashSet<(String, String)> = pairs
            .iter()
            .map(|p| {
                (
                    p["load_id"].as_str().unwrap().into(),
                    p["truck_id"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(published, assigned);
    }

    async fn empty_and_infeasible_markets_get_an_empty_assignment_with_reasons(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let run = json_of(
            app.post_json("/v1/matching/runs", &json!({}), Some(&broker.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(run["loads"], 0);
        assert_eq!(run["pairs"], json!([]));
        assert_eq!(run["objective_cents"], 0.0);

        let l = post_load(
            &app,
            &broker,
            &load("A", "Dallas, TX", "Houston, TX", at(4, 9), "V"),
        )
        .await;
        poll(&app, &format!("/v1/loads/{l}/matches"), &broker, |_| true).await;
        let run = json_of(
            app.post_json("/v1/matching/runs", &json!({}), Some(&broker.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(run["pairs"], json!([]));
        assert_eq!(
            run["unassigned_loads"][0]["reason"],
            "no trucks are available"
        );
        assert_eq!(
            run["unassigned_loads"][0]["reason_code"],
            "no_trucks_available"
        );

        // Trucks exist, none can take it: far away, wrong trailer.
        post_truck(&app, &carrier, &truck("V", "Seattle, WA", at(2, 6), 200)).await;
        post_truck(&app, &carrier, &truck("F", "Dallas, TX", at(2, 6), 200)).await;
        poll(&app, &format!("/v1/loads/{l}/matches"), &broker, |b| {
            b["available_trucks"] == 2
        })
        .await;
        let run = json_of(
            app.post_json("/v1/matching/runs", &json!({}), Some(&broker.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(run["pairs"], json!([]));
        assert_eq!(run["feasible_pairs"], 0);
        let reason = run["unassigned_loads"][0]["reason"].as_str().unwrap();
        assert!(reason.starts_with("no feasible truck"), "{reason}");
        assert_eq!(
            run["unassigned_loads"][0]["reason_code"],
            "no_feasible_truck"
        );
        assert_eq!(run["unassigned_trucks"].as_array().unwrap().len(), 2);
        for t in run["unassigned_trucks"].as_array().unwrap() {
            assert_eq!(t["reason_code"], "no_feasible_load", "{t}");
        }

        let nobody = uuid::Uuid::now_v7();
        expect_problem(
            app.get(&format!("/v1/loads/{nobody}/matches"), Some(&broker.access))
                .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.get(
                &format!("/v1/trucks/{nobody}/matches"),
                Some(&carrier.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.get(&format!("/v1/matching/runs/{nobody}"), Some(&broker.access))
                .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.get(&format!("/v1/loads/{l}/matches"), None).await,
            401,
            "unauthenticated",
        )
        .await;
    }

    async fn a_stored_run_with_an_unknown_reason_code_is_a_problem_never_a_default(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let l = post_load(
            &app,
            &broker,
            &load("A", "Dallas, TX", "Houston, TX", at(4, 9), "V"),
        )
        .await;
        poll(&app, &format!("/v1/loads/{l}/matches"), &broker, |_| true).await;
        let run = json_of(
            app.post_json("/v1/matching/runs", &json!({}), Some(&broker.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(
            run["unassigned_loads"][0]["reason_code"],
            "no_trucks_available"
        );
        let id: uuid::Uuid = run["id"].as_str().unwrap().parse().unwrap();

        // A row written by some other build, with a code this one does not know.
        let mut stored = run.clone();
        stored["unassigned_loads"][0]["reason_code"] = json!("moon_in_wrong_phase");
        let db = app.app().db("matching").unwrap();
        let updated = lanerunner_platform::on_db!(&db, |p| sqlx::query(
            "UPDATE runs SET result = $1 WHERE id = $2"
        )
        .bind(sqlx::types::Json(&stored))
        .bind(id)
        .execute(p)
        .await
        .unwrap()
        .rows_affected());
        assert_eq!(updated, 1);

        expect_problem(
            app.get(&format!("/v1/matching/runs/{id}"), Some(&broker.access))
                .await,
            500,
            "internal",
        )
        .await;
    }
);
