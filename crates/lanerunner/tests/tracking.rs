//! Tracking over real HTTP: a booked load is tracked; the driver reports through a link
//! (no account) and bad positions are quarantined with their reason; entering and leaving
//! the pickup's geofence moves the load's status (dispatch taken on the way); a carrier's
//! signed webhook reports too, and a bad or stale signature applies nothing; the driver
//! checks in at the delivery and confirms it; the shipper's link shows the load until it
//! is revoked; another organization sees nothing.

use chrono::{Duration, Utc};
use lanerunner::both_backends;
use lanerunner::testing::{
    book, dallas_atlanta_load, expect_problem, json_of, poll, Account, TestApp,
};
use lanerunner_tracking::service::sign;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn report(app: &TestApp, token: &str, body: &Value) -> Value {
    json_of(
        app.post_json(&format!("/v1/track/driver/{token}/positions"), body, None)
            .await,
        StatusCode::OK,
    )
    .await
}

fn at(minutes_ago: i64) -> String {
    (Utc::now() - Duration::minutes(minutes_ago)).to_rfc3339()
}

async fn status_of(app: &TestApp, broker: &Account, load: &str, want: &str) {
    poll(app, &format!("/v1/loads/{load}"), broker, |l| {
        l["status"] == want
    })
    .await;
}

async fn signed(
    app: &TestApp,
    org: &str,
    body: &Value,
    secret: &str,
    ts: i64,
    sig: Option<String>,
) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).unwrap();
    let sig = sig.unwrap_or_else(|| format!("v1,{}", sign("msg_1", ts, &bytes, secret)));
    app.client
        .post(app.url(&format!("/v1/tracking/webhooks/{org}")))
        .header("content-type", "application/json")
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

both_backends!(
    async fn a_booked_load_is_tracked_from_pickup_to_a_confirmed_delivery(app: TestApp) {
        let broker = app.signup("trk-broker@example.com", "broker").await;
        let carrier = app.signup("trk-carrier@example.com", "carrier").await;
        let other = app.signup("trk-other@example.com", "carrier").await;
        let load = book(
            &app,
            &broker,
            &carrier,
            &dallas_atlanta_load("TRK-1", 250_000),
        )
        .await;
        let path = format!("/v1/loads/{load}/tracking");
        let tracking = poll(&app, &path, &carrier, |t| t["status"] == "active").await;
        assert_eq!(tracking["stops"].as_array().unwrap().len(), 2);
        expect_problem(app.get(&path, Some(&other.access)).await, 404, "not-found").await;
        let l = json_of(
            app.get(&format!("/v1/loads/{load}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let (plat, plon) = (
            l["stops"][0]["location"]["lat"].as_f64().unwrap(),
            l["stops"][0]["location"]["lon"].as_f64().unwrap(),
        );

        // The carrier sends its driver a link; only the broker shares with the shipper.
        let links = format!("/v1/loads/{load}/tracking/links");
        let driver = json_of(
            app.post_json(&links, &json!({"kind": "driver"}), Some(&carrier.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        let token = driver["token"].as_str().unwrap().to_owned();
        assert!(driver["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/#/driver?t={token}")));
        expect_problem(
            app.post_json(&links, &json!({"kind": "share"}), Some(&carrier.access))
                .await,
            403,
            "forbidden",
        )
        .await;
        expect_problem(
            app.post_json(&links, &json!({"kind": "driver"}), Some(&other.access))
                .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.post_json(
                "/v1/track/driver/not-a-token/positions",
                &json!({"lat": 32.0, "lon": -96.0}),
                None,
            )
            .await,
            404,
            "not-found",
        )
        .await;

        // On the way to the pickup: applied, with an ETA.
        let o = report(
            &app,
            &token,
            &json!({"lat": plat - 0.1, "lon": plon - 0.1, "at": at(60)}),
        )
        .await;
        assert_eq!(o["outcome"], "applied", "{o}");
        assert!(
            o["eta"]["at"].is_string() && o["eta"]["remaining_miles"].as_f64().unwrap() > 5.0,
            "{o}"
        );

        // Positions that cannot be right are kept with their reason, never applied.
        for (body, reason) in [
            (
                json!({"lat": 95.0, "lon": plon, "at": at(59)}),
                "out_of_range",
            ),
            (
                json!({"lat": plat, "lon": plon, "at": (Utc::now() + Duration::hours(1)).to_rfc3339()}),
                "from_the_future",
            ),
            (
                json!({"lat": plat, "lon": plon, "at": at(70)}),
                "out_of_order",
            ),
            (
                json!({"lat": 33.749, "lon": -84.388, "at": at(58)}),
                "teleport",
            ),
        ] {
            let o = report(&app, &token, &body).await;
            assert_eq!(
                (o["outcome"].as_str(), o["refusal"].as_str()),
                (Some("quarantined"), Some(reason)),
                "{o}"
            );
        }
        expect_problem(
            app.post_json(
                &format!("/v1/track/driver/{token}/positions"),
                &json!({"lat": "north"}),
                None,
            )
            .await,
            422,
            "invalid-body",
        )
        .await;

        // What was applied is on the positions stream, keyed by the load; what was
        // quarantined is not.
        let mut stream = app
            .app()
            .streams()
            .subscribe(
                "test.tracking",
                &[lanerunner_tracking::service::POSITIONS_TOPIC],
            )
            .await
            .unwrap();
        let record = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
            .await
            .expect("a record within 10 s")
            .unwrap()
            .unwrap();
        assert_eq!(record.key, uuid::Uuid::parse_str(&load).unwrap().as_bytes());
        let applied: Value = serde_json::from_slice(&record.payload).unwrap();
        assert_eq!(
            (applied["lat"].as_f64(), applied["source"].as_str()),
            (Some(plat - 0.1), Some("driver"))
        );

        // Into the pickup's fence: the load is at the pickup (dispatched on the way).
        let o = report(
            &app,
            &token,
            &json!({"lat": plat + 0.001, "lon": plon, "at": at(50)}),
        )
        .await;
        assert_eq!(o["events"], json!(["arrive_pickup"]), "{o}");
        status_of(&app, &broker, &load, "at_pickup").await;

        // The carrier's own system reports the departure through its signed webhook.
        let secret = json_of(
            app.post_json(
                "/v1/tracking/webhook-secret",
                &json!({}),
                Some(&carrier.access),
            )
            .await,
            StatusCode::OK,
        )
        .await["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let batch = json!({"load_id": load, "positions": [{"lat": plat + 0.08, "lon": plon, "at": at(10)}]});
        let now = Utc::now().timestamp();
        let bad = signed(
            &app,
            &carrier.org_id,
            &batch,
            &secret,
            now,
            Some("v1,bm9wZQ==".into()),
        )
        .await;
        expect_problem(bad, 400, "webhook-rejected").await;
        let stale = signed(&app, &carrier.org_id, &batch, &secret, now - 3600, None).await;
        expect_problem(stale, 400, "webhook-rejected").await;
        let not_theirs = signed(&app, &other.org_id, &batch, &secret, now, None).await;
        expect_problem(not_theirs, 400, "webhook-rejected").await;
        let done = json_of(
            signed(&app, &carrier.org_id, &batch, &secret, now, None).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(done[0]["events"], json!(["depart_pickup"]), "{done}");
        status_of(&app, &broker, &load, "in_transit").await;
        let t = json_of(app.get(&path, Some(&broker.access)).await, StatusCode::OK).await;
        assert_eq!(t["stops"][0]["dwell"]["minutes"], 40, "{t}");
        assert_eq!(t["next_stop"], 1);
        assert!(t["eta"]["at"].is_string(), "{t}");
        let quarantined = json_of(
            app.get(&format!("{path}/positions"), Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            quarantined
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| !p["refusal"].is_null())
                .count(),
            4
        );

        // The shipper's link shows the load, nothing of the parties, until it is revoked.
        expect_problem(
            app.post_json(
                &links,
                &json!({"kind": "share", "hours": 0}),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        let share = json_of(
            app.post_json(
                &links,
                &json!({"kind": "share", "hours": 48}),
                Some(&broker.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let view_path = format!("/v1/track/{}", share["token"].as_str().unwrap());
        let view = json_of(app.get(&view_path, None).await, StatusCode::OK).await;
        assert_eq!(view["reference"], "TRK-1");
        assert_eq!(view["next_stop"], "Atlanta, GA");
        assert!(
            view.get("broker_org_id").is_none() && view["lat"].is_number(),
            "{view}"
        );
        // A driver's token does not open the shipper's view, nor the other way round.
        expect_problem(
            app.get(&format!("/v1/track/{token}"), None).await,
            404,
            "not-found",
        )
        .await;
        let revoke = app
            .delete(
                &format!("{links}/{}", share["id"].as_str().unwrap()),
                Some(&broker.access),
            )
            .await;
        assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
        expect_problem(app.get(&view_path, None).await, 410, "link-gone").await;

        // Delivery is confirmed at the delivery, not before.
        let check_in = format!("/v1/track/driver/{token}/check-ins");
        expect_problem(
            app.post_json(&check_in, &json!({"event": "delivered"}), None)
                .await,
            409,
            "not-at-delivery",
        )
        .await;
        let arrived = json_of(
            app.post_json(&check_in, &json!({"event": "arrived"}), None)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(arrived["events"], json!(["arrive_delivery"]));
        status_of(&app, &broker, &load, "at_delivery").await;
        let delivered = json_of(
            app.post_json(&check_in, &json!({"event": "delivered"}), None)
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(delivered["events"], json!(["deliver"]));
        status_of(&app, &broker, &load, "delivered").await;

        // Tracking has ended: positions are refused, nothing is applied.
        poll(&app, &path, &broker, |t| t["status"] == "delivered").await;
        expect_problem(
            app.post_json(
                &format!("/v1/track/driver/{token}/positions"),
                &json!({"lat": 33.7, "lon": -84.4}),
                None,
            )
            .await,
            409,
            "tracking-ended",
        )
        .await;

        // The carrier's score: tracked from pickup to delivery, on time; anyone may read it.
        let score = json_of(
            app.get(
                &format!("/v1/tracking/carriers/{}/score", carrier.org_id),
                Some(&other.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (
                &score["loads"],
                &score["tracked_share"],
                &score["on_time_share"]
            ),
            (&json!(1), &json!(1.0), &json!(1.0)),
            "{score}"
        );
        expect_problem(
            app.get(
                &format!("/v1/tracking/carriers/{}/score?days=0", carrier.org_id),
                Some(&other.access),
            )
            .await,
            422,
            "validation",
        )
        .await;

        // Past the retention, the positions are deleted; when each stop was reached stays.
        let tracking = app
            .app()
            .typed::<lanerunner_tracking::TrackingService>()
            .unwrap()
            .tracking()
            .clone();
        assert_eq!(tracking.purge_expired(Utc::now()).await.unwrap(), 0);
        assert_eq!(
            tracking
                .purge_expired(Utc::now() + Duration::days(31))
                .await
                .unwrap(),
            1
        );
        let positions = json_of(
            app.get(&format!("{path}/positions"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(positions, json!([]));
        let t = json_of(app.get(&path, Some(&broker.access)).await, StatusCode::OK).await;
        assert!(
            t["last_position"].is_null() && t["stops"][0]["arrived_at"].is_string(),
            "{t}"
        );
    }
);
