//! The documents service over real HTTP, on SQLite, PostgreSQL and the full stack: a
//! booking brings its rate confirmation and bill of lading (PDFs read back as text), the
//! carrier signs over the document's hash, uploads are checked and attributed, the
//! checklist completes once, a copy altered after signing is detected, and two signers at
//! the same instant both land in the final signed version.

use lanerunner::both_backends;
use lanerunner::testing::{
    book, dallas_atlanta_load, expect_problem, json_of, poll, Account, TestApp,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A small but real PDF (what a phone scanner app uploads).
fn pdf(text: &str) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 1/Kids[3 0 R]>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n".to_vec();
    b.extend(format!("% {text}\n").as_bytes());
    b.extend(b"trailer<</Root 1 0 R>>\n%%EOF\n");
    b
}

/// A 2x1 RGBA PNG, a letterhead logo.
fn logo() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 2, 1);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&[10, 60, 200, 255, 10, 60, 200, 128])
        .unwrap();
    drop(w);
    out
}

fn text_of(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a PDF a reader opens");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("its text")
}

async fn raw(
    app: &TestApp,
    who: &Account,
    method: reqwest::Method,
    path: impl Into<String>,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let req = app
        .client
        .request(method, app.url(&path.into()))
        .header("content-type", content_type)
        .body(body);
    app.send(req, Some(&who.access)).await
}

async fn bytes_of(app: &TestApp, who: &Account, path: &str) -> Vec<u8> {
    let res = app.get(path, Some(&who.access)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.unwrap().to_vec()
}

/// Posts a load and covers it with `carrier` at $2,500: a booking with a known rate.
async fn booked(app: &TestApp, broker: &Account, carrier: &Account, reference: &str) -> String {
    book(
        app,
        broker,
        carrier,
        &dallas_atlanta_load(reference, 250_000),
    )
    .await
}

/// The load's paperwork once the booking's documents are generated.
async fn paperwork(app: &TestApp, who: &Account, load: &str) -> Value {
    poll(app, &format!("/v1/loads/{load}/documents"), who, |b| {
        b["generating"] == json!(false) && b["documents"].as_array().is_some_and(|d| d.len() >= 2)
    })
    .await
}

fn find<'a>(docs: &'a Value, kind: &str, origin: &str) -> &'a Value {
    docs["documents"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|d| d["kind"] == kind && d["origin"] == origin)
        .unwrap_or_else(|| panic!("no {origin} {kind} in {docs}"))
}

async fn sign(app: &TestApp, who: &Account, doc: &Value, name: &str) -> reqwest::Response {
    app.post_json(
        &format!("/v1/documents/{}/signatures", doc["id"].as_str().unwrap()),
        &json!({"name": name, "title": "Dispatcher", "sha256": doc["sha256"], "consent": true}),
        Some(&who.access),
    )
    .await
}

both_backends!(
    async fn a_booking_brings_its_paperwork_and_the_checklist_follows_it_to_complete(app: TestApp) {
        let broker = app.signup("docs-broker@example.com", "broker").await;
        let carrier = app.signup("docs-carrier@example.com", "carrier").await;
        let stranger = app.signup("docs-stranger@example.com", "broker").await;

        // The broker's letterhead: name, address, terms, a logo.
        let template = json!({"legal_name": "Acme Logistics LLC", "address": "1 Main St\nDallas, TX 75201",
            "phone": "214-555-0100", "rate_confirmation_terms": "Detention $50/hour after 2 free hours."});
        let t = json_of(
            app.put_json("/v1/documents/template", &template, Some(&broker.access))
                .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(t["legal_name"], "Acme Logistics LLC");
        let t = json_of(
            raw(
                &app,
                &broker,
                reqwest::Method::PUT,
                "/v1/documents/template/logo",
                "image/png",
                logo(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(t["has_logo"], true);
        expect_problem(
            raw(
                &app,
                &broker,
                reqwest::Method::PUT,
                "/v1/documents/template/logo",
                "image/png",
                b"GIF89a".to_vec(),
            )
            .await,
            422,
            "logo-not-usable",
        )
        .await;
        expect_problem(
            app.put_json(
                "/v1/documents/template",
                &json!({"email": "nope"}),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            app.put_json(
                "/v1/documents/template",
                &json!({"color": "red"}),
                Some(&broker.access),
            )
            .await,
            422,
            "invalid-body",
        )
        .await;

        let load = booked(&app, &broker, &carrier, "DOC-1").await;
        let docs = paperwork(&app, &broker, &load).await;
        assert_eq!(docs["party"], "broker");
        let ratecon = find(&docs, "rate_confirmation", "generated").clone();
        let bol = find(&docs, "bill_of_lading", "generated").clone();
        assert_eq!(ratecon["content_type"], "application/pdf");

        // Real documents: their text reads back.
        let ratecon_pdf = bytes_of(
            &app,
            &broker,
            &format!("/v1/documents/{}/content", ratecon["id"].as_str().unwrap()),
        )
        .await;
        let text = text_of(&ratecon_pdf);
        for want in [
            "Rate confirmation",
            "DOC-1",
            "Acme Logistics LLC",
            "1 Main St",
            "carrier co",
            "$2,500.00",
            "Pickup 1: Dallas, TX",
            "Delivery 1: Atlanta, GA",
            "Detention $50/hour",
        ] {
            assert!(
                text.contains(want),
                "{want:?} missing from the rate confirmation: {text}"
            );
        }
        let bol_text = text_of(
            &bytes_of(
                &app,
                &carrier,
                &format!("/v1/documents/{}/content", bol["id"].as_str().unwrap()),
            )
            .await,
        );
        assert!(
            bol_text.contains("Bill of lading") && bol_text.contains("paper"),
            "{bol_text}"
        );

        // Both parties see the paperwork; nobody else does.
        let seen = json_of(
            app.get(
                &format!("/v1/loads/{load}/documents"),
                Some(&carrier.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(seen["party"], "carrier");
        expect_problem(
            app.get(
                &format!("/v1/loads/{load}/documents"),
                Some(&stranger.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        expect_problem(
            app.get(
                &format!("/v1/documents/{}/content", ratecon["id"].as_str().unwrap()),
                Some(&stranger.access),
            )
            .await,
            404,
            "not-found",
        )
        .await;

        let missing = |c: &Value| -> Vec<String> {
            c["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["done"] == false)
                .map(|i| i["key"].as_str().unwrap().to_owned())
                .collect()
        };
        let checklist = json_of(
            app.get(
                &format!("/v1/loads/{load}/documents/checklist"),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            missing(&checklist),
            ["rate_confirmation_signed", "delivered", "proof_of_delivery"]
        );

        // Signing: the hash shown must be the document's, consent is required.
        let mut stale = ratecon.clone();
        stale["sha256"] = json!("0".repeat(64));
        expect_problem(
            sign(&app, &carrier, &stale, "Dana Driver").await,
            409,
            "document-changed",
        )
        .await;
        let no_consent = app
            .post_json(
                &format!(
                    "/v1/documents/{}/signatures",
                    ratecon["id"].as_str().unwrap()
                ),
                &json!({"name": "Dana Driver", "sha256": ratecon["sha256"], "consent": false}),
                Some(&carrier.access),
            )
            .await;
        expect_problem(no_consent, 422, "validation").await;
        expect_problem(
            sign(&app, &carrier, &bol, "Dana Driver").await,
            409,
            "not-signable",
        )
        .await;

        let signed = json_of(
            sign(&app, &carrier, &ratecon, "Dana Driver").await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(signed["origin"], "signed");
        assert_eq!(signed["signs"], ratecon["id"]);
        assert_eq!(signed["signatures"][0]["party"], "carrier");
        assert_eq!(
            signed["signatures"][0]["document_sha256"],
            ratecon["sha256"]
        );
        assert_eq!(signed["signatures"][0]["user_id"], carrier.user_id.as_str());
        assert_eq!(signed["signatures"][0]["ip"], "127.0.0.1");
        expect_problem(
            sign(&app, &carrier, &ratecon, "Dana Driver").await,
            409,
            "already-signed",
        )
        .await;
        let signed_id = signed["id"].as_str().unwrap();
        let signed_pdf =
            bytes_of(&app, &broker, &format!("/v1/documents/{signed_id}/content")).await;
        let text = text_of(&signed_pdf);
        for want in [
            "Signed for the carrier",
            "Dana Driver",
            "Dispatcher",
            ratecon["sha256"].as_str().unwrap(),
            "$2,500.00",
        ] {
            assert!(
                text.contains(want),
                "{want:?} missing from the signed version: {text}"
            );
        }
        // A signed rate confirmation is not generated again.
        expect_problem(
            app.post_json(
                &format!("/v1/loads/{load}/documents/generate"),
                &json!({"kind": "rate_confirmation"}),
                Some(&broker.access),
            )
            .await,
            409,
            "document-signed",
        )
        .await;
        expect_problem(
            app.post_json(
                &format!("/v1/loads/{load}/documents/generate"),
                &json!({"kind": "bill_of_lading"}),
                Some(&carrier.access),
            )
            .await,
            403,
            "forbidden",
        )
        .await;

        // A copy altered afterwards is detected by its hash.
        let verify = |bytes: Vec<u8>| {
            raw(
                &app,
                &broker,
                reqwest::Method::POST,
                format!("/v1/documents/{signed_id}/verify"),
                "application/pdf",
                bytes,
            )
        };
        let intact = json_of(verify(signed_pdf.clone()).await, StatusCode::OK).await;
        assert_eq!(intact["intact"], true);
        let mut altered = signed_pdf.clone();
        let at = altered
            .windows(9)
            .position(|w| w == b"2,500.00)")
            .expect("the rate in the content stream");
        altered[at] = b'9';
        let check = json_of(verify(altered.clone()).await, StatusCode::OK).await;
        assert_eq!(check["intact"], false);
        assert_eq!(check["recorded_sha256"], signed["sha256"]);
        let found = json_of(
            raw(
                &app,
                &carrier,
                reqwest::Method::POST,
                "/v1/documents/lookup",
                "application/pdf",
                altered,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(found["matches"], json!([]));
        let found = json_of(
            raw(
                &app,
                &carrier,
                reqwest::Method::POST,
                "/v1/documents/lookup",
                "application/pdf",
                signed_pdf,
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(found["matches"][0]["id"], signed["id"]);

        // Uploads: checked by content and size, attributed, only kinds people attach.
        let upload = |kind: &str, ct: &'static str, body: Vec<u8>| {
            raw(
                &app,
                &carrier,
                reqwest::Method::POST,
                format!(
                    "/v1/loads/{load}/documents?kind={kind}&name=pod.pdf&note=signed%20at%20dock"
                ),
                ct,
                body,
            )
        };
        expect_problem(
            upload("proof_of_delivery", "application/pdf", logo()).await,
            415,
            "content-type-mismatch",
        )
        .await;
        expect_problem(
            upload("proof_of_delivery", "application/pdf", vec![b'%'; 5000]).await,
            413,
            "file-too-large",
        )
        .await;
        expect_problem(
            upload("rate_confirmation", "application/pdf", pdf("fake")).await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            upload("receipt", "application/pdf", pdf("fake")).await,
            422,
            "validation",
        )
        .await;
        expect_problem(
            raw(
                &app,
                &stranger,
                reqwest::Method::POST,
                &format!("/v1/loads/{load}/documents?kind=other"),
                "application/pdf",
                pdf("x"),
            )
            .await,
            404,
            "not-found",
        )
        .await;
        let pod = json_of(
            upload("proof_of_delivery", "application/pdf", pdf("POD DOC-1")).await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(pod["created_by"], carrier.user_id.as_str());
        assert_eq!(pod["created_by_org"], carrier.org_id.as_str());
        assert_eq!(pod["note"], "signed at dock");
        assert_eq!(
            bytes_of(
                &app,
                &broker,
                &format!("/v1/documents/{}/content", pod["id"].as_str().unwrap())
            )
            .await,
            pdf("POD DOC-1")
        );

        // Delivery is the last item: the checklist completes, once.
        let checklist = json_of(
            app.get(
                &format!("/v1/loads/{load}/documents/checklist"),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(missing(&checklist), ["delivered"]);
        for event in [
            "dispatch",
            "arrive_pickup",
            "depart_pickup",
            "arrive_delivery",
            "deliver",
        ] {
            let res = app
                .post_json(
                    &format!("/v1/loads/{load}/status"),
                    &json!({"event": event}),
                    Some(&broker.access),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK, "{event}");
        }
        let done = poll(
            &app,
            &format!("/v1/loads/{load}/documents/checklist"),
            &carrier,
            |c| c["complete"] == true,
        )
        .await;
        assert!(done["completed_at"].is_string());

        // The list of paperwork: both parties see the load, complete; nobody else does.
        for who in [&broker, &carrier] {
            let list = json_of(
                app.get("/v1/documents/loads?limit=10", Some(&who.access))
                    .await,
                StatusCode::OK,
            )
            .await;
            assert_eq!(list["items"][0]["load_id"], load.as_str());
            assert_eq!(list["items"][0]["complete"], true);
            assert_eq!(list["items"][0]["missing"], json!([]));
        }
        let list = json_of(
            app.get("/v1/documents/loads", Some(&stranger.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(list["items"], json!([]));
        expect_problem(
            app.get("/v1/documents/loads?limit=0", Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
    }

    async fn two_signers_at_the_same_instant_both_land_in_the_last_signed_version(app: TestApp) {
        let broker = app.signup("race-broker@example.com", "broker").await;
        let carrier = app.signup("race-carrier@example.com", "carrier").await;
        let load = booked(&app, &broker, &carrier, "RACE-1").await;
        let docs = paperwork(&app, &broker, &load).await;
        let ratecon = find(&docs, "rate_confirmation", "generated").clone();

        // Both sides at once: both signatures recorded, the newest version carries both.
        let (a, b) = tokio::join!(
            sign(&app, &broker, &ratecon, "Bea Broker"),
            sign(&app, &carrier, &ratecon, "Cal Carrier")
        );
        assert_eq!(
            (a.status(), b.status()),
            (StatusCode::CREATED, StatusCode::CREATED)
        );
        let docs = json_of(
            app.get(
                &format!("/v1/loads/{load}/documents"),
                Some(&carrier.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let versions: Vec<&Value> = docs["documents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["origin"] == "signed")
            .collect();
        assert_eq!(versions.len(), 2);
        let last = versions
            .iter()
            .max_by_key(|d| d["signatures"].as_array().unwrap().len())
            .unwrap();
        let parties: Vec<&str> = last["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["party"].as_str().unwrap())
            .collect();
        assert_eq!(parties.len(), 2, "{last}");
        assert!(parties.contains(&"broker") && parties.contains(&"carrier"));
        let text = text_of(
            &bytes_of(
                &app,
                &broker,
                &format!("/v1/documents/{}/content", last["id"].as_str().unwrap()),
            )
            .await,
        );
        assert!(
            text.contains("Bea Broker") && text.contains("Cal Carrier"),
            "{text}"
        );

        // The same side twice at once: one signature.
        let load = booked(&app, &broker, &carrier, "RACE-2").await;
        let docs = paperwork(&app, &broker, &load).await;
        let ratecon = find(&docs, "rate_confirmation", "generated").clone();
        let (a, b) = tokio::join!(
            sign(&app, &carrier, &ratecon, "Cal Carrier"),
            sign(&app, &carrier, &ratecon, "Cal Carrier")
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409]);
        let docs = json_of(
            app.get(
                &format!("/v1/loads/{load}/documents"),
                Some(&carrier.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(
            docs["documents"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["origin"] == "signed")
                .count(),
            1
        );
    }
);
