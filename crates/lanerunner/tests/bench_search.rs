//! `lanerunner bench search` runs end to end at a tiny size: seeding through validation,
//! the board rebuilt at start-up, searches over HTTP and in-process agreeing. No timing.

use lanerunner::bench_search::{search, SearchBenchOptions, SearchStore};
use lanerunner::testing::{
    DEFAULT_TEST_AMQP_URL, DEFAULT_TEST_POSTGRES_URL, TEST_AMQP_URL_ENV, TEST_POSTGRES_URL_ENV,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_bench_seeds_rebuilds_and_agrees_over_http() {
    let report = search(SearchBenchOptions {
        loads: 200,
        queries: 20,
        concurrency: vec![2, 1],
        store: SearchStore::Sqlite,
        postgres_admin_url: String::new(),
        seed: 7,
        bus_url: None,
        lag_posts: 0,
    })
    .await
    .expect("the benchmark runs");
    assert!(
        report.starts_with("200 posted public loads on SQLite, 20 searches"),
        "{report}"
    );
    // Every search answered over HTTP, and the sampled first pages (searches 0 and 10)
    // equal the in-process ones.
    assert!(
        report.contains("in-process: 2/2 sampled searches"),
        "{report}"
    );
    let http_rows: Vec<&str> = report.lines().filter(|l| l.starts_with("| HTTP")).collect();
    assert_eq!(http_rows.len(), 2, "{report}");
    for row in http_rows {
        assert!(row.ends_with("| 0 |"), "{row}");
    }
    // The second start-up read the first one's snapshot.
    assert!(report.contains("- Start-up from the snapshot"), "{report}");
}

/// Two instances on PostgreSQL and RabbitMQ: every load posted on one shows on the other's
/// board (the lag line reports none missing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_bench_measures_the_lag_between_two_instances() {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let report = search(SearchBenchOptions {
        loads: 100,
        queries: 10,
        concurrency: vec![2],
        store: SearchStore::Postgres,
        postgres_admin_url: env(TEST_POSTGRES_URL_ENV, DEFAULT_TEST_POSTGRES_URL),
        seed: 11,
        bus_url: Some(env(TEST_AMQP_URL_ENV, DEFAULT_TEST_AMQP_URL)),
        lag_posts: 15,
    })
    .await
    .expect("the benchmark runs");
    let lag = report
        .lines()
        .find(|l| l.starts_with("- Post on one instance"))
        .unwrap_or_else(|| panic!("no lag line: {report}"));
    assert!(lag.contains("(PostgreSQL, RabbitMQ; 15 posts"), "{lag}");
    assert!(lag.contains("; 0 never showed within"), "{lag}");
}
