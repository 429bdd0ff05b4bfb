//! Carrier payouts, over real HTTP: a load whose paperwork is complete offers its carrier
//! the broker's terms (standard or quick pay); the carrier chooses once (two choices at the
//! same instant: one lands); the payout is recorded by hand without a processor, or sent
//! through Stripe Connect (localstripe with the project's Connect stand-in): onboarding by
//! account link, a transfer Stripe refuses and the retry after, the payout to the bank and
//! one the bank returns. Both books (the broker's payable, the carrier's receivable) agree
//! and balance throughout.

use lanerunner::both_backends;
use lanerunner::testing::{
    complete_paperwork, expect_problem, json_of, poll, skip_engine_test, use_local_stripe, Account,
    Backend, TestApp, LOCALSTRIPE,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The payout of the load with this reference, as `who` sees it, once it exists.
async fn payout_of(app: &TestApp, who: &Account, reference: &str) -> Value {
    let page = poll(app, "/v1/payments/payouts", who, |b| {
        b["items"]
            .as_array()
            .is_some_and(|i| i.iter().any(|p| p["reference"] == reference))
    })
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["reference"] == reference)
        .unwrap()
        .clone()
}

async fn choose(app: &TestApp, who: &Account, id: &str, option: &str) -> reqwest::Response {
    app.post_json(
        &format!("/v1/payments/payouts/{id}/choice"),
        &json!({ "option": option }),
        Some(&who.access),
    )
    .await
}

both_backends!(
    async fn a_carrier_is_offered_the_brokers_terms_chooses_once_and_is_paid_by_hand(app: TestApp) {
        let broker = app.signup("po-m-broker@example.com", "broker").await;
        let carrier = app.signup("po-m-carrier@example.com", "carrier").await;
        let other = app.signup("po-m-other@example.com", "carrier").await;

        // The defaults until the broker sets its own; bad terms name every field.
        let t = json_of(
            app.get("/v1/payments/payout-terms", Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(t, json!({"standard_days": 30, "quick_pay_fee_bps": 299}));
        let p = expect_problem(
            app.put_json(
                "/v1/payments/payout-terms",
                &json!({"standard_days": 400, "quick_pay_fee_bps": -1}),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(p["errors"].as_array().unwrap().len(), 2, "{p}");
        json_of(
            app.put_json(
                "/v1/payments/payout-terms",
                &json!({"standard_days": 15, "quick_pay_fee_bps": 250}),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;

        complete_paperwork(&app, &broker, &carrier, "PO-M1", 250_000).await;
        let offered = payout_of(&app, &carrier, "PO-M1").await;
        let id = offered["id"].as_str().unwrap().to_owned();
        assert_eq!(offered["side"], "payee");
        assert_eq!(offered["status"], "offered");
        let offers = offered["offers"].as_array().unwrap();
        assert_eq!(offers.len(), 2, "{offered}");
        assert_eq!(
            (&offers[0]["option"], &offers[0]["net_cents"]),
            (&json!("standard"), &json!(250_000))
        );
        assert_eq!(
            (
                &offers[1]["option"],
                &offers[1]["fee_cents"],
                &offers[1]["net_cents"]
            ),
            (&json!("quick_pay"), &json!(6_250), &json!(243_750))
        );
        let broker_view = json_of(
            app.get(&format!("/v1/payments/payouts/{id}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(broker_view["side"], "payer");

        // Another organization sees nothing; the broker cannot choose for the carrier, nor
        // the carrier record a payment; a choice that is not an offer is refused.
        expect_problem(
            app.get(&format!("/v1/payments/payouts/{id}"), Some(&other.access))
                .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            choose(&app, &broker, &id, "quick_pay").await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            choose(&app, &carrier, &id, "factoring").await,
            422,
            "invalid-body",
        )
        .await;
        expect_problem(
            app.post_json(
                &format!("/v1/payments/payouts/{id}/paid"),
                &json!({"reference": "CHK-1"}),
                Some(&carrier.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;

        // Without a processor there is no payout account to open.
        let account = json_of(
            app.get("/v1/payments/payout-account", Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (account["status"].as_str(), account["processor"].as_str()),
            (Some("none"), Some("manual"))
        );
        expect_problem(
            app.post_json(
                "/v1/payments/payout-account/onboarding",
                &json!({"return_url": "https://app.example/#/payouts", "refresh_url": "https://app.example/#/payouts"}),
                Some(&carrier.access),
            )
            .await,
            409,
            "no-processor",
        )
        .await;

        // Two choices at the same instant: one lands, the other is told.
        let (a, b) = tokio::join!(
            choose(&app, &carrier, &id, "quick_pay"),
            choose(&app, &carrier, &id, "standard")
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409]);
        let chosen = json_of(
            app.get(&format!("/v1/payments/payouts/{id}"), Some(&carrier.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(chosen["status"], "scheduled");
        assert!(chosen["offers"].as_array().unwrap().is_empty());
        let fee = if chosen["choice"] == "quick_pay" {
            6_250
        } else {
            0
        };
        assert_eq!(chosen["fee_cents"], fee);
        expect_problem(
            choose(&app, &carrier, &id, "standard").await,
            409,
            "payout-chosen",
        )
        .await;

        // The broker pays by check and records it, once.
        let paid_path = format!("/v1/payments/payouts/{id}/paid");
        expect_problem(
            app.post_json(&paid_path, &json!({"reference": " "}), Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        let paid = json_of(
            app.post_json(
                &paid_path,
                &json!({"reference": "CHK-1001"}),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            (paid["status"].as_str(), paid["manual_reference"].as_str()),
            (Some("paid"), Some("CHK-1001"))
        );
        json_of(
            app.post_json(
                &paid_path,
                &json!({"reference": "CHK-1001"}),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        expect_problem(
            app.post_json(
                &paid_path,
                &json!({"reference": "CHK-2002"}),
                Some(&broker.access),
            )
            .await,
            409,
            "payout-in-progress",
        )
        .await;

        // Both books: nothing owed, the fee earned by the broker and paid by the carrier.
        let net = 250_000 - fee;
        let b = app.ledger_balances(&broker).await;
        assert_eq!(
            b[&format!("payable:carrier:{}", carrier.org_id)],
            0,
            "{b:?}"
        );
        assert_eq!(b["cash:bank"], -net, "{b:?}");
        assert_eq!(
            b.get("revenue:quick_pay").copied().unwrap_or(0),
            -fee,
            "{b:?}"
        );
        let c = app.ledger_balances(&carrier).await;
        assert_eq!(
            c[&format!("receivable:broker:{}", broker.org_id)],
            0,
            "{c:?}"
        );
        assert_eq!(c["revenue:freight"], -250_000, "{c:?}");
        assert_eq!(c["cash:bank"], net, "{c:?}");
        assert_eq!(c.get("cost:quick_pay").copied().unwrap_or(0), fee, "{c:?}");
        app.assert_ledger_balanced().await;
    }
);

/// The carrier finishes Stripe's hosted onboarding (the stand-in's form) in place of its
/// browser; Stripe sends it back to the return URL.
async fn onboard(app: &TestApp, carrier: &Account, bank_account: &str) {
    let res = app
        .post_json(
            "/v1/payments/payout-account/onboarding",
            &json!({"return_url": "https://app.example/#/payouts?onboarded", "refresh_url": "https://app.example/#/payouts"}),
            Some(&carrier.access),
        )
        .await;
    let link = json_of(res, StatusCode::OK).await;
    let url = link["url"].as_str().unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Get paid"), "{page}");
    let done = browser
        .post(url)
        .form(&[
            ("routing_number", "110000000"),
            ("account_number", bank_account),
            ("tos", "accepted"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers()["location"],
        "https://app.example/#/payouts?onboarded"
    );
    // A used link goes back to the refresh URL, to ask for a new one.
    let again = browser.get(url).send().await.unwrap();
    assert_eq!(again.headers()["location"], "https://app.example/#/payouts");
    let ready = poll(app, "/v1/payments/payout-account", carrier, |a| {
        a["status"] == "ready"
    })
    .await;
    assert!(ready["account_id"].as_str().unwrap().starts_with("acct_"));
}

async fn stand_in_account(account: &str, body: Value) {
    let res = reqwest::Client::new()
        .post(format!("{LOCALSTRIPE}/_config/connect/accounts/{account}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
}

async fn connect_run(backend: Backend) {
    if skip_engine_test("localstripe") {
        return;
    }
    let mut secret = String::new();
    let app = TestApp::spawn_with(backend, |c| {
        secret = use_local_stripe(c);
        c.payments.payouts.poll_ms = 100;
    })
    .await;
    app.register_stripe_webhook(&secret).await;
    let broker = app.signup("po-s-broker@example.com", "broker").await;
    let carrier = app.signup("po-s-carrier@example.com", "carrier").await;
    let returned = app.signup("po-s-returned@example.com", "carrier").await;

    // No account yet; bad return URLs are refused before anything is opened.
    let none = json_of(
        app.get("/v1/payments/payout-account", Some(&carrier.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (none["status"].as_str(), none["processor"].as_str()),
        (Some("none"), Some("stripe"))
    );
    let p = expect_problem(
        app.post_json(
            "/v1/payments/payout-account/onboarding",
            &json!({"return_url": "javascript:alert(1)", "refresh_url": ""}),
            Some(&carrier.access),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert_eq!(p["errors"].as_array().unwrap().len(), 2, "{p}");
    onboard(&app, &carrier, "000123456789").await;
    let account = json_of(
        app.get("/v1/payments/payout-account", Some(&carrier.access))
            .await,
        StatusCode::OK,
    )
    .await["account_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Stripe restricts the account and its notice has not arrived: the transfer is
    // refused, kept on the payout with its reason, and nothing moves in either book.
    stand_in_account(&account, json!({"transfers": "inactive", "notify": false})).await;
    complete_paperwork(&app, &broker, &carrier, "PO-S1", 250_000).await;
    let id = payout_of(&app, &carrier, "PO-S1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    json_of(
        choose(&app, &carrier, &id, "quick_pay").await,
        StatusCode::OK,
    )
    .await;
    let path = format!("/v1/payments/payouts/{id}");
    // (The onboarding's own account.updated may land meanwhile and release the payout for
    // another try at once: it is refused again, and waits.)
    let refused = poll(&app, &path, &carrier, |p| {
        !p["last_failure"].is_null() && p["next_attempt_at"].is_string()
    })
    .await;
    assert_eq!(refused["status"], "scheduled", "{refused}");
    assert!(
        refused["last_failure"]
            .as_str()
            .unwrap()
            .contains("capabilities"),
        "{refused}"
    );
    let fee = 7_475; // 2.99 % of $2,500.00
    let b = app.ledger_balances(&broker).await;
    assert_eq!(
        b[&format!("payable:carrier:{}", carrier.org_id)],
        -(250_000 - fee),
        "{b:?}"
    );
    assert_eq!(b["revenue:quick_pay"], -fee, "{b:?}");

    // The carrier sends what Stripe asked for; Stripe's notice lets the payout go now,
    // to the connected account and on to the bank.
    stand_in_account(&account, json!({"transfers": "active"})).await;
    let paid = poll(&app, &path, &carrier, |p| p["status"] == "paid").await;
    assert_eq!(paid["net_cents"], 250_000 - fee);
    assert!(
        paid["transferred_at"].is_string() && paid["last_failure"].is_null(),
        "{paid}"
    );
    let b = app.ledger_balances(&broker).await;
    assert_eq!(
        b[&format!("payable:carrier:{}", carrier.org_id)],
        0,
        "{b:?}"
    );
    assert_eq!(b["processor:balance"], -(250_000 - fee), "{b:?}");
    let c = app.ledger_balances(&carrier).await;
    assert_eq!(
        c[&format!("receivable:broker:{}", broker.org_id)],
        0,
        "{c:?}"
    );
    assert_eq!(c["processor:connected"], 0, "{c:?}");
    assert_eq!(c["cash:bank"], 250_000 - fee, "{c:?}");
    assert_eq!(c["cost:quick_pay"], fee, "{c:?}");

    // Terms of 0 days: the next load's payout goes at once on standard terms, unchosen. The
    // bank returns it (Stripe's failing test account): it waits on the carrier's account,
    // with the bank's reason.
    json_of(
        app.put_json(
            "/v1/payments/payout-terms",
            &json!({"standard_days": 0}),
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    onboard(&app, &returned, "000111111116").await;
    complete_paperwork(&app, &broker, &returned, "PO-S2", 180_000).await;
    let id2 = payout_of(&app, &returned, "PO-S2").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = poll(
        &app,
        &format!("/v1/payments/payouts/{id2}"),
        &returned,
        |p| p["status"] == "transferred" && !p["last_failure"].is_null(),
    )
    .await;
    assert_eq!(failed["choice"], "standard");
    assert_eq!(failed["fee_cents"], 0);
    assert!(
        failed["last_failure"]
            .as_str()
            .unwrap()
            .contains("bank account"),
        "{failed}"
    );
    let c = app.ledger_balances(&returned).await;
    assert_eq!(c["processor:connected"], 180_000, "{c:?}");
    assert_eq!(c.get("cash:bank").copied().unwrap_or(0), 0, "{c:?}");
    app.assert_ledger_balanced().await;

    // Both transfers left the platform's balance as the ledger says: the day reconciles
    // them object by object.
    let mut transfers = Vec::new();
    for p in [&id, &id2] {
        let v = json_of(
            app.get(&format!("/v1/payments/payouts/{p}"), Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        transfers.push(v["transfer_id"].as_str().expect("a transfer").to_owned());
    }
    let report = app
        .app()
        .typed::<lanerunner_payments::PaymentsService>()
        .unwrap()
        .invoices()
        .reconcile(chrono::Utc::now().date_naive())
        .await
        .unwrap();
    // (Other tests' transfers, at the same localstripe, are only at the processor here.)
    for t in &transfers {
        assert!(t.starts_with("tr_"));
        let named = report
            .differences
            .iter()
            .any(|d| format!("{d:?}").contains(t.as_str()));
        assert!(!named, "{t} should reconcile: {report:?}");
    }
    assert!(report.matched >= 2, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_onboards_with_stripe_connect_and_is_paid_to_its_bank_sqlite() {
    connect_run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_onboards_with_stripe_connect_and_is_paid_to_its_bank_postgres() {
    if skip_engine_test("PostgreSQL") {
        return;
    }
    connect_run(Backend::Postgres).await;
}
