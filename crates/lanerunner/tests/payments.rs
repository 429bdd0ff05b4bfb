//! The payment service's ledger over real HTTP, on SQLite, PostgreSQL and the full stack:
//! balanced entries only, recorded once per reference, balances that hold when writers race,
//! and the ledger kept to its organization and its finance people.

use std::sync::Arc;

use lanerunner::both_backends;
use lanerunner::testing::{expect_problem, json_of, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn invoice(reference: &str, cents: i64) -> Value {
    json!({"kind": "invoice_issued", "reference": reference, "memo": "load LR-1001",
    "postings": [
        {"account": "receivable:shipper:acme", "currency": "USD", "amount_cents": cents},
        {"account": "revenue", "currency": "USD", "amount_cents": -(cents / 10)},
        {"account": "payable:carrier:red-river", "currency": "USD", "amount_cents": -(cents - cents / 10)}
    ]})
}

async fn balances(app: &TestApp, token: &str) -> Value {
    json_of(
        app.get("/v1/payments/ledger/balances", Some(token)).await,
        StatusCode::OK,
    )
    .await
}

fn balance_of(b: &Value, account: &str) -> i64 {
    b.as_array()
        .unwrap()
        .iter()
        .find(|x| x["account"] == account)
        .map(|x| x["balance_cents"].as_i64().unwrap())
        .unwrap_or(0)
}

both_backends!(
    async fn balanced_entries_are_recorded_once_and_kept_to_their_organization(app: TestApp) {
        let broker = app.signup("ledger@example.com", "broker").await;
        let rival = app.signup("rival-ledger@example.com", "broker").await;
        let res = app
            .post_json(
                "/v1/payments/ledger/entries",
                &invoice("INV-1001", 250_000),
                Some(&broker.access),
            )
            .await;
        let first = json_of(res, StatusCode::CREATED).await;
        assert_eq!(first["postings"].as_array().unwrap().len(), 3);
        // The same reference and postings again: the first entry, nothing new.
        let again = json_of(
            app.post_json(
                "/v1/payments/ledger/entries",
                &invoice("INV-1001", 250_000),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(again["id"], first["id"]);
        // The same reference with other postings: refused, naming the first.
        let p = expect_problem(
            app.post_json(
                "/v1/payments/ledger/entries",
                &invoice("INV-1001", 260_000),
                Some(&broker.access),
            )
            .await,
            409,
            "reference-reused",
        )
        .await;
        assert_eq!(p["entry_id"], first["id"]);
        // Unbalanced, malformed: every problem named, nothing recorded.
        let mut bad = invoice("INV-1002", 250_000);
        bad["postings"][1]["amount_cents"] = json!(-1);
        bad["postings"][2]["currency"] = json!("EUR");
        let p = expect_problem(
            app.post_json("/v1/payments/ledger/entries", &bad, Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        let fields = p["errors"].to_string();
        assert!(
            fields.contains("postings[2].currency") && fields.contains("must balance"),
            "{fields}"
        );

        let b = balances(&app, &broker.access).await;
        assert_eq!(balance_of(&b, "receivable:shipper:acme"), 250_000);
        assert_eq!(balance_of(&b, "revenue"), -25_000);
        assert_eq!(balance_of(&b, "payable:carrier:red-river"), -225_000);
        let journal = json_of(
            app.get("/v1/payments/ledger/entries", Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(journal["items"].as_array().unwrap().len(), 1);
        assert!(journal.get("next_cursor").is_none(), "{journal}");

        // Two postings to one account count twice on its balance; a movement's own time is
        // kept; the journal pages newest first.
        let split = json!({"kind": "payment_received", "reference": "PAY-1001",
        "occurred_at": "2026-11-30T15:04:05Z",
        "postings": [
            {"account": "cash", "currency": "USD", "amount_cents": 200_000},
            {"account": "cash", "currency": "USD", "amount_cents": 50_000},
            {"account": "receivable:shipper:acme", "currency": "USD", "amount_cents": -250_000}
        ]});
        let paid = json_of(
            app.post_json("/v1/payments/ledger/entries", &split, Some(&broker.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(paid["occurred_at"], "2026-11-30T15:04:05Z");
        let b = balances(&app, &broker.access).await;
        let cash = b
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["account"] == "cash")
            .unwrap();
        assert_eq!(
            (cash["balance_cents"].as_i64(), cash["postings"].as_i64()),
            (Some(250_000), Some(2))
        );
        assert_eq!(balance_of(&b, "receivable:shipper:acme"), 0);
        let page = json_of(
            app.get("/v1/payments/ledger/entries?limit=1", Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(page["items"][0]["id"], paid["id"]);
        let cursor = page["next_cursor"].as_str().unwrap();
        let older = json_of(
            app.get(
                &format!("/v1/payments/ledger/entries?limit=1&cursor={cursor}"),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(older["items"][0]["id"], first["id"]);
        assert!(older.get("next_cursor").is_none(), "{older}");
        expect_problem(
            app.get("/v1/payments/ledger/entries?limit=0", Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        let ledger = app
            .app()
            .typed::<lanerunner_payments::PaymentsService>()
            .unwrap()
            .ledger()
            .clone();
        assert!(ledger.invariants().await.unwrap().hold());

        // Another organization sees none of it.
        assert_eq!(balances(&app, &rival.access).await, json!([]));
        let id = first["id"].as_str().unwrap();
        expect_problem(
            app.get(
                &format!("/v1/payments/ledger/entries/{id}"),
                Some(&rival.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        // And within the organization, the ledger is for finance roles.
        let dispatcher = app
            .invite_and_join(&broker, "disp-ledger@example.com", "dispatcher")
            .await;
        expect_problem(
            app.get("/v1/payments/ledger/balances", Some(&dispatcher.access))
                .await,
            403,
            "forbidden",
        )
        .await;
        let accountant = app
            .invite_and_join(&broker, "acct-ledger@example.com", "accountant")
            .await;
        assert_eq!(balances(&app, &accountant.access).await, b);
    }

    async fn racing_writers_leave_every_balance_exact(app: TestApp) {
        const WRITERS: usize = 8;
        const EACH: usize = 10;
        let broker = app.signup("race-ledger@example.com", "broker").await;
        let barrier = Arc::new(tokio::sync::Barrier::new(WRITERS));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (client, url, token, barrier) = (
                app.client.clone(),
                app.url("/v1/payments/ledger/entries"),
                broker.access.clone(),
                barrier.clone(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                for i in 0..EACH {
                    // Every writer also sends one reference that all the others send too.
                    let reference = if i == 0 {
                        "INV-SHARED".to_owned()
                    } else {
                        format!("INV-{w}-{i}")
                    };
                    let res = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&invoice(&reference, 100_000))
                        .send()
                        .await
                        .unwrap();
                    assert!(
                        matches!(res.status(), StatusCode::CREATED | StatusCode::OK),
                        "{reference}: {} {}",
                        res.status(),
                        res.text().await.unwrap_or_default()
                    );
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let entries = (WRITERS * (EACH - 1) + 1) as i64;
        let b = balances(&app, &broker.access).await;
        assert_eq!(balance_of(&b, "receivable:shipper:acme"), entries * 100_000);
        assert_eq!(balance_of(&b, "revenue"), -entries * 10_000);
        let ledger = app
            .app()
            .typed::<lanerunner_payments::PaymentsService>()
            .unwrap()
            .ledger()
            .clone();
        let inv = ledger.invariants().await.unwrap();
        assert_eq!(inv.entries, entries);
        assert!(inv.hold(), "{inv:?}");
    }
);
