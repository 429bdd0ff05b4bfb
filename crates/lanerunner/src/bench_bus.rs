//! `lanerunner bench bus`: publish-and-consume throughput and end-to-end latency of 1 KiB
//! events with the outbox in the path (state-change transaction → relay → bus → idempotent
//! consumer), per bus backend, beside a plain lapin publisher with confirms and a plain lapin
//! consumer on the same broker — the baseline the issue names. The Kafka rows (`kafka.rs`)
//! put the audit stream's path beside plain rdkafka on the broker at
//! `LANERUNNER_TEST_KAFKA_BROKERS` (default `127.0.0.1:9092`, `scripts/kafka.sh`).

mod kafka;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use lanerunner_core::{EventEnvelope, EventType};
use lanerunner_platform::bus::rabbitmq::{delete_namespace, RabbitMqBus};
use lanerunner_platform::bus::{run_consumer, EventBus, EventHandler, InMemoryBus};
use lanerunner_platform::db::{connect, Migrations};
use lanerunner_platform::outbox::{enqueue, OutboxRelay, OutboxSignal};
use lanerunner_platform::{Config, Db, Tx};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties, ExchangeKind};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const BENCH_EVENT: EventType = EventType::new("bench.happened", 1);
const PAYLOAD_BYTES: usize = 1024;

pub struct BusBenchOptions {
    pub load: Load,
    pub postgres_url: Option<String>,
    pub amqp_url: String,
}

/// Spaces sends at a fixed total rate, or not at all. An open-loop producer faster than the
/// path measures throughput, and its latencies are mostly time spent queued; a paced one
/// measures the path's own latency.
pub(crate) struct Pacer(Option<tokio::time::Interval>);

impl Pacer {
    pub(crate) fn new(rate: Option<u32>) -> Self {
        Self(rate.map(|r| tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(r)))))
    }

    pub(crate) async fn tick(&mut self) {
        if let Some(interval) = &mut self.0 {
            interval.tick().await;
        }
    }
}

/// Writes `load.events` events through the outbox from `load.producers` concurrent tasks,
/// one transaction per event as concurrent requests would, at `load.rate` in total;
/// `make(n)` builds the `n`th event.
async fn produce(
    load: &Load,
    db: &Db,
    signal: &OutboxSignal,
    make: impl Fn(usize) -> anyhow::Result<EventEnvelope> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let pacer = Arc::new(tokio::sync::Mutex::new(Pacer::new(load.rate)));
    let next = Arc::new(AtomicUsize::new(0));
    let make = Arc::new(make);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..load.producers.max(1) {
        let (db, signal, pacer, next, make) = (
            db.clone(),
            signal.clone(),
            pacer.clone(),
            next.clone(),
            make.clone(),
        );
        let events = load.events;
        tasks.spawn(async move {
            loop {
                pacer.lock().await.tick().await;
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= events {
                    return anyhow::Ok(());
                }
                let mut tx = db.begin().await?;
                enqueue(&mut tx, &make(n)?).await?;
                tx.commit().await?;
                signal.committed();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// How the producers of a run send: how many events, from how many tasks, how fast.
#[derive(Clone, Copy)]
pub struct Load {
    pub events: usize,
    /// Concurrent producers writing to the outbox (each a transaction per event); the
    /// plain clients publish from one task.
    pub producers: usize,
    /// Events per second sent in total; `None`: as fast as they can.
    pub rate: Option<u32>,
}

/// Builds bench events with `body` as payload, each about an aggregate of its own.
fn fresh_events(
    body: serde_json::Value,
) -> impl Fn(usize) -> anyhow::Result<EventEnvelope> + Send + Sync + 'static {
    move |_| {
        Ok(EventEnvelope::new(
            BENCH_EVENT,
            None,
            Uuid::now_v7(),
            &body,
        )?)
    }
}

struct Outcome {
    what: String,
    events: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn row(&mut self) -> String {
        self.latencies.sort_unstable();
        let pct = |p: f64| {
            let i = ((self.latencies.len() as f64 * p).ceil() as usize)
                .clamp(1, self.latencies.len().max(1))
                - 1;
            self.latencies
                .get(i)
                .map(|d| format!("{:.2}", d.as_secs_f64() * 1e3))
                .unwrap_or_else(|| "-".into())
        };
        format!(
            "| {} | {} | {:.0} | {} | {} |",
            self.what,
            self.events,
            self.events as f64 / self.elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99)
        )
    }
}

fn payload() -> serde_json::Value {
    serde_json::json!({ "blob": "x".repeat(PAYLOAD_BYTES) })
}

/// Records when each event arrived, relative to when it was created.
struct Recorder {
    seen: AtomicUsize,
    latencies: Mutex<Vec<Duration>>,
    done: tokio::sync::Notify,
    expected: usize,
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, event: &EventEnvelope, _tx: &mut Tx) -> anyhow::Result<()> {
        let age = (chrono::Utc::now() - event.occurred_at)
            .to_std()
            .unwrap_or_default();
        self.latencies.lock().expect("latencies").push(age);
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.expected {
            self.done.notify_one();
        }
        Ok(())
    }
}

async fn store(opts: &BusBenchOptions, dir: &std::path::Path, schema: &str) -> anyhow::Result<Db> {
    let config = Config {
        data_dir: dir.to_path_buf(),
        database: lanerunner_platform::config::DatabaseConfig {
            url: opts.postgres_url.clone(),
            ..Default::default()
        },
        ..Config::default()
    };
    let db = connect(&config, schema).await?;
    db.migrate(&Migrations::platform()).await?;
    Ok(db)
}

/// One transaction per event, as a request would write it; the relay and the consumer run
/// alongside.
async fn through_outbox(
    what: String,
    bus: Arc<dyn EventBus>,
    db: Db,
    load: Load,
) -> anyhow::Result<Outcome> {
    let events = load.events;
    let recorder = Arc::new(Recorder {
        seen: AtomicUsize::new(0),
        latencies: Mutex::new(Vec::with_capacity(events)),
        done: tokio::sync::Notify::new(),
        expected: events,
    });
    let stop = CancellationToken::new();
    let group = "bench".to_string();
    drop(bus.subscribe(&group, &["bench.#"]).await?);
    let consumer = tokio::spawn(run_consumer(
        bus.clone(),
        db.clone(),
        group,
        vec!["bench.#".into()],
        recorder.clone(),
        // The recorder publishes nothing: no relay to wake.
        OutboxSignal::default(),
        stop.clone(),
    ));
    let signal = OutboxSignal::default();
    let relay = OutboxRelay::new(
        "bench",
        db.clone(),
        bus.clone(),
        signal.clone(),
        Duration::from_millis(50),
        100,
    );
    let relay_task = tokio::spawn(relay.run(stop.clone()));
    let started = Instant::now();
    let done = recorder.done.notified();
    tokio::pin!(done);
    produce(&load, &db, &signal, fresh_events(payload())).await?;
    tokio::time::timeout(Duration::from_secs(300), &mut done)
        .await
        .map_err(|_| anyhow::anyhow!("events did not all arrive"))?;
    let elapsed = started.elapsed();
    stop.cancel();
    let _ = consumer.await;
    let _ = relay_task.await;
    let latencies = std::mem::take(&mut *recorder.latencies.lock().expect("latencies"));
    Ok(Outcome {
        what,
        events,
        elapsed,
        latencies,
    })
}

/// The store's ceiling: the producers' outbox transactions with no relay draining them, so
/// no path through the outbox can go faster on this store.
async fn outbox_writes_alone(db: Db, load: Load) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    produce(
        &load,
        &db,
        &OutboxSignal::default(),
        fresh_events(payload()),
    )
    .await?;
    Ok(Outcome {
        what: "outbox writes alone (the store's ceiling, nothing consumed)".into(),
        events: load.events,
        elapsed: started.elapsed(),
        latencies: Vec::new(),
    })
}

/// The baseline: a plain lapin publisher awaiting each confirm (as the relay does) and a
/// plain lapin consumer acking each delivery.
async fn raw_lapin(amqp_url: &str, load: Load) -> anyhow::Result<Outcome> {
    let events = load.events;
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    let conn = Connection::connect(amqp_url, props).await?;
    let name = format!("lrbench.raw.{}", Uuid::now_v7().simple());
    let publisher = conn.create_channel().await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    publisher
        .exchange_declare(
            &name,
            ExchangeKind::Topic,
            ExchangeDeclareOptions {
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let consumer_ch = conn.create_channel().await?;
    consumer_ch
        .queue_declare(
            &name,
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    consumer_ch
        .queue_bind(
            &name,
            &name,
            "bench.#",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut consumer = consumer_ch
        .basic_consume(
            &name,
            "bench",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let receive = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(events);
        while latencies.len() < events {
            let Some(Ok(delivery)) = consumer.next().await else {
                break;
            };
            if let Ok(event) = serde_json::from_slice::<EventEnvelope>(&delivery.data) {
                latencies.push(
                    (chrono::Utc::now() - event.occurred_at)
                        .to_std()
                        .unwrap_or_default(),
                );
            }
            let _ = delivery.ack(BasicAckOptions::default()).await;
        }
        latencies
    });
    let body = payload();
    let mut pacer = Pacer::new(load.rate);
    let started = Instant::now();
    for _ in 0..events {
        pacer.tick().await;
        let event = EventEnvelope::new(BENCH_EVENT, None, Uuid::now_v7(), &body)?;
        let bytes = serde_json::to_vec(&event)?;
        publisher
            .basic_publish(
                &name,
                &event.event_type,
                BasicPublishOptions::default(),
                &bytes,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
    }
    let latencies = tokio::time::timeout(Duration::from_secs(300), receive).await??;
    let elapsed = started.elapsed();
    consumer_ch.queue_delete(&name, Default::default()).await?;
    let _ = conn.close(200, "bench done").await;
    Ok(Outcome {
        what: "plain lapin (confirms), no outbox".into(),
        events,
        elapsed,
        latencies,
    })
}

pub async fn bus(opts: BusBenchOptions) -> anyhow::Result<String> {
    let dir =
        std::env::temp_dir().join(format!("lanerunner-bench-bus-{}", Uuid::now_v7().simple()));
    let store_name = if opts.postgres_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let load = opts.load;
    let pace = match load.rate {
        Some(r) => format!("paced at {r} events/s in total"),
        None => "unpaced (as fast as they can)".into(),
    };
    let mut out = format!(
        "{} events of {} B payload; outbox store: {store_name}; {} concurrent producers, one transaction per event, {pace}; the plain clients publish from one task.\n\n| path | events | events/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|\n",
        load.events, PAYLOAD_BYTES, load.producers
    );
    let schema = format!(
        "bench_{}",
        Uuid::now_v7()
            .simple()
            .to_string()
            .chars()
            .filter(|c| c.is_ascii_alphabetic())
            .take(10)
            .collect::<String>()
    );

    let db = store(&opts, &dir.join("store"), &schema).await?;
    let mut r = outbox_writes_alone(db.clone(), load).await?;
    out.push_str(&r.row());
    out.push('\n');
    drop_store(&opts, db, &schema).await;

    let schema = format!("{schema}m");
    let db = store(&opts, &dir.join("mem"), &schema).await?;
    let mut r = through_outbox(
        "outbox → in-process bus → idempotent consumer".into(),
        Arc::new(InMemoryBus::default()),
        db.clone(),
        load,
    )
    .await?;
    out.push_str(&r.row());
    out.push('\n');
    drop_store(&opts, db, &schema).await;

    let namespace = format!("lrbench{}", Uuid::now_v7().simple());
    let rabbit: Arc<dyn EventBus> = Arc::new(
        RabbitMqBus::connect(&opts.amqp_url, &namespace, 5, Duration::from_millis(200)).await?,
    );
    let schema2 = format!("{schema}r");
    let db = store(&opts, &dir.join("rabbit"), &schema2).await?;
    let mut r = through_outbox(
        "outbox → RabbitMQ (confirms) → idempotent consumer".into(),
        rabbit,
        db.clone(),
        load,
    )
    .await?;
    out.push_str(&r.row());
    out.push('\n');
    drop_store(&opts, db, &schema2).await;
    let _ = delete_namespace(&opts.amqp_url, &namespace, &["bench".to_string()]).await;

    let mut r = raw_lapin(&opts.amqp_url, load).await?;
    out.push_str(&r.row());
    out.push('\n');

    let brokers =
        std::env::var("LANERUNNER_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let schema3 = format!("{schema}k");
    let db = store(&opts, &dir.join("kafka"), &schema3).await?;
    let mut r = kafka::outbox_to_kafka(&brokers, db.clone(), load).await?;
    out.push_str(&r.row());
    out.push('\n');
    drop_store(&opts, db, &schema3).await;
    for pipelined in [false, true] {
        let mut r = kafka::raw_rdkafka(&brokers, load, pipelined).await?;
        out.push_str(&r.row());
        out.push('\n');
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

async fn drop_store(opts: &BusBenchOptions, db: Db, schema: &str) {
    db.close().await;
    if let Some(url) = &opts.postgres_url {
        if let Ok(pool) = sqlx::PgPool::connect(url).await {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&pool)
                .await;
        }
    }
}
