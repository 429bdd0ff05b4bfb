//! The analytics service over real HTTP, on SQLite, on PostgreSQL and on the full stack:
//! loads booked through the loads service reach the lane index through the event stream,
//! aggregates are withheld until enough companies report, bad questions are refused with
//! every field named, and bad events are quarantined with their reason.

use lanerunner::both_backends;
use lanerunner::testing::{at, book, dallas_atlanta_load, expect_problem, json_of, poll, TestApp};
use lanerunner_core::{EventEnvelope, OrgId};
use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

const LANE: &str = "/v1/analytics/lanes?origin=DAL-TX&destination=ATL-GA&equipment=V";

fn thirty_days(lane: &Value) -> &Value {
    lane["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window"] == "30d")
        .expect("a 30-day window")
}

both_backends!(
    async fn lane_rates_show_only_when_enough_companies_report(app: TestApp) {
        let b1 = app.signup("b1@example.com", "broker").await;
        let b2 = app.signup("b2@example.com", "broker").await;
        let b3 = app.signup("b3@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;

        for rate in [200_000, 210_000, 220_000, 230_000] {
            book(&app, &b1, &carrier, &dallas_atlanta_load("AN", rate)).await;
        }
        for rate in [240_000, 250_000, 260_000] {
            book(&app, &b2, &carrier, &dallas_atlanta_load("AN", rate)).await;
        }
        // Seven reports, two companies: withheld, and no rate in the answer.
        let lane = poll(&app, LANE, &b1, |l| thirty_days(l)["rates"]["reports"] == 7).await;
        let w = &thirty_days(&lane)["rates"];
        assert_eq!(w["status"], "withheld", "{w}");
        assert_eq!(w["companies"], 2);
        assert!(w.get("rate_cents").is_none(), "{w}");

        // A third company: shown, to everyone who may read analytics.
        book(&app, &b3, &carrier, &dallas_atlanta_load("AN", 270_000)).await;
        let lane = poll(&app, LANE, &carrier, |l| {
            thirty_days(l)["rates"]["reports"] == 8
        })
        .await;
        let w = &thirty_days(&lane)["rates"];
        assert_eq!(w["status"], "shown", "{w}");
        assert_eq!(w["companies"], 3);
        // quantile_cont over 200k..270k in 10k steps.
        assert_eq!(w["rate_cents"]["median"], 235_000.0);
        assert_eq!(w["rate_cents"]["low"], 217_500.0);
        assert_eq!(w["rate_cents"]["high"], 252_500.0);
        let per_mile = w["rate_per_mile_cents"]["median"].as_f64().unwrap();
        assert!((200.0..400.0).contains(&per_mile), "{per_mile}");
        assert_eq!(lane["lane"]["rate_kind"], "spot");
        // With the streams on Kafka, analytics stored these from the audit stream: its
        // group is a stream consumer there, caught up (in process it reads the bus).
        if app.backend == lanerunner::testing::Backend::FullStack {
            let streams = app.app().streams();
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
            while streams.lag("analytics.ingest", "audit").await.unwrap() > 0 {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the analytics group has not read the audit stream"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
        // Contract rates are another lane: nothing reported there.
        let contract = json_of(
            app.get(&format!("{LANE}&kind=contract"), Some(&b1.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(thirty_days(&contract)["rates"]["reports"], 0);

        // The origin market's supply: eight loads posted, two trucks.
        for _ in 0..2 {
            let t = json!({"equipment": "V", "trailer_length_ft": 53, "available_at": {"place": "Dallas, TX"},
                "available_from": at(1, 6), "available_until": at(6, 18), "max_deadhead_miles": 100});
            let res = app.post_json("/v1/trucks", &t, Some(&carrier.access)).await;
            assert_eq!(res.status(), StatusCode::CREATED);
        }
        let markets = poll(&app, "/v1/analytics/markets?equipment=V", &b1, |m| {
            m["markets"][0]["trucks"] == 2
        })
        .await;
        let dallas = &markets["markets"][0];
        assert_eq!(dallas["market"], "DAL-TX");
        assert_eq!(
            (dallas["loads"].as_u64(), dallas["load_to_truck"].as_f64()),
            (Some(8), Some(4.0))
        );
        let lane = json_of(app.get(LANE, Some(&b1.access)).await, StatusCode::OK).await;
        assert_eq!(thirty_days(&lane)["origin_market"]["load_to_truck"], 4.0);

        let history = json_of(
            app.get(
                &LANE.replace("/lanes?", "/lanes/history?"),
                Some(&b2.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let months = history["months"].as_array().unwrap();
        assert_eq!(months.len(), 13);
        assert_eq!(months[12]["status"], "shown");
        assert_eq!(months[0]["status"], "withheld");

        // Every event the loads service published read as analytics reads it.
        let q = json_of(
            app.get("/v1/analytics/quarantine", Some(&b1.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(q, json!([]));
    }

    async fn brokers_read_their_own_kpis_and_nobody_else_s(app: TestApp) {
        let b = app.signup("b@example.com", "broker").await;
        let other = app.signup("o@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        // Three posted loads: one booked below its posted rate and delivered, one booked at
        // it, one cancelled uncovered.
        book(&app, &b, &carrier, &dallas_atlanta_load("AN", 250_000)).await;
        book(&app, &b, &carrier, &dallas_atlanta_load("AN", 250_000)).await;
        let status = |id: String, event: &'static str, extra: Value| {
            let app = &app;
            let b = &b;
            async move {
                let mut body = json!({"event": event, "reason": "test"});
                if let Some(map) = extra.as_object() {
                    for (k, v) in map {
                        body[k] = v.clone();
                    }
                }
                let res = app
                    .post_json(&format!("/v1/loads/{id}/status"), &body, Some(&b.access))
                    .await;
                assert_eq!(res.status(), StatusCode::OK, "{event}");
            }
        };
        let l = json_of(
            app.post_json(
                "/v1/loads",
                &dallas_atlanta_load("K", 250_000),
                Some(&b.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = l["id"].as_str().unwrap().to_string();
        let res = app
            .post_json(&format!("/v1/loads/{id}/post"), &json!({}), Some(&b.access))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        status(
            id.clone(),
            "cover",
            json!({"booking": {"rate_cents": 225_000}}),
        )
        .await;
        for event in [
            "dispatch",
            "arrive_pickup",
            "depart_pickup",
            "arrive_delivery",
            "deliver",
        ] {
            status(id.clone(), event, json!({})).await;
        }
        let l = json_of(
            app.post_json(
                "/v1/loads",
                &dallas_atlanta_load("K", 250_000),
                Some(&b.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let id = l["id"].as_str().unwrap().to_string();
        let res = app
            .post_json(&format!("/v1/loads/{id}/post"), &json!({}), Some(&b.access))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        status(id, "cancel", json!({})).await;

        // Every load's events in: on Kafka the stream keeps each load's events in order,
        // not the order between loads, so one load's posting may land after another's
        // delivery.
        let k = poll(&app, "/v1/analytics/kpis", &b, |k| {
            k["cancelled"] == 1 && k["delivered"] == 1 && k["posted"] == 4 && k["covered"] == 3
        })
        .await;
        assert_eq!(
            (k["posted"].as_u64(), k["covered"].as_u64()),
            (Some(4), Some(3)),
            "{k}"
        );
        assert_eq!(k["cover_rate"], 0.75);
        assert_eq!(k["booked_vs_posted_pct"], 0.0);
        assert_eq!(
            (k["delivered_on_time"].as_u64(), k["on_time_rate"].as_f64()),
            (Some(1), Some(1.0))
        );
        assert!(
            k["time_to_cover_hours"]["p50"].as_f64().unwrap() < 1.0,
            "{k}"
        );
        // The carrier scorecard: the two loads covered with `carrier`, not yet delivered
        // (the third was covered without naming a carrier on LaneRunner).
        let card = json_of(
            app.get("/v1/analytics/carriers", Some(&b.access)).await,
            StatusCode::OK,
        )
        .await;
        let carriers = card["carriers"].as_array().unwrap();
        assert_eq!(carriers.len(), 1, "{card}");
        assert_eq!(carriers[0]["carrier_org_id"], carrier.org_id.as_str());
        assert_eq!(
            (
                carriers[0]["booked"].as_u64(),
                carriers[0]["delivered"].as_u64()
            ),
            (Some(2), Some(0))
        );
        assert_eq!(carriers[0]["booked_cents"], 500_000);
        assert!(carriers[0]["on_time_rate"].is_null());
        let none = json_of(
            app.get("/v1/analytics/carriers", Some(&other.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(none["carriers"], json!([]));
        // Another broker's KPIs hold none of it.
        let theirs = json_of(
            app.get("/v1/analytics/kpis", Some(&other.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (theirs["posted"].as_u64(), theirs["cover_rate"].is_null()),
            (Some(0), true)
        );
        // A period that ends before it starts is refused.
        let res = app
            .get(
                "/v1/analytics/kpis?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z",
                Some(&b.access),
            )
            .await;
        expect_problem(res, 422, "validation").await;
    }

    async fn bad_lane_questions_are_refused_with_every_field_named(app: TestApp) {
        let b = app.signup("b@example.com", "broker").await;
        let res = app
            .get(
                "/v1/analytics/lanes?origin=NOPE&destination=Atlanta&equipment=Q&kind=cheap&as_of=2999-01-01",
                Some(&b.access),
            )
            .await;
        let p = expect_problem(res, 422, "validation").await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["origin", "destination", "equipment", "kind", "as_of"]
        );
        let res = app
            .get(
                "/v1/analytics/markets?equipment=V&window=14d",
                Some(&b.access),
            )
            .await;
        expect_problem(res, 422, "validation").await;
        let res = app
            .get("/v1/analytics/lanes?origin=DAL-TX", Some(&b.access))
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let res = app
            .get("/v1/analytics/quarantine?limit=0", Some(&b.access))
            .await;
        expect_problem(res, 422, "validation").await;
        let res = app.get(LANE, None).await;
        expect_problem(res, 401, "unauthenticated").await;
    }

    async fn malformed_market_events_are_quarantined_with_their_reason(app: TestApp) {
        let b = app.signup("b@example.com", "broker").await;
        let other = app.signup("o@example.com", "broker").await;
        let org = OrgId(b.org_id.parse::<Uuid>().unwrap());
        let bad = EventEnvelope::new(
            lanerunner_analytics::events::LOAD_BOOKED,
            Some(org),
            Uuid::now_v7(),
            &json!({"load_id": Uuid::now_v7(), "rate_cents": "a lot"}),
        )
        .unwrap();
        app.app().bus().publish(&bad).await.unwrap();
        let q = poll(&app, "/v1/analytics/quarantine", &b, |q| {
            q.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
        assert_eq!(q[0]["event_id"], bad.id.to_string());
        assert_eq!(q[0]["event_type"], "load.booked.v1");
        assert_eq!(q[0]["reason_code"], "unreadable");
        assert_eq!(q[0]["payload"]["rate_cents"], "a lot");
        // Another organization does not see it, and the lane index took nothing.
        let theirs = json_of(
            app.get("/v1/analytics/quarantine", Some(&other.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(theirs, json!([]));
    }
);
