//! `lanerunner serve --demo`'s driver against a real served LaneRunner: the demo accounts,
//! a simulated day of loads and trucks through the API, and what analytics learns from it.

use lanerunner::demo::{Demo, DEMO_PASSWORD};
use lanerunner::testing::{json_of, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_market_posts_books_and_feeds_analytics_and_survives_a_restart() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut demo = Demo::connect(&app.base_url(), 3, 60).await.unwrap();
    let mut posted = 0;
    for _ in 0..2 {
        posted += demo.step().await.unwrap();
    }
    assert!(posted > 40, "{posted} loads posted");

    // Anyone can sign in as a demo broker and see its loads, most of them covered.
    let login = json!({"email": "demo-broker-1@demo.lanerunner.dev", "password": DEMO_PASSWORD});
    let tokens = json_of(
        app.post_json("/v1/auth/login", &login, None).await,
        StatusCode::OK,
    )
    .await;
    let token = tokens["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let kpis: Value = loop {
        let k = json_of(
            app.get("/v1/analytics/kpis", Some(&token)).await,
            StatusCode::OK,
        )
        .await;
        if k["covered"].as_u64().unwrap_or(0) > 0 || tokio::time::Instant::now() > deadline {
            break k;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let (p, c) = (
        kpis["posted"].as_u64().unwrap(),
        kpis["covered"].as_u64().unwrap(),
    );
    assert!(p > 0 && c > 0 && c < p, "{kpis}");
    let markets = json_of(
        app.get("/v1/analytics/markets?equipment=V", Some(&token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        !markets["markets"].as_array().unwrap().is_empty(),
        "{markets}"
    );

    // A restart signs the same accounts in again instead of failing on their signup.
    let mut again = Demo::connect(&app.base_url(), 3, 60).await.unwrap();
    assert!(again.step().await.unwrap() > 0);
}
