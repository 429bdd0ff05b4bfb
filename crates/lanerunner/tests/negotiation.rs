//! The negotiation service over real HTTP, on SQLite, on PostgreSQL and on the full stack:
//! a carrier and a broker negotiate to an agreement in structured moves and in words,
//! only the two parties see it, bad moves are refused with nothing recorded, and of many
//! carriers booking one load at the same instant exactly one wins, every time.

use std::sync::Arc;

use lanerunner::both_backends;
use lanerunner::testing::{dallas_atlanta_load, expect_problem, json_of, Account, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A Dallas–Atlanta load `broker` created and posted at `rate`.
async fn posted_load(app: &TestApp, broker: &Account, rate: i64) -> String {
    lanerunner::testing::posted(app, broker, &dallas_atlanta_load("N", rate)).await
}

/// Opens a negotiation, waiting for the load to reach the service's projection.
async fn open(app: &TestApp, carrier: &Account, body: Value) -> reqwest::Response {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let res = app
            .post_json("/v1/negotiations", &body, Some(&carrier.access))
            .await;
        if res.status() != StatusCode::NOT_FOUND {
            return res;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load never reached the negotiation service"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Puts `broker`'s agent on `load`, waiting for the load to reach the service.
async fn set_agent(app: &TestApp, broker: &Account, load: &str, policy: &Value) {
    let path = format!("/v1/negotiations/policies/{load}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let res = app.put_json(&path, policy, Some(&broker.access)).await;
        if res.status() == StatusCode::OK {
            return;
        }
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the load never reached the negotiation service"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn put(app: &TestApp, path: &str, who: &Account, body: Value) -> reqwest::Response {
    app.put_json(path, &body, Some(&who.access)).await
}

async fn act(app: &TestApp, who: &Account, id: &str, body: Value) -> reqwest::Response {
    app.post_json(
        &format!("/v1/negotiations/{id}/moves"),
        &body,
        Some(&who.access),
    )
    .await
}

both_backends!(
    async fn a_carrier_and_a_broker_negotiate_to_an_agreement(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let stranger = app.signup("s@example.com", "carrier").await;
        let load = posted_load(&app, &broker, 250_000).await;

        let n = json_of(
            open(
                &app,
                &carrier,
                json!({"load_id": load, "text": "can you do 2600?"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(
            (
                n["status"].as_str(),
                n["turn"].as_str(),
                n["your_side"].as_str()
            ),
            (Some("open"), Some("broker"), Some("carrier"))
        );
        assert_eq!(n["standing_cents"], 260_000);
        assert_eq!(n["posted_rate_cents"], 250_000);
        let id = n["id"].as_str().unwrap().to_string();

        // The broker counters; offering again before the carrier answers is out of turn.
        let n = json_of(
            act(
                &app,
                &broker,
                &id,
                json!({"move": {"move": "offer", "rate_cents": 240_000}}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (n["turn"].as_str(), n["standing_cents"].as_i64()),
            (Some("carrier"), Some(240_000))
        );
        expect_problem(
            act(
                &app,
                &broker,
                &id,
                json!({"move": {"move": "offer", "rate_cents": 245_000}}),
            )
            .await,
            409,
            "move-refused",
        )
        .await;
        // Words the parser cannot read are asked back, and nothing is recorded.
        let p = expect_problem(
            act(&app, &carrier, &id, json!({"text": "what's the weight?"})).await,
            422,
            "unclear-message",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains('?'), "{p}");
        let n = json_of(
            act(&app, &carrier, &id, json!({"text": "deal"})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (n["status"].as_str(), n["agreed_cents"].as_i64()),
            (Some("agreed"), Some(240_000))
        );

        // The agreement covers the load for that carrier at that rate (the loads service
        // acts on negotiation.agreed.v1), with the negotiation named in its history.
        let covered = lanerunner::testing::poll(&app, &format!("/v1/loads/{load}"), &broker, |l| {
            l["status"] == "covered"
        })
        .await;
        assert_eq!(
            covered["booking"]["carrier_org_id"],
            carrier.org_id.as_str()
        );
        assert_eq!(covered["booking"]["rate_cents"], 240_000);
        // Both parties read the whole conversation; nobody else finds it.
        let seen = json_of(
            app.get(&format!("/v1/negotiations/{id}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let messages = seen["messages"].as_array().unwrap();
        let events: Vec<&str> = messages
            .iter()
            .map(|m| m["event"]["event"].as_str().unwrap())
            .collect();
        assert_eq!(events, ["offered", "offered", "agreed"]);
        assert_eq!(messages[0]["text"], "can you do 2600?");
        assert_eq!(messages[2]["side"], "carrier");
        assert_eq!(seen["your_side"], "broker");
        expect_problem(
            app.get(&format!("/v1/negotiations/{id}"), Some(&stranger.access))
                .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            act(&app, &stranger, &id, json!({"text": "deal"})).await,
            404,
            "not-found",
        )
        .await;
        let theirs = json_of(
            app.get("/v1/negotiations", Some(&stranger.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(theirs, json!([]));
        let mine = json_of(
            app.get(
                &format!("/v1/negotiations?load_id={load}"),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine.as_array().unwrap().len(), 1);
        // Closed: no more moves.
        expect_problem(
            act(&app, &broker, &id, json!({"move": {"move": "withdraw"}})).await,
            409,
            "move-refused",
        )
        .await;
    }

    async fn bad_moves_are_refused_and_record_nothing(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let load = posted_load(&app, &broker, 250_000).await;
        let res = app
            .post_json(
                "/v1/negotiations",
                &json!({"load_id": load, "text": "2200"}),
                Some(&broker.access),
            )
            .await;
        expect_problem(res, 403, "forbidden").await;
        // Once the load is there: bad first moves, and a load that does not exist.
        let res = open(
            &app,
            &carrier,
            json!({"load_id": load, "text": "what's the commodity?"}),
        )
        .await;
        expect_problem(res, 422, "unclear-message").await;
        let unknown = json!({"load_id": uuid::Uuid::now_v7(), "text": "2200"});
        let res = app
            .post_json("/v1/negotiations", &unknown, Some(&carrier.access))
            .await;
        expect_problem(res, 404, "not-found").await;
        for (body, status, kind) in [
            (
                json!({"load_id": load, "text": "2200 CAD"}),
                422,
                "unclear-message",
            ),
            (
                json!({"load_id": load, "move": {"move": "offer", "rate_cents": -5}}),
                422,
                "invalid-move",
            ),
            (
                json!({"load_id": load, "move": {"move": "offer", "rate_cents": 2_000_000_000}}),
                422,
                "invalid-move",
            ),
            (
                json!({"load_id": load, "move": {"move": "accept"}}),
                409,
                "move-refused",
            ),
            (
                json!({"load_id": load, "move": {"move": "book_now"}, "text": "deal"}),
                422,
                "validation",
            ),
            (json!({"load_id": load}), 422, "validation"),
        ] {
            let res = app
                .post_json("/v1/negotiations", &body, Some(&carrier.access))
                .await;
            expect_problem(res, status, kind).await;
        }
        let none = json_of(
            app.get("/v1/negotiations", Some(&carrier.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(none, json!([]), "nothing refused was recorded");
        let n = json_of(
            app.post_json(
                "/v1/negotiations",
                &json!({"load_id": load, "text": "$2.45 a mile"}),
                Some(&carrier.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        // A rate a mile times the load's miles, to the dollar.
        let standing = n["standing_cents"].as_i64().unwrap();
        assert!(
            standing % 100 == 0 && (150_000..300_000).contains(&standing),
            "{n}"
        );
        let p = expect_problem(
            app.post_json(
                "/v1/negotiations",
                &json!({"load_id": load, "text": "2300"}),
                Some(&carrier.access),
            )
            .await,
            409,
            "negotiation-already-open",
        )
        .await;
        assert_eq!(p["negotiation_id"], n["id"]);
        let res = app
            .post_json(
                "/v1/negotiations/not-a-uuid/moves",
                &json!({"text": "deal"}),
                Some(&carrier.access),
            )
            .await;
        expect_problem(res, 400, "bad-request").await;
        expect_problem(
            app.get("/v1/negotiations?limit=0", Some(&carrier.access))
                .await,
            422,
            "validation",
        )
        .await;
    }

    async fn of_many_carriers_booking_one_load_at_once_exactly_one_wins(app: TestApp) {
        const RACERS: usize = 5;
        let broker = app.signup("b@example.com", "broker").await;
        let mut carriers = Vec::new();
        for i in 0..RACERS {
            carriers.push(app.signup(&format!("c{i}@example.com"), "carrier").await);
        }
        let bystander = app.signup("by@example.com", "carrier").await;
        for round in 0..3 {
            let load = posted_load(&app, &broker, 250_000).await;
            // One carrier is still talking when the load goes.
            let talking = json_of(
                open(&app, &bystander, json!({"load_id": load, "text": "2700"})).await,
                StatusCode::CREATED,
            )
            .await;
            let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
            let tasks: Vec<_> = carriers
                .iter()
                .map(|c| {
                    let req = app
                        .client
                        .post(app.url("/v1/negotiations"))
                        .json(&json!({"load_id": load, "move": {"move": "book_now"}}))
                        .bearer_auth(&c.access);
                    let barrier = barrier.clone();
                    tokio::spawn(async move {
                        barrier.wait().await;
                        let res = req.send().await.unwrap();
                        (
                            res.status(),
                            res.json::<Value>().await.unwrap_or(Value::Null),
                        )
                    })
                })
                .collect();
            let mut won = Vec::new();
            for t in tasks {
                let (status, body) = t.await.unwrap();
                match status {
                    StatusCode::CREATED => won.push(body),
                    StatusCode::CONFLICT => {
                        let kind = body["type"].as_str().unwrap_or_default();
                        assert!(
                            ["/load-taken", "/load-not-open", "/contended"]
                                .iter()
                                .any(|k| kind.ends_with(k)),
                            "round {round}: {body}"
                        );
                    }
                    other => panic!("round {round}: {other} {body}"),
                }
            }
            assert_eq!(won.len(), 1, "round {round}: {won:?}");
            assert_eq!(
                (won[0]["status"].as_str(), won[0]["agreed_cents"].as_i64()),
                (Some("agreed"), Some(250_000))
            );
            let talking = json_of(
                app.get(
                    &format!("/v1/negotiations/{}", talking["id"].as_str().unwrap()),
                    Some(&bystander.access),
                )
                .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(talking["status"], "withdrawn", "round {round}: {talking}");
            assert_eq!(
                talking["closed_reason"],
                "the load was booked with another carrier"
            );
        }
    }

    async fn a_load_leaving_the_board_closes_its_negotiations(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let load = posted_load(&app, &broker, 250_000).await;
        let n = json_of(
            open(&app, &carrier, json!({"load_id": load, "text": "2600"})).await,
            StatusCode::CREATED,
        )
        .await;
        let id = n["id"].as_str().unwrap().to_string();
        let res = app
            .post_json(
                &format!("/v1/loads/{load}/status"),
                &json!({"event": "cancel", "reason": "shipper cancelled"}),
                Some(&broker.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let closed =
            lanerunner::testing::poll(&app, &format!("/v1/negotiations/{id}"), &carrier, |n| {
                n["status"] != "open"
            })
            .await;
        assert_eq!(closed["status"], "withdrawn");
        assert_eq!(closed["closed_reason"], "the load is cancelled");
        // And a new one cannot be opened on it.
        let other = app.signup("o@example.com", "carrier").await;
        let res = app
            .post_json(
                "/v1/negotiations",
                &json!({"load_id": load, "move": {"move": "book_now"}}),
                Some(&other.access),
            )
            .await;
        expect_problem(res, 409, "load-not-open").await;
    }

    async fn a_brokers_agent_answers_carriers_within_its_policy(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let other_broker = app.signup("ob@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let load = posted_load(&app, &broker, 250_000).await;
        let path = format!("/v1/negotiations/policies/{load}");
        let policy = json!({"start_cents": 200_000, "target_cents": 220_000, "max_cents": 240_000});
        set_agent(&app, &broker, &load, &policy).await;
        // Carriers and other brokers neither see nor set it; bad limits are refused.
        expect_problem(
            app.get(&path, Some(&carrier.access)).await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.get(&path, Some(&other_broker.access)).await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            put(&app, &path, &carrier, policy.clone()).await,
            403,
            "forbidden",
        )
        .await;
        let p = expect_problem(
            put(
                &app,
                &path,
                &broker,
                json!({"start_cents": 250_000, "max_cents": 240_000}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "max_cents");
        let p = expect_problem(
            put(
                &app,
                &path,
                &broker,
                json!({"start_cents": 200_000, "target_cents": 260_000, "max_cents": 240_000}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "target_cents");
        let mine = json_of(app.get(&path, Some(&broker.access)).await, StatusCode::OK).await;
        assert_eq!(mine["max_cents"], 240_000);

        // The carrier asks $2,800; the agent counters within its limits and says why.
        let n = json_of(
            open(&app, &carrier, json!({"load_id": load, "text": "2800"})).await,
            StatusCode::CREATED,
        )
        .await;
        let id = n["id"].as_str().unwrap().to_string();
        let n = lanerunner::testing::poll(&app, &format!("/v1/negotiations/{id}"), &carrier, |n| {
            n["turn"] == "carrier"
        })
        .await;
        let counter = n["standing_cents"].as_i64().unwrap();
        assert!((200_000..=240_000).contains(&counter), "{n}");
        let said = &n["messages"][1];
        assert_eq!(
            (said["side"].as_str(), said["author_id"].is_null()),
            (Some("broker"), true)
        );
        let reason = said["event"]["agent_reason"].as_str().unwrap();
        assert!(
            reason.starts_with("countered at $") && reason.contains("pickup in"),
            "{reason}"
        );
        // At its start rate the agent takes the deal, and the load is covered.
        let res = act(&app, &carrier, &id, json!({"text": "ok 2000 then"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let n = lanerunner::testing::poll(&app, &format!("/v1/negotiations/{id}"), &carrier, |n| {
            n["status"] != "open"
        })
        .await;
        assert_eq!(
            (n["status"].as_str(), n["agreed_cents"].as_i64()),
            (Some("agreed"), Some(200_000)),
            "{n}"
        );
        lanerunner::testing::poll(&app, &format!("/v1/loads/{load}"), &broker, |l| {
            l["status"] == "covered"
        })
        .await;

        // Above the approval threshold the agent asks instead of moving.
        let second = posted_load(&app, &broker, 250_000).await;
        let strict =
            json!({"start_cents": 210_000, "max_cents": 240_000, "approval_above_cents": 200_000});
        set_agent(&app, &broker, &second, &strict).await;
        let n = json_of(
            open(&app, &carrier, json!({"load_id": second, "text": "2800"})).await,
            StatusCode::CREATED,
        )
        .await;
        let id = n["id"].as_str().unwrap().to_string();
        let n = lanerunner::testing::poll(&app, &format!("/v1/negotiations/{id}"), &broker, |n| {
            n["messages"].as_array().is_some_and(|m| m.len() == 2)
        })
        .await;
        assert_eq!(
            n["messages"][1]["event"]["event"], "approval_requested",
            "{n}"
        );
        assert_eq!(
            (n["turn"].as_str(), n["standing_cents"].as_i64()),
            (Some("broker"), Some(280_000))
        );
        // The broker decides by hand.
        let res = act(
            &app,
            &broker,
            &id,
            json!({"move": {"move": "offer", "rate_cents": 215_000}}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    async fn negotiations_past_their_deadline_expire(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let load = posted_load(&app, &broker, 250_000).await;
        let n = json_of(
            open(&app, &carrier, json!({"load_id": load, "text": "2600"})).await,
            StatusCode::CREATED,
        )
        .await;
        let id = n["id"].as_str().unwrap().to_string();
        let deadline: chrono::DateTime<chrono::Utc> =
            n["deadline"].as_str().unwrap().parse().unwrap();
        let service = app
            .app()
            .typed::<lanerunner_negotiation_service::NegotiationService>()
            .expect("the negotiation service runs");
        // Before the deadline nothing expires; at it, the sweep closes the negotiation once.
        let sweep = |at| service.negotiations().expire_due(at);
        assert_eq!(
            sweep(deadline - chrono::Duration::minutes(1))
                .await
                .unwrap(),
            0
        );
        assert_eq!(sweep(deadline).await.unwrap(), 1);
        assert_eq!(sweep(deadline).await.unwrap(), 0);
        let n = json_of(
            app.get(&format!("/v1/negotiations/{id}"), Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(n["status"], "expired");
        assert_eq!(
            n["messages"].as_array().unwrap().last().unwrap()["event"]["event"],
            "expired"
        );
        expect_problem(
            act(
                &app,
                &broker,
                &id,
                json!({"move": {"move": "offer", "rate_cents": 240_000}}),
            )
            .await,
            409,
            "move-refused",
        )
        .await;
    }

    async fn a_carriers_agent_answers_brokers_within_its_rates(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let path = "/v1/negotiations/carrier-policy".to_string();
        // Brokers do not set it; bad rates are refused with the field named.
        expect_problem(
            put(
                &app,
                &path,
                &broker,
                json!({"desired_rpm_cents": 300, "min_rpm_cents": 240}),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
        let p = expect_problem(
            put(
                &app,
                &path,
                &carrier,
                json!({"desired_rpm_cents": 200, "min_rpm_cents": 240}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "min_rpm_cents");
        let p = expect_problem(
            put(
                &app,
                &path,
                &carrier,
                json!({"desired_rpm_cents": 9_000, "min_rpm_cents": 10}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"].as_array().unwrap().len(), 2);
        let set = json_of(
            put(
                &app,
                &path,
                &carrier,
                json!({"desired_rpm_cents": 330, "min_rpm_cents": 240}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(set["min_rpm_cents"], 240);
        expect_problem(
            app.get("/v1/negotiations/carrier-policy", Some(&broker.access))
                .await,
            404,
            "not-found",
        )
        .await;

        let load = posted_load(&app, &broker, 250_000).await;
        let n = json_of(
            open(&app, &carrier, json!({"load_id": load, "text": "2900"})).await,
            StatusCode::CREATED,
        )
        .await;
        let id = n["id"].as_str().unwrap().to_string();
        // The broker counters low by hand; the carrier's agent answers within its rates.
        let res = act(
            &app,
            &broker,
            &id,
            json!({"move": {"move": "offer", "rate_cents": 150_000}}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let n = lanerunner::testing::poll(&app, &format!("/v1/negotiations/{id}"), &broker, |n| {
            n["turn"] == "broker"
        })
        .await;
        let miles = {
            let l = json_of(
                app.get(&format!("/v1/loads/{load}"), Some(&broker.access))
                    .await,
                StatusCode::OK,
            )
            .await;
            l["loaded_miles"].as_f64().unwrap()
        };
        let floor = (240.0 * miles / 100.0).round() as i64 * 100;
        let counter = n["standing_cents"].as_i64().unwrap();
        assert!(
            counter >= floor && counter < 290_000,
            "{counter} against a floor of {floor}: {n}"
        );
        let said = n["messages"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(said["side"], "carrier");
        assert!(
            said["event"]["agent_reason"]
                .as_str()
                .unwrap()
                .starts_with("countered at $"),
            "{said}"
        );
        // A broker offer at the carrier's desired rate is taken.
        let desired = (330.0 * miles / 100.0).round() as i64 * 100;
        let res = act(
            &app,
            &broker,
            &id,
            json!({"move": {"move": "offer", "rate_cents": desired}}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let n = lanerunner::testing::poll(&app, &format!("/v1/negotiations/{id}"), &broker, |n| {
            n["status"] != "open"
        })
        .await;
        assert_eq!(
            (n["status"].as_str(), n["agreed_cents"].as_i64()),
            (Some("agreed"), Some(desired)),
            "{n}"
        );
        let res = app
            .delete("/v1/negotiations/carrier-policy", Some(&carrier.access))
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }

    async fn one_carrier_opening_twice_at_once_gets_one_negotiation(app: TestApp) {
        const RACERS: usize = 4;
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let load = posted_load(&app, &broker, 250_000).await;
        // The first settles that the load has arrived; then a burst at once.
        let first = json_of(
            open(&app, &carrier, json!({"load_id": load, "text": "2900"})).await,
            StatusCode::CREATED,
        )
        .await;
        let res = act(
            &app,
            &carrier,
            first["id"].as_str().unwrap(),
            json!({"move": {"move": "withdraw"}}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
        let tasks: Vec<_> = (0..RACERS)
            .map(|i| {
                let req = app
                    .client
                    .post(app.url("/v1/negotiations"))
                    .json(&json!({"load_id": load, "move": {"move": "offer", "rate_cents": 280_000 + i as i64 * 1_000}}))
                    .bearer_auth(&carrier.access);
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    let res = req.send().await.unwrap();
                    (res.status(), res.json::<Value>().await.unwrap_or(Value::Null))
                })
            })
            .collect();
        let mut created = Vec::new();
        let mut named = Vec::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            match status {
                StatusCode::CREATED => created.push(body["id"].clone()),
                StatusCode::CONFLICT => {
                    assert!(
                        body["type"]
                            .as_str()
                            .unwrap()
                            .ends_with("/negotiation-already-open"),
                        "{body}"
                    );
                    named.push(body["negotiation_id"].clone());
                }
                other => panic!("{other} {body}"),
            }
        }
        assert_eq!(created.len(), 1, "{created:?}");
        assert!(
            named.iter().all(|id| *id == created[0]),
            "{named:?} should all name {:?}",
            created[0]
        );
        let mine = json_of(
            app.get(
                &format!("/v1/negotiations?load_id={load}"),
                Some(&carrier.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let open = mine
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["status"] == "open")
            .count();
        assert_eq!(open, 1);
    }

    async fn a_blocked_carrier_cannot_negotiate_the_brokers_loads(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let load = posted_load(&app, &broker, 250_000).await;
        let n = json_of(
            open(&app, &carrier, json!({"load_id": load, "text": "2900"})).await,
            StatusCode::CREATED,
        )
        .await;
        let id = n["id"].as_str().unwrap().to_string();
        let path = format!("/v1/negotiations/carrier-lists/{}", carrier.org_id);
        // Bad lists, and carriers keep none.
        let p = expect_problem(
            put(&app, &path, &broker, json!({"list": "favourite"})).await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "list");
        expect_problem(
            app.get("/v1/negotiations/carrier-lists", Some(&carrier.access))
                .await,
            403,
            "forbidden",
        )
        .await;
        let listed = json_of(
            put(&app, &path, &broker, json!({"list": "blocked"})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed["list"], "blocked");
        let mine = json_of(
            app.get("/v1/negotiations/carrier-lists", Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine[0]["carrier_org_id"], carrier.org_id.as_str());
        // Blocked: no move in the open negotiation, no new one on the broker's loads.
        expect_problem(
            act(&app, &carrier, &id, json!({"text": "2800"})).await,
            403,
            "forbidden",
        )
        .await;
        let other = posted_load(&app, &broker, 250_000).await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        let refused = loop {
            let res = app
                .post_json(
                    "/v1/negotiations",
                    &json!({"load_id": other, "move": {"move": "book_now"}}),
                    Some(&carrier.access),
                )
                .await;
            if res.status() != StatusCode::NOT_FOUND {
                break res;
            }
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        expect_problem(refused, 403, "forbidden").await;
        // Unblocked: business as usual.
        let res = app.delete(&path, Some(&broker.access)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        expect_problem(
            app.delete(&path, Some(&broker.access)).await,
            404,
            "not-found",
        )
        .await;
        let res = app
            .post_json(
                "/v1/negotiations",
                &json!({"load_id": other, "move": {"move": "book_now"}}),
                Some(&carrier.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
);

/// A stand-in for an OpenAI-compatible server: it reads every message as an offer of
/// $2,400 (a model that guesses), and fails on "boom". Returns its base URL and the
/// requests it saw.
async fn stand_in_language_model() -> (String, Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::routing::post;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
            let log = log.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let text = body["messages"][1]["content"].as_str().unwrap_or_default().to_string();
                log.lock().unwrap().push(json!({"auth": auth, "body": body}));
                if text.contains("boom") {
                    return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"error": "down"})));
                }
                let content = json!({"intent": "offer", "amount_cents": 240_000, "unit": "total", "fuel_cents": null}).to_string();
                (axum::http::StatusCode::OK, axum::Json(json!({"choices": [{"message": {"role": "assistant", "content": content}}]})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_model_reads_what_the_parser_cannot_but_never_guesses_a_number() {
    let (url, seen) = stand_in_language_model().await;
    let app = TestApp::spawn_with(lanerunner::testing::Backend::Sqlite, |c| {
        c.negotiation.language_model.base_url = Some(url.clone());
        c.negotiation.language_model.api_key = Some("sk-test".into());
    })
    .await;
    let broker = app.signup("b@example.com", "broker").await;
    let carrier = app.signup("c@example.com", "carrier").await;
    let load = posted_load(&app, &broker, 250_000).await;
    // Two figures: the parser asks back; the model picks one the text states, which is taken.
    let n = json_of(
        open(
            &app,
            &carrier,
            json!({"load_id": load, "text": "2300 would be nice but 2400 is what we need"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(n["standing_cents"], 240_000);
    let id = n["id"].as_str().unwrap().to_string();
    // No figure at all: the model's $2,400 is a guess, refused, and asked back.
    let res = act(
        &app,
        &broker,
        &id,
        json!({"text": "meet me somewhere reasonable"}),
    )
    .await;
    expect_problem(res, 422, "unclear-message").await;
    // The model failing is asked back too, never a 5xx.
    let res = act(&app, &broker, &id, json!({"text": "boom boom"})).await;
    expect_problem(res, 422, "unclear-message").await;
    // What the parser reads never reaches the model.
    let before = seen.lock().unwrap().len();
    let res = act(&app, &broker, &id, json!({"text": "2000"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), before, "the parser read it alone");
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0]["auth"], "Bearer sk-test");
    assert_eq!(calls[0]["body"]["temperature"], 0);
    assert_eq!(calls[0]["body"]["response_format"]["type"], "json_object");
}
