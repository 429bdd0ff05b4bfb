//! Positions from a carrier's ELD provider (Motive) over real HTTP: the carrier connects its
//! account with the webhook's shared secret and names the truck on its load; the stand-in
//! then posts `vehicle_location_updated` as Motive does, signed, and the load moves through
//! its pickup's geofence. A bad or missing signature, a disconnected account and another
//! organization's URL apply nothing; a truck on no load and other actions are acknowledged
//! and kept nowhere; a replayed delivery is a duplicate.

use chrono::{Duration, Utc};
use lanerunner::both_backends;
use lanerunner::testing::{book, dallas_atlanta_load, expect_problem, json_of, poll, TestApp};
use lanerunner_motive::testing::MotiveStandIn;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SECRET: &str = "d9d36bea41c44ae49d1bfc4a48ba2abe";

both_backends!(
    async fn a_motive_truck_tracks_the_load_it_is_named_on(app: TestApp) {
        let broker = app.signup("mot-broker@example.com", "broker").await;
        let carrier = app.signup("mot-carrier@example.com", "carrier").await;
        let other = app.signup("mot-other@example.com", "carrier").await;
        let load = book(
            &app,
            &broker,
            &carrier,
            &dallas_atlanta_load("MOT-1", 250_000),
        )
        .await;
        let path = format!("/v1/loads/{load}/tracking");
        poll(&app, &path, &carrier, |t| t["status"] == "active").await;
        let vehicle = format!("{path}/vehicle");
        let truck = json!({"provider": "motive", "vehicle_id": "22"});

        // Naming a truck needs the provider connected; connecting needs a real secret.
        expect_problem(
            app.put_json(&vehicle, &truck, Some(&carrier.access)).await,
            409,
            "provider-not-connected",
        )
        .await;
        let providers = "/v1/tracking/providers/motive";
        expect_problem(
            app.put_json(
                providers,
                &json!({"secret": "short"}),
                Some(&carrier.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            app.put_json(
                "/v1/tracking/providers/geotab",
                &json!({"secret": SECRET}),
                Some(&carrier.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        let account = json_of(
            app.put_json(providers, &json!({"secret": SECRET}), Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let hook = account["webhook_url"].as_str().unwrap().to_owned();
        assert_eq!(
            hook,
            format!("/v1/tracking/providers/motive/{}", carrier.org_id)
        );
        let listed = json_of(
            app.get("/v1/tracking/providers", Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (
                listed[0]["provider"].as_str(),
                listed[0]["webhook_url"].as_str()
            ),
            (Some("motive"), Some(hook.as_str()))
        );
        assert!(listed[0].get("secret").is_none());

        // Only the load's carrier names its truck.
        expect_problem(
            app.put_json(&vehicle, &truck, Some(&broker.access)).await,
            409,
            "provider-not-connected",
        )
        .await;
        let connected = app
            .put_json(providers, &json!({"secret": SECRET}), Some(&broker.access))
            .await;
        assert_eq!(connected.status(), StatusCode::OK);
        expect_problem(
            app.put_json(&vehicle, &truck, Some(&broker.access)).await,
            403,
            "forbidden",
        )
        .await;
        let connected = app
            .put_json(providers, &json!({"secret": SECRET}), Some(&other.access))
            .await;
        assert_eq!(connected.status(), StatusCode::OK);
        expect_problem(
            app.put_json(&vehicle, &truck, Some(&other.access)).await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.put_json(
                &vehicle,
                &json!({"provider": "motive", "vehicle_id": " "}),
                Some(&carrier.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        let named = json_of(
            app.put_json(&vehicle, &truck, Some(&carrier.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            named["vehicle"],
            json!({"provider": "motive", "vehicle_id": "22"})
        );

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
        let motive = MotiveStandIn::new(&app.url(&hook), SECRET);
        let ago = |m: i64| Utc::now() - Duration::minutes(m);

        // On the way, then inside the pickup's fence: the load is at the pickup.
        let r: Value = json_of(
            motive
                .location(22, "TRK-22", plat - 0.1, plon - 0.1, ago(60))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(r["applied"][0]["load_id"], load.as_str());
        assert_eq!(r["applied"][0]["outcome"]["outcome"], "applied", "{r}");
        let body = MotiveStandIn::location_body(22, "TRK-22", plat + 0.001, plon, ago(50));
        let r = json_of(motive.post_signed(body.clone()).await, StatusCode::OK).await;
        assert_eq!(
            r["applied"][0]["outcome"]["events"],
            json!(["arrive_pickup"]),
            "{r}"
        );
        poll(&app, &format!("/v1/loads/{load}"), &broker, |l| {
            l["status"] == "at_pickup"
        })
        .await;

        // Motive resends what it is not sure arrived: the same position is a duplicate.
        let again = json_of(motive.post_signed(body).await, StatusCode::OK).await;
        assert_eq!(
            again["applied"][0]["outcome"]["refusal"], "duplicate",
            "{again}"
        );

        // A forged, tampered or unsigned delivery applies nothing.
        let later = MotiveStandIn::location_body(22, "TRK-22", plat + 0.08, plon, ago(10));
        expect_problem(
            motive
                .post(later.clone(), "f04a8386a21a6cba0447024e83b3f0983352bb72")
                .await,
            400,
            "webhook-rejected",
        )
        .await;
        let unsigned = app
            .client
            .post(app.url(&hook))
            .header("content-type", "application/json")
            .body(later.clone())
            .send()
            .await
            .unwrap();
        expect_problem(unsigned, 400, "webhook-rejected").await;
        // Another carrier's URL (its own secret) and a provider LaneRunner does not know.
        let theirs = MotiveStandIn::new(
            &app.url(&format!("/v1/tracking/providers/motive/{}", other.org_id)),
            "another-secret-of-theirs",
        );
        expect_problem(
            theirs.post_signed(later.clone()).await,
            400,
            "webhook-rejected",
        )
        .await;
        let unknown = MotiveStandIn::new(
            &app.url(&format!("/v1/tracking/providers/geotab/{}", carrier.org_id)),
            SECRET,
        );
        expect_problem(unknown.post_signed(later.clone()).await, 404, "not-found").await;
        let t = json_of(app.get(&path, Some(&broker.access)).await, StatusCode::OK).await;
        assert_eq!(t["inside_fence"], true, "nothing applied: {t}");

        // A truck on no load, another action, a body that is not Motive's: acknowledged
        // or refused, never applied.
        let r = json_of(
            motive.location(99, "TRK-99", plat, plon, ago(5)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (r["applied"].as_array().unwrap().len(), &r["unassigned"]),
            (0, &json!(["99"]))
        );
        let fault =
            serde_json::to_vec(&json!({"action": "fault_code_opened", "id": 4, "vehicle_id": 22}))
                .unwrap();
        let r = json_of(motive.post_signed(fault).await, StatusCode::OK).await;
        assert!(
            r["ignored"].as_str().unwrap().contains("fault_code_opened"),
            "{r}"
        );
        let partial =
            serde_json::to_vec(&json!({"action": "vehicle_location_updated", "vehicle_id": 22}))
                .unwrap();
        expect_problem(motive.post_signed(partial).await, 400, "webhook-rejected").await;

        // Leaving the fence: in transit, the position kept as Motive's.
        let r = json_of(motive.post_signed(later.clone()).await, StatusCode::OK).await;
        assert_eq!(
            r["applied"][0]["outcome"]["events"],
            json!(["depart_pickup"]),
            "{r}"
        );
        poll(&app, &format!("/v1/loads/{load}"), &broker, |l| {
            l["status"] == "in_transit"
        })
        .await;
        let positions = json_of(
            app.get(&format!("{path}/positions"), Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert!(
            positions
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["source"] == "motive"),
            "{positions}"
        );

        // Forgetting the truck stops its positions reaching the load; disconnecting the
        // account refuses its webhooks.
        let forgot = json_of(
            app.delete(&vehicle, Some(&carrier.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(forgot["vehicle"], Value::Null);
        let r = json_of(
            motive
                .location(22, "TRK-22", plat + 0.2, plon, ago(4))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(r["unassigned"], json!(["22"]));
        assert_eq!(
            app.delete(providers, Some(&carrier.access)).await.status(),
            StatusCode::NO_CONTENT
        );
        expect_problem(
            app.delete(providers, Some(&carrier.access)).await,
            404,
            "not-found",
        )
        .await;
        let listed = json_of(
            app.get("/v1/tracking/providers", Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(listed, json!([]));
        expect_problem(
            motive
                .location(22, "TRK-22", plat + 0.3, plon, ago(3))
                .await,
            400,
            "webhook-rejected",
        )
        .await;
    }
);
