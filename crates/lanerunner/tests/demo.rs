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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_with_a_rate_model_and_keeps_a_published_one() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let ml = app
        .app()
        .typed::<lanerunner_ml::MlService>()
        .expect("the ml service runs");
    lanerunner::demo::seed_rate_model(&ml, 3).await.unwrap();
    let version = ml
        .rates()
        .served()
        .expect("a model is active")
        .version
        .clone();
    // Started again, the demo keeps the active model rather than training another.
    lanerunner::demo::seed_rate_model(&ml, 3).await.unwrap();
    assert_eq!(ml.rates().served().unwrap().version, version);

    let broker = app.signup("demo-quote@example.com", "broker").await;
    let p = json_of(
        app.get(
            "/v1/rates/predict?origin=Chicago,%20IL&destination=Dallas,%20TX&equipment=R",
            Some(&broker.access),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["model_version"], version.as_str());
    assert!(p["rate_cents"].as_i64().unwrap() > 50_000, "{p}");
}
