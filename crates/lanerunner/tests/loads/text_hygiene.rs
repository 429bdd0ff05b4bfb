//! Control characters in free text: refused at validation as a 422 naming the field, on
//! every text field, so that nothing reaches a store that would refuse it (PostgreSQL's
//! `text` and `jsonb` reject U+0000) or keep it (SQLite).

use super::*;

const NUL: &str = "\u{0}";

fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("a validation problem lists its errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    async fn control_characters_in_load_text_are_refused_naming_each_field(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let mut bad = load(&format!("PO{NUL}1"), "Dallas, TX", "Atlanta, GA");
        bad["commodity"] = json!(format!("paper{NUL}"));
        bad["notes"] = json!(format!("call first{NUL}"));
        bad["contact"] = json!({"name": format!("Da{NUL}na"), "phone": "+1 214\u{7}", "email": "d@x.io\u{1b}[2J"});
        bad["stops"][0]["facility"] = json!(format!("DC{NUL}4"));
        // Today the gazetteer drops the NUL and resolves the place: refuse it instead.
        bad["stops"][1]["location"] = json!({"place": format!("Atlanta,{NUL} GA")});
        let p = expect_problem(
            app.post_json("/v1/loads", &bad, Some(&broker.access)).await,
            422,
            "validation",
        )
        .await;
        let fields = fields_of(&p);
        for f in [
            "reference",
            "commodity",
            "notes",
            "contact.name",
            "contact.phone",
            "contact.email",
            "stops[0].facility",
            "stops[1].location.place",
        ] {
            assert!(fields.iter().any(|g| g == f), "{f} not in {fields:?}");
        }
        let list = json_of(
            app.get("/v1/loads", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"], json!([]), "nothing stored");

        // Notes are prose: line breaks and tabs are text there, and nowhere else.
        let mut prose = load("PO-2", "Dallas, TX", "Atlanta, GA");
        prose["notes"] = json!("dock 4\n\tcall ahead");
        let l = create(&app, &broker, &prose).await;
        assert_eq!(l["notes"], "dock 4\n\tcall ahead");
        let mut two_lines = load("PO-3\nPO-4", "Dallas, TX", "Atlanta, GA");
        two_lines["stops"][0]["facility"] = json!("DC\t4");
        let p = expect_problem(
            app.post_json("/v1/loads", &two_lines, Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["reference", "stops[0].facility"]);

        // The same rules on update.
        let id = l["id"].as_str().unwrap();
        let mut changed = prose.clone();
        changed["reference"] = json!(format!("PO{NUL}"));
        expect_problem(
            put(&app, &broker, id, &changed, Some("\"1\"")).await,
            422,
            "validation",
        )
        .await;

        // A cancel (or any status change) reason.
        let p = expect_problem(
            app.post_json(
                &format!("/v1/loads/{id}/cancel"),
                &json!({ "reason": format!("dup{NUL}licate") }),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["reason"]);
        let p = expect_problem(
            app.post_json(
                &format!("/v1/loads/{id}/status"),
                &json!({ "event": "cancel", "reason": "no\u{7f}pe" }),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["reason"]);
        let still = json_of(
            app.get(&format!("/v1/loads/{id}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(still["status"], "draft");

        // The Idempotency-Key is text the store keeps too.
        let req = app
            .client
            .post(app.url("/v1/loads"))
            .json(&prose)
            .header("Idempotency-Key", "k\t1");
        let p = expect_problem(app.send(req, Some(&broker.access)).await, 422, "validation").await;
        assert_eq!(fields_of(&p), ["Idempotency-Key"]);
    }

    async fn control_characters_in_csv_cells_are_reported_by_row_and_column(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let header = "reference,origin,pickup_start,destination,delivery_start,equipment,trailer_length_ft,weight_lbs,commodity,notes";
        let good = format!(
            "A-1,\"Dallas, TX\",{},\"Atlanta, GA\",{},V,53,40000,paper,\"two\nlines\"",
            at(3, 8),
            at(5, 9)
        );
        let bad = format!(
            "A{NUL}2,\"Fort Worth,{NUL} TX\",{},\"Memphis, TN\",{},V,53,40000,pa\u{1}per,ok{NUL}",
            at(3, 8),
            at(4, 9)
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
            send(format!("{header}\n{good}\n{bad}\n")).await,
            422,
            "import-rejected",
        )
        .await;
        let rows = p["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{p}");
        assert_eq!(rows[0]["row"], 2);
        let fields: Vec<&str> = rows[0]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for f in ["reference", "origin", "commodity", "notes"] {
            assert!(fields.contains(&f), "{f} not in {fields:?}");
        }
        let created = json_of(
            send(format!("{header}\n{good}\n")).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(created[0]["notes"], "two\nlines");
    }

    async fn control_characters_in_trucks_and_searches_are_refused(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        let truck = json!({
            "equipment": "V", "available_at": {"place": format!("Irving,{NUL} TX")},
            "available_from": at(2, 6), "available_until": at(4, 18),
            "destination": {"kind": "states", "states": ["GA\u{85}"]},
            "max_deadhead_miles": 150, "notes": format!("night{NUL}")
        });
        let p = expect_problem(
            app.post_json("/v1/trucks", &truck, Some(&carrier.access))
                .await,
            422,
            "validation",
        )
        .await;
        let fields = fields_of(&p);
        for f in ["available_at.place", "destination.states[0]", "notes"] {
            assert!(fields.iter().any(|g| g == f), "{f} not in {fields:?}");
        }

        let search = json!({"name": format!("DFW{NUL}"), "params": {"origin": format!("Dallas,{NUL} TX"), "dest_states": "GA\u{85}"}});
        let p = expect_problem(
            app.post_json("/v1/searches", &search, Some(&carrier.access))
                .await,
            422,
            "validation",
        )
        .await;
        let fields = fields_of(&p);
        for f in ["name", "params.origin.place", "params.dest_states"] {
            assert!(fields.iter().any(|g| g == f), "{f} not in {fields:?}");
        }
        let saved = json_of(
            app.get("/v1/searches", Some(&carrier.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(saved, json!([]));

        let p = expect_problem(
            app.get(
                "/v1/loads/search?origin=Dallas,%00%20TX",
                Some(&carrier.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["origin.place"]);
        let p = expect_problem(
            app.get(
                "/v1/trucks/search?origin=Dallas,%20TX&dest_state=GA%C2%85",
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(fields_of(&p), ["dest_state"]);
    }
);
