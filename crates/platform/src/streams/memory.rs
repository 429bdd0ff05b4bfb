//! In-process streams: partitioned logs in memory with Kafka's semantics (key → partition,
//! consumer groups that split partitions among live members, committed offsets per group).
//! Nothing survives the process; records older than the retention are dropped as new ones
//! arrive.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{
    partition_for_key, qualified, record_consumed, record_published, Outgoing, RecordPosition,
    StreamRecord, StreamSubscription, Streams, StreamsError,
};
use crate::config::StreamsConfig;

const BACKEND: &str = "in-process";

#[derive(Clone)]
pub struct InProcessStreams {
    inner: Arc<Inner>,
}

struct Inner {
    prefix: String,
    partitions: u32,
    retention_ms: i64,
    state: Mutex<State>,
    /// Woken on every publish and every membership change.
    changed: Notify,
}

#[derive(Default)]
struct State {
    topics: HashMap<String, Vec<Partition>>,
    groups: HashMap<String, Group>,
    next_member: u64,
}

#[derive(Default)]
struct Partition {
    /// Offset of `records[0]`; grows as retention drops old records.
    base: u64,
    records: VecDeque<(Outgoing, i64)>,
}

impl Partition {
    fn end(&self) -> u64 {
        self.base + self.records.len() as u64
    }
}

#[derive(Default)]
struct Group {
    /// Next offset to read, per (topic, partition), once committed.
    committed: HashMap<(String, u32), u64>,
    /// Live members and the topics each reads, in join order.
    members: Vec<(u64, Vec<String>)>,
    /// Bumped whenever `members` changes; members recompute their assignment.
    generation: u64,
}

impl InProcessStreams {
    pub fn new(config: &StreamsConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                prefix: config.topic_prefix.clone(),
                partitions: config.partitions.max(1),
                retention_ms: (config.retention_hours as i64).saturating_mul(3_600_000),
                state: Mutex::new(State::default()),
                changed: Notify::new(),
            }),
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("streams lock")
    }
}

impl State {
    fn topic(&mut self, name: &str, partitions: u32) -> &mut Vec<Partition> {
        self.topics
            .entry(name.to_string())
            .or_insert_with(|| (0..partitions).map(|_| Partition::default()).collect())
    }
}

#[async_trait]
impl Streams for InProcessStreams {
    async fn ensure_topic(&self, topic: &str) -> Result<u32, StreamsError> {
        let name = qualified(&self.inner.prefix, topic)?;
        let mut state = self.inner.lock();
        Ok(state.topic(&name, self.inner.partitions).len() as u32)
    }

    async fn publish_record(
        &self,
        topic: &str,
        record: &Outgoing,
    ) -> Result<RecordPosition, StreamsError> {
        let name = qualified(&self.inner.prefix, topic)?;
        let now = chrono::Utc::now().timestamp_millis();
        let position = {
            let mut state = self.inner.lock();
            let partitions = state.topic(&name, self.inner.partitions);
            let partition = partition_for_key(&record.key, partitions.len() as u32);
            let log = &mut partitions[partition as usize];
            while log
                .records
                .front()
                .is_some_and(|(_, at)| now - at > self.inner.retention_ms)
            {
                log.records.pop_front();
                log.base += 1;
            }
            let offset = log.end();
            log.records.push_back((record.clone(), now));
            RecordPosition { partition, offset }
        };
        record_published(BACKEND, topic, true, 1);
        self.inner.changed.notify_waiters();
        Ok(position)
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[&str],
    ) -> Result<Box<dyn StreamSubscription>, StreamsError> {
        let group_name = qualified(&self.inner.prefix, group)?;
        let mut names = Vec::with_capacity(topics.len());
        for topic in topics {
            names.push(qualified(&self.inner.prefix, topic)?);
        }
        let member = {
            let mut state = self.inner.lock();
            for name in &names {
                state.topic(name, self.inner.partitions);
            }
            state.next_member += 1;
            let member = state.next_member;
            let g = state.groups.entry(group_name.clone()).or_default();
            g.members.push((member, names.clone()));
            g.generation += 1;
            member
        };
        self.inner.changed.notify_waiters();
        Ok(Box::new(InProcessSubscription {
            inner: self.inner.clone(),
            group: group.to_string(),
            group_name,
            member,
            generation: 0,
            assigned: Vec::new(),
            positions: HashMap::new(),
            cursor: 0,
        }))
    }

    async fn lag(&self, group: &str, topic: &str) -> Result<u64, StreamsError> {
        let group_name = qualified(&self.inner.prefix, group)?;
        let name = qualified(&self.inner.prefix, topic)?;
        let state = self.inner.lock();
        let Some(partitions) = state.topics.get(&name) else {
            return Ok(0);
        };
        let committed = state.groups.get(&group_name).map(|g| &g.committed);
        Ok(partitions
            .iter()
            .enumerate()
            .map(|(p, log)| {
                let done = committed
                    .and_then(|c| c.get(&(name.clone(), p as u32)))
                    .copied()
                    .unwrap_or(0)
                    .max(log.base);
                log.end().saturating_sub(done)
            })
            .sum())
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }
}

struct InProcessSubscription {
    inner: Arc<Inner>,
    /// Without the prefix, for metrics.
    group: String,
    group_name: String,
    member: u64,
    /// The group generation `assigned` was computed for.
    generation: u64,
    assigned: Vec<(String, u32)>,
    /// Next offset to read per assigned partition.
    positions: HashMap<(String, u32), u64>,
    /// Round-robin start among `assigned`, so one busy partition cannot starve the others.
    cursor: usize,
}

/// The partitions of `topic` that `member` of group `group_name` holds: the topic's
/// partitions dealt round-robin to the group's members that read it, in join order.
fn assigned_partitions(state: &State, group_name: &str, member: u64, topic: &str) -> Vec<u32> {
    let Some(group) = state.groups.get(group_name) else {
        return Vec::new();
    };
    let readers: Vec<u64> = group
        .members
        .iter()
        .filter(|(_, t)| t.iter().any(|x| x == topic))
        .map(|(m, _)| *m)
        .collect();
    let Some(me) = readers.iter().position(|m| *m == member) else {
        return Vec::new();
    };
    let partitions = state.topics.get(topic).map_or(0, |p| p.len() as u32);
    (0..partitions)
        .filter(|p| *p as usize % readers.len() == me)
        .collect()
}

impl InProcessSubscription {
    /// Recomputes this member's partitions when the group's membership changed.
    fn rebalance(&mut self, state: &State) {
        let Some(group) = state.groups.get(&self.group_name) else {
            return;
        };
        if group.generation == self.generation {
            return;
        }
        self.generation = group.generation;
        let my_topics = group
            .members
            .iter()
            .find(|(m, _)| *m == self.member)
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        let assigned: Vec<(String, u32)> = my_topics
            .iter()
            .flat_map(|t| {
                assigned_partitions(state, &self.group_name, self.member, t)
                    .into_iter()
                    .map(move |p| (t.clone(), p))
            })
            .collect();
        // A partition taken over resumes at the group's commit, as in Kafka.
        self.positions = assigned
            .iter()
            .map(|tp| (tp.clone(), group.committed.get(tp).copied().unwrap_or(0)))
            .collect();
        self.assigned = assigned;
        self.cursor = 0;
    }

    fn take_next(&mut self) -> Option<StreamRecord> {
        let inner = self.inner.clone();
        let state = inner.lock();
        self.rebalance(&state);
        let n = self.assigned.len();
        for i in 0..n {
            let tp = &self.assigned[(self.cursor + i) % n];
            let log = &state.topics[&tp.0][tp.1 as usize];
            let position = self.positions[tp].max(log.base);
            if position < log.end() {
                let (stored, at) = &log.records[(position - log.base) as usize];
                let record = StreamRecord {
                    topic: tp.0[inner.prefix.len()..].to_string(),
                    partition: tp.1,
                    offset: position,
                    key: stored.key.clone(),
                    payload: stored.payload.clone(),
                    headers: stored.headers.clone(),
                    timestamp_ms: *at,
                };
                self.positions.insert(tp.clone(), position + 1);
                self.cursor = (self.cursor + i + 1) % n;
                return Some(record);
            }
        }
        None
    }
}

#[async_trait]
impl StreamSubscription for InProcessSubscription {
    async fn next(&mut self) -> Option<Result<StreamRecord, StreamsError>> {
        let inner = self.inner.clone();
        loop {
            let changed = inner.changed.notified();
            tokio::pin!(changed);
            // Registered before looking, so a publish in between is not missed.
            changed.as_mut().enable();
            if let Some(record) = self.take_next() {
                record_consumed(BACKEND, &self.group, &record);
                return Some(Ok(record));
            }
            changed.await;
        }
    }

    async fn commit(&mut self, record: &StreamRecord) -> Result<(), StreamsError> {
        let topic = qualified(&self.inner.prefix, &record.topic)?;
        let mut state = self.inner.lock();
        let group = state.groups.entry(self.group_name.clone()).or_default();
        let next = group
            .committed
            .entry((topic, record.partition))
            .or_insert(0);
        *next = (*next).max(record.offset + 1);
        Ok(())
    }

    fn assignment(&self, topic: &str) -> Vec<u32> {
        let name = format!("{}{topic}", self.inner.prefix);
        assigned_partitions(&self.inner.lock(), &self.group_name, self.member, &name)
    }
}

impl Drop for InProcessSubscription {
    fn drop(&mut self) {
        if let Ok(mut state) = self.inner.state.lock() {
            if let Some(group) = state.groups.get_mut(&self.group_name) {
                group.members.retain(|(m, _)| *m != self.member);
                group.generation += 1;
            }
        }
        self.inner.changed.notify_waiters();
    }
}
