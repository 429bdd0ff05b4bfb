//! Saved-search alerts run after the posting commits (a consumer of `load.posted.v1`), over
//! the searches whose stored origin can reach the pickup; searches saved before origins were
//! stored are checked every time until start-up indexes them.

use lanerunner_platform::on_db;
use uuid::Uuid;

use super::*;

both_backends!(
    async fn alerts_reach_near_searches_and_searches_without_a_stored_origin(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let mut alerts = app
            .app()
            .bus()
            .subscribe("test.alerts", &["search.alert.v1"])
            .await
            .unwrap();
        let save = |name: &str, origin: &str, radius: u32| json!({"name": name, "params": {"origin": origin, "origin_radius_miles": radius, "equipment": "V"}});
        let near = json_of(
            app.post_json(
                "/v1/searches",
                &save("near", "Fort Worth, TX", 75),
                Some(&carrier.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let legacy = json_of(
            app.post_json(
                "/v1/searches",
                &save("legacy", "Arlington, TX", 50),
                Some(&carrier.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        json_of(
            app.post_json(
                "/v1/searches",
                &save("far", "Seattle, WA", 500),
                Some(&carrier.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        // As a row saved before origins were stored looks.
        let db = app.app().db("loads").unwrap();
        let legacy_id = Uuid::parse_str(legacy["id"].as_str().unwrap()).unwrap();
        on_db!(&db, |p| {
            sqlx::query(
                "UPDATE saved_searches SET origin_lat = NULL, origin_lon = NULL WHERE id = $1",
            )
            .bind(legacy_id)
            .execute(p)
            .await
            .unwrap();
        });

        let l = posted(&app, &broker, &load("ALERT-1", "Dallas, TX", "Atlanta, GA")).await;
        let mut searches = Vec::new();
        for _ in 0..2 {
            let d = tokio::time::timeout(Duration::from_secs(10), alerts.next())
                .await
                .expect("an alert within 10 s")
                .unwrap();
            assert_eq!(d.event.payload["load_id"], l["id"]);
            searches.push(d.event.payload["search_id"].as_str().unwrap().to_owned());
            d.ack().await;
        }
        searches.sort();
        let mut expected = vec![
            near["id"].as_str().unwrap().to_owned(),
            legacy_id.to_string(),
        ];
        expected.sort();
        assert_eq!(searches, expected);
        assert!(
            tokio::time::timeout(Duration::from_millis(500), alerts.next())
                .await
                .is_err(),
            "no alert for the Seattle search"
        );
    }
);
