//! Invoices and their payment, over real HTTP: a load is invoiced only once its paperwork
//! is complete; the invoice is paid through Stripe (localstripe, which signs its webhooks)
//! or recorded by hand; webhooks are verified first, applied once, in any order; refunds
//! and disputes move the ledger; and the ledger balances throughout.

use lanerunner::both_backends;
use lanerunner::testing::{
    complete_paperwork, expect_problem, json_of, poll, posted, skip_engine_test, use_local_stripe,
    Account, Backend, TestApp, LOCALSTRIPE,
};
use lanerunner_stripe::webhook::sign;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn invoice_for(load: &str) -> Value {
    json!({"load_id": load, "customer_name": "Big Box Retail", "customer_email": "ap@bigbox.example",
        "lines": [{"description": "Linehaul Dallas to Atlanta", "amount_cents": 300_000}, {"description": "Fuel", "amount_cents": 12_550}]})
}

async fn create(
    app: &TestApp,
    who: &Account,
    body: &Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut req = app.client.post(app.url("/v1/payments/invoices")).json(body);
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    app.send(req, Some(&who.access)).await
}

async fn webhook(app: &TestApp, body: &Value, secret: &str, at: i64) -> reqwest::Response {
    let bytes = serde_json::to_vec(body).unwrap();
    app.client
        .post(app.url("/v1/payments/webhooks"))
        .header("content-type", "application/json")
        .header("stripe-signature", sign(&bytes, at, secret))
        .body(bytes)
        .send()
        .await
        .unwrap()
}

both_backends!(
    async fn an_invoice_waits_for_complete_paperwork_and_is_settled_by_hand_without_a_processor(
        app: TestApp,
    ) {
        let broker = app.signup("inv-m-broker@example.com", "broker").await;
        let carrier = app.signup("inv-m-carrier@example.com", "carrier").await;
        let other = app.signup("inv-m-other@example.com", "broker").await;

        // Booked but not delivered: not invoiced yet.
        let early = posted(
            &app,
            &broker,
            &lanerunner::testing::dallas_atlanta_load("INV-EARLY", 200_000),
        )
        .await;
        expect_problem(
            create(&app, &broker, &invoice_for(&early), None).await,
            409,
            "paperwork-incomplete",
        )
        .await;

        let load = complete_paperwork(&app, &broker, &carrier, "INV-M1", 250_000).await;
        // The carrier is owed the rate from the moment the paperwork is complete.
        let carrier_account = format!("payable:carrier:{}", carrier.org_id);
        let owed = poll(&app, "/v1/payments/ledger/balances", &broker, |b| {
            b.as_array()
                .unwrap()
                .iter()
                .any(|r| r["account"] == carrier_account.as_str())
        })
        .await;
        assert!(owed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["account"] == carrier_account.as_str() && r["balance_cents"] == -250_000));

        // Bad input names every field; another organization cannot invoice the load.
        let bad = json!({"load_id": load, "customer_name": "", "customer_email": "x", "currency": "EUR", "lines": []});
        let p = expect_problem(create(&app, &broker, &bad, None).await, 422, "validation").await;
        assert_eq!(p["errors"].as_array().unwrap().len(), 4, "{p}");
        expect_problem(
            create(&app, &other, &invoice_for(&load), None).await,
            409,
            "paperwork-incomplete",
        )
        .await;
        expect_problem(
            create(&app, &carrier, &invoice_for(&load), None).await,
            409,
            "paperwork-incomplete",
        )
        .await;

        let inv = json_of(
            create(&app, &broker, &invoice_for(&load), Some("inv-m1")).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(
            (inv["status"].as_str(), inv["amount_cents"].as_i64()),
            (Some("open"), Some(312_550))
        );
        assert_eq!(
            inv["payment_id"],
            Value::Null,
            "no processor: settled by hand"
        );
        // The same request again is the same invoice; another request under the key, or a
        // second invoice for the load, is refused.
        let again = json_of(
            create(&app, &broker, &invoice_for(&load), Some("inv-m1")).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(again["id"], inv["id"]);
        let mut changed = invoice_for(&load);
        changed["customer_name"] = json!("Someone Else");
        expect_problem(
            create(&app, &broker, &changed, Some("inv-m1")).await,
            409,
            "idempotency-key-reused",
        )
        .await;
        expect_problem(
            create(&app, &broker, &changed, None).await,
            409,
            "invoice-exists",
        )
        .await;

        // Its PDF is attached to the load, for both parties.
        let docs = poll(
            &app,
            &format!("/v1/loads/{load}/documents"),
            &carrier,
            |d| {
                d["documents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["kind"] == "invoice")
            },
        )
        .await;
        let pdf = docs["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == "invoice")
            .unwrap();
        let bytes = app
            .get(
                &format!("/v1/documents/{}/content", pdf["id"].as_str().unwrap()),
                Some(&broker.access),
            )
            .await
            .bytes()
            .await
            .unwrap();
        let doc = lopdf::Document::load_mem(&bytes).unwrap();
        let text = doc
            .extract_text(&doc.get_pages().keys().copied().collect::<Vec<_>>())
            .unwrap();
        for want in [
            inv["number"].as_str().unwrap(),
            "Big Box Retail",
            "$3,125.50",
            "Linehaul Dallas to Atlanta",
        ] {
            assert!(
                text.contains(want),
                "{want:?} missing from the invoice: {text}"
            );
        }

        let id = inv["id"].as_str().unwrap();
        // Another organization does not find it, nor pay it.
        let path = format!("/v1/payments/invoices/{id}");
        expect_problem(app.get(&path, Some(&other.access)).await, 404, "not-found").await;
        let theirs = app
            .post_json(
                &format!("{path}/payments"),
                &json!({"amount_cents": 1, "reference": "x"}),
                Some(&other.access),
            )
            .await;
        expect_problem(theirs, 404, "not-found").await;
        let pay = |amount: i64, reference: &str| {
            let path = format!("/v1/payments/invoices/{id}/payments");
            let body = json!({"amount_cents": amount, "reference": reference});
            let (app, access) = (&app, broker.access.clone());
            async move { app.post_json(&path, &body, Some(&access)).await }
        };
        expect_problem(pay(400_000, "chk-1").await, 409, "overpayment").await;
        let part = json_of(pay(100_000, "chk-1").await, StatusCode::OK).await;
        assert_eq!(part["status"], "partially_paid");
        // The same check recorded twice counts once.
        let same = json_of(pay(100_000, "chk-1").await, StatusCode::OK).await;
        assert_eq!(same["paid_cents"], 100_000);
        let paid = json_of(pay(212_550, "wire-7").await, StatusCode::OK).await;
        assert_eq!(paid["status"], "paid");
        expect_problem(pay(1, "chk-9").await, 409, "invoice-paid").await;

        let b = app.ledger_balances(&broker).await;
        assert_eq!(b["receivable:customers"], 0);
        assert_eq!(b["cash:bank"], 312_550);
        assert_eq!(b["revenue:freight"], -312_550);
        app.assert_ledger_balanced().await;
        // Invoices are the finance team's; no webhook without a processor.
        let list = json_of(
            app.get("/v1/payments/invoices", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"][0]["id"], inv["id"]);
        let refused = webhook(&app, &json!({"id": "evt_x", "type": "payment_intent.succeeded", "created": 1, "data": {"object": {}}}), "whsec_x", chrono::Utc::now().timestamp()).await;
        expect_problem(refused, 400, "webhook-rejected").await;
    }
);

/// Stripe end to end, on each backend with localstripe beside it.
async fn stripe_run(backend: Backend) {
    if skip_engine_test("localstripe") {
        return;
    }
    let mut secret = String::new();
    let app = TestApp::spawn_with(backend, |c| secret = use_local_stripe(c)).await;
    app.register_stripe_webhook(&secret).await;
    let broker = app.signup("inv-s-broker@example.com", "broker").await;
    let carrier = app.signup("inv-s-carrier@example.com", "carrier").await;
    let load = complete_paperwork(&app, &broker, &carrier, "INV-S1", 250_000).await;
    let inv = json_of(
        create(&app, &broker, &invoice_for(&load), Some("inv-s1")).await,
        StatusCode::CREATED,
    )
    .await;
    let intent = inv["payment_id"]
        .as_str()
        .expect("a PaymentIntent")
        .to_owned();
    assert!(intent.starts_with("pi_"));
    assert!(inv["client_secret"]
        .as_str()
        .is_some_and(|s| s.starts_with(&intent)));
    // A retried request does not open a second PaymentIntent.
    let again = json_of(
        create(&app, &broker, &invoice_for(&load), Some("inv-s1")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["payment_id"], intent.as_str());

    // The shipper pays in the browser (Stripe.js): a card, then the PaymentIntent confirmed.
    let stripe = reqwest::Client::new();
    let pm: Value = stripe
        .post(format!("{LOCALSTRIPE}/v1/payment_methods"))
        .basic_auth("sk_test_lanerunner", Some(""))
        .form(&[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2031"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // (localstripe takes the method on the PaymentIntent, then a bare confirm.)
    let attached = stripe
        .post(format!("{LOCALSTRIPE}/v1/payment_intents/{intent}"))
        .basic_auth("sk_test_lanerunner", Some(""))
        .form(&[("payment_method", pm["id"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert!(
        attached.status().is_success(),
        "{}",
        attached.text().await.unwrap()
    );
    let confirmed = stripe
        .post(format!("{LOCALSTRIPE}/v1/payment_intents/{intent}/confirm"))
        .basic_auth("sk_test_lanerunner", Some(""))
        .send()
        .await
        .unwrap();
    assert!(
        confirmed.status().is_success(),
        "{}",
        confirmed.text().await.unwrap()
    );

    // localstripe's signed payment_intent.succeeded marks it paid.
    let id = inv["id"].as_str().unwrap();
    let paid = poll(&app, &format!("/v1/payments/invoices/{id}"), &broker, |i| {
        i["status"] == "paid"
    })
    .await;
    assert_eq!(paid["paid_cents"], 312_550);
    let b = app.ledger_balances(&broker).await;
    assert_eq!(
        (b["processor:balance"], b["receivable:customers"]),
        (312_550, 0)
    );

    // A refund made at Stripe (the dashboard, say) whose event has not arrived: the day's
    // reconciliation finds money the processor moved and the ledger does not know.
    let refunded: Value = stripe
        .post(format!("{LOCALSTRIPE}/v1/refunds"))
        .basic_auth("sk_test_lanerunner", Some(""))
        .form(&[("payment_intent", intent.as_str()), ("amount", "50000")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refund_id = refunded["id"].as_str().expect("a refund").to_owned();
    let invoices = app
        .app()
        .typed::<lanerunner_payments::PaymentsService>()
        .unwrap()
        .invoices()
        .clone();
    let today = chrono::Utc::now().date_naive();
    // (localstripe is shared by tests running at once: only this test's objects are judged.)
    let mentions = |r: &lanerunner_payments::reconcile::Report, object: &str| -> Vec<String> {
        r.differences
            .iter()
            .map(|d| serde_json::to_value(d).unwrap())
            .filter(|d| d.to_string().contains(object))
            .map(|d| d["difference"].as_str().unwrap().to_owned())
            .collect()
    };
    let report = invoices.reconcile(today).await.unwrap();
    assert_eq!(
        mentions(&report, &refund_id),
        ["only_at_processor"],
        "{report:?}"
    );
    assert!(
        report.matched >= 1,
        "the payment's charge is matched: {report:?}"
    );
    assert_eq!(mentions(&report, &intent), Vec::<String>::new());

    // The refund's event: a bad signature, a stale one, none: refused, nothing applied.
    let now = chrono::Utc::now().timestamp();
    let refund = |id: &str, cents: i64, event: &str| {
        json!({"id": event, "type": "refund.created", "created": now,
        "data": {"object": {"id": id, "object": "refund", "payment_intent": intent, "amount": cents, "currency": "usd", "status": "succeeded"}}})
    };
    let real = refund(&refund_id, 50_000, "evt_lr_r1");
    expect_problem(
        webhook(&app, &real, "whsec_wrong", now).await,
        400,
        "webhook-rejected",
    )
    .await;
    expect_problem(
        webhook(&app, &real, &secret, now - 3_600).await,
        400,
        "webhook-rejected",
    )
    .await;
    let unsigned = app
        .client
        .post(app.url("/v1/payments/webhooks"))
        .body(serde_json::to_vec(&real).unwrap())
        .send()
        .await
        .unwrap();
    expect_problem(unsigned, 400, "webhook-rejected").await;
    assert_eq!(
        app.ledger_balances(&broker).await.get("revenue:refunds"),
        None
    );

    // The same event twice moves money once; the day then reconciles for this refund.
    let first: Value = json_of(webhook(&app, &real, &secret, now).await, StatusCode::OK).await;
    assert_eq!(first["outcome"], "applied");
    let dup: Value = json_of(webhook(&app, &real, &secret, now).await, StatusCode::OK).await;
    assert_eq!(dup["outcome"], "duplicate");
    let report = invoices.reconcile(today).await.unwrap();
    assert_eq!(
        mentions(&report, &refund_id),
        Vec::<String>::new(),
        "{report:?}"
    );

    // A charge's list of refunds repeats the first: only the new one moves money; the first
    // refund's own event arriving late changes nothing.
    let listed = json!({"id": "evt_lr_r2", "type": "charge.refunded", "created": now,
        "data": {"object": {"id": "ch_lr_1", "object": "charge", "payment_intent": intent, "currency": "usd",
            "refunds": {"data": [{"id": refund_id, "amount": 50_000, "status": "succeeded"}, {"id": "re_lr_2", "amount": 30_000, "status": "succeeded"}]}}}});
    assert_eq!(
        json_of(webhook(&app, &listed, &secret, now).await, StatusCode::OK).await["outcome"],
        "applied"
    );
    let late = refund(&refund_id, 50_000, "evt_lr_r0");
    assert_eq!(
        json_of(webhook(&app, &late, &secret, now).await, StatusCode::OK).await["outcome"],
        "ignored"
    );
    // A failure reported after the success (out of order) does not unpay the invoice.
    let failed = json!({"id": "evt_lr_f", "type": "payment_intent.payment_failed", "created": now - 60,
        "data": {"object": {"id": intent, "object": "payment_intent", "last_payment_error": {"message": "card declined"}}}});
    assert_eq!(
        json_of(webhook(&app, &failed, &secret, now).await, StatusCode::OK).await["outcome"],
        "ignored"
    );
    // The same payment reported again (a new event id) is not counted twice.
    let again = json!({"id": "evt_lr_p2", "type": "payment_intent.succeeded", "created": now,
        "data": {"object": {"id": intent, "object": "payment_intent", "amount": 312_550, "amount_received": 312_550, "currency": "usd"}}});
    assert_eq!(
        json_of(webhook(&app, &again, &secret, now).await, StatusCode::OK).await["outcome"],
        "already-recorded"
    );
    // A payment for nothing LaneRunner issued is kept for review, not applied.
    let stray = json!({"id": "evt_lr_s", "type": "payment_intent.succeeded", "created": now,
        "data": {"object": {"id": "pi_not_ours", "amount": 100, "currency": "usd"}}});
    assert_eq!(
        json_of(webhook(&app, &stray, &secret, now).await, StatusCode::OK).await["outcome"],
        "unknown-payment"
    );
    // A dispute.
    let dispute = json!({"id": "evt_lr_d", "type": "charge.dispute.created", "created": now,
        "data": {"object": {"id": "dp_lr_1", "object": "dispute", "charge": "ch_lr_1", "payment_intent": intent, "amount": 232_550, "currency": "usd"}}});
    assert_eq!(
        json_of(webhook(&app, &dispute, &secret, now).await, StatusCode::OK).await["outcome"],
        "applied"
    );

    let inv = json_of(
        app.get(&format!("/v1/payments/invoices/{id}"), Some(&broker.access))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            inv["refunded_cents"].as_i64(),
            inv["disputed_cents"].as_i64(),
            inv["status"].as_str()
        ),
        (Some(80_000), Some(232_550), Some("disputed"))
    );
    let b = app.ledger_balances(&broker).await;
    assert_eq!(b["revenue:refunds"], 80_000);
    assert_eq!(b["disputes"], 232_550);
    // What came in went out again, less Stripe's fee on the charge (2.9 % + 30 cents at
    // the stand-in), entered by the reconciliation above.
    let fee = 9_094;
    assert_eq!(b["processor:balance"], -fee);
    app.assert_ledger_balanced().await;

    // What the processor never moved (the signed test events) is reported, object by object.
    let report = invoices.reconcile(today).await.unwrap();
    assert_eq!(mentions(&report, "re_lr_2"), ["only_in_ledger"]);
    assert_eq!(mentions(&report, "dp_lr_1"), ["only_in_ledger"]);
    assert_eq!(mentions(&report, &refund_id), Vec::<String>::new());

    // The fee is entered once however often the day is reconciled.
    assert_eq!(report.fees["USD"], fee);
    invoices.reconcile(today).await.unwrap();
    let b = app.ledger_balances(&broker).await;
    assert_eq!(b["cost:processor_fees"], fee);
    assert_eq!(b["processor:balance"], -fee);
    app.assert_ledger_balanced().await;
    let kept = invoices.reconciliations(5).await.unwrap();
    assert_eq!(kept[0].0, today);
    assert_eq!(kept[0].1.fees["USD"], fee);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_is_paid_through_stripe_and_its_webhooks_apply_once_in_any_order_sqlite() {
    stripe_run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_is_paid_through_stripe_and_its_webhooks_apply_once_in_any_order_postgres() {
    if skip_engine_test("PostgreSQL") {
        return;
    }
    stripe_run(Backend::Postgres).await;
}
