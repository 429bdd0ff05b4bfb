//! `GET /v1/places`: place names completed as they are typed, for the forms.

use super::*;

both_backends!(
    async fn places_complete_as_typed_and_bad_questions_are_refused(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let places = json_of(
            app.get("/v1/places?q=dal&limit=3", Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(places[0]["label"], "Dallas, TX", "{places}");
        assert_eq!(places.as_array().unwrap().len(), 3);
        let maine = json_of(
            app.get("/v1/places?q=portland,%20me", Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(maine.as_array().unwrap().len(), 1);
        assert_eq!(maine[0]["state"], "ME");
        // Whatever it suggests, the load form accepts.
        let label = places[0]["label"].as_str().unwrap();
        assert!(label.contains(", "));
        let none = json_of(
            app.get("/v1/places?q=zzqqxx", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(none, json!([]));
        for bad in [
            "/v1/places",
            "/v1/places?q=",
            "/v1/places?q=dal&limit=0",
            "/v1/places?q=dal&limit=21",
            "/v1/places?q=d%00l",
        ] {
            expect_problem(app.get(bad, Some(&broker.access)).await, 422, "validation").await;
        }
        expect_problem(
            app.get("/v1/places?q=dal", None).await,
            401,
            "unauthenticated",
        )
        .await;
    }
);
