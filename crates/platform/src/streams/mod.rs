//! The streams seam: keyed, partitioned, retained logs (the audit/analytics stream today;
//! truck positions later), beside the bus rather than instead of it.
//!
//! The bus moves commands and domain events to the consumer groups that act on them, one
//! delivery at a time, acknowledged and retried; a stream keeps every record for
//! `streams.retention_hours`, in order per key, and each consumer group reads it at its own
//! pace from committed offsets. That is Kafka's model, and the in-process backend follows it:
//!
//! - `publish(topic, key, payload)` puts the record in partition `murmur2(key) % partitions`
//!   (the partitioner of Kafka's Java client, so other clients agree where a key lives);
//!   records of one key are read in the order they were published. Kafka's producer is
//!   idempotent (`enable.idempotence`), so its retries neither duplicate nor reorder.
//! - A subscription joins a consumer group; the group's live members split the topic's
//!   partitions between them, and each record reaches one member of every group.
//! - `commit(record)` records that the group is done with the record and everything before
//!   it in its partition. Commit after the effect: a member that starts later (or takes a
//!   partition over) resumes after the last commit, so delivery is at least once.
//! - Topics are created on first use with `streams.partitions` partitions and
//!   `streams.retention_hours` retention; every topic and group name carries
//!   `streams.topic_prefix`, so deployments and tests can share a cluster.
//!
//! Backends: [`InProcessStreams`] (one process, the default) and [`KafkaStreams`]
//! (`streams.backend = "kafka"`, rdkafka), chosen at start-up by [`from_config`].

mod audit;
mod kafka;
mod memory;

use std::sync::Arc;

use async_trait::async_trait;

pub use audit::{AuditForwarder, AUDIT_GROUP, AUDIT_TOPIC};
pub use kafka::KafkaStreams;
pub use memory::InProcessStreams;

use crate::config::{StreamsBackend, StreamsConfig};

/// The streams `config` selects, connected.
pub async fn from_config(config: &StreamsConfig) -> Result<Arc<dyn Streams>, StreamsError> {
    Ok(match config.backend {
        StreamsBackend::InProcess => Arc::new(InProcessStreams::new(config)),
        StreamsBackend::Kafka => Arc::new(KafkaStreams::connect(config).await?),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StreamsError {
    #[error("streams backend: {0}")]
    Backend(String),
    #[error("invalid stream name {0:?}: letters, digits, '-', '_' and '.' only")]
    InvalidName(String),
}

/// A record to append: the key that picks its partition, its payload, and its headers
/// (Kafka's record headers: the audit stream puts the W3C `traceparent` there, where
/// Kafka clients instrumented with OpenTelemetry look for a record's cause).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outgoing {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Outgoing {
    pub fn new(key: impl Into<Vec<u8>>, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            payload: payload.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// One record as a consumer sees it. `topic` is the name without the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    /// Its headers, in the order they were published.
    pub headers: Vec<(String, Vec<u8>)>,
    /// When the record was produced, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

impl StreamRecord {
    /// The value of its first header called `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// Where a published record was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPosition {
    pub partition: u32,
    pub offset: u64,
}

#[async_trait]
pub trait Streams: Send + Sync + 'static {
    /// Creates `topic` with the configured partitions and retention unless it exists;
    /// returns its partition count.
    async fn ensure_topic(&self, topic: &str) -> Result<u32, StreamsError>;

    /// Appends one record to the partition of its key; returns once the backend has it
    /// (Kafka: acknowledged by every in-sync replica).
    async fn publish_record(
        &self,
        topic: &str,
        record: &Outgoing,
    ) -> Result<RecordPosition, StreamsError>;

    /// [`Streams::publish_record`] of a record without headers.
    async fn publish(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
    ) -> Result<RecordPosition, StreamsError> {
        self.publish_record(topic, &Outgoing::new(key, payload))
            .await
    }

    /// Appends `records` in order; returns how many of the first ones were stored, and the
    /// error that stopped it, if any. Kafka sends them all before waiting, which its
    /// idempotent producer may do without reordering a key's records.
    async fn publish_batch(
        &self,
        topic: &str,
        records: &[Outgoing],
    ) -> (usize, Option<StreamsError>) {
        for (i, record) in records.iter().enumerate() {
            if let Err(e) = self.publish_record(topic, record).await {
                return (i, Some(e));
            }
        }
        (records.len(), None)
    }

    /// Joins consumer group `group` reading `topics` (created if absent). A group new to a
    /// topic starts at its earliest retained record.
    async fn subscribe(
        &self,
        group: &str,
        topics: &[&str],
    ) -> Result<Box<dyn StreamSubscription>, StreamsError>;

    /// Records of `topic` that `group` has not committed yet (summed over partitions).
    async fn lag(&self, group: &str, topic: &str) -> Result<u64, StreamsError>;

    /// Whether the backend is reachable; for `readyz`. The in-process backend always is.
    async fn ping(&self) -> Result<(), StreamsError> {
        Ok(())
    }

    /// Which backend this is, for `readyz` and metrics.
    fn backend(&self) -> &'static str;
}

#[async_trait]
pub trait StreamSubscription: Send {
    /// The next record of a partition assigned to this member, waiting for one; `None` once
    /// the backend has shut down.
    async fn next(&mut self) -> Option<Result<StreamRecord, StreamsError>>;

    /// The group is done with `record` and every earlier record of its partition.
    async fn commit(&mut self, record: &StreamRecord) -> Result<(), StreamsError>;

    /// The partitions of `topic` this member holds now (they move when members come and go).
    fn assignment(&self, topic: &str) -> Vec<u32>;
}

/// `readyz` check for the streams when they are an external cluster (`streams.kafka`).
pub struct StreamsReadiness(pub Arc<dyn Streams>);

#[async_trait]
impl crate::http::ops::ReadinessCheck for StreamsReadiness {
    fn name(&self) -> String {
        format!("streams.{}", self.0.backend())
    }

    async fn check(&self) -> Result<(), String> {
        match tokio::time::timeout(std::time::Duration::from_secs(5), self.0.ping()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err("no answer within 5 s".into()),
        }
    }
}

/// `<prefix><name>`, after checking that `name` is a legal topic or group name.
pub(crate) fn qualified(prefix: &str, name: &str) -> Result<String, StreamsError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(StreamsError::InvalidName(name.to_string()));
    }
    Ok(format!("{prefix}{name}"))
}

/// Kafka's default partitioner for keyed records (`Utils.murmur2` in the Java client,
/// librdkafka's `murmur2_random`): the partition of `key` among `partitions`.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

fn murmur2(data: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// Counts a consumed record and how long after it was produced it was read.
pub(crate) fn record_consumed(backend: &'static str, group: &str, record: &StreamRecord) {
    metrics::counter!("streams_consumed_total", "backend" => backend, "group" => group.to_string())
        .increment(1);
    let age_ms = (chrono::Utc::now().timestamp_millis() - record.timestamp_ms).max(0);
    metrics::histogram!("streams_consumer_lag_seconds", "group" => group.to_string())
        .record(age_ms as f64 / 1000.0);
}

pub(crate) fn record_published(backend: &'static str, topic: &str, ok: bool, n: u64) {
    metrics::counter!(
        "streams_published_total",
        "backend" => backend,
        "topic" => topic.to_string(),
        "result" => if ok { "ok" } else { "error" }
    )
    .increment(n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_java_client() {
        // Values from Kafka's own UtilsTest.testMurmur2 (signed ints there).
        assert_eq!(murmur2(b"21") as i32, -973932308);
        assert_eq!(murmur2(b"foobar") as i32, -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string") as i32, -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string") as i32, -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") as i32,
            -58897971
        );
        assert_eq!(murmur2(b"abc") as i32, 479470107);
    }

    #[test]
    fn names_are_checked_and_prefixed() {
        assert_eq!(qualified("t.", "audit").unwrap(), "t.audit");
        assert!(qualified("t.", "a b").is_err());
        assert!(qualified("t.", "").is_err());
    }
}
