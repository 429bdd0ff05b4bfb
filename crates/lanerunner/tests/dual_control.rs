//! Dual control on money (SOX separation of duties), over real HTTP on every backend: with
//! it on, a ledger entry by hand, a payout recorded as paid by hand, new payout terms and
//! turning the control off are requests a second person approves; the person who asked,
//! an API key, a dispatcher and another organization cannot; two approvals released
//! together carry the action out once; rejections need a reason; the controls report lists
//! who asked and who decided.

use lanerunner::both_backends;
use lanerunner::testing::{complete_paperwork, expect_problem, json_of, poll, Account, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn adjustment(reference: &str, cents: i64) -> Value {
    json!({
        "kind": "adjustment", "reference": reference, "memo": "write-off",
        "postings": [
            {"account": "expense:bad_debt", "currency": "USD", "amount_cents": cents},
            {"account": "receivable:shipper:acme", "currency": "USD", "amount_cents": -cents}
        ]
    })
}

async fn approve(app: &TestApp, who: &Account, id: &str) -> reqwest::Response {
    app.post_json(
        &format!("/v1/payments/approvals/{id}/approve"),
        &json!({}),
        Some(&who.access),
    )
    .await
}

async fn reject(app: &TestApp, who: &Account, id: &str, body: Value) -> reqwest::Response {
    app.post_json(
        &format!("/v1/payments/approvals/{id}/reject"),
        &body,
        Some(&who.access),
    )
    .await
}

async fn entries_with(app: &TestApp, who: &Account, reference: &str) -> usize {
    let page = json_of(
        app.get("/v1/payments/ledger/entries?limit=200", Some(&who.access))
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reference"] == reference)
        .count()
}

both_backends!(
    async fn actions_on_money_need_a_second_person_and_are_carried_out_once(app: TestApp) {
        let owner = app.signup("dc-owner@example.com", "broker").await;
        let accountant = app
            .invite_and_join(&owner, "dc-accountant@example.com", "accountant")
            .await;
        let admin = app
            .invite_and_join(&owner, "dc-admin@example.com", "admin")
            .await;
        let dispatcher = app
            .invite_and_join(&owner, "dc-dispatcher@example.com", "dispatcher")
            .await;
        let carrier = app.signup("dc-carrier@example.com", "carrier").await;
        let stranger = app.signup("dc-stranger@example.com", "broker").await;

        // Off until an owner or admin turns it on; without it an entry is recorded at once.
        let c = json_of(
            app.get("/v1/payments/controls", Some(&owner.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(c["dual_control"], false);
        expect_problem(
            app.put_json(
                "/v1/payments/controls",
                &json!({"dual_control": true}),
                Some(&accountant.access),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
        expect_problem(
            app.put_json(
                "/v1/payments/controls",
                &json!({"dual_control": "yes"}),
                Some(&owner.access),
            )
            .await,
            422,
            "invalid-body",
        )
        .await;
        let on = json_of(
            app.put_json(
                "/v1/payments/controls",
                &json!({"dual_control": true}),
                Some(&owner.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(on["dual_control"], true);
        assert_eq!(on["changed_by"], owner.user_id);

        // A ledger entry by hand is now a request; nothing is recorded yet.
        let asked = json_of(
            app.post_json(
                "/v1/payments/ledger/entries",
                &adjustment("ADJ-1", 12_345),
                Some(&owner.access),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        let adj = asked["id"].as_str().unwrap().to_owned();
        assert_eq!(asked["status"], "pending");
        assert_eq!(asked["kind"], "ledger_adjustment");
        assert_eq!(asked["requested_by"], owner.user_id);
        assert!(
            asked["summary"].as_str().unwrap().contains("123.45 USD"),
            "{asked}"
        );
        assert_eq!(entries_with(&app, &owner, "ADJ-1").await, 0);
        // An unbalanced entry is refused at once, not parked for a reviewer.
        let mut unbalanced = adjustment("ADJ-BAD", 100);
        unbalanced["postings"][1]["amount_cents"] = json!(-99);
        expect_problem(
            app.post_json(
                "/v1/payments/ledger/entries",
                &unbalanced,
                Some(&owner.access),
            )
            .await,
            422,
            "validation",
        )
        .await;

        // Who may not decide: the person who asked, a dispatcher, another organization.
        let p = expect_problem(
            approve(&app, &owner, &adj).await,
            403,
            "separation-of-duties",
        )
        .await;
        assert!(
            p["detail"].as_str().unwrap().contains("second person"),
            "{p}"
        );
        expect_problem(approve(&app, &dispatcher, &adj).await, 403, "forbidden").await;
        expect_problem(approve(&app, &stranger, &adj).await, 404, "not-found").await;
        expect_problem(
            approve(&app, &accountant, "00000000-0000-0000-0000-000000000000").await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            approve(&app, &accountant, "not-a-uuid").await,
            400,
            "bad-request",
        )
        .await;

        // An API key can neither ask nor approve: under dual control two people act.
        let key = json_of(
            app.post_json(
                "/v1/org/api-keys",
                &json!({"name": "tms", "scopes": ["payments:read", "payments:write"]}),
                Some(&owner.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let secret = key["secret"].as_str().unwrap().to_owned();
        let by_key = app
            .send(
                app.client
                    .post(app.url("/v1/payments/ledger/entries"))
                    .header("x-api-key", &secret)
                    .json(&adjustment("ADJ-KEY", 100)),
                None,
            )
            .await;
        expect_problem(by_key, 403, "separation-of-duties").await;
        let by_key = app
            .send(
                app.client
                    .post(app.url(&format!("/v1/payments/approvals/{adj}/approve")))
                    .header("x-api-key", &secret)
                    .json(&json!({})),
                None,
            )
            .await;
        expect_problem(by_key, 403, "separation-of-duties").await;

        // A second person approves: the entry is recorded as asked, by the person who asked.
        let done = json_of(approve(&app, &accountant, &adj).await, StatusCode::OK).await;
        assert_eq!(done["status"], "approved");
        assert_eq!(done["decided_by"], accountant.user_id);
        let entry_id = done["result"]["entry_id"].as_str().unwrap().to_owned();
        let entry = json_of(
            app.get(
                &format!("/v1/payments/ledger/entries/{entry_id}"),
                Some(&owner.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(entry["reference"], "ADJ-1");
        assert_eq!(entries_with(&app, &owner, "ADJ-1").await, 1);
        expect_problem(approve(&app, &admin, &adj).await, 409, "approval-decided").await;

        // A payout paid by hand: two approvals released together carry it out once.
        complete_paperwork(&app, &owner, &carrier, "DC-P1", 180_000).await;
        let page = poll(&app, "/v1/payments/payouts", &owner, |b| {
            b["items"]
                .as_array()
                .is_some_and(|i| i.iter().any(|p| p["reference"] == "DC-P1"))
        })
        .await;
        let payout = page["items"][0]["id"].as_str().unwrap().to_owned();
        let paid_path = format!("/v1/payments/payouts/{payout}/paid");
        expect_problem(
            app.post_json(&paid_path, &json!({"reference": ""}), Some(&owner.access))
                .await,
            422,
            "validation",
        )
        .await;
        let asked = json_of(
            app.post_json(
                &paid_path,
                &json!({"reference": "WIRE-778"}),
                Some(&owner.access),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        let pay = asked["id"].as_str().unwrap().to_owned();
        let still = json_of(
            app.get(
                &format!("/v1/payments/payouts/{payout}"),
                Some(&owner.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(still["status"], "offered");
        let (a, b) = tokio::join!(
            approve(&app, &accountant, &pay),
            approve(&app, &admin, &pay)
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "exactly one approval lands");
        let paid = json_of(
            app.get(
                &format!("/v1/payments/payouts/{payout}"),
                Some(&owner.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(paid["status"], "paid");
        assert_eq!(paid["manual_reference"], "WIRE-778");
        app.assert_ledger_balanced().await;

        // New terms: rejected (a reason is required) or withdrawn; nothing changes.
        let before = json_of(
            app.get("/v1/payments/payout-terms", Some(&owner.access))
                .await,
            StatusCode::OK,
        )
        .await;
        let asked = json_of(
            app.put_json(
                "/v1/payments/payout-terms",
                &json!({"standard_days": 7, "quick_pay_fee_bps": 900}),
                Some(&accountant.access),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        let terms = asked["id"].as_str().unwrap().to_owned();
        expect_problem(
            reject(&app, &owner, &terms, json!({})).await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            reject(&app, &owner, &terms, json!({"reason": "x".repeat(501)})).await,
            422,
            "validation",
        )
        .await;
        let rejected = json_of(
            reject(&app, &owner, &terms, json!({"reason": "fee too high"})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (rejected["status"].as_str(), rejected["reason"].as_str()),
            (Some("rejected"), Some("fee too high"))
        );
        expect_problem(approve(&app, &admin, &terms).await, 409, "approval-decided").await;
        let asked = json_of(
            app.put_json(
                "/v1/payments/payout-terms",
                &json!({"standard_days": 10}),
                Some(&accountant.access),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        let withdrawn = json_of(
            reject(&app, &accountant, asked["id"].as_str().unwrap(), json!({})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(withdrawn["status"], "withdrawn");
        assert_eq!(
            json_of(
                app.get("/v1/payments/payout-terms", Some(&owner.access))
                    .await,
                StatusCode::OK
            )
            .await,
            before
        );

        // Open requests are listed; a bad filter is refused.
        let open = json_of(
            app.get("/v1/payments/approvals", Some(&admin.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(open["items"].as_array().unwrap().len(), 0, "{open}");
        let all = json_of(
            app.get("/v1/payments/approvals?status=all", Some(&admin.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(all["items"].as_array().unwrap().len(), 5, "{all}");
        expect_problem(
            app.get("/v1/payments/approvals?status=mine", Some(&admin.access))
                .await,
            422,
            "validation",
        )
        .await;
        let theirs = json_of(
            app.get("/v1/payments/approvals?status=all", Some(&stranger.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(theirs["items"].as_array().unwrap().len(), 0);

        // Turning the control off is itself a request, for owners and admins to decide.
        let off = json_of(
            app.put_json(
                "/v1/payments/controls",
                &json!({"dual_control": false}),
                Some(&owner.access),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await;
        let off_id = off["id"].as_str().unwrap().to_owned();
        assert_eq!(off["kind"], "dual_control_off");
        expect_problem(approve(&app, &accountant, &off_id).await, 403, "forbidden").await;
        json_of(approve(&app, &admin, &off_id).await, StatusCode::OK).await;
        let c = json_of(
            app.get("/v1/payments/controls", Some(&owner.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (c["dual_control"].as_bool(), c["changed_by"].as_str()),
            (Some(false), Some(admin.user_id.as_str()))
        );
        json_of(
            app.post_json(
                "/v1/payments/ledger/entries",
                &adjustment("ADJ-2", 500),
                Some(&owner.access),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;

        // The controls report: every request of the period, who asked and who decided.
        let today = chrono::Utc::now().date_naive();
        let res = app
            .get(
                &format!("/v1/payments/approvals/report?from={today}&to={today}"),
                Some(&accountant.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let csv = res.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(
            lines[0].starts_with("approval_id,kind,summary,requested_by"),
            "{csv}"
        );
        assert_eq!(lines.len(), 1 + 6, "{csv}");
        for kind in [
            "dual_control_on",
            "ledger_adjustment",
            "payout_paid_by_hand",
            "payout_terms",
            "dual_control_off",
        ] {
            assert!(csv.contains(kind), "{kind} missing: {csv}");
        }
        assert!(
            csv.contains(&accountant.user_id) && csv.contains("fee too high"),
            "{csv}"
        );
        for bad in [
            format!("from={today}&to=2020-01-01"),
            "from=yesterday&to=today".to_string(),
            "from=2020-01-01&to=2024-01-01".to_string(),
        ] {
            expect_problem(
                app.get(
                    &format!("/v1/payments/approvals/report?{bad}"),
                    Some(&accountant.access),
                )
                .await,
                422,
                "validation",
            )
            .await;
        }
        expect_problem(
            app.get(
                &format!("/v1/payments/approvals/report?from={today}&to={today}"),
                Some(&dispatcher.access),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
);
