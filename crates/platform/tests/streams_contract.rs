//! One contract, every streams backend: the in-process streams and a real Kafka-protocol
//! broker (`LANERUNNER_TEST_KAFKA_BROKERS`, default `127.0.0.1:9092`; `bash scripts/kafka.sh`
//! starts tansu there, and CI runs it). A Kafka test without a broker fails and says so.
//! Each test uses a topic prefix of its own, so the tests run in parallel on one broker.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lanerunner_core::{EventEnvelope, EventType, TraceContext};
use lanerunner_platform::bus::{EventBus, InMemoryBus};
use lanerunner_platform::config::{StreamsBackend, StreamsConfig};
use lanerunner_platform::streams::{
    self, partition_for_key, AuditForwarder, Outgoing, StreamRecord, StreamSubscription, Streams,
    AUDIT_TOPIC,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(60);

fn brokers() -> String {
    std::env::var("LANERUNNER_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

async fn streams(kafka: bool, partitions: u32) -> Arc<dyn Streams> {
    let letters: String = Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(12)
        .map(|c| (b'a' + (c as u8 % 26)) as char)
        .collect();
    let config = StreamsConfig {
        backend: if kafka {
            StreamsBackend::Kafka
        } else {
            StreamsBackend::InProcess
        },
        brokers: kafka.then(brokers),
        topic_prefix: format!("t{letters}."),
        partitions,
        ..StreamsConfig::default()
    };
    match streams::from_config(&config).await {
        Ok(s) => s,
        Err(e) => panic!(
            "streams backend unavailable: {e}\n(the Kafka tests need a Kafka-protocol broker at \
             {}: run `bash scripts/kafka.sh`, or set LANERUNNER_TEST_KAFKA_BROKERS)",
            brokers()
        ),
    }
}

/// The next record, or a failure after [`WAIT`].
async fn next(sub: &mut Box<dyn StreamSubscription>) -> StreamRecord {
    tokio::time::timeout(WAIT, sub.next())
        .await
        .expect("a record within the wait")
        .expect("subscription open")
        .expect("a record, not an error")
}

fn seq(record: &StreamRecord) -> u32 {
    std::str::from_utf8(&record.payload)
        .unwrap()
        .rsplit('#')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn topics_are_created_with_the_configured_partitions(kafka: bool) {
    let s = streams(kafka, 5).await;
    assert_eq!(s.ensure_topic("created").await.unwrap(), 5);
    assert_eq!(s.ensure_topic("created").await.unwrap(), 5, "idempotent");
    for k in 0..20 {
        let key = format!("key-{k}");
        let at = s.publish("created", key.as_bytes(), b"x").await.unwrap();
        assert!(at.partition < 5);
        assert_eq!(
            at.partition,
            partition_for_key(key.as_bytes(), 5),
            "{key} lands where Kafka's murmur2 partitioner puts it"
        );
    }
    assert!(s.ensure_topic("bad name").await.is_err());
}

async fn records_of_one_key_keep_their_order_across_partitions(kafka: bool) {
    let s = streams(kafka, 4).await;
    let keys: Vec<String> = (0..8).map(|k| format!("truck-{k}")).collect();
    // Interleaved keys, half through batches and half one by one.
    let mut batch = Vec::new();
    for n in 0..25u32 {
        for key in &keys {
            batch.push(Outgoing::new(key.clone(), format!("{key}#{n}")));
        }
    }
    let (first, second) = batch.split_at(100);
    let (stored, err) = s.publish_batch("positions", first).await;
    assert_eq!((stored, err.map(|e| e.to_string())), (100, None));
    for record in second {
        s.publish("positions", &record.key, &record.payload)
            .await
            .unwrap();
    }
    let mut sub = s.subscribe("reader", &["positions"]).await.unwrap();
    let mut last: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut partitions = HashSet::new();
    for _ in 0..200 {
        let r = next(&mut sub).await;
        assert_eq!(r.topic, "positions");
        assert_eq!(r.partition, partition_for_key(&r.key, 4));
        partitions.insert(r.partition);
        let n = seq(&r);
        let expected = last.get(&r.key).map_or(0, |p| p + 1);
        assert_eq!(n, expected, "records of {:?} out of order", r.key);
        last.insert(r.key.clone(), n);
        sub.commit(&r).await.unwrap();
    }
    assert!(last.values().all(|n| *n == 24), "{last:?}");
    assert!(partitions.len() > 1, "eight keys over four partitions");
    assert_eq!(s.lag("reader", "positions").await.unwrap(), 0);
}

async fn every_group_gets_every_record(kafka: bool) {
    let s = streams(kafka, 3).await;
    let mut a = s.subscribe("analytics", &["audit"]).await.unwrap();
    let mut b = s.subscribe("reports", &["audit"]).await.unwrap();
    for n in 0..30 {
        s.publish(
            "audit",
            format!("load-{}", n % 7).as_bytes(),
            format!("e#{n}").as_bytes(),
        )
        .await
        .unwrap();
    }
    for sub in [&mut a, &mut b] {
        let mut seen = HashSet::new();
        for _ in 0..30 {
            let r = next(sub).await;
            assert!(seen.insert(seq(&r)), "record {} twice", seq(&r));
            sub.commit(&r).await.unwrap();
        }
        assert_eq!(seen.len(), 30);
    }
}

async fn members_of_one_group_split_partitions_without_duplicates(kafka: bool) {
    let s = streams(kafka, 4).await;
    s.ensure_topic("split").await.unwrap();
    let received: Arc<Mutex<Vec<(usize, StreamRecord)>>> = Default::default();
    let assigned: Arc<Mutex<[Vec<u32>; 2]>> = Default::default();
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for member in 0..2 {
        let mut sub = s.subscribe("workers", &["split"]).await.unwrap();
        let (received, assigned, stop) = (received.clone(), assigned.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.is_cancelled() {
                // Polling is what drives a Kafka consumer's group membership, so poll
                // even while nothing arrives, and report the assignment in between.
                if let Ok(Some(Ok(r))) =
                    tokio::time::timeout(Duration::from_millis(200), sub.next()).await
                {
                    sub.commit(&r).await.unwrap();
                    received.lock().unwrap().push((member, r));
                }
                assigned.lock().unwrap()[member] = sub.assignment("split");
            }
        }));
    }
    // Wait until the group has settled: both members hold partitions, together all four.
    let settled = tokio::time::timeout(WAIT, async {
        loop {
            let [a, b] = assigned.lock().unwrap().clone();
            let union: HashSet<u32> = a.iter().chain(&b).copied().collect();
            if !a.is_empty() && !b.is_empty() && union.len() == 4 && a.len() + b.len() == 4 {
                return (a, b);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the two members share the four partitions");
    for n in 0..100 {
        s.publish(
            "split",
            format!("load-{}", n % 20).as_bytes(),
            format!("e#{n}").as_bytes(),
        )
        .await
        .unwrap();
    }
    tokio::time::timeout(WAIT, async {
        while received.lock().unwrap().len() < 100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("all 100 records consumed");
    // Time for a duplicate to show up, were there one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 100, "each record reached one member once");
    let distinct: HashSet<u32> = received.iter().map(|(_, r)| seq(r)).collect();
    assert_eq!(distinct.len(), 100);
    let owned = [settled.0, settled.1];
    for (member, r) in received.iter() {
        assert!(
            owned[*member].contains(&r.partition),
            "member {member} got partition {} it does not hold",
            r.partition
        );
    }
    let per_member: BTreeMap<usize, usize> =
        received.iter().fold(BTreeMap::new(), |mut m, (w, _)| {
            *m.entry(*w).or_default() += 1;
            m
        });
    assert_eq!(per_member.len(), 2, "both members worked: {per_member:?}");
}

async fn a_new_member_resumes_after_the_last_commit(kafka: bool) {
    let s = streams(kafka, 2).await;
    for n in 0..10 {
        s.publish("resume", b"load-1", format!("e#{n}").as_bytes())
            .await
            .unwrap();
    }
    assert_eq!(s.lag("billing", "resume").await.unwrap(), 10);
    {
        let mut first = s.subscribe("billing", &["resume"]).await.unwrap();
        for n in 0..5 {
            let r = next(&mut first).await;
            assert_eq!(seq(&r), n);
            // The fifth record's effect "fails": it is read but never committed.
            if n < 4 {
                first.commit(&r).await.unwrap();
            }
        }
    } // the member leaves
    assert_eq!(s.lag("billing", "resume").await.unwrap(), 6);
    let mut second = s.subscribe("billing", &["resume"]).await.unwrap();
    for n in 4..10 {
        let r = next(&mut second).await;
        assert_eq!(seq(&r), n, "resumes at the first uncommitted record");
        second.commit(&r).await.unwrap();
    }
    assert_eq!(s.lag("billing", "resume").await.unwrap(), 0);
    // Another group still starts at the beginning.
    let mut other = s.subscribe("archive", &["resume"]).await.unwrap();
    assert_eq!(seq(&next(&mut other).await), 0);
}

async fn audit_forwarder_streams_domain_events_keyed_by_aggregate(kafka: bool) {
    let s = streams(kafka, 3).await;
    let bus: Arc<dyn EventBus> = Arc::new(InMemoryBus::default());
    let forwarder = AuditForwarder {
        bus: bus.clone(),
        streams: s.clone(),
    };
    forwarder.prepare().await.unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(forwarder.run(stop.clone()));
    let (load, truck) = (Uuid::now_v7(), Uuid::now_v7());
    let mut published = Vec::new();
    for n in 0..6u32 {
        let (kind, aggregate) = if n % 2 == 0 {
            (EventType::new("load.updated", 1), load)
        } else {
            (EventType::new("truck.posted", 1), truck)
        };
        let mut e =
            EventEnvelope::new(kind, None, aggregate, &serde_json::json!({ "n": n })).unwrap();
        // Half were caused by a traced request: their records carry its `traceparent`.
        if n < 3 {
            e = e.with_trace(TraceContext {
                traceparent: Some(format!("00-{:032x}-{:016x}-01", 0xabc0 + n, 0x10 + n)),
                request_id: Some(format!("req-{n}")),
            });
        }
        bus.publish(&e).await.unwrap();
        published.push(e);
        let command = EventEnvelope::new(
            lanerunner_platform::mail::EMAIL_REQUESTED,
            None,
            Uuid::now_v7(),
            &serde_json::json!({ "secret": "one-time token" }),
        )
        .unwrap();
        bus.publish(&command).await.unwrap();
    }
    let mut reader = s.subscribe("analytics", &[AUDIT_TOPIC]).await.unwrap();
    let mut by_key: HashMap<String, Vec<Uuid>> = HashMap::new();
    for _ in 0..6 {
        let r = next(&mut reader).await;
        let event: EventEnvelope = serde_json::from_slice(&r.payload).unwrap();
        assert_ne!(event.event_type, "email.send_requested.v1");
        assert_eq!(
            r.header("traceparent"),
            event.trace.traceparent.as_deref().map(str::as_bytes),
            "the record's traceparent header is its event's"
        );
        assert!(r.headers.len() <= 1, "{:?}", r.headers);
        assert_eq!(
            String::from_utf8(r.key.clone()).unwrap(),
            event.aggregate_id.to_string()
        );
        by_key
            .entry(event.aggregate_id.to_string())
            .or_default()
            .push(event.id);
        reader.commit(&r).await.unwrap();
    }
    for aggregate in [load, truck] {
        let expected: Vec<Uuid> = published
            .iter()
            .filter(|e| e.aggregate_id == aggregate)
            .map(|e| e.id)
            .collect();
        assert_eq!(
            by_key[&aggregate.to_string()],
            expected,
            "order per aggregate"
        );
    }
    // Nothing else arrives: the commands stayed off the stream.
    let extra = tokio::time::timeout(Duration::from_millis(700), reader.next()).await;
    assert!(
        extra.is_err(),
        "unexpected record: {extra:?}",
        extra = extra.ok().flatten().map(|r| r.map(|r| r.offset))
    );
    assert_eq!(
        bus.queue_depth(streams::AUDIT_GROUP).await.unwrap().ready,
        0
    );
    stop.cancel();
    task.await.unwrap().unwrap();
}

macro_rules! on_both {
    ($($name:ident),+) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn in_process() {
                    super::$name(false).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn kafka() {
                    if lanerunner_platform::testing::skip_engine_test("Kafka") {
                        return;
                    }
                    super::$name(true).await
                }
            }
        )+
    };
}

on_both!(
    topics_are_created_with_the_configured_partitions,
    records_of_one_key_keep_their_order_across_partitions,
    every_group_gets_every_record,
    members_of_one_group_split_partitions_without_duplicates,
    a_new_member_resumes_after_the_last_commit,
    audit_forwarder_streams_domain_events_keyed_by_aggregate
);
