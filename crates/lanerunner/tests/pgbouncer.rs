//! LaneRunner behind a real PgBouncer (Debian's 1.18, `scripts/pgbouncer.sh`: transaction
//! pooling on 127.0.0.1:6439, at most 4 server connections per database and user) with
//! `database.pooling = "transaction"`: every service's SQL runs in transactions that name
//! its schema, with unnamed prepared statements, and migrations connect directly
//! (`database.direct_url`).
//!
//! Six brokers and six carriers take loads from posting to a complete paperwork checklist
//! and a payout offer at once (loads, documents, payments, identity, matching, the outbox
//! and inbox of each) while two instances share the pooler: everything succeeds, the
//! services' dozens of client connections are served by at most four server connections,
//! and each service reads and writes only its own schema. Connected the default way
//! (`session`), the same pooler is refused at start with what to set.

use std::process::Command;

use lanerunner::testing::{
    complete_paperwork, poll, skip_engine_test, through_pgbouncer, Backend, TestApp, PGBOUNCER_PORT,
};
use lanerunner_platform::Config;
use serde_json::json;

/// `default_pool_size` in scripts/pgbouncer.sh.
const SERVER_CONNECTIONS: usize = 4;

fn database_of(config: &Config) -> String {
    let url = reqwest::Url::parse(config.database.direct_url.as_deref().unwrap()).unwrap();
    url.path().trim_start_matches('/').to_string()
}

/// Rows of `sql` run by psql at `port` on `database`, `|`-separated fields.
fn psql(port: u16, database: &str, sql: &str) -> Vec<Vec<String>> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(["-d", database, "-AtX", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_service_runs_through_a_transaction_pooler() {
    if skip_engine_test("PostgreSQL and PgBouncer") {
        return;
    }
    let app = TestApp::spawn_with(Backend::Postgres, through_pgbouncer).await;
    let sibling = app.spawn_sibling().await;
    let database = database_of(&app.config);

    let pairs = (0..6).map(|i| {
        let app = if i % 2 == 0 { &app } else { &sibling };
        async move {
            let broker = app.signup(&format!("pgb-broker-{i}@example.com"), "broker").await;
            let carrier = app
                .signup(&format!("pgb-carrier-{i}@example.com"), "carrier")
                .await;
            let reference = format!("PGB-{i}");
            complete_paperwork(app, &broker, &carrier, &reference, 200_000 + i * 1_000).await;
            // The payout offer's ledger entry, written by the payments service's consumer.
            let account = format!("payable:carrier:{}", carrier.org_id);
            poll(app, "/v1/payments/ledger/balances", &broker, |b| {
                b.as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["account"] == account.as_str())
            })
            .await;
            // A truck posted and found: the matching service's writes and its search.
            let truck = json!({"equipment": "V", "available_at": {"place": "Dallas, TX"},
                "available_from": lanerunner::testing::at(1, 6), "available_until": lanerunner::testing::at(4, 18),
                "max_deadhead_miles": 200});
            let res = app.post_json("/v1/trucks", &truck, Some(&carrier.access)).await;
            assert_eq!(res.status(), 201, "post a truck");
            poll(
                app,
                "/v1/trucks/search?origin=Dallas,%20TX&radius_miles=300",
                &broker,
                |b| b.as_array().is_some_and(|i| !i.is_empty()),
            )
            .await;
            (broker, reference)
        }
    });
    let done = futures::future::join_all(pairs).await;

    // Each broker sees its own load, and only it: the organization scoping and the
    // schemas both held with server connections passed from client to client.
    for (broker, reference) in &done {
        let res = app.get("/v1/loads", Some(&broker.access)).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        let refs: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["reference"].as_str().unwrap())
            .collect();
        assert_eq!(refs, vec![reference.as_str()]);
    }

    // The pooler lent few server connections to many clients.
    let clients = psql(PGBOUNCER_PORT, "pgbouncer", "SHOW CLIENTS")
        .into_iter()
        .filter(|row| row.get(2) == Some(&database))
        .count();
    let servers = psql(
        5432,
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}' AND backend_type = 'client backend'"
        ),
    )[0][0]
        .parse::<usize>()
        .unwrap();
    assert!(
        servers <= SERVER_CONNECTIONS,
        "{servers} server connections for a pool of {SERVER_CONNECTIONS}"
    );
    assert!(
        clients > 2 * SERVER_CONNECTIONS,
        "only {clients} client connections: the test did not make them share"
    );
    eprintln!("{clients} client connections served by {servers} server connections");

    // Every service's tables are in its own schema: nothing was created in `public`
    // (where a statement that lost its schema would have landed).
    let stray = psql(
        5432,
        &database,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    assert!(stray.is_empty(), "tables in public: {stray:?}");
}

#[tokio::test]
async fn a_pooler_connected_the_session_way_is_refused_with_what_to_set() {
    if skip_engine_test("PostgreSQL and PgBouncer") {
        return;
    }
    // A database that exists (the machine's `test`), reached through the pooler without
    // saying so: sqlx names the schema in a startup parameter PgBouncer 1.18 refuses.
    let mut config = Config::default();
    config.database.url = Some(format!(
        "postgres://postgres@127.0.0.1:{PGBOUNCER_PORT}/test"
    ));
    let err = lanerunner_platform::db::connect(&config, "pgbouncer_probe")
        .await
        .expect_err("a transaction pooler cannot take session settings");
    let message = format!("{err:#}");
    assert!(
        message.contains("database.pooling") && message.contains("direct_url"),
        "{message}"
    );
}
