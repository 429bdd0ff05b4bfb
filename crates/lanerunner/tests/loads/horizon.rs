//! Dates within a horizon (`loads.horizon_days_past` / `loads.horizon_days_ahead`), and the
//! filters of both searches validated alike.

use lanerunner::testing::Backend;

use super::*;

fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("a validation problem lists its errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    async fn dates_beyond_the_horizon_are_refused_naming_the_field(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;

        let mut forever = load("PO-9999", "Dallas, TX", "Atlanta, GA");
        forever["stops"][0]["window"] =
            json!({"start": "9999-12-30T08:00:00", "end": "9999-12-30T14:00:00"});
        forever["stops"][1]["appointment"] = json!("9999-12-31T09:00:00");
        let p = expect_problem(
            app.post_json("/v1/loads", &forever, Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(
            fields_of(&p),
            [
                "stops[0].window.start",
                "stops[0].window.end",
                "stops[1].appointment"
            ]
        );

        let mut ancient = load("PO-0001", "Dallas, TX", "Atlanta, GA");
        ancient["stops"][0]["window"] =
            json!({"start": "0001-01-01T08:00:00", "end": "0001-01-01T14:00:00"});
        ancient["stops"][1]["appointment"] = json!("0001-01-02T09:00:00");
        let p = expect_problem(
            app.post_json("/v1/loads", &ancient, Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(
            fields_of(&p),
            [
                "stops[0].window.start",
                "stops[0].window.end",
                "stops[1].appointment"
            ]
        );
        // A draft entered after the fact, within the horizon, is still a draft.
        let mut recent = load("PO-LAST-WEEK", "Dallas, TX", "Atlanta, GA");
        recent["stops"][0]["window"] = json!({"start": at(-7, 8), "end": at(-7, 14)});
        recent["stops"][1]["appointment"] = json!(at(-5, 9));
        create(&app, &broker, &recent).await;

        let truck = json!({
            "equipment": "V", "available_at": {"place": "Irving, TX"},
            "available_from": "0001-01-01T00:00:00", "available_until": "9999-12-31T23:00:00",
            "max_deadhead_miles": 150
        });
        let p = expect_problem(
            app.post_json("/v1/trucks", &truck, Some(&carrier.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["available_from", "available_until"]);

        for (query, field) in [
            ("pickup_from=0001-01-01", "pickup_from"),
            ("pickup_to=9999-12-31", "pickup_to"),
        ] {
            let p = expect_problem(
                app.get(
                    &format!("/v1/loads/search?origin=Dallas,%20TX&{query}"),
                    Some(&carrier.access),
                )
                .await,
                422,
                "validation",
            )
            .await;
            assert_eq!(fields_of(&p), [field]);
        }
        for (query, field) in [
            ("available_from=0001-01-01T00:00:00Z", "available_from"),
            ("available_to=9999-12-31", "available_to"),
        ] {
            let p = expect_problem(
                app.get(
                    &format!("/v1/trucks/search?origin=Dallas,%20TX&{query}"),
                    Some(&broker.access),
                )
                .await,
                422,
                "validation",
            )
            .await;
            assert_eq!(fields_of(&p), [field]);
        }
    }

    async fn both_searches_validate_their_filters_alike(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let anywhere = json!({
            "equipment": "V", "available_at": {"place": "Irving, TX"},
            "available_from": at(2, 6), "available_until": at(4, 18),
            "max_deadhead_miles": 150
        });
        json_of(
            app.post_json("/v1/trucks", &anywhere, Some(&carrier.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        let b = Some(broker.access.as_str());
        // An unknown state used to match every truck willing to go anywhere.
        let p = expect_problem(
            app.get("/v1/trucks/search?origin=Dallas,%20TX&dest_state=ZZ", b)
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["dest_state"]);
        let p = expect_problem(
            app.get(
                "/v1/loads/search?origin=Dallas,%20TX&dest_states=ZZ",
                Some(&carrier.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["dest_states"]);
        let found = json_of(
            app.get("/v1/trucks/search?origin=Dallas,%20TX&dest_state=ga", b)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            found.as_array().unwrap().len(),
            1,
            "a known state, any case"
        );

        // The same parsers on both sides: dates or instants, ranges in order, radii,
        // equipment codes and limits.
        for (query, fields) in [
            ("available_from=2026-13-01", vec!["available_from"]),
            (
                &format!("available_from={}&available_to={}", day(5), day(2)),
                vec!["available_to"],
            ),
            ("radius_miles=0", vec!["radius_miles"]),
            ("radius_miles=NaN", vec!["radius_miles"]),
            ("equipment=V,XX", vec!["equipment"]),
            ("limit=0", vec!["limit"]),
        ] {
            let p = expect_problem(
                app.get(&format!("/v1/trucks/search?origin=Dallas,%20TX&{query}"), b)
                    .await,
                422,
                "validation",
            )
            .await;
            assert_eq!(fields_of(&p), fields, "{query}");
        }
        let window = format!("available_from={}&available_to={}", day(1), day(3));
        let found = json_of(
            app.get(
                &format!("/v1/trucks/search?origin=Dallas,%20TX&{window}"),
                b,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            found.as_array().unwrap().len(),
            1,
            "dates as on the load search"
        );
    }
);

/// `YYYY-MM-DD`, `days` from today (UTC).
fn day(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The horizon is configuration: a deployment that plans a month out refuses day 40.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_horizon_follows_the_configuration() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.loads.horizon_days_ahead = 30;
        c.loads.horizon_days_past = 2;
    })
    .await;
    let broker = app.signup("b@example.com", "broker").await;
    let mut far = load("PO-40", "Dallas, TX", "Atlanta, GA");
    far["stops"][0]["window"] = json!({"start": at(40, 8), "end": at(40, 14)});
    far["stops"][1]["appointment"] = json!(at(42, 9));
    let p = expect_problem(
        app.post_json("/v1/loads", &far, Some(&broker.access)).await,
        422,
        "validation",
    )
    .await;
    assert_eq!(
        fields_of(&p),
        [
            "stops[0].window.start",
            "stops[0].window.end",
            "stops[1].appointment"
        ]
    );
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("30 days"),
        "{p}"
    );
    let mut past = load("PO-PAST", "Dallas, TX", "Atlanta, GA");
    past["stops"][0]["window"] = json!({"start": at(-7, 8), "end": at(-7, 14)});
    past["stops"][1]["appointment"] = json!(at(-5, 9));
    let p = expect_problem(
        app.post_json("/v1/loads", &past, Some(&broker.access))
            .await,
        422,
        "validation",
    )
    .await;
    assert!(
        fields_of(&p).contains(&"stops[0].window.start".to_string()),
        "{p}"
    );
    create(&app, &broker, &load("PO-SOON", "Dallas, TX", "Atlanta, GA")).await;
}
