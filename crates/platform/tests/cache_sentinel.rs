//! The cache and the realtime fan-out behind Redis Sentinel: a master, a replica and a
//! Sentinel of this test's own (`redis-server`, `redis-server --sentinel`), reached with a
//! `redis+sentinel://` URL. When the master is killed, Sentinel promotes the replica and the
//! cache follows it by itself: what was written before is there, counters go on, the fan-out
//! resubscribes. When a failover demotes a master that is still up (`SENTINEL FAILOVER`), the
//! writes its replica refuses (`READONLY`) make the cache move to the new master, and a cache
//! that runs no command moves on the Sentinel's announcement of the switch. A URL
//! naming a master no Sentinel monitors, or Sentinels that do not answer, is refused.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lanerunner_core::OrgId;
use lanerunner_platform::cache::{Cache, RedisCache};
use lanerunner_platform::fanout::{Fanout, Push, RedisFanout};
use lanerunner_platform::testing::skip_engine_test;

const MASTER: &str = "lrtest";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Option<Child>,
    port: u16,
}

impl Server {
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Group {
    dir: PathBuf,
    servers: Vec<Server>,
    sentinel: Server,
}

impl Drop for Group {
    fn drop(&mut self) {
        self.sentinel.kill();
        for s in &mut self.servers {
            s.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn(args: &[String]) -> Child {
    Command::new("redis-server")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed (the test command requires Redis)")
}

fn redis_server(dir: &std::path::Path, port: u16, replica_of: Option<u16>) -> Server {
    let sub = dir.join(port.to_string());
    std::fs::create_dir_all(&sub).unwrap();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        sub.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(master) = replica_of {
        args.extend(["--replicaof".into(), "127.0.0.1".into(), master.to_string()]);
    }
    Server {
        child: Some(spawn(&args)),
        port,
    }
}

async fn client(port: u16) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    for _ in 0..100 {
        if let Ok(Ok(c)) = tokio::time::timeout(
            Duration::from_secs(1),
            client.get_multiplexed_async_connection(),
        )
        .await
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis on {port} did not start");
}

async fn role(port: u16) -> String {
    let mut c = client(port).await;
    let reply: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut c).await.unwrap();
    redis::from_redis_value(&reply[0]).unwrap()
}

/// The master's port as the Sentinel names it.
async fn named_master(sentinel: u16) -> Option<u16> {
    let mut c = client(sentinel).await;
    let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(MASTER)
        .query_async(&mut c)
        .await
        .ok()?;
    addr.map(|a| a.1)
}

async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + within;
    while Instant::now() < until {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within {within:?}");
}

/// A master, its replica (in sync) and a Sentinel watching them, failing over a master
/// that is down for one second.
async fn start() -> Group {
    let dir = std::env::temp_dir().join(format!(
        "lanerunner-redis-sentinel-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (p1, p2, ps) = (free_port(), free_port(), free_port());
    let master = redis_server(&dir, p1, None);
    client(p1).await;
    let replica = redis_server(&dir, p2, Some(p1));
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {ps}\nbind 127.0.0.1\ndir {}\n\
             sentinel monitor {MASTER} 127.0.0.1 {p1} 1\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 4000\n\
             sentinel parallel-syncs {MASTER} 1\n",
            dir.display()
        ),
    )
    .unwrap();
    let sentinel = Server {
        child: Some(spawn(&[conf.to_str().unwrap().into(), "--sentinel".into()])),
        port: ps,
    };
    let group = Group {
        dir,
        servers: vec![master, replica],
        sentinel,
    };
    in_sync(p2).await;
    eventually(
        "the Sentinel knows the replica",
        Duration::from_secs(20),
        || async {
            let mut c = client(ps).await;
            let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
                .arg("REPLICAS")
                .arg(MASTER)
                .query_async(&mut c)
                .await
                .unwrap_or_default();
            !replicas.is_empty()
        },
    )
    .await;
    group
}

/// Waits until the replica on `port` is connected to its master and in sync.
async fn in_sync(port: u16) {
    eventually(
        "the replica is in sync",
        Duration::from_secs(30),
        || async {
            let mut c = client(port).await;
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query_async(&mut c)
                .await
                .unwrap();
            info.contains("master_link_status:up")
        },
    )
    .await;
}

/// Waits until the replica has every write the master acknowledged.
async fn replicated(master: u16) {
    let mut c = client(master).await;
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(acked, 1, "the replica acknowledged the writes");
}

/// Sets `key` until it succeeds; how many attempts failed on the way.
async fn set_until_it_works(cache: &RedisCache, key: &str, value: &[u8]) -> usize {
    let mut failed = 0;
    let until = Instant::now() + Duration::from_secs(40);
    while Instant::now() < until {
        match cache.set(key, value, Duration::from_secs(600)).await {
            Ok(()) => return failed,
            Err(_) => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no write succeeded after the failover");
}

async fn push_arrives(fanout: &RedisFanout, org: OrgId, n: u64) -> bool {
    let mut feed = fanout.local();
    let push = Push {
        org_id: Some(org),
        message: serde_json::json!({ "n": n }),
    };
    if fanout.publish(&push).await.is_err() {
        return false;
    }
    let deadline = tokio::time::sleep(Duration::from_millis(500));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            got = feed.recv() => match got {
                Ok(p) if *p == push => return true,
                Ok(_) => continue,
                Err(_) => return false,
            },
            _ = &mut deadline => return false,
        }
    }
}

#[tokio::test]
async fn the_cache_follows_the_master_through_sentinel_failovers() {
    if skip_engine_test("Redis (redis-server and its Sentinel mode)") {
        return;
    }
    let mut group = start().await;
    let (p1, p2, ps) = (
        group.servers[0].port,
        group.servers[1].port,
        group.sentinel.port,
    );
    let url = format!("redis+sentinel://127.0.0.1:{ps}/{MASTER}");
    let cache = RedisCache::connect(&url, "sentinel-test:").await.unwrap();
    let fanout = RedisFanout::connect(&url, "sentinel-test:").await.unwrap();
    let org = OrgId::new();

    cache
        .set("before", b"kept", Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(
        cache
            .incr_in_window("count", Duration::from_secs(600))
            .await
            .unwrap()
            .0,
        1
    );
    cache.ping().await.unwrap();
    assert!(
        push_arrives(&fanout, org, 0).await,
        "the fan-out works before"
    );
    replicated(p1).await;

    // The master dies: Sentinel promotes the replica, the cache follows.
    group.servers[0].kill();
    let failed = set_until_it_works(&cache, "after", b"written").await;
    eprintln!("{failed} writes failed while Sentinel promoted the replica");
    assert_eq!(
        named_master(ps).await,
        Some(p2),
        "Sentinel promoted the replica"
    );
    assert_eq!(role(p2).await, "master");
    assert_eq!(
        cache.get("before").await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(
        cache
            .incr_in_window("count", Duration::from_secs(600))
            .await
            .unwrap()
            .0,
        2,
        "the counter goes on from where it was"
    );
    let mut direct = client(p2).await;
    let stored: Option<Vec<u8>> = redis::cmd("GET")
        .arg("sentinel-test:after")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert_eq!(
        stored.as_deref(),
        Some(&b"written"[..]),
        "the write went to the new master"
    );
    let mut n = 1;
    eventually(
        "the fan-out resubscribes on the new master",
        Duration::from_secs(20),
        || {
            n += 1;
            push_arrives(&fanout, org, n)
        },
    )
    .await;

    // The old master comes back: Sentinel makes it a replica of the new one.
    group.servers[0] = redis_server(&group.dir, p1, None);
    eventually(
        "the old master rejoins as a replica",
        Duration::from_secs(30),
        || async { role(p1).await == "slave" },
    )
    .await;
    in_sync(p1).await;
    replicated(p2).await;

    // A failover with the master up: it is demoted, its clients are cut, and the cache,
    // reconnecting to it, gets READONLY for writes until it moves to the new master. A
    // cache that runs no command and checks only every ten minutes moves too: the
    // Sentinel's announcement of the switch is what moves it.
    let quiet = RedisCache::connect(&format!("{url}?check_secs=600"), "sentinel-test:")
        .await
        .unwrap();
    assert_eq!(quiet.server(), format!("127.0.0.1:{p2}"));
    let mut s = client(ps).await;
    let _: () = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(MASTER)
        .query_async(&mut s)
        .await
        .unwrap();
    eventually(
        "Sentinel names the old master again",
        Duration::from_secs(30),
        || async { named_master(ps).await == Some(p1) && role(p1).await == "master" },
    )
    .await;
    eventually(
        "the demoted master is a replica",
        Duration::from_secs(30),
        || async { role(p2).await == "slave" },
    )
    .await;
    eventually(
        "the quiet cache follows the announced master",
        Duration::from_secs(30),
        || async { quiet.server() == format!("127.0.0.1:{p1}") },
    )
    .await;
    let failed = set_until_it_works(&cache, "demoted", b"moved").await;
    eprintln!("{failed} writes failed after the demotion");
    let mut direct = client(p1).await;
    let stored: Option<Vec<u8>> = redis::cmd("GET")
        .arg("sentinel-test:demoted")
        .query_async(&mut direct)
        .await
        .unwrap();
    assert_eq!(stored.as_deref(), Some(&b"moved"[..]));
    assert_eq!(
        cache.get("before").await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
}

#[tokio::test]
async fn a_master_no_sentinel_knows_or_sentinels_that_do_not_answer_are_refused() {
    if skip_engine_test("Redis (redis-server and its Sentinel mode)") {
        return;
    }
    let group = start().await;
    let ps = group.sentinel.port;
    let err = RedisCache::connect(
        &format!("redis+sentinel://127.0.0.1:{ps}/nosuchmaster"),
        "x:",
    )
    .await
    .err()
    .expect("an unknown master is refused");
    assert!(err.to_string().contains("nosuchmaster"), "{err}");

    let nobody = free_port();
    let err = RedisCache::connect(
        &format!("redis+sentinel://127.0.0.1:{nobody}/{MASTER}"),
        "x:",
    )
    .await
    .err()
    .expect("Sentinels that do not answer are refused");
    assert!(
        err.to_string().to_lowercase().contains("refused"),
        "the error says the Sentinel refused the connection: {err}"
    );

    // A Sentinel that does not answer, listed first, is passed over.
    let url = format!("redis+sentinel://127.0.0.1:{nobody},127.0.0.1:{ps}/{MASTER}");
    let cache = RedisCache::connect(&url, "x:").await.unwrap();
    cache.ping().await.unwrap();
}
