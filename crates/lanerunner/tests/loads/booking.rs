//! Covering a load books it: the carrier and the agreed all-in rate are kept with the load
//! and published as `load.booked.v1` for the market (analytics, rates).

use super::*;

fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("a validation problem lists its errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

async fn cover(app: &TestApp, who: &Account, id: &str, booking: Value) -> reqwest::Response {
    app.post_json(
        &format!("/v1/loads/{id}/status"),
        &json!({ "event": "cover", "booking": booking }),
        Some(&who.access),
    )
    .await
}

both_backends!(
    async fn a_covered_load_keeps_its_booking_and_announces_it(app: TestApp) {
        let mut booked = app
            .app()
            .bus()
            .subscribe_broadcast(&["load.booked.v1"])
            .await
            .unwrap();
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;

        let l = posted(&app, &broker, &load("BK-1", "Dallas, TX", "Atlanta, GA")).await;
        let id = l["id"].as_str().unwrap();
        let v = json_of(
            cover(
                &app,
                &broker,
                id,
                json!({"carrier_org_id": carrier.org_id, "rate_cents": 231_000}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(v["status"], "covered");
        assert_eq!(v["booking"]["carrier_org_id"], carrier.org_id.as_str());
        assert_eq!(v["booking"]["rate_cents"], 231_000);
        // Kept with the load, not only in the response.
        let read = json_of(
            app.get(&format!("/v1/loads/{id}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(read["booking"], v["booking"]);

        let d = tokio::time::timeout(Duration::from_secs(10), booked.next())
            .await
            .expect("load.booked.v1 within 10 s")
            .expect("the bus is open");
        let e = d.event.payload.clone();
        d.ack().await;
        assert_eq!(e["load_id"], id);
        assert_eq!(e["broker_org_id"], broker.org_id.as_str());
        assert_eq!(e["carrier_org_id"], carrier.org_id.as_str());
        assert_eq!(e["rate_cents"], 231_000);
        assert_eq!(e["rate_kind"], "spot");
        assert_eq!(e["load"]["lane"]["origin_market"], "DAL-TX");
        // The market never sees what the broker would have paid at most.
        assert!(e["load"].get("max_rate_cents").is_none(), "{e}");

        // Without a stated rate, the posted all-in rate is the booked one.
        let l = posted(&app, &broker, &load("BK-2", "Dallas, TX", "Atlanta, GA")).await;
        let id2 = l["id"].as_str().unwrap();
        let v = json_of(cover(&app, &broker, id2, json!({})).await, StatusCode::OK).await;
        assert_eq!(v["booking"]["rate_cents"], 250_000);
        assert!(v["booking"]["carrier_org_id"].is_null());
        let d = tokio::time::timeout(Duration::from_secs(10), booked.next())
            .await
            .expect("the second load.booked.v1")
            .expect("the bus is open");
        assert_eq!(d.event.payload["load_id"], id2);
        d.ack().await;
    }

    async fn a_bad_booking_is_refused_and_the_load_stays_posted(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let l = posted(&app, &broker, &load("BK-3", "Dallas, TX", "Atlanta, GA")).await;
        let id = l["id"].as_str().unwrap();

        let p = expect_problem(
            cover(
                &app,
                &broker,
                id,
                json!({"carrier_org_id": broker.org_id, "rate_cents": 0}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(
            fields_of(&p),
            ["booking.rate_cents", "booking.carrier_org_id"]
        );
        let p = expect_problem(
            cover(&app, &broker, id, json!({"rate_cents": 1_000_000_000})).await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["booking.rate_cents"]);
        // A booking belongs to the cover event only.
        let p = expect_problem(
            app.post_json(
                &format!("/v1/loads/{id}/status"),
                &json!({"event": "unpost", "booking": {"rate_cents": 1000}}),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["booking"]);
        let p = expect_problem(
            cover(&app, &broker, id, json!({"rate": 5})).await,
            422,
            "invalid-body",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("rate"), "{p}");

        let read = json_of(
            app.get(&format!("/v1/loads/{id}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(read["status"], "posted");
        assert!(read.get("booking").is_none(), "{read}");
    }
);
