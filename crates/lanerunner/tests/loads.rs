//! The loads service over real HTTP, on SQLite and on PostgreSQL: loads and their
//! lifecycle, what carriers may see, CSV import, the board search, trucks and saved-search
//! alerts.

use std::time::Duration;

use lanerunner::both_backends;
use lanerunner::testing::{at, expect_problem, json_of, Account, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

// More scenarios, by theme; they share this file's helpers.
#[path = "loads/alerts.rs"]
mod alerts;
#[path = "loads/board_snapshot.rs"]
mod board_snapshot;
#[path = "loads/booking.rs"]
mod booking;
#[path = "loads/horizon.rs"]
mod horizon;
#[path = "loads/idempotency.rs"]
mod idempotency;
#[path = "loads/places.rs"]
mod places;
#[path = "loads/stored_rows.rs"]
mod stored_rows;
#[path = "loads/text_hygiene.rs"]
mod text_hygiene;

/// A dry-van load `origin` → `dest`, picking up in three days.
fn load(reference: &str, origin: &str, dest: &str) -> Value {
    json!({
        "reference": reference,
        "stops": [
            {"kind": "pickup", "location": {"place": origin}, "facility": "DC 4", "window": {"start": at(3, 8), "end": at(3, 14)}},
            {"kind": "delivery", "location": {"place": dest}, "appointment": at(5, 9), "handling": "drop"}
        ],
        "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 42000, "commodity": "paper",
        "rate": {"kind": "all_in", "amount_cents": 250000},
        "target_rate_cents": 220000, "max_rate_cents": 260000,
        "contact": {"name": "Dana", "phone": "+1 214 555 0100"}
    })
}

async fn create(app: &TestApp, who: &Account, body: &Value) -> Value {
    json_of(
        app.post_json("/v1/loads", body, Some(&who.access)).await,
        StatusCode::CREATED,
    )
    .await
}

async fn event(app: &TestApp, who: &Account, id: &str, event: &str) -> reqwest::Response {
    app.post_json(
        &format!("/v1/loads/{id}/status"),
        &json!({ "event": event, "reason": "test" }),
        Some(&who.access),
    )
    .await
}

async fn posted(app: &TestApp, who: &Account, body: &Value) -> Value {
    let l = create(app, who, body).await;
    let id = l["id"].as_str().unwrap();
    json_of(
        app.post_json(
            &format!("/v1/loads/{id}/post"),
            &json!({}),
            Some(&who.access),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

async fn put(
    app: &TestApp,
    who: &Account,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .put(app.url(&format!("/v1/loads/{id}")))
        .json(body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    app.send(req, Some(&who.access)).await
}

both_backends!(
    async fn a_load_is_created_resolved_and_updated_optimistically(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let res = app
            .post_json(
                "/v1/loads",
                &load("PO-1", "Dallas, TX", "Atlanta, GA"),
                Some(&broker.access),
            )
            .await;
        assert_eq!(res.headers()["etag"], "\"1\"");
        let l = json_of(res, StatusCode::CREATED).await;
        assert_eq!(l["status"], "draft");
        assert_eq!(l["stops"][0]["location"]["label"], "Dallas, TX");
        assert_eq!(l["stops"][0]["window"]["timezone"], "America/Chicago");
        assert_eq!(l["stops"][1]["window"]["timezone"], "America/New_York");
        assert_eq!(l["lane"]["origin_market"], "DAL-TX");
        assert_eq!(l["lane"]["dest_market"], "ATL-GA");
        let miles = l["loaded_miles"].as_f64().unwrap();
        assert!(
            (700.0..900.0).contains(&miles),
            "Dallas→Atlanta is ~780 road miles, got {miles}"
        );
        // Wire rounding: miles to a tenth, the rate per mile in whole cents.
        assert_eq!(miles, (miles * 10.0).round() / 10.0, "{miles}");
        let per_mile = &l["rate_per_mile_cents"];
        assert!(per_mile.is_i64(), "whole cents per mile, got {per_mile}");
        let expected = (l["all_in_rate_cents"].as_f64().unwrap() / miles).round();
        assert!(
            (per_mile.as_f64().unwrap() - expected).abs() <= 1.0,
            "{per_mile} vs {expected}"
        );
        assert_eq!(l["target_rate_cents"], 220000);
        let id = l["id"].as_str().unwrap();

        let mut changed = load("PO-1b", "Dallas, TX", "Memphis, TN");
        changed["weight_lbs"] = json!(30000);
        expect_problem(
            put(&app, &broker, id, &changed, None).await,
            428,
            "precondition-required",
        )
        .await;
        let p = expect_problem(
            put(&app, &broker, id, &changed, Some("\"7\"")).await,
            412,
            "precondition-failed",
        )
        .await;
        assert_eq!(p["current_version"], 1);
        let res = put(&app, &broker, id, &changed, Some("\"1\"")).await;
        assert_eq!(res.headers()["etag"], "\"2\"");
        let l = json_of(res, StatusCode::OK).await;
        assert_eq!(l["reference"], "PO-1b");
        assert_eq!(l["lane"]["dest_market"], "MEM-TN");
        // The old version is gone for good: replaying the first update is refused.
        expect_problem(
            put(&app, &broker, id, &changed, Some("\"1\"")).await,
            412,
            "precondition-failed",
        )
        .await;

        let got = app
            .get(&format!("/v1/loads/{id}"), Some(&broker.access))
            .await;
        assert_eq!(got.headers()["etag"], "\"2\"");
        assert_eq!(json_of(got, StatusCode::OK).await["weight_lbs"], 30000);
    }

    async fn idempotency_key_replays_the_first_answer(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let body = load("PO-1", "Dallas, TX", "Atlanta, GA");
        let send = |body: Value, key: &'static str| {
            let req = app
                .client
                .post(app.url("/v1/loads"))
                .json(&body)
                .header("Idempotency-Key", key);
            app.send(req, Some(&broker.access))
        };
        let first = json_of(send(body.clone(), "k-1").await, StatusCode::CREATED).await;
        let again = json_of(send(body.clone(), "k-1").await, StatusCode::CREATED).await;
        assert_eq!(first["id"], again["id"]);
        expect_problem(
            send(load("PO-2", "Dallas, TX", "Atlanta, GA"), "k-1").await,
            422,
            "idempotency-key-reused",
        )
        .await;
        let other = json_of(send(body, "k-2").await, StatusCode::CREATED).await;
        assert_ne!(first["id"], other["id"]);
        let list = json_of(
            app.get("/v1/loads", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
    }

    async fn the_lifecycle_is_a_state_machine_with_history(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let l = posted(&app, &broker, &load("PO-1", "Dallas, TX", "Atlanta, GA")).await;
        let id = l["id"].as_str().unwrap();
        assert_eq!(l["status"], "posted");
        let p = expect_problem(
            event(&app, &broker, id, "deliver").await,
            409,
            "illegal-transition",
        )
        .await;
        assert_eq!(p["current_state"], "posted");
        for (ev, state) in [
            ("cover", "covered"),
            ("dispatch", "dispatched"),
            ("arrive_pickup", "at_pickup"),
            ("depart_pickup", "in_transit"),
            ("arrive_delivery", "at_delivery"),
            ("deliver", "delivered"),
            ("close", "closed"),
        ] {
            let v = json_of(event(&app, &broker, id, ev).await, StatusCode::OK).await;
            assert_eq!(v["status"], state);
        }
        let p = expect_problem(
            event(&app, &broker, id, "cancel").await,
            409,
            "illegal-transition",
        )
        .await;
        assert_eq!(p["current_state"], "closed");
        // Editing a closed load is refused, naming its state.
        let p = expect_problem(
            put(
                &app,
                &broker,
                id,
                &load("X", "Dallas, TX", "Atlanta, GA"),
                Some("\"9\""),
            )
            .await,
            409,
            "not-editable",
        )
        .await;
        assert_eq!(p["current_state"], "closed");

        let history = json_of(
            app.get(&format!("/v1/loads/{id}/history"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let events: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["event"].as_str().unwrap())
            .collect();
        assert_eq!(
            events,
            [
                "create",
                "post",
                "cover",
                "dispatch",
                "arrive_pickup",
                "depart_pickup",
                "arrive_delivery",
                "deliver",
                "close"
            ]
        );
        assert_eq!(history[2]["actor_id"], broker.user_id.as_str());
        assert_eq!(history[2]["from_status"], "posted");

        // Cancelled after dispatch: the truck was ordered and not used.
        let l = posted(&app, &broker, &load("PO-2", "Dallas, TX", "Atlanta, GA")).await;
        let id = l["id"].as_str().unwrap();
        event(&app, &broker, id, "cover").await;
        event(&app, &broker, id, "dispatch").await;
        let no_reason = app
            .post_json(
                &format!("/v1/loads/{id}/cancel"),
                &json!({}),
                Some(&broker.access),
            )
            .await;
        let p = expect_problem(no_reason, 422, "validation").await;
        assert_eq!(p["errors"][0]["field"], "reason");
        let res = app
            .post_json(
                &format!("/v1/loads/{id}/cancel"),
                &json!({"reason": "shipper cancelled"}),
                Some(&broker.access),
            )
            .await;
        let v = json_of(res, StatusCode::OK).await;
        assert_eq!(v["status"], "cancelled");
        assert_eq!(v["truck_ordered_not_used"], true);
    }

    async fn every_transition_is_an_event_with_actor_and_reason(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let bus = app.app().bus();
        let mut sub = bus
            .subscribe("test.observer", &["load.status_changed.v1"])
            .await
            .unwrap();
        let l = posted(&app, &broker, &load("PO-1", "Dallas, TX", "Atlanta, GA")).await;
        let id = l["id"].as_str().unwrap();
        let res = app
            .post_json(
                &format!("/v1/loads/{id}/unpost"),
                &json!({}),
                Some(&broker.access),
            )
            .await;
        json_of(res, StatusCode::OK).await;
        let mut seen = Vec::new();
        while seen.len() < 2 {
            let d = tokio::time::timeout(Duration::from_secs(10), sub.next())
                .await
                .expect("an event within 10 s")
                .unwrap();
            seen.push(d.event.payload.clone());
            assert_eq!(
                d.event.org_id.map(|o| o.0.to_string()),
                Some(broker.org_id.clone())
            );
            d.ack().await;
        }
        assert_eq!(seen[0]["from"], "draft");
        assert_eq!(seen[0]["to"], "posted");
        assert_eq!(seen[1]["to"], "draft");
        assert_eq!(seen[1]["actor_id"], broker.user_id.as_str());
    }

    async fn carriers_and_other_brokers_see_only_public_fields_of_posted_public_loads(
        app: TestApp,
    ) {
        let broker = app.signup("b@example.com", "broker").await;
        let rival = app.signup("r@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let draft = create(&app, &broker, &load("DRAFT", "Dallas, TX", "Atlanta, GA")).await;
        let mut private = load("PRIV", "Dallas, TX", "Atlanta, GA");
        private["visibility"] = json!("private");
        let private = posted(&app, &broker, &private).await;
        let public = posted(&app, &broker, &load("PUB", "Dallas, TX", "Atlanta, GA")).await;
        let (draft, private, public) = (
            draft["id"].as_str().unwrap(),
            private["id"].as_str().unwrap(),
            public["id"].as_str().unwrap(),
        );

        for outsider in [&carrier, &rival] {
            let t = Some(outsider.access.as_str());
            // Read routes: the public load's public view, nothing of the others.
            let v = json_of(
                app.get(&format!("/v1/loads/{public}"), t).await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(v["reference"], "PUB");
            for secret in ["target_rate_cents", "max_rate_cents", "status", "version"] {
                assert!(v.get(secret).is_none(), "{secret} leaked: {v}");
            }
            for hidden in [draft, private] {
                expect_problem(
                    app.get(&format!("/v1/loads/{hidden}"), t).await,
                    404,
                    "not-found",
                )
                .await;
            }
            for id in [draft, private, public] {
                expect_problem(
                    app.get(&format!("/v1/loads/{id}/history"), t).await,
                    404,
                    "not-found",
                )
                .await;
            }
            let list = json_of(app.get("/v1/loads", t).await, StatusCode::OK).await;
            assert_eq!(list["items"], json!([]));
            let hits = json_of(
                app.get("/v1/loads/search?origin=Dallas,%20TX", t).await,
                StatusCode::OK,
            )
            .await;
            let items = hits["items"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{hits}");
            assert_eq!(items[0]["load"]["id"], public);
            let raw = hits.to_string();
            assert!(
                !raw.contains("target_rate")
                    && !raw.contains("max_rate")
                    && !raw.contains("260000"),
                "{raw}"
            );
            // Write routes: nothing changes.
            for id in [draft, private, public] {
                let code = |r: &reqwest::Response| r.status().as_u16();
                let r = put(
                    &app,
                    outsider,
                    id,
                    &load("X", "Dallas, TX", "Atlanta, GA"),
                    Some("\"1\""),
                )
                .await;
                assert!([403, 404].contains(&code(&r)), "update {}", code(&r));
                for action in ["post", "unpost", "copy"] {
                    let r = app
                        .post_json(&format!("/v1/loads/{id}/{action}"), &json!({}), t)
                        .await;
                    assert!([403, 404].contains(&code(&r)), "{action} {}", code(&r));
                }
                let r = app
                    .post_json(
                        &format!("/v1/loads/{id}/cancel"),
                        &json!({"reason": "mine now"}),
                        t,
                    )
                    .await;
                assert!([403, 404].contains(&code(&r)));
                let r = event(&app, outsider, id, "cover").await;
                assert!([403, 404].contains(&code(&r)));
            }
        }
        // Carriers do not create loads.
        let r = app
            .post_json(
                "/v1/loads",
                &load("C", "Dallas, TX", "Atlanta, GA"),
                Some(&carrier.access),
            )
            .await;
        expect_problem(r, 403, "forbidden").await;
        // The owner still sees everything, unchanged.
        let v = json_of(
            app.get(&format!("/v1/loads/{public}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(v["max_rate_cents"], 260000);
        assert_eq!(v["status"], "posted");
        assert_eq!(v["version"], 2);
    }

    async fn bad_input_names_every_field_and_stores_nothing(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let mut bad = load("PO-1", "Dalas, TX", "Atlanta, GA");
        bad["stops"][1]["appointment"] = json!(at(2, 9)); // before the pickup
        bad["weight_lbs"] = json!(95000);
        bad["trailer_length_ft"] = json!(80);
        bad["rate"] = json!({"kind": "all_in", "amount_cents": -5});
        let p = expect_problem(
            app.post_json("/v1/loads", &bad, Some(&broker.access)).await,
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
        for f in [
            "stops[0].location.place",
            "weight_lbs",
            "trailer_length_ft",
            "rate.amount_cents",
        ] {
            assert!(fields.contains(&f), "{f} not in {fields:?}");
        }
        let suggestions = p["suggestions"]["stops[0].location.place"]
            .as_array()
            .expect("suggestions for the unknown place");
        assert!(
            suggestions.iter().any(|s| s == "Dallas, TX"),
            "{suggestions:?}"
        );

        let mut backwards = load("PO-2", "Dallas, TX", "Atlanta, GA");
        backwards["stops"][0]["window"] = json!({"start": at(3, 14), "end": at(3, 8)});
        let p = expect_problem(
            app.post_json("/v1/loads", &backwards, Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "stops[0].window.end");

        let mut later = load("PO-3", "Dallas, TX", "Atlanta, GA");
        later["stops"][1]["appointment"] = json!(at(3, 9));
        let p = expect_problem(
            app.post_json("/v1/loads", &later, Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert!(p["errors"].to_string().contains("stops[1]"), "{p}");

        let mut unknown = load("PO-4", "Dallas, TX", "Atlanta, GA");
        unknown["equipment"] = json!("ZZ");
        // Caught while the body is read, with the field's path and the valid codes.
        let p = expect_problem(
            app.post_json("/v1/loads", &unknown, Some(&broker.access))
                .await,
            422,
            "invalid-body",
        )
        .await;
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("equipment") && detail.contains("TNK"),
            "{p}"
        );

        let list = json_of(
            app.get("/v1/loads", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"], json!([]));
    }

    async fn csv_import_is_all_or_nothing_with_a_row_report(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let header = "reference,origin,pickup_start,pickup_end,destination,delivery_start,equipment,trailer_length_ft,weight_lbs,commodity,rate_cents,max_rate_cents";
        let good = [
            format!(
                "A-1,\"Dallas, TX\",{},{},\"Atlanta, GA\",{},V,53,40000,paper,250000,270000",
                at(3, 8),
                at(3, 12),
                at(5, 9)
            ),
            format!(
                "A-2,\"Ft. Worth, TX\",{},,\"Saint Louis, MO\",{},R,53,\"38,000\",produce,,",
                at(3, 8),
                at(4, 9)
            ),
        ];
        let bad = format!(
            "A-3,\"Nowhereville, TX\",{},,\"Atlanta, GA\",{},XX,53,99000,paper,-1,",
            at(3, 8),
            at(5, 9)
        );
        let send = |text: String| {
            let req = app
                .client
                .post(app.url("/v1/loads/import"))
                .header("content-type", "text/csv")
                .body(text);
            app.send(req, Some(&broker.access))
        };
        let p = expect_problem(
            send(format!("{header}\n{}\n{}\n{bad}\n", good[0], good[1])).await,
            422,
            "import-rejected",
        )
        .await;
        let rows = p["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{p}");
        assert_eq!(rows[0]["row"], 3);
        let fields = rows[0]["errors"].to_string();
        for f in ["equipment", "weight_lbs", "rate_cents"] {
            assert!(fields.contains(f), "{f} missing from {fields}");
        }
        let list = json_of(
            app.get("/v1/loads", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"], json!([]), "nothing half-imported");

        let wrong_type = app
            .client
            .post(app.url("/v1/loads/import"))
            .header("content-type", "application/json")
            .body("{}");
        expect_problem(
            app.send(wrong_type, Some(&broker.access)).await,
            415,
            "unsupported-media-type",
        )
        .await;

        let created = json_of(
            send(format!("{header}\n{}\n{}\n", good[0], good[1])).await,
            StatusCode::CREATED,
        )
        .await;
        let created = created.as_array().unwrap();
        assert_eq!(created.len(), 2);
        assert_eq!(created[1]["equipment"], "R");
        assert_eq!(created[1]["stops"][1]["location"]["label"], "St. Louis, MO");
        assert_eq!(created[0]["max_rate_cents"], 270000);

        // Copy a load to repost the lane: a new draft with the same terms.
        let id = created[0]["id"].as_str().unwrap();
        let copy = json_of(
            app.post_json(
                &format!("/v1/loads/{id}/copy"),
                &json!({}),
                Some(&broker.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_ne!(copy["id"], created[0]["id"]);
        assert_eq!(copy["status"], "draft");
        assert_eq!(copy["reference"], "A-1");
    }

    async fn the_board_search_filters_sorts_and_pages(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let t = Some(carrier.access.as_str());
        posted(&app, &broker, &load("DAL-ATL", "Dallas, TX", "Atlanta, GA")).await;
        let mut cheap = load("FTW-MEM", "Fort Worth, TX", "Memphis, TN");
        cheap["rate"] = json!({"kind": "per_mile", "amount_cents": 150});
        posted(&app, &broker, &cheap).await;
        let mut reefer = load("DAL-CHI-R", "Dallas, TX", "Chicago, IL");
        reefer["equipment"] = json!("R");
        reefer["temperature_f"] = json!({"min_f": 34, "max_f": 38});
        posted(&app, &broker, &reefer).await;
        posted(
            &app,
            &broker,
            &load("CHI-DET", "Chicago, IL", "Detroit, MI"),
        )
        .await;

        let refs = |v: &Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["load"]["reference"].as_str().unwrap().to_string())
                .collect()
        };
        let all = json_of(
            app.get(
                "/v1/loads/search?origin=Arlington,%20TX&origin_radius_miles=60&sort=deadhead",
                t,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(all["total_matches"], 3, "{all}");
        let hit = &all["items"][0];
        let deadhead = hit["deadhead_miles"].as_f64().unwrap();
        assert!(
            deadhead > 5.0 && deadhead < 40.0,
            "Arlington is between Dallas and Fort Worth: {deadhead}"
        );
        assert!(hit["loaded_miles"].as_f64().unwrap() > 100.0);
        for h in all["items"].as_array().unwrap() {
            for field in ["deadhead_miles", "loaded_miles"] {
                let m = h[field].as_f64().unwrap();
                assert_eq!(m, (m * 10.0).round() / 10.0, "{field} to a tenth: {h}");
            }
            assert!(h["rate_per_mile_cents"].is_i64(), "{h}");
            assert!(
                h["load"]["rate_per_mile_cents"].is_i64()
                    || h["load"]["rate_per_mile_cents"].is_null(),
                "{h}"
            );
        }
        let deadheads: Vec<f64> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["deadhead_miles"].as_f64().unwrap())
            .collect();
        assert!(deadheads.windows(2).all(|w| w[0] <= w[1]), "{deadheads:?}");

        let vans = json_of(app.get("/v1/loads/search?origin=Dallas,%20TX&equipment=V&dest_states=GA,TN&sort=rate_per_mile", t).await, StatusCode::OK).await;
        assert_eq!(
            refs(&vans),
            ["DAL-ATL", "FTW-MEM"],
            "dry vans to GA/TN, best rate per mile first"
        );
        let reefers = json_of(app.get("/v1/loads/search?origin=Dallas,%20TX&equipment=reefer&dest=Chicago,%20IL&dest_radius_miles=50", t).await, StatusCode::OK).await;
        assert_eq!(refs(&reefers), ["DAL-CHI-R"]);
        let paying = json_of(
            app.get(
                "/v1/loads/search?origin=Dallas,%20TX&min_rate_per_mile_cents=200",
                t,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert!(!refs(&paying).contains(&"FTW-MEM".to_string()));

        // Cursor pagination walks every hit once.
        let mut seen = Vec::new();
        let mut url = "/v1/loads/search?origin=Dallas,%20TX&limit=1".to_string();
        loop {
            let page = json_of(app.get(&url, t).await, StatusCode::OK).await;
            seen.extend(refs(&page));
            match page["next_cursor"].as_str() {
                Some(c) => url = format!("/v1/loads/search?origin=Dallas,%20TX&limit=1&cursor={c}"),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ["DAL-ATL", "DAL-CHI-R", "FTW-MEM"]);

        // A cursor works only with the filters of the page that gave it, and not edited.
        let first = json_of(
            app.get("/v1/loads/search?origin=Dallas,%20TX&limit=1", t)
                .await,
            StatusCode::OK,
        )
        .await;
        let cursor = first["next_cursor"].as_str().unwrap().to_string();
        let mut edited = cursor.clone().into_bytes();
        edited[20] = if edited[20] == b'0' { b'1' } else { b'0' };
        let edited = String::from_utf8(edited).unwrap();
        for url in [
            format!("/v1/loads/search?origin=Dallas,%20TX&origin_radius_miles=150&limit=1&cursor={cursor}"),
            format!("/v1/loads/search?origin=Dallas,%20TX&equipment=V&limit=1&cursor={cursor}"),
            format!("/v1/loads/search?origin=Dallas,%20TX&limit=1&cursor={edited}"),
        ] {
            let p = expect_problem(app.get(&url, t).await, 422, "validation").await;
            assert_eq!(p["errors"][0]["field"], "cursor", "{url}");
        }
        json_of(
            app.get(
                &format!("/v1/loads/search?origin=Dallas,%20TX&limit=2&cursor={cursor}"),
                t,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        expect_problem(
            app.get("/v1/loads/search?origin=Dallas,%20TX&limit=201", t)
                .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            app.get(
                "/v1/loads/search?origin=Dallas,%20TX&origin_radius_miles=501",
                t,
            )
            .await,
            422,
            "validation",
        )
        .await;

        let p = expect_problem(
            app.get("/v1/loads/search?origin=Dalas,%20TX", t).await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "origin.place");
        expect_problem(
            app.get("/v1/loads/search?origin=Dallas,%20TX&equipment=ZZ", t)
                .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            app.get(
                "/v1/loads/search?origin=Dallas,%20TX&origin_radius_miles=-3",
                t,
            )
            .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            app.get("/v1/loads/search?origin=Dallas,%20TX&cursor=garbage", t)
                .await,
            422,
            "validation",
        )
        .await;
    }

    async fn board_follows_unposting_and_cancellation(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let t = Some(carrier.access.as_str());
        let l = posted(&app, &broker, &load("PO-1", "Dallas, TX", "Atlanta, GA")).await;
        let id = l["id"].as_str().unwrap();
        let count = |v: Value| v["total_matches"].as_u64().unwrap();
        assert_eq!(
            count(
                json_of(
                    app.get("/v1/loads/search?origin=Dallas,%20TX", t).await,
                    StatusCode::OK
                )
                .await
            ),
            1
        );
        event(&app, &broker, id, "cover").await;
        assert_eq!(
            count(
                json_of(
                    app.get("/v1/loads/search?origin=Dallas,%20TX", t).await,
                    StatusCode::OK
                )
                .await
            ),
            0
        );
        expect_problem(
            app.get(&format!("/v1/loads/{id}"), t).await,
            404,
            "not-found",
        )
        .await;
    }

    async fn carriers_post_trucks_and_brokers_search_them(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let truck = json!({
            "equipment": "R", "trailer_length_ft": 53,
            "available_at": {"place": "Irving, TX"},
            "available_from": at(2, 6), "available_until": at(4, 18),
            "destination": {"kind": "states", "states": ["GA", "FL"]},
            "max_deadhead_miles": 150, "min_rate_per_mile_cents": 220
        });
        let created = json_of(
            app.post_json("/v1/trucks", &truck, Some(&carrier.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        let truck_id = created["id"].as_str().unwrap();
        assert_eq!(created["available_at"]["timezone"], "America/Chicago");
        expect_problem(
            app.post_json("/v1/trucks", &truck, Some(&broker.access))
                .await,
            403,
            "forbidden",
        )
        .await;

        let b = Some(broker.access.as_str());
        let found = json_of(
            app.get(
                "/v1/trucks/search?origin=Dallas,%20TX&radius_miles=50&equipment=R,V&dest_state=GA",
                b,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let found = found.as_array().unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0]["id"], truck_id);
        assert!(found[0]["deadhead_miles"].as_f64().unwrap() < 30.0);
        let elsewhere = json_of(
            app.get("/v1/trucks/search?origin=Dallas,%20TX&dest_state=CA", b)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(elsewhere, json!([]), "the truck only wants GA or FL");
        let flatbeds = json_of(
            app.get("/v1/trucks/search?origin=Dallas,%20TX&equipment=F", b)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(flatbeds, json!([]));
        expect_problem(
            app.get(
                "/v1/trucks/search?origin=Dallas,%20TX",
                Some(&carrier.access),
            )
            .await,
            403,
            "forbidden",
        )
        .await;

        // Another carrier can neither see nor remove it.
        let other = app.signup("o@example.com", "carrier").await;
        expect_problem(
            app.get(&format!("/v1/trucks/{truck_id}"), Some(&other.access))
                .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.delete(&format!("/v1/trucks/{truck_id}"), Some(&other.access))
                .await,
            404,
            "not-found",
        )
        .await;

        let mut bad = truck.clone();
        bad["available_until"] = json!(at(1, 6));
        bad["max_deadhead_miles"] = json!(5000);
        bad["available_at"] = json!({"place": "Atlantis, GA"});
        let p = expect_problem(
            app.post_json("/v1/trucks", &bad, Some(&carrier.access))
                .await,
            422,
            "validation",
        )
        .await;
        let fields = p["errors"].to_string();
        for f in [
            "available_until",
            "max_deadhead_miles",
            "available_at.place",
        ] {
            assert!(fields.contains(f), "{f} missing from {fields}");
        }

        assert_eq!(
            app.delete(&format!("/v1/trucks/{truck_id}"), Some(&carrier.access))
                .await
                .status(),
            204
        );
        let gone = json_of(
            app.get("/v1/trucks/search?origin=Dallas,%20TX", b).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(gone, json!([]));
    }

    async fn a_saved_search_raises_an_alert_for_a_matching_new_load(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let bus = app.app().bus();
        let mut alerts = bus
            .subscribe("test.alerts", &["search.alert.v1"])
            .await
            .unwrap();
        let search = json!({"name": "DFW vans to the southeast", "params": {"origin": "Dallas, TX", "origin_radius_miles": 75, "equipment": "V", "dest_states": "GA,FL"}});
        let saved = json_of(
            app.post_json("/v1/searches", &search, Some(&carrier.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        expect_problem(
            app.post_json("/v1/searches", &search, Some(&broker.access))
                .await,
            403,
            "forbidden",
        )
        .await;
        let bad = json!({"name": "x", "params": {"origin": "Dalas, TX"}});
        let p = expect_problem(
            app.post_json("/v1/searches", &bad, Some(&carrier.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"][0]["field"], "params.origin.place");

        posted(&app, &broker, &load("TO-CHI", "Dallas, TX", "Chicago, IL")).await;
        let l = posted(
            &app,
            &broker,
            &load("TO-ATL", "Fort Worth, TX", "Atlanta, GA"),
        )
        .await;
        let d = tokio::time::timeout(Duration::from_secs(10), alerts.next())
            .await
            .expect("an alert within 10 s")
            .unwrap();
        assert_eq!(d.event.payload["search_id"], saved["id"]);
        assert_eq!(
            d.event.payload["load_id"], l["id"],
            "only the load to GA matches"
        );
        assert_eq!(
            d.event.org_id.map(|o| o.0.to_string()),
            Some(carrier.org_id.clone())
        );
        assert!(d.event.payload.get("max_rate_cents").is_none());
        d.ack().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(500), alerts.next())
                .await
                .is_err(),
            "no alert for the Chicago load"
        );

        let list = json_of(
            app.get("/v1/searches", Some(&carrier.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let id = saved["id"].as_str().unwrap();
        assert_eq!(
            app.delete(&format!("/v1/searches/{id}"), Some(&broker.access))
                .await
                .status(),
            403
        );
        assert_eq!(
            app.delete(&format!("/v1/searches/{id}"), Some(&carrier.access))
                .await
                .status(),
            204
        );
    }
);

/// A client that accepts gzip gets a board page compressed (the same JSON, a fraction of the
/// bytes); one that does not, and a small answer, get it as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_pages_are_compressed_for_clients_that_accept_gzip() {
    use std::io::Read;
    let app = TestApp::spawn(lanerunner::testing::Backend::Sqlite).await;
    let broker = app.signup("b@example.com", "broker").await;
    let carrier = app.signup("c@example.com", "carrier").await;
    for i in 0..12 {
        posted(
            &app,
            &broker,
            &load(&format!("PO-{i}"), "Dallas, TX", "Atlanta, GA"),
        )
        .await;
    }
    let get = |path: &str, gzip: bool| {
        let mut req = app.client.get(app.url(path)).bearer_auth(&carrier.access);
        if gzip {
            req = req.header("accept-encoding", "gzip");
        }
        req.send()
    };
    let search = "/v1/loads/search?origin=Dallas,%20TX";
    let plain = get(search, false).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain: Value = plain.json().await.unwrap();
    assert_eq!(plain["total_matches"], 12);

    let gz = get(search, true).await.unwrap();
    assert_eq!(gz.status(), StatusCode::OK);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let bytes = gz.bytes().await.unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut json)
        .unwrap();
    assert!(
        bytes.len() * 4 < json.len(),
        "{} bytes for {}",
        bytes.len(),
        json.len()
    );
    assert_eq!(serde_json::from_slice::<Value>(&json).unwrap(), plain);

    // Under the threshold: as it is, even when gzip is accepted.
    let small = get(
        "/v1/loads/search?origin=Dallas,%20TX&limit=1&dest_states=WY",
        true,
    )
    .await
    .unwrap();
    assert!(small.headers().get("content-encoding").is_none());
}

/// Two instances on PostgreSQL + RabbitMQ + Redis: a load posted through one is found on the
/// other's board (its broadcast listener re-reads the store), and leaves it when covered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_s_board_follows_changes_made_on_another() {
    let a = TestApp::spawn(lanerunner::testing::Backend::FullStack).await;
    let b = a.spawn_sibling().await;
    let broker = a.signup("b@example.com", "broker").await;
    let carrier = a.signup("c@example.com", "carrier").await;
    let search = |app: &TestApp| {
        let url = app.url("/v1/loads/search?origin=Dallas,%20TX");
        let req = app.client.get(url).bearer_auth(&carrier.access);
        async move {
            req.send().await.unwrap().json::<Value>().await.unwrap()["total_matches"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(search(&b).await, 0);
    let l = posted(&a, &broker, &load("PO-1", "Dallas, TX", "Atlanta, GA")).await;
    assert_eq!(
        search(&a).await,
        1,
        "the instance that wrote it sees it at once"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while search(&b).await != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "instance B never saw the posting"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    json_of(
        event(&a, &broker, l["id"].as_str().unwrap(), "cover").await,
        StatusCode::OK,
    )
    .await;
    while search(&b).await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "instance B kept a covered load on its board"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(b);
}

/// With `maps.provider = "google"` the service geocodes and measures through Google's
/// Geocoding and Distance Matrix APIs (a loopback stand-in that speaks their JSON): places
/// resolve, miles come from the matrix, unknown places are the caller's 422, and Google being
/// over its quota is a 503 to retry, not a validation error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_geocode_through_google_maps_when_configured() {
    use lanerunner_googlemaps::testing::{GoogleStandIn, DEFAULT_PLACES};
    let google = GoogleStandIn::start("test-key");
    let base_url = google.base_url.clone();
    let app = TestApp::spawn_with(lanerunner::testing::Backend::Sqlite, move |c| {
        c.maps.provider = lanerunner_platform::config::MapsProvider::Google;
        c.maps.google.api_key = Some("test-key".into());
        c.maps.google.base_url = base_url;
    })
    .await;
    assert!(DEFAULT_PLACES.contains(&"Dallas, TX") && DEFAULT_PLACES.contains(&"Atlanta, GA"));
    let broker = app.signup("b@example.com", "broker").await;
    let l = create(&app, &broker, &load("G-1", "Dallas, TX", "Atlanta, GA")).await;
    assert_eq!(l["stops"][0]["location"]["label"], "Dallas, TX");
    assert_eq!(l["stops"][1]["window"]["timezone"], "America/New_York");
    assert!(l["loaded_miles"].as_f64().unwrap() > 600.0);
    assert!(
        google.count("/maps/api/geocode/json") >= 2,
        "places went to Google"
    );
    assert!(
        google.count("/maps/api/distancematrix/json") >= 1,
        "miles came from the matrix"
    );

    let unknown = app
        .post_json(
            "/v1/loads",
            &load("G-2", "Nowhere Gulch, TX", "Atlanta, GA"),
            Some(&broker.access),
        )
        .await;
    let p = expect_problem(unknown, 422, "validation").await;
    assert_eq!(p["errors"][0]["field"], "stops[0].location.place");

    google.set_over_query_limit(true);
    let refused = app
        .post_json(
            "/v1/loads",
            &load("G-3", "Houston, TX", "Chicago, IL"),
            Some(&broker.access),
        )
        .await;
    assert!(refused.headers().contains_key("retry-after"));
    let p = expect_problem(refused, 503, "unavailable").await;
    assert!(
        !p.to_string().contains("test-key"),
        "the API key never reaches a client: {p}"
    );
}
