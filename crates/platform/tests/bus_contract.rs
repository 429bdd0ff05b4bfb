//! One contract, every bus backend: the in-process bus and a real RabbitMQ
//! (`LANERUNNER_TEST_AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`). Each test
//! uses a namespace (exchanges, queues), topics and consumer groups of its own, so the tests
//! run in parallel on one broker; what a RabbitMQ test declared is deleted at its end.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_core::{EventEnvelope, EventType, TraceContext};
use lanerunner_platform::bus::rabbitmq::delete_namespace;
use lanerunner_platform::bus::{
    run_consumer, EventBus, EventHandler, InMemoryBus, Permanent, RabbitMqBus,
};
use lanerunner_platform::db::{connect, Migrations};
use lanerunner_platform::outbox::{enqueue, OutboxRelay, OutboxSignal};
use lanerunner_platform::testing::FlakyProxy;
use lanerunner_platform::{on_db, Config, Db, Tx};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const MAX_ATTEMPTS: u32 = 3;
const DELAY: Duration = Duration::from_millis(10);

fn amqp_url() -> String {
    std::env::var("LANERUNNER_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A namespace of topics and groups for one test: `t<letters>`.
struct Ns {
    name: String,
    bus: Arc<dyn EventBus>,
    groups: std::sync::Mutex<Vec<String>>,
}

impl Ns {
    async fn new(rabbit: bool) -> Ns {
        let letters: String = Uuid::new_v4()
            .simple()
            .to_string()
            .chars()
            .take(12)
            .map(|c| (b'a' + (c as u8 % 26)) as char)
            .collect();
        let name = format!("t{letters}");
        let bus: Arc<dyn EventBus> = if rabbit {
            Arc::new(
                RabbitMqBus::connect(&amqp_url(), &name, MAX_ATTEMPTS, DELAY)
                    .await
                    .expect("rabbitmq reachable (set LANERUNNER_TEST_AMQP_URL)"),
            )
        } else {
            Arc::new(InMemoryBus::new(MAX_ATTEMPTS, DELAY))
        };
        Ns {
            name,
            bus,
            groups: Default::default(),
        }
    }

    fn group(&self, name: &str) -> String {
        let g = format!("{}.{name}", self.name);
        self.groups.lock().unwrap().push(g.clone());
        g
    }

    fn pattern(&self, rest: &str) -> String {
        format!("{}.{rest}", self.name)
    }

    fn event(&self, kind: &str, n: u32) -> EventEnvelope {
        let mut e = EventEnvelope::new(
            EventType::new("placeholder", 1),
            None,
            Uuid::now_v7(),
            &serde_json::json!({ "n": n }),
        )
        .unwrap();
        e.event_type = format!("{}.{kind}.v1", self.name);
        e
    }

    /// Deletes the exchanges and queues this test declared (RabbitMQ only).
    async fn cleanup(self) {
        if self.bus.backend() != "rabbitmq" {
            return;
        }
        let groups = self.groups.lock().unwrap().clone();
        delete_namespace(&amqp_url(), &self.name, &groups)
            .await
            .expect("test namespace deleted");
    }
}

async fn next(
    sub: &mut Box<dyn lanerunner_platform::bus::Subscription>,
) -> lanerunner_platform::bus::Delivery {
    tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("a delivery within 10 s")
        .expect("the bus is open")
}

async fn nothing_more(sub: &mut Box<dyn lanerunner_platform::bus::Subscription>) {
    let waited = tokio::time::timeout(Duration::from_millis(300), sub.next()).await;
    assert!(waited.is_err(), "an unexpected delivery arrived");
}

async fn every_group_gets_each_matching_event_once(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let bus = ns.bus.clone();
    let mut all = bus
        .subscribe(&ns.group("all"), &[&ns.pattern("#")])
        .await
        .unwrap();
    let mut happened = bus
        .subscribe(&ns.group("happened"), &[&ns.pattern("happened.*")])
        .await
        .unwrap();
    let mut other = bus
        .subscribe(&ns.group("other"), &[&ns.pattern("other.#")])
        .await
        .unwrap();
    let (a, b) = (ns.event("happened", 1), ns.event("happened", 2));
    bus.publish(&a).await.unwrap();
    bus.publish(&b).await.unwrap();
    for sub in [&mut all, &mut happened] {
        let first = next(sub).await;
        let second = next(sub).await;
        assert_eq!((first.event.id, second.event.id), (a.id, b.id));
        assert_eq!(first.attempt, 1);
        assert_eq!(first.event.payload["n"], 1);
        first.ack().await;
        second.ack().await;
        nothing_more(sub).await;
    }
    nothing_more(&mut other).await;
    drop((all, happened, other));
    ns.cleanup().await;
}

/// `try_next` never waits: nothing before a publish; afterwards, whatever has reached the
/// subscriber, in order.
async fn try_next_takes_what_has_arrived_without_waiting(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let bus = ns.bus.clone();
    let mut sub = bus
        .subscribe(&ns.group("batch"), &[&ns.pattern("#")])
        .await
        .unwrap();
    assert!(sub.try_next().await.is_none());
    let events: Vec<EventEnvelope> = (0..3).map(|n| ns.event("happened", n)).collect();
    for e in &events {
        bus.publish(e).await.unwrap();
    }
    let mut got = vec![next(&mut sub).await];
    // RabbitMQ pushes deliveries to the client asynchronously: look again until they are in.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < 3 && tokio::time::Instant::now() < deadline {
        match sub.try_next().await {
            Some(d) => got.push(d),
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    let ids: Vec<Uuid> = got.iter().map(|d| d.event.id).collect();
    assert_eq!(ids, events.iter().map(|e| e.id).collect::<Vec<_>>());
    for d in got {
        d.ack().await;
    }
    assert!(sub.try_next().await.is_none());
    nothing_more(&mut sub).await;
    drop(sub);
    ns.cleanup().await;
}

async fn members_of_one_group_compete(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let group = ns.group("workers");
    let pattern = ns.pattern("#");
    let mut members = Vec::new();
    for _ in 0..2 {
        members.push(ns.bus.subscribe(&group, &[&pattern]).await.unwrap());
    }
    let mut published = HashSet::new();
    for n in 0..10 {
        let e = ns.event("job", n);
        published.insert(e.id);
        ns.bus.publish(&e).await.unwrap();
    }
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let tasks: Vec<_> = members
        .into_iter()
        .enumerate()
        .map(|(member, mut sub)| {
            let (seen, stop) = (seen.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    let d = tokio::select! {
                        d = sub.next() => d.unwrap(),
                        _ = stop.cancelled() => return,
                    };
                    // Slow workers, so the other member gets its share.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    seen.lock().unwrap().push((member, d.event.id));
                    d.ack().await;
                }
            })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 10 {
        assert!(tokio::time::Instant::now() < deadline, "work not done");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 10, "an event reached two members");
    let ids: HashSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, published);
    for member in 0..2 {
        assert!(
            seen.iter().any(|(m, _)| *m == member),
            "member {member} got no work"
        );
    }
    ns.cleanup().await;
}

async fn refused_deliveries_are_redelivered_then_dead_lettered(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let group = ns.group("failing");
    let mut sub = ns.bus.subscribe(&group, &[&ns.pattern("#")]).await.unwrap();
    let e = ns.event("doomed", 7);
    ns.bus.publish(&e).await.unwrap();
    for attempt in 1..=MAX_ATTEMPTS {
        let d = next(&mut sub).await;
        assert_eq!(d.event.id, e.id);
        assert_eq!(d.attempt, attempt);
        d.nack(format!("handler failed #{attempt}")).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let dead = loop {
        let dead = ns.bus.dead_letters(&group).await.unwrap();
        if !dead.is_empty() {
            break dead;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event.id, e.id);
    assert_eq!(dead[0].attempts, MAX_ATTEMPTS);
    assert!(
        dead[0].reason.contains("handler failed #3"),
        "{}",
        dead[0].reason
    );
    // Reading dead letters does not consume them.
    assert_eq!(ns.bus.dead_letters(&group).await.unwrap().len(), 1);
    nothing_more(&mut sub).await;
    // Once the cause is fixed, a replay delivers it again from attempt 1, and it leaves
    // the dead letters.
    assert_eq!(ns.bus.replay_dead_letters(&group).await.unwrap(), 1);
    let again = next(&mut sub).await;
    assert_eq!(again.event.id, e.id);
    assert_eq!(again.attempt, 1);
    again.ack().await;
    assert!(ns.bus.dead_letters(&group).await.unwrap().is_empty());
    assert_eq!(ns.bus.replay_dead_letters(&group).await.unwrap(), 0);
    nothing_more(&mut sub).await;
    assert!(ns
        .bus
        .dead_letters(&ns.group("unknown"))
        .await
        .unwrap()
        .is_empty());
    drop(sub);
    ns.cleanup().await;
}

/// Counts calls, failing the first `fail_first`.
struct Counting {
    calls: AtomicUsize,
    fail_first: usize,
}

#[async_trait]
impl EventHandler for Counting {
    async fn handle(&self, _event: &EventEnvelope, _tx: &mut Tx) -> anyhow::Result<()> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        anyhow::ensure!(call >= self.fail_first, "transient failure {call}");
        Ok(())
    }
}

async fn sqlite_store() -> (Db, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("lr-bus-{}", Uuid::now_v7()));
    let config = Config {
        data_dir: dir.clone(),
        ..Config::default()
    };
    let db = connect(&config, "bus_contract").await.unwrap();
    db.migrate(&Migrations::platform()).await.unwrap();
    (db, dir)
}

async fn processed(db: &Db) -> i64 {
    on_db!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events"
    )
    .fetch_one(p)
    .await)
    .unwrap()
}

/// At-least-once delivery (relay, redelivery, a duplicate publish) plus the idempotent
/// consumer: every committed event has its effect exactly once.
async fn outbox_and_idempotent_consumer_give_exactly_once_effects(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let (db, dir) = sqlite_store().await;
    let group = ns.group("effects");
    let pattern = ns.pattern("#");
    drop(ns.bus.subscribe(&group, &[&pattern]).await.unwrap());
    let handler = Arc::new(Counting {
        calls: AtomicUsize::new(0),
        fail_first: 2,
    });
    let stop = CancellationToken::new();
    let consumer = tokio::spawn(run_consumer(
        ns.bus.clone(),
        db.clone(),
        group.clone(),
        vec![pattern.clone()],
        handler.clone(),
        OutboxSignal::default(),
        stop.clone(),
    ));
    let signal = OutboxSignal::default();
    let relay = OutboxRelay::new(
        "bus_contract",
        db.clone(),
        ns.bus.clone(),
        signal.clone(),
        Duration::from_millis(50),
        7,
    );
    let relay_task = tokio::spawn(relay.run(stop.clone()));
    let events: Vec<EventEnvelope> = (0..20).map(|n| ns.event("counted", n)).collect();
    let mut tx = db.begin().await.unwrap();
    for e in &events {
        enqueue(&mut tx, e).await.unwrap();
    }
    tx.commit().await.unwrap();
    signal.committed();
    // A duplicate, as a relay that crashed between publish and mark would send.
    ns.bus.publish(&events[3]).await.unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while processed(&db).await < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not processed"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processed(&db).await, 20);
    // 2 refused attempts, then one effect per distinct event; the duplicate was skipped.
    assert_eq!(handler.calls.load(Ordering::SeqCst), 22);
    assert!(ns.bus.dead_letters(&group).await.unwrap().is_empty());
    stop.cancel();
    consumer.await.unwrap().unwrap();
    let _ = relay_task.await;
    db.close().await;
    let _ = std::fs::remove_dir_all(dir);
    ns.cleanup().await;
}

async fn broadcast_subscribers_each_get_every_event_while_subscribed(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let bus = ns.bus.clone();
    let pattern = ns.pattern("changed.*");
    let mut one = bus.subscribe_broadcast(&[&pattern]).await.unwrap();
    let mut two = bus.subscribe_broadcast(&[&pattern]).await.unwrap();
    let gone = bus.subscribe_broadcast(&[&pattern]).await.unwrap();
    drop(gone);
    let e = ns.event("changed", 1);
    bus.publish(&e).await.unwrap();
    bus.publish(&ns.event("unrelated", 2)).await.unwrap();
    for sub in [&mut one, &mut two] {
        let d = next(sub).await;
        assert_eq!(
            d.event.id, e.id,
            "every broadcast subscriber gets its own copy"
        );
        // A refused broadcast delivery is dropped, not redelivered.
        d.nack("listener failed").await;
        nothing_more(sub).await;
    }
    // Unlike a group, a broadcast subscription keeps nothing for events before it existed.
    let mut late = bus.subscribe_broadcast(&[&pattern]).await.unwrap();
    nothing_more(&mut late).await;
    let e2 = ns.event("changed", 3);
    bus.publish(&e2).await.unwrap();
    assert_eq!(next(&mut late).await.event.id, e2.id);
    drop((one, two, late));
    ns.cleanup().await;
}

async fn queue_depth_counts_waiting_and_dead_events(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let bus = ns.bus.clone();
    let group = ns.group("depth");
    let pattern = ns.pattern("#");
    // Declare the group, then leave it without a consumer so nothing is prefetched.
    drop(bus.subscribe(&group, &[&pattern]).await.unwrap());
    assert_eq!(bus.queue_depth(&group).await.unwrap(), Default::default());
    for n in 0..3 {
        bus.publish(&ns.event("queued", n)).await.unwrap();
    }
    let eventually = |want: lanerunner_platform::bus::QueueDepth| {
        let bus = bus.clone();
        let group = group.clone();
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let d = bus.queue_depth(&group).await.unwrap();
                if d == want {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "queue depth {d:?}, expected {want:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    eventually(lanerunner_platform::bus::QueueDepth { ready: 3, dead: 0 }).await;
    let mut sub = bus.subscribe(&group, &[&pattern]).await.unwrap();
    let mut settled = 0;
    while settled < 3 {
        let d = next(&mut sub).await;
        if d.event.payload["n"] == 0 && d.attempt < MAX_ATTEMPTS {
            d.nack("poison").await;
            continue;
        }
        if d.event.payload["n"] == 0 {
            d.nack("poison, last attempt").await;
        } else {
            d.ack().await;
        }
        settled += 1;
    }
    eventually(lanerunner_platform::bus::QueueDepth { ready: 0, dead: 1 }).await;
    drop(sub);
    ns.cleanup().await;
}

async fn a_dead_lettered_delivery_skips_its_remaining_attempts(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let group = ns.group("unparseable");
    let mut sub = ns.bus.subscribe(&group, &[&ns.pattern("#")]).await.unwrap();
    let e = ns.event("garbled", 1);
    ns.bus.publish(&e).await.unwrap();
    let d = next(&mut sub).await;
    assert_eq!(d.attempt, 1);
    d.dead_letter("the payload does not parse").await;
    let dead = dead_letters_of(&ns, &group).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event.id, e.id);
    assert_eq!(dead[0].attempts, 1, "dead-lettered on its first attempt");
    assert_eq!(dead[0].reason, "the payload does not parse");
    nothing_more(&mut sub).await;
    drop(sub);
    ns.cleanup().await;
}

/// Waits until `group` has a dead letter (the RabbitMQ backend publishes it to the
/// dead-letter exchange asynchronously), then returns them all.
async fn dead_letters_of(ns: &Ns, group: &str) -> Vec<lanerunner_platform::bus::DeadLetter> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let dead = ns.bus.dead_letters(group).await.unwrap();
        if !dead.is_empty() {
            return dead;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Refuses events whose payload has no `n` as permanently broken; counts its calls on them.
struct Strict {
    broken_calls: AtomicUsize,
}

#[async_trait]
impl EventHandler for Strict {
    async fn handle(&self, event: &EventEnvelope, _tx: &mut Tx) -> anyhow::Result<()> {
        if event.payload.get("n").is_none() {
            self.broken_calls.fetch_add(1, Ordering::SeqCst);
            return Err(Permanent::new(anyhow::anyhow!("payload has no n")));
        }
        Ok(())
    }
}

async fn a_poison_event_is_dead_lettered_at_once_and_the_rest_flow(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let (db, dir) = sqlite_store().await;
    let group = ns.group("strict");
    let pattern = ns.pattern("#");
    drop(ns.bus.subscribe(&group, &[&pattern]).await.unwrap());
    let mut poison = ns.event("poison", 0);
    poison.payload = serde_json::json!({ "garbage": true });
    ns.bus.publish(&poison).await.unwrap();
    ns.bus.publish(&ns.event("fine", 1)).await.unwrap();
    let handler = Arc::new(Strict {
        broken_calls: AtomicUsize::new(0),
    });
    let stop = CancellationToken::new();
    let consumer = tokio::spawn(run_consumer(
        ns.bus.clone(),
        db.clone(),
        group.clone(),
        vec![pattern],
        handler.clone(),
        OutboxSignal::default(),
        stop.clone(),
    ));
    let dead = dead_letters_of(&ns, &group).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event.id, poison.id);
    assert_eq!(
        dead[0].attempts, 1,
        "a permanent failure is not redelivered (max_attempts is {MAX_ATTEMPTS})"
    );
    assert!(
        dead[0].reason.contains("payload has no n"),
        "{}",
        dead[0].reason
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while processed(&db).await < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the good event never applied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Once in a batch with the good event (rolled back), once alone: never redelivered.
    assert!(handler.broken_calls.load(Ordering::SeqCst) <= 2);
    stop.cancel();
    consumer.await.unwrap().unwrap();
    db.close().await;
    let _ = std::fs::remove_dir_all(dir);
    ns.cleanup().await;
}

/// Publishes, through the outbox, one follow-up event per event it handles.
struct Echo {
    follow_up: String,
}

#[async_trait]
impl EventHandler for Echo {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let mut reply = EventEnvelope::new(
            EventType::new("placeholder", 1),
            None,
            event.aggregate_id,
            &serde_json::json!({ "echo": event.id }),
        )?;
        reply.event_type = self.follow_up.clone();
        enqueue(tx, &reply).await?;
        Ok(())
    }
}

/// The relay here polls once an hour: the follow-up can only arrive because the consumer
/// woke the relay after its commit. It carries the trace of the event that caused it.
async fn a_handlers_events_leave_after_its_commit_with_the_events_trace(rabbit: bool) {
    let ns = Ns::new(rabbit).await;
    let (db, dir) = sqlite_store().await;
    let group = ns.group("echo");
    let incoming = ns.pattern("asked.*");
    drop(ns.bus.subscribe(&group, &[&incoming]).await.unwrap());
    let observer = ns.group("observer");
    let mut replies = ns
        .bus
        .subscribe(&observer, &[&ns.pattern("answered.*")])
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let signal = OutboxSignal::default();
    let relay = OutboxRelay::new(
        "bus_contract",
        db.clone(),
        ns.bus.clone(),
        signal.clone(),
        Duration::from_secs(3600),
        7,
    );
    let relay_task = tokio::spawn(relay.run(stop.clone()));
    let consumer = tokio::spawn(run_consumer(
        ns.bus.clone(),
        db.clone(),
        group.clone(),
        vec![incoming],
        Arc::new(Echo {
            follow_up: format!("{}.answered.v1", ns.name),
        }),
        signal,
        stop.clone(),
    ));
    let trace = TraceContext {
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        request_id: Some("req-echo-1".into()),
    };
    let asked = ns.event("asked", 1).with_trace(trace.clone());
    ns.bus.publish(&asked).await.unwrap();
    let reply = next(&mut replies).await;
    assert_eq!(reply.event.payload["echo"], asked.id.to_string());
    assert_eq!(reply.event.trace, trace, "the follow-up keeps the trace");
    reply.ack().await;
    stop.cancel();
    consumer.await.unwrap().unwrap();
    let _ = relay_task.await;
    drop(replies);
    db.close().await;
    let _ = std::fs::remove_dir_all(dir);
    ns.cleanup().await;
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
                async fn rabbitmq() {
                    if lanerunner_platform::testing::skip_engine_test("RabbitMQ") {
                        return;
                    }
                    super::$name(true).await
                }
            }
        )+
    };
}

on_both!(
    every_group_gets_each_matching_event_once,
    try_next_takes_what_has_arrived_without_waiting,
    members_of_one_group_compete,
    refused_deliveries_are_redelivered_then_dead_lettered,
    outbox_and_idempotent_consumer_give_exactly_once_effects,
    broadcast_subscribers_each_get_every_event_while_subscribed,
    queue_depth_counts_waiting_and_dead_events,
    a_dead_lettered_delivery_skips_its_remaining_attempts,
    a_poison_event_is_dead_lettered_at_once_and_the_rest_flow,
    a_handlers_events_leave_after_its_commit_with_the_events_trace
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_bus_recovers_after_the_broker_goes_away() {
    if lanerunner_platform::testing::skip_engine_test("RabbitMQ") {
        return;
    }
    let proxy = FlakyProxy::start("127.0.0.1:5672").await.unwrap();
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port);
    let ns = format!("tr{}", &Uuid::new_v4().simple().to_string()[..12]);
    let bus = RabbitMqBus::connect(&url, &ns, MAX_ATTEMPTS, DELAY)
        .await
        .unwrap();
    let group = "recovering".to_string();
    let topic = format!("{ns}.ping.v1");
    let mut sub = bus.subscribe(&group, &[&format!("{ns}.#")]).await.unwrap();
    let event = |n: u32| {
        let mut e = EventEnvelope::new(
            EventType::new("placeholder", 1),
            None,
            Uuid::now_v7(),
            &serde_json::json!({ "n": n }),
        )
        .unwrap();
        e.event_type = topic.clone();
        e
    };
    let before = event(1);
    bus.publish(&before).await.unwrap();
    let d = next(&mut sub).await;
    assert_eq!(d.event.id, before.id);
    d.ack().await;

    proxy.down();
    // The supervisor notices; publishing fails while the broker is away.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(2), bus.publish(&event(0))).await;
        if matches!(attempt, Ok(Err(_)) | Err(_)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "publish kept succeeding"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(bus.ping().await.is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.restore();

    // Retry as the outbox relay does, until the reconnected bus takes the event.
    let after = event(2);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while bus.publish(&after).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "never reconnected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bus.ping().await.unwrap();
    // The subscription re-attached by itself. (An event published while the broker was
    // unreachable may or may not have been taken; only `after` is required.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let d = tokio::time::timeout_at(deadline, sub.next())
            .await
            .expect("the subscription recovered")
            .unwrap();
        let id = d.event.id;
        d.ack().await;
        if id == after.id {
            break;
        }
    }
    drop(sub);
    delete_namespace("amqp://guest:guest@127.0.0.1:5672/%2f", &ns, &[group])
        .await
        .unwrap();
}
