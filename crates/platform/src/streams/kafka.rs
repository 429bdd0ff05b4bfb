//! Kafka streams through rdkafka (librdkafka 2.12, built from source by `rdkafka-sys`).
//!
//! - One idempotent producer per process (`enable.idempotence`: acks from all in-sync
//!   replicas, retries without duplicates or reordering within a partition), partitioning
//!   keys with `murmur2_random` so keys land where Kafka's Java clients and
//!   [`super::partition_for_key`] put them.
//! - Topics are created through the admin API with `streams.partitions`,
//!   `streams.replication_factor` and `retention.ms` from `streams.retention_hours`; an
//!   existing topic is left as it is.
//! - Each subscription is its own consumer in group `<prefix><group>` with automatic
//!   commits off: [`StreamSubscription::commit`] commits synchronously, so a commit that
//!   returned is what a later member resumes from. A group new to a topic starts at the
//!   earliest retained record.
//!
//! librdkafka calls that wait on the network without an async form (metadata, watermarks,
//! synchronous commits) run on the blocking pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use super::{
    qualified, record_consumed, record_published, Outgoing, RecordPosition, StreamRecord,
    StreamSubscription, Streams, StreamsError,
};
use crate::config::StreamsConfig;

const BACKEND: &str = "kafka";
/// Bound on every metadata, admin and commit round trip.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct KafkaStreams {
    brokers: String,
    /// What every client of this process starts from: the brokers and, with
    /// `streams.tls`, TLS with the broker's certificate and name verified.
    base: ClientConfig,
    prefix: String,
    partitions: u32,
    replication_factor: u16,
    retention_ms: i64,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    /// Topics this process created or found, with their partition counts.
    topics: Mutex<HashMap<String, u32>>,
}

fn backend_error(what: &str, e: impl std::fmt::Display) -> StreamsError {
    StreamsError::Backend(format!("{what}: {e}"))
}

/// The brokers, and TLS when configured: librdkafka verifies the broker's certificate
/// against `tls_ca_file` (or the system's roots) and its name (`https` identification), and
/// presents the client certificate when one is configured.
fn base_config(brokers: &str, config: &StreamsConfig) -> Result<ClientConfig, StreamsError> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    if config.tls {
        c.set("security.protocol", "ssl")
            .set("ssl.endpoint.identification.algorithm", "https")
            .set("enable.ssl.certificate.verification", "true");
        if let Some(ca) = &config.tls_ca_file {
            if !ca.is_file() {
                return Err(StreamsError::Backend(format!(
                    "streams.tls_ca_file {} is not a readable file",
                    ca.display()
                )));
            }
            c.set("ssl.ca.location", ca.display().to_string());
        }
        // A client certificate, for brokers that ask for one (both or neither: the
        // configuration check says so before this runs).
        for (key, file, setting) in [
            (
                "streams.tls_client_cert_file",
                &config.tls_client_cert_file,
                "ssl.certificate.location",
            ),
            (
                "streams.tls_client_key_file",
                &config.tls_client_key_file,
                "ssl.key.location",
            ),
        ] {
            if let Some(file) = file {
                if !file.is_file() {
                    return Err(StreamsError::Backend(format!(
                        "{key} {} is not a readable file",
                        file.display()
                    )));
                }
                c.set(setting, file.display().to_string());
            }
        }
    }
    Ok(c)
}

impl KafkaStreams {
    /// Connects to `config.brokers` and checks that a broker answers (metadata within 10 s).
    pub async fn connect(config: &StreamsConfig) -> Result<Self, StreamsError> {
        let brokers = config
            .brokers
            .clone()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| StreamsError::Backend("streams.brokers is not set".into()))?;
        let base = base_config(&brokers, config)?;
        let producer: FutureProducer = base
            .clone()
            .set("client.id", "lanerunner")
            .set("enable.idempotence", "true")
            .set("partitioner", "murmur2_random")
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "2")
            .create()
            .map_err(|e| backend_error("creating the Kafka producer", e))?;
        let admin: AdminClient<DefaultClientContext> = base
            .clone()
            .set("client.id", "lanerunner-admin")
            .create()
            .map_err(|e| backend_error("creating the Kafka admin client", e))?;
        let streams = Self {
            brokers,
            base,
            prefix: config.topic_prefix.clone(),
            partitions: config.partitions.max(1),
            replication_factor: config.replication_factor.max(1),
            retention_ms: (config.retention_hours as i64).saturating_mul(3_600_000),
            producer,
            admin,
            topics: Mutex::new(HashMap::new()),
        };
        streams.ping().await.map_err(|e| {
            StreamsError::Backend(format!(
                "no Kafka broker answers at {}: {e}",
                streams.brokers
            ))
        })?;
        Ok(streams)
    }

    /// Partitions of `name` (qualified) as the cluster reports them; 0 if it does not know it.
    async fn partition_count(&self, name: &str) -> Result<u32, StreamsError> {
        let producer = self.producer.clone();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            let metadata = producer
                .client()
                .fetch_metadata(Some(&name), REQUEST_TIMEOUT)
                .map_err(|e| backend_error("reading topic metadata", e))?;
            Ok(metadata
                .topics()
                .iter()
                .find(|t| t.name() == name && t.error().is_none())
                .map_or(0, |t| t.partitions().len() as u32))
        })
        .await
        .map_err(|e| backend_error("metadata task", e))?
    }

    async fn ensure_qualified(&self, name: &str) -> Result<u32, StreamsError> {
        if let Some(n) = self.topics.lock().expect("topics lock").get(name) {
            return Ok(*n);
        }
        let retention = self.retention_ms.to_string();
        let topic = NewTopic::new(
            name,
            self.partitions as i32,
            TopicReplication::Fixed(self.replication_factor as i32),
        )
        .set("retention.ms", &retention);
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let results = self
            .admin
            .create_topics([&topic], &options)
            .await
            .map_err(|e| backend_error("creating a topic", e))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(backend_error(&format!("creating topic {topic}"), code))
                }
            }
        }
        // A new topic's metadata can take a moment to reach every broker.
        let mut partitions = 0;
        for _ in 0..50 {
            partitions = self.partition_count(name).await?;
            if partitions > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if partitions == 0 {
            return Err(StreamsError::Backend(format!(
                "topic {name} was created but has no partitions in the metadata"
            )));
        }
        self.topics
            .lock()
            .expect("topics lock")
            .insert(name.to_string(), partitions);
        Ok(partitions)
    }
}

fn delivery_error(e: KafkaError) -> StreamsError {
    backend_error("producing a record", e)
}

#[async_trait]
impl Streams for KafkaStreams {
    async fn ensure_topic(&self, topic: &str) -> Result<u32, StreamsError> {
        let name = qualified(&self.prefix, topic)?;
        self.ensure_qualified(&name).await
    }

    async fn publish_record(
        &self,
        topic: &str,
        record: &Outgoing,
    ) -> Result<RecordPosition, StreamsError> {
        let name = qualified(&self.prefix, topic)?;
        self.ensure_qualified(&name).await?;
        let result = self
            .producer
            .send(
                future_record(&name, record),
                Timeout::After(REQUEST_TIMEOUT),
            )
            .await;
        record_published(BACKEND, topic, result.is_ok(), 1);
        let delivery = result.map_err(|(e, _)| delivery_error(e))?;
        Ok(RecordPosition {
            partition: delivery.partition as u32,
            offset: delivery.offset as u64,
        })
    }

    async fn publish_batch(
        &self,
        topic: &str,
        records: &[Outgoing],
    ) -> (usize, Option<StreamsError>) {
        let name = match qualified(&self.prefix, topic) {
            Ok(name) => name,
            Err(e) => return (0, Some(e)),
        };
        if let Err(e) = self.ensure_qualified(&name).await {
            return (0, Some(e));
        }
        // Everything is queued before anything is awaited; the idempotent producer keeps
        // each partition's records in queue order through retries.
        let mut pending = Vec::with_capacity(records.len());
        let mut stopped = None;
        for record in records {
            match self.producer.send_result(future_record(&name, record)) {
                Ok(delivery) => pending.push(delivery),
                Err((e, _)) => {
                    stopped = Some(delivery_error(e));
                    break;
                }
            }
        }
        let mut stored = 0;
        for delivery in pending {
            match delivery.await {
                Ok(Ok(_)) if stopped.is_none() => stored += 1,
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    stopped.get_or_insert(delivery_error(e));
                }
                Err(_) => {
                    stopped.get_or_insert(StreamsError::Backend(
                        "the producer dropped a record".into(),
                    ));
                }
            }
        }
        record_published(BACKEND, topic, true, stored as u64);
        if stored < records.len() {
            record_published(BACKEND, topic, false, (records.len() - stored) as u64);
        }
        (stored, stopped)
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[&str],
    ) -> Result<Box<dyn StreamSubscription>, StreamsError> {
        let group_id = qualified(&self.prefix, group)?;
        let mut names = Vec::with_capacity(topics.len());
        for topic in topics {
            let name = qualified(&self.prefix, topic)?;
            self.ensure_qualified(&name).await?;
            names.push(name);
        }
        let consumer: StreamConsumer = self
            .base
            .clone()
            .set("client.id", "lanerunner")
            .set("group.id", &group_id)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .create()
            .map_err(|e| backend_error("creating a Kafka consumer", e))?;
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        consumer
            .subscribe(&refs)
            .map_err(|e| backend_error("subscribing", e))?;
        Ok(Box::new(KafkaSubscription {
            consumer: Arc::new(consumer),
            prefix: self.prefix.clone(),
            group: group.to_string(),
        }))
    }

    async fn lag(&self, group: &str, topic: &str) -> Result<u64, StreamsError> {
        let group_id = qualified(&self.prefix, group)?;
        let name = qualified(&self.prefix, topic)?;
        let partitions = self.partition_count(&name).await?;
        if partitions == 0 {
            return Ok(0);
        }
        let base = self.base.clone();
        tokio::task::spawn_blocking(move || {
            // A consumer that never joins the group, only reads its committed offsets.
            let reader: BaseConsumer = base
                .clone()
                .set("group.id", &group_id)
                .set("enable.auto.commit", "false")
                .create()
                .map_err(|e| backend_error("creating a Kafka consumer", e))?;
            let mut tpl = TopicPartitionList::new();
            for p in 0..partitions {
                tpl.add_partition(&name, p as i32);
            }
            let committed = reader
                .committed_offsets(tpl, REQUEST_TIMEOUT)
                .map_err(|e| backend_error("reading committed offsets", e))?;
            let mut lag = 0u64;
            for p in 0..partitions {
                let (low, high) = reader
                    .fetch_watermarks(&name, p as i32, REQUEST_TIMEOUT)
                    .map_err(|e| backend_error("reading watermarks", e))?;
                let done = match committed
                    .find_partition(&name, p as i32)
                    .map(|e| e.offset())
                {
                    Some(Offset::Offset(o)) => o.max(low),
                    _ => low,
                };
                lag += (high - done).max(0) as u64;
            }
            Ok(lag)
        })
        .await
        .map_err(|e| backend_error("lag task", e))?
    }

    async fn ping(&self) -> Result<(), StreamsError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, Duration::from_secs(3))
                .map(|_| ())
                .map_err(|e| backend_error("metadata", e))
        })
        .await
        .map_err(|e| backend_error("ping task", e))?
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }
}

/// `record` as rdkafka sends it to `topic` (already qualified), headers included.
fn future_record<'a>(topic: &'a str, record: &'a Outgoing) -> FutureRecord<'a, [u8], [u8]> {
    let out = FutureRecord::to(topic)
        .key(record.key.as_slice())
        .payload(record.payload.as_slice());
    if record.headers.is_empty() {
        return out;
    }
    out.headers(
        record
            .headers
            .iter()
            .fold(OwnedHeaders::new(), |h, (key, value)| {
                h.insert(Header {
                    key,
                    value: Some(value.as_slice()),
                })
            }),
    )
}

struct KafkaSubscription {
    consumer: Arc<StreamConsumer>,
    prefix: String,
    /// Without the prefix, for metrics.
    group: String,
}

#[async_trait]
impl StreamSubscription for KafkaSubscription {
    async fn next(&mut self) -> Option<Result<StreamRecord, StreamsError>> {
        let record = match self.consumer.recv().await {
            Ok(message) => StreamRecord {
                topic: message
                    .topic()
                    .strip_prefix(self.prefix.as_str())
                    .unwrap_or(message.topic())
                    .to_string(),
                partition: message.partition() as u32,
                offset: message.offset() as u64,
                key: message.key().map(<[u8]>::to_vec).unwrap_or_default(),
                payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                headers: message
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                (
                                    h.key.to_owned(),
                                    h.value.map(<[u8]>::to_vec).unwrap_or_default(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                timestamp_ms: message.timestamp().to_millis().unwrap_or_default(),
            },
            Err(e) => return Some(Err(backend_error("consuming", e))),
        };
        record_consumed(BACKEND, &self.group, &record);
        Some(Ok(record))
    }

    async fn commit(&mut self, record: &StreamRecord) -> Result<(), StreamsError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(
            &format!("{}{}", self.prefix, record.topic),
            record.partition as i32,
            Offset::Offset(record.offset as i64 + 1),
        )
        .map_err(|e| backend_error("committing", e))?;
        let consumer = self.consumer.clone();
        tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync))
            .await
            .map_err(|e| backend_error("commit task", e))?
            .map_err(|e| backend_error("committing", e))
    }

    fn assignment(&self, topic: &str) -> Vec<u32> {
        let name = format!("{}{topic}", self.prefix);
        let mut partitions: Vec<u32> = self
            .consumer
            .assignment()
            .map(|tpl| {
                tpl.elements()
                    .iter()
                    .filter(|e| e.topic() == name)
                    .map(|e| e.partition() as u32)
                    .collect()
            })
            .unwrap_or_default();
        partitions.sort_unstable();
        partitions
    }
}
