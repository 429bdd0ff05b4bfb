//! The reporting service over real HTTP, on SQLite, on PostgreSQL and on the full stack:
//! reports made from loads booked through the loads service, their CSV read back value by
//! value and their PDF opened by a PDF parser, emails spooled, schedules run once per due
//! time even with two instances polling, every bad request refused with its fields named,
//! and nothing of one organization visible to another.

use lanerunner::both_backends;
use lanerunner::testing::{
    book, dallas_atlanta_load, expect_problem, json_of, poll, Account, TestApp,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

const LANE: &str = "/v1/analytics/lanes?origin=DAL-TX&destination=ATL-GA&equipment=V";

async fn create(app: &TestApp, who: &Account, body: Value) -> Value {
    json_of(
        app.post_json("/v1/reports", &body, Some(&who.access)).await,
        StatusCode::CREATED,
    )
    .await
}

async fn download(app: &TestApp, who: &Account, report: &Value, ext: &str) -> Vec<u8> {
    let res = app
        .get(
            report["files"][ext]["href"].as_str().expect("a file link"),
            Some(&who.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        ct.starts_with(if ext == "pdf" {
            "application/pdf"
        } else {
            "text/csv"
        }),
        "{ct}"
    );
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\""),
        "{disposition}"
    );
    let bytes = res.bytes().await.unwrap().to_vec();
    assert_eq!(
        report["files"][ext]["bytes"].as_u64(),
        Some(bytes.len() as u64)
    );
    bytes
}

fn csv_rows(bytes: &[u8]) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|row| {
            header
                .iter()
                .zip(row.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn pdf_text(bytes: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF a reader opens");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("the PDF's text")
}

both_backends!(
    async fn reports_are_made_downloaded_mailed_and_kept_to_their_organization(app: TestApp) {
        let b1 = app.signup("b1@example.com", "broker").await;
        let b2 = app.signup("b2@example.com", "broker").await;
        let b3 = app.signup("b3@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        for rate in [200_000, 210_000, 220_000, 230_000] {
            book(&app, &b1, &carrier, &dallas_atlanta_load("R", rate)).await;
        }
        for rate in [240_000, 250_000, 260_000] {
            book(&app, &b2, &carrier, &dallas_atlanta_load("R", rate)).await;
        }
        book(&app, &b3, &carrier, &dallas_atlanta_load("R", 270_000)).await;
        poll(&app, LANE, &b1, |l| {
            l["windows"][2]["rates"]["reports"] == 8
        })
        .await;

        // The lane rate report: the same figures as the lane index, as CSV and as PDF.
        let lanes = create(
            &app,
            &b1,
            json!({"kind": "lane_rates",
                   "lanes": [{"origin": "DAL-TX", "destination": "ATL-GA", "equipment": "V"}],
                   "email_to": ["ops@b1.example"]}),
        )
        .await;
        assert_eq!(lanes["status"], "ready", "{lanes}");
        assert_eq!(lanes["emailed_to"], json!(["ops@b1.example"]));
        let rows = csv_rows(&download(&app, &b1, &lanes, "csv").await);
        let month_rows = rows.iter().filter(|r| r["period"].len() == 7).count();
        assert_eq!((rows.len(), month_rows), (6 + 13, 13));
        let thirty = rows.iter().find(|r| r["period"] == "30d").unwrap();
        assert_eq!(
            (
                thirty["status"].as_str(),
                thirty["reports"].as_str(),
                thirty["companies"].as_str(),
                thirty["rate_median_cents"].as_str()
            ),
            ("shown", "8", "3", "235000")
        );
        let text = pdf_text(&download(&app, &b1, &lanes, "pdf").await);
        for words in [
            "Lane rate report",
            "DAL-TX to ATL-GA",
            "$2,350",
            "Page 1 of",
        ] {
            assert!(text.contains(words), "{words:?} not in the PDF: {text}");
        }
        let id = lanes["id"].as_str().unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        while !app.mails().iter().any(|m| {
            m.contains("To: ops@b1.example") && m.contains(&format!("/v1/reports/{id}/pdf"))
        }) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no email for the report"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }

        // The broker's own KPIs and carriers: b1's four loads, all with `carrier` (stored
        // by analytics' consumer group, which may trail the lane index a moment).
        poll(&app, "/v1/analytics/carriers", &b1, |c| {
            c["carriers"][0]["booked"] == 4
        })
        .await;
        let kpis = create(&app, &b1, json!({"kind": "broker_kpis", "period_days": 30})).await;
        let rows = csv_rows(&download(&app, &b1, &kpis, "csv").await);
        let whole = rows.last().unwrap();
        assert_eq!(
            (
                whole["posted"].as_str(),
                whole["covered"].as_str(),
                whole["cover_rate"].as_str()
            ),
            ("4", "4", "1.0000")
        );
        assert!(pdf_text(&download(&app, &b1, &kpis, "pdf").await).contains("Cover rate"));
        let card = create(&app, &b1, json!({"kind": "carrier_scorecard"})).await;
        let rows = csv_rows(&download(&app, &b1, &card, "csv").await);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0]["carrier_org_id"].as_str(),
                rows[0]["booked"].as_str(),
                rows[0]["booked_cents"].as_str()
            ),
            (carrier.org_id.as_str(), "4", "860000")
        );
        assert!(pdf_text(&download(&app, &b1, &card, "pdf").await).contains(&carrier.org_id[..8]));

        // Newest first, and only b1's.
        let mine = json_of(
            app.get("/v1/reports", Some(&b1.access)).await,
            StatusCode::OK,
        )
        .await;
        let kinds: Vec<&str> = mine
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["carrier_scorecard", "broker_kpis", "lane_rates"]);
        let theirs = json_of(
            app.get("/v1/reports", Some(&b2.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(theirs, json!([]));
        for path in [
            format!("/v1/reports/{id}"),
            format!("/v1/reports/{id}/pdf"),
            format!("/v1/reports/{id}/csv"),
        ] {
            expect_problem(app.get(&path, Some(&b2.access)).await, 404, "not-found").await;
        }
        expect_problem(app.get("/v1/reports", None).await, 401, "unauthenticated").await;
    }

    async fn bad_report_requests_are_refused_with_every_field_named(app: TestApp) {
        let b = app.signup("b@example.com", "broker").await;
        let fields = |p: Value| -> Vec<String> {
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect()
        };
        let refused = |body: Value| {
            let app = &app;
            let b = &b;
            async move {
                let res = app.post_json("/v1/reports", &body, Some(&b.access)).await;
                expect_problem(res, 422, "validation").await
            }
        };
        let p = refused(json!({"kind": "pie_chart", "email_to": ["nobody"]})).await;
        assert_eq!(fields(p), ["kind", "email_to[0]"]);
        let p = refused(json!({"kind": "lane_rates"})).await;
        assert_eq!(fields(p), ["lanes"]);
        let p = refused(json!({"kind": "broker_kpis", "lanes": [{"origin": "DAL-TX", "destination": "ATL-GA", "equipment": "V"}],
                               "from": "2026-06-02T00:00:00Z", "to": "2026-06-01T00:00:00Z"})).await;
        assert_eq!(fields(p), ["lanes", "from"]);
        let p = refused(json!({"kind": "lane_rates", "lanes": [
            {"origin": "DAL-TX", "destination": "ATL-GA", "equipment": "V"},
            {"origin": "NOPE", "destination": "ATL-GA", "equipment": "Q"}]}))
        .await;
        assert_eq!(fields(p), ["lanes[1].origin", "lanes[1].equipment"]);
        let p = refused(json!({"kind": "carrier_scorecard", "period_days": 0})).await;
        assert_eq!(fields(p), ["period_days"]);
        // Nothing refused was recorded.
        let mine = json_of(
            app.get("/v1/reports", Some(&b.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine, json!([]));
        let res = app
            .post_json("/v1/reports", &json!({"kind": 3}), Some(&b.access))
            .await;
        assert!(res.status().is_client_error());
        expect_problem(
            app.get("/v1/reports/not-a-uuid", Some(&b.access)).await,
            400,
            "bad-request",
        )
        .await;
        expect_problem(
            app.get(
                &format!("/v1/reports/{}", uuid::Uuid::now_v7()),
                Some(&b.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.get("/v1/reports?limit=0", Some(&b.access)).await,
            422,
            "validation",
        )
        .await;
        let res = app
            .post_json(
                "/v1/reports/schedules",
                &json!({"name": " ", "kind": "broker_kpis", "cadence": "hourly",
                "from": "2026-06-01T00:00:00Z", "to": "2026-06-02T00:00:00Z",
                "starts_at": "2020-01-01T00:00:00Z", "recipients": []}),
                Some(&b.access),
            )
            .await;
        let p = expect_problem(res, 422, "validation").await;
        assert_eq!(
            fields(p),
            ["name", "from", "cadence", "recipients", "starts_at"]
        );
        let res = app
            .post_json(
                "/v1/reports/schedules",
                &json!({"name": "Lanes", "kind": "lane_rates", "cadence": "daily",
                "lanes": [{"origin": "ZZZ-ZZ", "destination": "ATL-GA", "equipment": "V"}],
                "recipients": ["ops@b.example"]}),
                Some(&b.access),
            )
            .await;
        let p = expect_problem(res, 422, "validation").await;
        assert_eq!(fields(p), ["lanes[0].origin"]);
    }

    async fn schedules_send_each_run_once_and_stay_in_their_organization(app: TestApp) {
        let b = app.signup("b@example.com", "broker").await;
        let other = app.signup("o@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        book(&app, &b, &carrier, &dallas_atlanta_load("S", 250_000)).await;
        // A second instance polls the same schedules: each run is still made once.
        let sibling = app.spawn_sibling().await;
        let s = json_of(
            app.post_json(
                "/v1/reports/schedules",
                &json!({"name": "Weekly KPIs", "kind": "broker_kpis", "period_days": 7,
                        "cadence": "weekly", "recipients": ["ops@b.example", "OPS@b.example", "cfo@b.example"]}),
                Some(&b.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(s["recipients"], json!(["ops@b.example", "cfo@b.example"]));
        let sid = s["id"].as_str().unwrap().to_string();
        let runs = poll(&app, "/v1/reports", &b, |r| {
            r.as_array().is_some_and(|r| !r.is_empty())
        })
        .await;
        assert_eq!(runs[0]["schedule_id"], sid.as_str());
        assert_eq!(runs[0]["status"], "ready");
        assert!(runs[0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Weekly KPIs"));
        // Each recipient is mailed once, by whichever instance made the run.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let mails: Vec<String> = app.mails().into_iter().chain(sibling.mails()).collect();
            let to = |who: &str| {
                mails
                    .iter()
                    .filter(|m| {
                        m.contains(&format!("To: {who}"))
                            && m.contains("Subject: LaneRunner report: Weekly KPIs")
                    })
                    .count()
            };
            if to("ops@b.example") == 1 && to("cfo@b.example") == 1 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the scheduled report was not mailed once to each: {mails:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let schedules = poll(&app, "/v1/reports/schedules", &b, |s| {
            s[0]["next_run_at"] != s[0]["first_run_at"]
        })
        .await;
        let first: chrono::DateTime<chrono::Utc> = schedules[0]["first_run_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let next: chrono::DateTime<chrono::Utc> = schedules[0]["next_run_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(next - first, chrono::Duration::weeks(1));
        // Several more polls of both instances: still one run.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let runs = json_of(
            app.get("/v1/reports", Some(&b.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
        drop(sibling);

        // The other organization sees none of it and cannot stop it.
        let theirs = json_of(
            app.get("/v1/reports/schedules", Some(&other.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(theirs, json!([]));
        expect_problem(
            app.delete(&format!("/v1/reports/schedules/{sid}"), Some(&other.access))
                .await,
            404,
            "not-found",
        )
        .await;
        let res = app
            .delete(&format!("/v1/reports/schedules/{sid}"), Some(&b.access))
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        expect_problem(
            app.delete(&format!("/v1/reports/schedules/{sid}"), Some(&b.access))
                .await,
            404,
            "not-found",
        )
        .await;
        // The report it made stays.
        let runs = json_of(
            app.get("/v1/reports", Some(&b.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(runs.as_array().unwrap().len(), 1);
    }
);
