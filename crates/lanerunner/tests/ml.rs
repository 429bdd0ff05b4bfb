//! The rate model service over real HTTP, on SQLite, on PostgreSQL and on the full stack:
//! no prediction before a model is active; then rates with intervals, an unseen lane said
//! so; bad quotes refused with every field named; batch quotes answered one by one; loads
//! booked through the loads service reach the model's market through analytics (the lane
//! gains reports, comparables show once enough companies booked, outcomes are watched);
//! a corrupt model file is refused while the served one keeps serving; and a version
//! activated or rolled back on one instance reaches another without a restart.

use std::sync::OnceLock;

use lanerunner::both_backends;
use lanerunner::testing::{
    at, book, dallas_atlanta_load, expect_problem, json_of, poll, Backend, TestApp,
};
use lanerunner_market::{SimParams, Simulator};
use lanerunner_ml::MlService;
use lanerunner_ratemodel::gbdt::Params;
use lanerunner_ratemodel::{encode, examples, vocab_of, FitOptions, RateModel};
use reqwest::StatusCode;
use serde_json::json;

/// Two small models trained once for the whole binary (different seeds, so different
/// versions).
fn model_file(seed: u64) -> Vec<u8> {
    static FILES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        [1u64, 2]
            .iter()
            .map(|&seed| {
                let params = SimParams {
                    seed,
                    days: 21,
                    loads_per_day: 400,
                    ..SimParams::default()
                };
                let (mut bookings, mut postings) = (Vec::new(), Vec::new());
                for d in Simulator::new(params).unwrap() {
                    bookings.extend(d.bookings);
                    postings.extend(d.postings);
                }
                let vocab = vocab_of(&bookings);
                let (ex, _) = examples(&bookings, &postings, &vocab);
                let opts = FitOptions {
                    params: Params {
                        rounds: 30,
                        num_leaves: 15,
                        ..Params::default()
                    },
                    ..FitOptions::default()
                };
                encode(&RateModel::fit(&ex, 0..ex.len(), &vocab, &opts).unwrap())
            })
            .collect()
    });
    files[(seed - 1) as usize].clone()
}

fn rates(app: &TestApp) -> std::sync::Arc<MlService> {
    app.app().typed::<MlService>().expect("the ml service runs")
}

const QUOTE: &str = "/v1/rates/predict?origin=Dallas,%20TX&destination=Atlanta,%20GA&equipment=V";

both_backends!(
    async fn rates_are_predicted_once_a_model_is_active(app: TestApp) {
        let broker = app.signup("b@example.com", "broker").await;
        expect_problem(
            app.get(QUOTE, Some(&broker.access)).await,
            503,
            "unavailable",
        )
        .await;
        // Bad input is bad input, model or none.
        expect_problem(
            app.get(
                "/v1/rates/predict?origin=&destination=Atlanta,%20GA&equipment=V",
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;

        let svc = rates(&app);
        let version = svc.rates().publish(model_file(1), true).await.unwrap();
        let p = json_of(app.get(QUOTE, Some(&broker.access)).await, StatusCode::OK).await;
        assert_eq!(p["model_version"], version.as_str());
        assert_eq!(p["origin"]["market"], "DAL-TX");
        assert_eq!(p["destination"]["market"], "ATL-GA");
        let miles = p["miles"].as_f64().unwrap();
        assert!((700.0..900.0).contains(&miles), "{p}");
        let (rate, low, high) = (
            p["rate_cents"].as_i64().unwrap(),
            p["interval"]["low_cents"].as_i64().unwrap(),
            p["interval"]["high_cents"].as_i64().unwrap(),
        );
        assert!(low < rate && rate < high, "{p}");
        let per_mile = p["rate_per_mile_cents"].as_i64().unwrap();
        assert!((150..600).contains(&per_mile), "{p}");
        assert_eq!(p["interval"]["coverage"], 0.8);
        // Nothing booked on this deployment yet: the lane is unseen, and says so.
        assert_eq!(p["support"]["level"], "unseen");
        assert!(
            p["support"]["note"].as_str().unwrap().contains("wider"),
            "{p}"
        );
        assert_eq!(p["comparables"]["bookings"], json!([]));
        assert!(p["comparables"]["withheld"].is_string());
        // Contract freight is priced too, and not higher than spot's interval top.
        let c = json_of(
            app.get(
                &format!("{QUOTE}&kind=contract&pickup={}", &at(10, 0)[..10]),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(c["kind"], "contract");

        // Every bad field at once.
        let bad = expect_problem(
            app.get(
                &format!("/v1/rates/predict?origin=Nowhereville,%20ZZ&destination=Atlanta,%20GA&equipment=BOAT&kind=barter&weight_lbs=0&pickup={}", &at(400, 0)[..10]),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        let fields: Vec<&str> = bad["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for f in ["origin", "equipment", "kind", "weight_lbs", "pickup"] {
            assert!(fields.contains(&f), "{f} missing from {bad}");
        }
        let past = expect_problem(
            app.get(&format!("{QUOTE}&pickup=2001-01-01"), Some(&broker.access))
                .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(past["errors"][0]["field"], "pickup");
        let same = expect_problem(
            app.get(
                "/v1/rates/predict?origin=Dallas,%20TX&destination=Dallas,%20TX&equipment=V",
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert_eq!(same["errors"][0]["field"], "destination");

        // A batch: each quote answered on its own.
        let batch = json_of(
            app.post_json(
                "/v1/rates/predict",
                &json!({"quotes": [
                    {"origin": "Chicago, IL", "destination": "Dallas, TX", "equipment": "R"},
                    {"origin": "Chicago, IL", "destination": "Dallas, TX", "equipment": "ZZ"},
                    {"origin": "Los Angeles, CA", "destination": "Phoenix, AZ", "equipment": "V", "kind": "contract"}
                ]}),
                Some(&broker.access),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let r = batch["results"].as_array().unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0]["prediction"]["origin"]["market"], "CHI-IL");
        assert_eq!(r[1]["errors"][0]["field"], "equipment");
        assert!(r[1].get("prediction").is_none());
        assert_eq!(r[2]["prediction"]["kind"], "contract");
        expect_problem(
            app.post_json(
                "/v1/rates/predict",
                &json!({"quotes": []}),
                Some(&broker.access),
            )
            .await,
            422,
            "validation",
        )
        .await;

        // Unauthenticated callers get nothing.
        expect_problem(app.get(QUOTE, None).await, 401, "unauthenticated").await;
    }

    async fn booked_loads_feed_the_model_and_its_monitoring(app: TestApp) {
        let svc = rates(&app);
        svc.rates().publish(model_file(1), true).await.unwrap();
        let b1 = app.signup("b1@example.com", "broker").await;
        let b2 = app.signup("b2@example.com", "broker").await;
        let b3 = app.signup("b3@example.com", "broker").await;
        let carrier = app.signup("c@example.com", "carrier").await;
        for (broker, rate) in [
            (&b1, 200_000),
            (&b1, 210_000),
            (&b1, 220_000),
            (&b2, 230_000),
            (&b2, 240_000),
            (&b2, 250_000),
        ] {
            book(&app, broker, &carrier, &dallas_atlanta_load("ML", rate)).await;
        }
        // Six reports from two companies: the lane is known, its bookings withheld.
        let p = poll(&app, QUOTE, &b1, |p| p["support"]["lane_reports_30d"] == 6).await;
        assert_eq!(p["support"]["level"], "some");
        assert_eq!(p["comparables"]["companies"], 2);
        assert_eq!(p["comparables"]["bookings"], json!([]));
        book(&app, &b3, &carrier, &dallas_atlanta_load("ML", 260_000)).await;
        let p = poll(&app, QUOTE, &b1, |p| p["comparables"]["reports"] == 7).await;
        let shown = p["comparables"]["bookings"].as_array().unwrap();
        assert_eq!(shown.len(), 7, "{p}");
        assert_eq!(shown[0]["rate_cents"], 260_000, "newest first");
        assert_eq!(shown[0]["origin"], "Dallas, TX");
        assert!(
            shown[0].get("broker_org_id").is_none(),
            "no company named: {p}"
        );

        // Each booking was priced before it was known: seven outcomes.
        let m = poll(&app, "/v1/rates/monitoring?days=7", &b1, |m| {
            m["loads"] == 7
        })
        .await;
        assert!(m["mape"].as_f64().unwrap() >= 0.0);
        assert_eq!(m["status"], "insufficient-data");
        assert_eq!(m["daily"].as_array().unwrap().len(), 1);
        expect_problem(
            app.get("/v1/rates/monitoring?days=0", Some(&b1.access))
                .await,
            422,
            "validation",
        )
        .await;
    }

    async fn a_bad_model_file_is_refused_and_versions_switch_without_a_restart(app: TestApp) {
        let svc = rates(&app);
        let first = svc.rates().publish(model_file(1), true).await.unwrap();
        let broker = app.signup("b@example.com", "broker").await;
        assert!(matches!(
            svc.rates().rollback().await,
            Err(lanerunner_ml::error::MlError::NothingToRollBack)
        ));

        // Corrupt, truncated and foreign files are refused; the served model stays.
        let mut corrupt = model_file(2);
        let n = corrupt.len();
        corrupt[n - 20] ^= 0x01;
        for bad in [
            corrupt,
            model_file(2)[..1000].to_vec(),
            b"not a model".to_vec(),
        ] {
            let e = svc.rates().publish(bad, true).await.unwrap_err();
            assert!(
                matches!(e, lanerunner_ml::error::MlError::Artifact(_)),
                "{e}"
            );
        }
        let p = json_of(app.get(QUOTE, Some(&broker.access)).await, StatusCode::OK).await;
        assert_eq!(p["model_version"], first.as_str());

        // A second instance (where the store is shared: not SQLite, one process's file);
        // the new version is activated on the first one and reaches the other.
        let other = match app.backend {
            Backend::Sqlite => None,
            _ => Some(app.spawn_sibling().await),
        };
        let reader = other.as_ref().unwrap_or(&app);
        let second = svc.rates().publish(model_file(2), true).await.unwrap();
        assert_ne!(first, second);
        poll(reader, QUOTE, &broker, |p| {
            p["model_version"] == second.as_str()
        })
        .await;

        // Rollback: the earlier version again, everywhere.
        assert_eq!(svc.rates().rollback().await.unwrap(), first);
        poll(reader, QUOTE, &broker, |p| {
            p["model_version"] == first.as_str()
        })
        .await;
        let models = json_of(
            app.get("/v1/rates/models", Some(&broker.access)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(models["active"], first.as_str());
        assert_eq!(models["serving"], first.as_str());
        assert_eq!(models["models"].as_array().unwrap().len(), 2);
        assert_eq!(models["activations"].as_array().unwrap().len(), 3);
        assert!(models["models"][0]["provenance"]["data_fingerprint"].is_string());
        // An unknown version is refused.
        assert!(svc.rates().activate("no-such-version").await.is_err());
        drop(other);
    }
);
