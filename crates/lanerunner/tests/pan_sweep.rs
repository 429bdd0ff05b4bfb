//! PCI: card numbers typed into LaneRunner's free-text fields, one distinct number per
//! field, then every store swept. Each field either refuses the number (`422`, the field
//! named: what is printed on documents or describes a load) or keeps only its last four
//! digits (what people write to each other: chat, negotiation messages); afterwards no
//! column of any table of any service's store, events and outboxes included, and no file
//! of the blob store, holds any of the numbers, grouped or not.

use std::path::Path;

use lanerunner::testing::{dallas_atlanta_load, expect_problem, json_of, Account, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Row};

/// Luhn-valid test numbers of the card brands, each sent in one field only.
const LOAD_NOTES: &str = "4111 1111 1111 1111";
const LOAD_REFERENCE: &str = "4012888888881881";
const CHAT: &str = "5555-5555-5555-4444";
const NEGOTIATION: &str = "6011 1111 1111 1117";
const TEMPLATE_TERMS: &str = "3782 822463 10005";
const TEMPLATE_NAME: &str = "5105105105105100";
const SIGNER: &str = "4000 0566 5566 5556";

/// The ways a number may be written down: as typed, and its digits alone.
fn needles(number: &str) -> Vec<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    vec![number.to_owned(), digits]
}

async fn until_found(app: &TestApp, who: &Account, path: &str, body: Value) -> reqwest::Response {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let res = app.post_json(path, &body, Some(&who.access)).await;
        if res.status() != StatusCode::NOT_FOUND || tokio::time::Instant::now() > deadline {
            return res;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The fields a `422` validation problem names.
async fn refused_fields(res: reqwest::Response) -> Vec<String> {
    let p = expect_problem(res, 422, "validation").await;
    p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

/// Every text-readable value of every table in the SQLite file at `db` that holds one of
/// `needles`: `table.column`.
async fn holders(db: &Path, needles: &[String]) -> Vec<String> {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut found = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query(&format!("PRAGMA table_info(\"{table}\")"))
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("name"))
            .collect();
        for column in columns {
            for needle in needles {
                let n: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM \"{table}\" WHERE instr(CAST(\"{column}\" AS TEXT), $1) > 0"
                ))
                .bind(needle)
                .fetch_one(&mut conn)
                .await
                .unwrap();
                if n > 0 {
                    found.push(format!("{table}.{column} holds {needle}"));
                }
            }
        }
    }
    found
}

/// Files under `dir` (the blob store: documents, exports, archives) that hold a needle.
fn files_holding(dir: &Path, needles: &[String], found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_holding(&path, needles, found);
        } else if path
            .extension()
            .is_none_or(|e| e != "db" && e != "db-wal" && e != "db-shm")
        {
            let bytes = std::fs::read(&path).unwrap_or_default();
            for needle in needles {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(format!("{} holds {needle}", path.display()));
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_typed_anywhere_are_refused_or_masked_and_never_stored() {
    let app = TestApp::spawn(lanerunner::testing::Backend::Sqlite).await;
    let broker = app.signup("pan-sweep-b@example.com", "broker").await;
    let carrier = app.signup("pan-sweep-c@example.com", "carrier").await;

    // Loads: refused in every text field, named.
    let mut load = dallas_atlanta_load("PAN-SWEEP", 250_000);
    load["notes"] = json!(format!("gate code 7731, card {LOAD_NOTES} for lumper"));
    let refused = refused_fields(
        app.post_json("/v1/loads", &load, Some(&broker.access))
            .await,
    );
    assert_eq!(refused.await, ["notes"]);
    let mut load = dallas_atlanta_load(LOAD_REFERENCE, 250_000);
    let refused = refused_fields(
        app.post_json("/v1/loads", &load, Some(&broker.access))
            .await,
    );
    assert_eq!(refused.await, ["reference"]);
    load["reference"] = json!("PAN-SWEEP");
    let load_id = lanerunner::testing::posted(&app, &broker, &load).await;

    // Documents: the letterhead and the signer's name are printed; refused, named.
    let template = json!({"legal_name": format!("Acme {TEMPLATE_NAME}"), "invoice_terms": format!("Card {TEMPLATE_TERMS} on file")});
    let refused = refused_fields(
        app.put_json("/v1/documents/template", &template, Some(&broker.access))
            .await,
    );
    assert_eq!(refused.await, ["legal_name", "invoice_terms"]);

    // Chat: masked to the last four digits.
    let conversation = json_of(
        until_found(
            &app,
            &carrier,
            "/v1/chat/conversations",
            json!({"load_id": load_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let msgs = format!(
        "/v1/chat/conversations/{}/messages",
        conversation["id"].as_str().unwrap()
    );
    let m = json_of(
        app.post_json(
            &msgs,
            &json!({"text": format!("fuel advance to {CHAT}")}),
            Some(&carrier.access),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(m["text"], "fuel advance to [card ••••4444]");

    // Negotiation: the carrier's first move, in words: masked before it is read, stored
    // or sent on; the offer it states is read all the same.
    let n = json_of(
        until_found(
            &app,
            &carrier,
            "/v1/negotiations",
            json!({"load_id": load_id, "text": format!("I can do 2400. quick pay to card {NEGOTIATION}")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let said = n.to_string();
    assert!(said.contains("[card ••••1117]"), "{said}");
    assert!(
        said.contains("240000"),
        "the offer is read past the masked number: {said}"
    );

    // A signature: the signer's name is printed on the signed document; refused before
    // the document is even looked up.
    let refused = refused_fields(
        app.post_json(
            &format!("/v1/documents/{}/signatures", uuid::Uuid::now_v7()),
            &json!({"name": format!("Pat {SIGNER}"), "title": "Dispatcher", "sha256": "0".repeat(64), "consent": true}),
            Some(&carrier.access),
        )
        .await,
    );
    assert_eq!(refused.await, ["name"]);

    // Nothing kept anywhere: every table of every store, and the blob store's files.
    let needles: Vec<String> = [
        LOAD_NOTES,
        LOAD_REFERENCE,
        CHAT,
        NEGOTIATION,
        TEMPLATE_TERMS,
        TEMPLATE_NAME,
        SIGNER,
    ]
    .iter()
    .flat_map(|n| needles(n))
    .collect();
    let data_dir = app.app().config().data_dir.clone();
    let mut found = Vec::new();
    let mut stores = 0;
    for entry in std::fs::read_dir(&data_dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "db") {
            stores += 1;
            for f in holders(&path, &needles).await {
                found.push(format!("{}: {f}", path.display()));
            }
        }
    }
    files_holding(&data_dir, &needles, &mut found);
    assert!(stores >= 10, "the services' stores were swept ({stores})");
    assert!(found.is_empty(), "card numbers stored: {found:#?}");
}
