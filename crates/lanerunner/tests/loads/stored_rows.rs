//! A stored value the service cannot read is an error that surfaces (500, logged with the
//! row's id), never a default: an unknown status is not a draft.

use lanerunner_platform::{on_db, Db};
use uuid::Uuid;

use super::*;

async fn exec(db: &Db, sql: &str, id: &str) {
    let id = Uuid::parse_str(id).unwrap();
    on_db!(db, |p| {
        sqlx::query(sql).bind(id).execute(p).await.unwrap();
    });
}

both_backends!(
    async fn an_unreadable_stored_status_is_an_error_not_a_draft(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let l = create(&app, &broker, &load("PO-1", "Dallas, TX", "Atlanta, GA")).await;
        let id = l["id"].as_str().unwrap();
        let db = app.app().db("loads").expect("the loads store");
        exec(&db, "UPDATE loads SET status = 'bogus' WHERE id = $1", id).await;

        let t = Some(broker.access.as_str());
        expect_problem(
            app.get(&format!("/v1/loads/{id}"), t).await,
            500,
            "internal",
        )
        .await;
        expect_problem(app.get("/v1/loads", t).await, 500, "internal").await;
        expect_problem(
            app.post_json(&format!("/v1/loads/{id}/post"), &json!({}), t)
                .await,
            500,
            "internal",
        )
        .await;
        expect_problem(
            put(
                &app,
                &broker,
                id,
                &load("PO-2", "Dallas, TX", "Atlanta, GA"),
                Some("\"1\""),
            )
            .await,
            500,
            "internal",
        )
        .await;
        expect_problem(
            app.post_json(&format!("/v1/loads/{id}/copy"), &json!({}), t)
                .await,
            500,
            "internal",
        )
        .await;

        // A TONU flag on a status no cancel produced is as unreadable.
        exec(
            &db,
            "UPDATE loads SET status = 'draft', truck_ordered_not_used = TRUE WHERE id = $1",
            id,
        )
        .await;
        expect_problem(
            app.get(&format!("/v1/loads/{id}"), t).await,
            500,
            "internal",
        )
        .await;
        // And a posted load that was never stamped posted.
        exec(
            &db,
            "UPDATE loads SET status = 'posted', truck_ordered_not_used = FALSE, posted_at = NULL WHERE id = $1",
            id,
        )
        .await;
        expect_problem(
            app.get(&format!("/v1/loads/{id}"), t).await,
            500,
            "internal",
        )
        .await;
        // So is a history record naming a status that does not exist.
        exec(
            &db,
            "UPDATE load_history SET to_status = 'bogus' WHERE load_id = $1",
            id,
        )
        .await;
        expect_problem(
            app.get(&format!("/v1/loads/{id}/history"), t).await,
            500,
            "internal",
        )
        .await;

        // Nothing was posted or changed: with its status repaired the load is the same draft.
        exec(
            &db,
            "UPDATE loads SET status = 'draft', truck_ordered_not_used = FALSE WHERE id = $1",
            id,
        )
        .await;
        exec(
            &db,
            "UPDATE load_history SET to_status = 'draft' WHERE load_id = $1",
            id,
        )
        .await;
        let history = json_of(
            app.get(&format!("/v1/loads/{id}/history"), t).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(history.as_array().unwrap().len(), 1, "only its creation");
        let v = json_of(app.get(&format!("/v1/loads/{id}"), t).await, StatusCode::OK).await;
        assert_eq!(v["status"], "draft");
        assert_eq!(v["version"], 1);
        assert_eq!(v["reference"], "PO-1");
        let carrier = app.signup("c@example.com", "carrier").await;
        let board = json_of(
            app.get(
                "/v1/loads/search?origin=Dallas,%20TX",
                Some(&carrier.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(board["total_matches"], 0);
    }

    async fn an_unreadable_stored_truck_or_saved_search_is_an_error(app: TestApp) {
        let carrier = app.signup("c@example.com", "carrier").await;
        let truck = json!({
            "equipment": "V", "available_at": {"place": "Irving, TX"},
            "available_from": at(2, 6), "available_until": at(4, 18),
            "max_deadhead_miles": 150
        });
        let t = json_of(
            app.post_json("/v1/trucks", &truck, Some(&carrier.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        let id = t["id"].as_str().unwrap();
        let db = app.app().db("loads").expect("the loads store");
        let sql = match db.backend() {
            lanerunner_platform::db::Backend::Sqlite => {
                "UPDATE trucks SET spec = json_set(spec, '$.input.equipment', 'ZZ') WHERE id = $1"
            }
            lanerunner_platform::db::Backend::Postgres => {
                "UPDATE trucks SET spec = jsonb_set(spec, '{input,equipment}', '\"ZZ\"') WHERE id = $1"
            }
        };
        exec(&db, sql, id).await;
        let c = Some(carrier.access.as_str());
        expect_problem(
            app.get(&format!("/v1/trucks/{id}"), c).await,
            500,
            "internal",
        )
        .await;
        expect_problem(app.get("/v1/trucks", c).await, 500, "internal").await;
        // Brokers' search across every carrier leaves the unreadable posting out.
        let broker = app.signup("b@example.com", "broker").await;
        let found = json_of(
            app.get(
                "/v1/trucks/search?origin=Dallas,%20TX",
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(found, json!([]));

        let search = json!({"name": "DFW", "params": {"origin": "Dallas, TX"}});
        let saved = json_of(
            app.post_json("/v1/searches", &search, c).await,
            StatusCode::CREATED,
        )
        .await;
        let sql = match db.backend() {
            lanerunner_platform::db::Backend::Sqlite => {
                "UPDATE saved_searches SET params = json_set(params, '$.sort', json('[1]')) WHERE id = $1"
            }
            lanerunner_platform::db::Backend::Postgres => {
                "UPDATE saved_searches SET params = jsonb_set(params, '{sort}', '[1]') WHERE id = $1"
            }
        };
        exec(&db, sql, saved["id"].as_str().unwrap()).await;
        expect_problem(app.get("/v1/searches", c).await, 500, "internal").await;
        // Posting a load is not held up by another organization's unreadable search.
        posted(&app, &broker, &load("PO-1", "Dallas, TX", "Atlanta, GA")).await;
    }
);
