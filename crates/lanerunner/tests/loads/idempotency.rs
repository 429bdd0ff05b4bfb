//! One Idempotency-Key, many simultaneous creates: one load, and every caller gets its
//! response (or is told the first is still in flight), never a 500.

use std::sync::Arc;

use super::*;

/// Creates sent at once per round.
const RACERS: usize = 5;
const ROUNDS: usize = 4;

both_backends!(
    async fn concurrent_creates_with_one_idempotency_key_make_one_load(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        let body = load("PO-1", "Dallas, TX", "Atlanta, GA");
        let mut ids = Vec::new();
        for round in 0..ROUNDS {
            let key = format!("race-{round}");
            let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
            let tasks: Vec<_> = (0..RACERS)
                .map(|_| {
                    let req = app
                        .client
                        .post(app.url("/v1/loads"))
                        .json(&body)
                        .header("Idempotency-Key", &key)
                        .bearer_auth(&broker.access);
                    let barrier = barrier.clone();
                    tokio::spawn(async move {
                        barrier.wait().await;
                        let res = req.send().await.expect("the request reaches the app");
                        let status = res.status();
                        let ct = res.headers().get("content-type").cloned();
                        (status, ct, res.json::<Value>().await.unwrap_or(Value::Null))
                    })
                })
                .collect();
            let mut created: Vec<Value> = Vec::new();
            for task in tasks {
                let (status, ct, body) = task.await.unwrap();
                match status {
                    StatusCode::CREATED => created.push(body),
                    StatusCode::CONFLICT => {
                        assert_eq!(
                            ct.as_ref().and_then(|v| v.to_str().ok()),
                            Some("application/problem+json")
                        );
                        assert_eq!(
                            body["type"], "https://lanerunner.dev/problems/idempotency-in-flight",
                            "{body}"
                        );
                    }
                    other => panic!("round {round}: {other} {body}"),
                }
            }
            assert!(!created.is_empty(), "round {round}: nobody got the load");
            for other in &created[1..] {
                assert_eq!(
                    other, &created[0],
                    "round {round}: every replay is the first answer"
                );
            }
            ids.push(created[0]["id"].clone());
        }
        let list = json_of(
            app.get("/v1/loads", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        let stored: Vec<Value> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].clone())
            .collect();
        assert_eq!(stored, ids, "exactly one load per key");
    }
);
