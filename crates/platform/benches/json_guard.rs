//! What the card-number check at the gateway costs each JSON body (issue 17: a control's
//! cost on the hot path, against the same path without it): the same body read into the
//! same type by `axum::Json` (the peer, no check) and by `ApiJson` (the check, then the
//! same reading), for a load as a broker posts it, a batch of 500 positions (digits
//! everywhere: the check's worst ordinary case), and a load with a card number in its notes
//! (refused: the body is parsed to name the field).
//!
//! `cargo bench -p lanerunner-platform --bench json_guard`

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lanerunner_platform::http::ApiJson;
use serde_json::{json, Value};

fn load(notes: &str) -> Value {
    json!({
        "reference": "LR-20261207-0042",
        "equipment": "V",
        "trailer_length_ft": 53,
        "weight_lbs": 42000,
        "commodity": "Palletized paper goods, floor loaded, no hazmat",
        "rate_cents": 245000,
        "visibility": "public",
        "notes": notes,
        "stops": [
            {"kind": "pickup", "location": {"place": "Dallas, TX"},
             "window": {"start": "2026-12-08T08:00:00Z", "end": "2026-12-08T12:00:00Z"},
             "contact": {"name": "Shipping desk", "phone": "+1 214-555-0100"},
             "notes": "Dock 4, check in at the guard shack, bring two straps"},
            {"kind": "delivery", "location": {"place": "Atlanta, GA"},
             "window": {"start": "2026-12-09T14:00:00Z", "end": "2026-12-09T18:00:00Z"},
             "contact": {"name": "Receiving", "phone": "+1 404-555-0199"},
             "notes": "Appointment required, lumper paid by consignee"}
        ]
    })
}

fn positions() -> Value {
    let fixes: Vec<Value> = (0..500)
        .map(|i| {
            json!({"lat": 32.7767 + f64::from(i) * 0.001, "lon": -96.797 - f64::from(i) * 0.001,
                   "at": format!("2026-12-07T12:{:02}:{:02}Z", i / 60 % 60, i % 60),
                   "speed_mph": 61.5, "heading": 92})
        })
        .collect();
    json!({"load_id": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", "positions": fixes})
}

fn request(body: &[u8]) -> Request {
    Request::builder()
        .method("POST")
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .unwrap()
}

fn guard(c: &mut Criterion) {
    let cases = [
        (
            "a posted load (1.2 KB)",
            serde_json::to_vec(&load("Call ahead 30 min")).unwrap(),
        ),
        (
            "500 positions (57 KB)",
            serde_json::to_vec(&positions()).unwrap(),
        ),
    ];
    for (name, body) in &cases {
        c.bench_function(&format!("{name}: axum::Json (peer)"), |b| {
            b.iter(|| {
                let r = futures::executor::block_on(axum::Json::<Value>::from_request(
                    request(body),
                    &(),
                ));
                black_box(r.is_ok())
            })
        });
        c.bench_function(&format!("{name}: ApiJson (card check)"), |b| {
            b.iter(|| {
                let r =
                    futures::executor::block_on(ApiJson::<Value>::from_request(request(body), &()));
                black_box(r.is_ok())
            })
        });
    }
    let refused = serde_json::to_vec(&load("lumper card 4111 1111 1111 1111")).unwrap();
    c.bench_function("a posted load with a card number: ApiJson (refused)", |b| {
        b.iter(|| {
            let r =
                futures::executor::block_on(ApiJson::<Value>::from_request(request(&refused), &()));
            black_box(r.is_err())
        })
    });
}

criterion_group!(benches, guard);
criterion_main!(benches);
