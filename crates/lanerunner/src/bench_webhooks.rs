//! `lanerunner bench webhooks`: events published on the bus as the outbox relay would
//! (`tracking.late_risk.v1` of one organization, spread over a thousand loads), turned
//! into deliveries by the webhooks service and POSTed, signed, to a receiver on loopback
//! that verifies every signature.
//!
//! - **Clean**: the receiver acknowledges everything; deliveries per second and the time
//!   from an event to its acknowledged delivery (p50, p99).
//! - **Hostile**: the receiver fails 30 % of requests at random and is down (its port
//!   closed) for a minute early in the run. Checked at the receiver: every event
//!   acknowledged, none sent again after its acknowledgement, and each load's events
//!   acknowledged in the order they happened.
//! - **The peer**: what a sender without retries does under the same conditions (one
//!   unsigned POST per event, as HappyRobot's webhooks are sent): how many arrive.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use lanerunner_core::{EventEnvelope, EventType, OrgId};
use serde_json::json;

use crate::testing::{Backend, TestApp};
use crate::webhook_receiver::Receiver;

pub struct WebhooksBench {
    pub events: usize,
    pub fail_ratio: f64,
    pub down: Duration,
    pub backend: Backend,
}

// Consumed by the realtime feed besides webhooks, so the run measures webhooks, not the
// other consumers of a busier event.
const LATE_RISK: EventType = EventType::new("tracking.late_risk", 1);
const LOADS: usize = 1_000;

struct Outcome {
    took: Duration,
    p50_ms: f64,
    p99_ms: f64,
    acknowledged: usize,
    requests: usize,
    duplicates: usize,
    out_of_order: usize,
}

/// Subscribes `who`'s organization to `tracking.late_risk.v1` at `receiver`; the endpoint's
/// signing secret.
pub(crate) async fn late_risk_endpoint(
    app: &TestApp,
    who: &crate::testing::Account,
    receiver: &Receiver,
) -> anyhow::Result<String> {
    let created: serde_json::Value = app
        .post_json(
            "/v1/webhooks/endpoints",
            &json!({"url": receiver.url, "event_types": ["tracking.late_risk.v1"]}),
            Some(&who.access),
        )
        .await
        .error_for_status()?
        .json()
        .await?;
    created["secret"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("the endpoint came back without its secret"))
}

/// The value at quantile `q` of `sorted` (nearest rank), NaN when empty.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn events(org: OrgId, n: usize) -> Vec<EventEnvelope> {
    let loads: Vec<uuid::Uuid> = (0..LOADS).map(|_| uuid::Uuid::now_v7()).collect();
    (0..n)
        .map(|i| {
            let load = loads[i % LOADS];
            EventEnvelope::new(
                LATE_RISK,
                Some(org),
                load,
                &json!({"load_id": load, "late_by_minutes": 45, "sequence": i}),
            )
            .expect("a JSON payload")
        })
        .collect()
}

/// Publishes `events` in batches and waits until the receiver acknowledged each of them
/// (or `deadline` passes).
async fn deliver(
    app: &TestApp,
    receiver: &Arc<Receiver>,
    events: &[EventEnvelope],
    deadline: Duration,
    hostile: Option<(f64, Duration)>,
) -> anyhow::Result<Outcome> {
    let bus = app.app().bus();
    let started = Instant::now();
    if let Some((ratio, _)) = hostile {
        receiver.fail_ratio(ratio);
    }
    for (i, batch) in events.chunks(500).enumerate() {
        let (published, error) = bus.publish_batch(batch).await;
        anyhow::ensure!(published == batch.len(), "publishing failed: {error:?}");
        // Down early in the run, with most events still to deliver.
        if i == 1 {
            if let Some((_, down)) = hostile {
                if !down.is_zero() {
                    receiver.go_down(down);
                }
            }
        }
    }
    let wanted: HashMap<String, &EventEnvelope> = events
        .iter()
        .map(|e| (lanerunner_webhooks::domain::message_id(e.id), e))
        .collect();
    loop {
        let acked = receiver.acknowledged();
        if wanted.keys().all(|k| acked.contains_key(k)) || started.elapsed() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = started.elapsed();
    // Let anything sent twice arrive before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    receiver.fail_ratio(0.0);
    let received = receiver.received();
    let acked = receiver.acknowledged();
    let mut first_ack: HashMap<&str, (chrono::DateTime<Utc>, usize)> = HashMap::new();
    for (n, r) in received.iter().enumerate() {
        if (200..300).contains(&r.answered) {
            first_ack.entry(r.id.as_str()).or_insert((r.received_at, n));
        }
    }
    let mut latencies: Vec<f64> = wanted
        .iter()
        .filter_map(|(id, e)| {
            first_ack.get(id.as_str()).map(|(at, _)| {
                (*at - e.occurred_at).num_microseconds().unwrap_or(0) as f64 / 1000.0
            })
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    // Per load, the order its events were acknowledged in against the order they happened.
    let mut by_load: HashMap<uuid::Uuid, Vec<usize>> = HashMap::new();
    for e in events {
        if let Some((_, n)) = first_ack.get(lanerunner_webhooks::domain::message_id(e.id).as_str())
        {
            by_load.entry(e.aggregate_id).or_default().push(*n);
        }
    }
    let out_of_order = by_load
        .values()
        .map(|seq| seq.windows(2).filter(|w| w[0] > w[1]).count())
        .sum();
    Ok(Outcome {
        took,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
        acknowledged: wanted.keys().filter(|k| acked.contains_key(*k)).count(),
        requests: received.len(),
        duplicates: acked.values().sum(),
        out_of_order,
    })
}

/// The peer: one POST per event, no signature, no retry; 64 in flight.
async fn fire_and_forget(
    receiver: &Arc<Receiver>,
    events: &[EventEnvelope],
    ratio: f64,
    down: Duration,
) -> anyhow::Result<(usize, Duration)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    receiver.fail_ratio(ratio);
    // The receiver verifies signatures; this sender has none, so it is told to accept any.
    receiver.accept_unsigned(true);
    let started = Instant::now();
    let ok = std::sync::atomic::AtomicUsize::new(0);
    let bodies: Vec<String> = events
        .iter()
        .map(lanerunner_webhooks::domain::body)
        .collect();
    let mut sent = 0usize;
    for (i, chunk) in bodies.chunks(500).enumerate() {
        if i == 1 && !down.is_zero() {
            receiver.go_down(down);
        }
        let posts = chunk.iter().map(|b| {
            let (client, ok) = (&client, &ok);
            let id = format!("ff_{}", sent);
            sent += 1;
            async move {
                if let Ok(r) = client
                    .post(&receiver.url)
                    .header("webhook-id", id)
                    .body(b.clone())
                    .send()
                    .await
                {
                    if r.status().is_success() {
                        ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        });
        futures::stream::iter(posts)
            .buffer_unordered(64)
            .collect::<Vec<_>>()
            .await;
    }
    receiver.fail_ratio(0.0);
    receiver.accept_unsigned(false);
    Ok((ok.into_inner(), started.elapsed()))
}

use futures::StreamExt;

pub async fn bench(opts: WebhooksBench) -> anyhow::Result<String> {
    let app = TestApp::spawn_with(opts.backend, |c| {
        c.webhooks.retry_base_ms = 1_000;
        c.webhooks.retry_cap_secs = 20;
        c.webhooks.max_attempts = 30;
        c.webhooks.timeout_ms = 5_000;
        c.webhooks.concurrency = 64;
        c.database.max_connections = 16;
    })
    .await;
    let broker = app.signup("bench-wh@example.com", "broker").await;
    let org = OrgId(broker.org_id.parse()?);
    let receiver = Receiver::start().await?;
    let secret = late_risk_endpoint(&app, &broker, &receiver).await?;
    receiver.hold(&[&secret]);
    let store = match opts.backend {
        Backend::Sqlite => "SQLite",
        _ => "PostgreSQL",
    };
    let mut out = format!(
        "\n### Webhooks: {} events of one organization over {LOADS} loads, store {store}\n\n| run | took | deliveries/s | p50 event→ack | p99 event→ack | acknowledged | requests | sent again after ack | out of order |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        opts.events
    );
    let row = |name: &str, o: &Outcome, n: usize| {
        format!(
            "| {name} | {:.1} s | {:.0} | {:.0} ms | {:.0} ms | {}/{n} | {} | {} | {} |\n",
            o.took.as_secs_f64(),
            o.acknowledged as f64 / o.took.as_secs_f64(),
            o.p50_ms,
            o.p99_ms,
            o.acknowledged,
            o.requests,
            o.duplicates,
            o.out_of_order
        )
    };

    let clean = events(org, opts.events);
    let o = deliver(&app, &receiver, &clean, Duration::from_secs(600), None).await?;
    out += &row("LaneRunner, receiver healthy", &o, opts.events);
    receiver.clear();

    let hostile = events(org, opts.events);
    let deadline = opts.down + Duration::from_secs(900);
    let o = deliver(
        &app,
        &receiver,
        &hostile,
        deadline,
        Some((opts.fail_ratio, opts.down)),
    )
    .await?;
    out += &row(
        &format!(
            "LaneRunner, receiver fails {:.0} %, down {} s",
            opts.fail_ratio * 100.0,
            opts.down.as_secs()
        ),
        &o,
        opts.events,
    );
    receiver.clear();
    // The endpoint is down again for the peer: wait until it is back before starting.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let peer = events(org, opts.events);
    let (ok, took) = fire_and_forget(&receiver, &peer, opts.fail_ratio, opts.down).await?;
    out += &format!(
        "| peer: one unsigned POST per event, no retry (fails {:.0} %, down {} s) | {:.1} s | {:.0} | — | — | {ok}/{} | {} | — | — |\n",
        opts.fail_ratio * 100.0,
        opts.down.as_secs(),
        took.as_secs_f64(),
        ok as f64 / took.as_secs_f64(),
        opts.events,
        opts.events,
    );
    Ok(out)
}
