//! The Kafka rows of `lanerunner bench bus`: the audit stream's path with the outbox in it
//! (state-change transaction → relay → in-process bus → audit forwarder → Kafka → a stream
//! consumer that commits its offsets), beside plain rdkafka producing and consuming the
//! same records with the same producer settings.
//!
//! Both consumers commit every [`COMMIT_EVERY`] records (and the last), as a consumer that
//! applies records in batches would; both producers are idempotent (acks from all in-sync
//! replicas). The forwarder pipelines whatever has queued on the bus as one batch, so its
//! peer is rdkafka with pipelined sends (the client's ceiling); a row where rdkafka awaits
//! each send shows what one round trip per record costs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::{EventBus, InMemoryBus};
use lanerunner_platform::config::{StreamsBackend, StreamsConfig};
use lanerunner_platform::outbox::{OutboxRelay, OutboxSignal};
use lanerunner_platform::streams::{
    AuditForwarder, KafkaStreams, StreamSubscription, Streams, AUDIT_TOPIC,
};
use lanerunner_platform::Db;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{payload, produce, Load, Outcome, Pacer, BENCH_EVENT};

const COMMIT_EVERY: usize = 50;
/// Events are spread over this many aggregates (keys), as loads and trucks would be.
const AGGREGATES: usize = 64;
const PARTITIONS: u32 = 3;

fn prefix() -> String {
    format!("lrbench{}.", &Uuid::now_v7().simple().to_string()[20..])
}

fn age(event: &EventEnvelope) -> Duration {
    (chrono::Utc::now() - event.occurred_at)
        .to_std()
        .unwrap_or_default()
}

/// Reads `events` records off `sub`, committing every [`COMMIT_EVERY`]; returns each
/// event's age on arrival.
async fn consume_stream(
    mut sub: Box<dyn StreamSubscription>,
    events: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(events);
    while latencies.len() < events {
        let record = sub
            .next()
            .await
            .ok_or_else(|| anyhow::anyhow!("stream closed"))??;
        let event: EventEnvelope = serde_json::from_slice(&record.payload)?;
        latencies.push(age(&event));
        if latencies.len() % COMMIT_EVERY == 0 || latencies.len() == events {
            sub.commit(&record).await?;
        }
    }
    Ok(latencies)
}

/// Publishes one record and reads it back, so the consumer group has joined and been
/// assigned its partitions before the clock starts.
async fn warm_up(
    streams: &dyn Streams,
    sub: &mut Box<dyn StreamSubscription>,
) -> anyhow::Result<()> {
    streams.publish(AUDIT_TOPIC, b"warm-up", b"{}").await?;
    let record = tokio::time::timeout(Duration::from_secs(60), sub.next())
        .await
        .map_err(|_| anyhow::anyhow!("the stream consumer got no record within 60 s"))?
        .ok_or_else(|| anyhow::anyhow!("stream closed"))??;
    sub.commit(&record).await?;
    Ok(())
}

pub(super) async fn outbox_to_kafka(brokers: &str, db: Db, load: Load) -> anyhow::Result<Outcome> {
    let events = load.events;
    let config = StreamsConfig {
        backend: StreamsBackend::Kafka,
        brokers: Some(brokers.to_string()),
        topic_prefix: prefix(),
        partitions: PARTITIONS,
        ..StreamsConfig::default()
    };
    let streams: Arc<dyn Streams> = Arc::new(KafkaStreams::connect(&config).await?);
    let bus: Arc<dyn EventBus> = Arc::new(InMemoryBus::default());
    let forwarder = AuditForwarder {
        bus: bus.clone(),
        streams: streams.clone(),
    };
    forwarder.prepare().await?;
    let mut sub = streams.subscribe("bench", &[AUDIT_TOPIC]).await?;
    warm_up(streams.as_ref(), &mut sub).await?;

    let stop = CancellationToken::new();
    let forwarding = tokio::spawn(forwarder.run(stop.clone()));
    let signal = OutboxSignal::default();
    let relay = OutboxRelay::new(
        "bench",
        db.clone(),
        bus,
        signal.clone(),
        Duration::from_millis(50),
        100,
    );
    let relaying = tokio::spawn(relay.run(stop.clone()));
    let consuming = tokio::spawn(consume_stream(sub, events));
    let aggregates: Vec<Uuid> = (0..AGGREGATES).map(|_| Uuid::now_v7()).collect();
    let body = payload();
    let started = Instant::now();
    produce(&load, &db, &signal, move |n| {
        Ok(EventEnvelope::new(
            BENCH_EVENT,
            None,
            aggregates[n % AGGREGATES],
            &body,
        )?)
    })
    .await?;
    let latencies = tokio::time::timeout(Duration::from_secs(300), consuming)
        .await
        .map_err(|_| anyhow::anyhow!("events did not all arrive"))???;
    let elapsed = started.elapsed();
    stop.cancel();
    let _ = forwarding.await;
    let _ = relaying.await;
    Ok(Outcome {
        what: "outbox → in-process bus → audit forwarder → Kafka → stream consumer".into(),
        events,
        elapsed,
        latencies,
    })
}

/// Plain rdkafka on the same broker: the producer settings of [`KafkaStreams`], one topic
/// of [`PARTITIONS`] partitions made through the seam, a `StreamConsumer` committing every
/// [`COMMIT_EVERY`] records.
pub(super) async fn raw_rdkafka(
    brokers: &str,
    load: Load,
    pipelined: bool,
) -> anyhow::Result<Outcome> {
    let events = load.events;
    let prefix = prefix();
    let config = StreamsConfig {
        backend: StreamsBackend::Kafka,
        brokers: Some(brokers.to_string()),
        topic_prefix: prefix.clone(),
        partitions: PARTITIONS,
        ..StreamsConfig::default()
    };
    // Only to create the topic with the same shape.
    KafkaStreams::connect(&config)
        .await?
        .ensure_topic("raw")
        .await?;
    let topic = format!("{prefix}raw");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "2")
        .create()?;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{prefix}bench"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    consumer.subscribe(&[&topic])?;
    // Warm up as the seam's row does: the group is assigned before the clock starts.
    producer
        .send(
            FutureRecord::to(&topic).key("warm-up").payload("{}"),
            Timeout::Never,
        )
        .await
        .map_err(|(e, _)| e)?;
    let first = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
        .await
        .map_err(|_| anyhow::anyhow!("the raw consumer got no record within 60 s"))??;
    consumer.commit_message(&first, CommitMode::Sync)?;
    drop(first);
    let consumer = Arc::new(consumer);

    let reader = consumer.clone();
    let receive = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(events);
        while latencies.len() < events {
            let message = reader.recv().await?;
            let event: EventEnvelope = serde_json::from_slice(message.payload().unwrap_or(b""))?;
            latencies.push(age(&event));
            if latencies.len() % COMMIT_EVERY == 0 || latencies.len() == events {
                let (topic, partition, offset) = (
                    message.topic().to_string(),
                    message.partition(),
                    message.offset(),
                );
                drop(message);
                let mut tpl = rdkafka::TopicPartitionList::new();
                tpl.add_partition_offset(&topic, partition, rdkafka::Offset::Offset(offset + 1))?;
                let c = reader.clone();
                tokio::task::spawn_blocking(move || c.commit(&tpl, CommitMode::Sync)).await??;
            }
        }
        anyhow::Ok(latencies)
    });
    let aggregates: Vec<String> = (0..AGGREGATES)
        .map(|_| Uuid::now_v7().to_string())
        .collect();
    let body = payload();
    let mut pacer = Pacer::new(load.rate);
    let started = Instant::now();
    let mut pending = Vec::new();
    for n in 0..events {
        pacer.tick().await;
        let event = EventEnvelope::new(BENCH_EVENT, None, Uuid::now_v7(), &body)?;
        let bytes = serde_json::to_vec(&event)?;
        let record = FutureRecord::to(&topic)
            .key(&aggregates[n % AGGREGATES])
            .payload(&bytes);
        if pipelined {
            match producer.send_result(record) {
                Ok(delivery) => pending.push(delivery),
                Err((e, _)) => return Err(e.into()),
            }
        } else {
            producer
                .send(record, Timeout::Never)
                .await
                .map_err(|(e, _)| e)?;
        }
    }
    for delivery in pending {
        delivery.await?.map_err(|(e, _)| e)?;
    }
    let latencies = tokio::time::timeout(Duration::from_secs(300), receive)
        .await
        .map_err(|_| anyhow::anyhow!("records did not all arrive"))???;
    let elapsed = started.elapsed();
    Ok(Outcome {
        what: if pipelined {
            "plain rdkafka, sends pipelined, no outbox".into()
        } else {
            "plain rdkafka, each send awaited, no outbox".into()
        },
        events,
        elapsed,
        latencies,
    })
}
