//! The market archive: bookings and postings analytics accepted are written as Parquet
//! through the blob seam, partitioned by dataset and day — to the local directory on
//! every stack, and to an S3-compatible bucket (a local moto server) — and a booking
//! whose event arrives twice is archived once.

use std::time::Duration;

use bytes::Bytes;
use lanerunner::both_backends;
use lanerunner::testing::{at, book, dallas_atlanta_load, skip_engine_test, Backend, TestApp};
use lanerunner_platform::blob::{self, Blobs};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;
use serde_json::json;

/// Every archived file of `dataset` (path, rows' first column), once at least `rows` rows
/// are there; panics after 15 s.
async fn archived(blobs: &Blobs, dataset: &str, rows: usize) -> Vec<(String, Vec<String>)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mut files = Vec::new();
        for key in blobs.list(&format!("archive/{dataset}")).await.unwrap() {
            let bytes = Bytes::from(blobs.get(&key).await.unwrap());
            let reader = SerializedFileReader::new(bytes).unwrap();
            let ids: Vec<String> = reader
                .get_row_iter(None)
                .unwrap()
                .map(|r| r.unwrap().get_string(0).unwrap().clone())
                .collect();
            files.push((key, ids));
        }
        let n: usize = files.iter().map(|f| f.1.len()).sum();
        if n >= rows || tokio::time::Instant::now() > deadline {
            assert!(n >= rows, "{n} of {rows} {dataset} archived: {files:?}");
            return files;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

both_backends!(
    async fn accepted_records_reach_the_parquet_archive_once(app: TestApp) {
        let blobs = blob::open(&app.config.blob, &app.config.data_dir).unwrap();
        let broker = app.signup("archive-b@example.com", "broker").await;
        let carrier = app.signup("archive-c@example.com", "carrier").await;
        let mut sub = app
            .app()
            .bus()
            .subscribe_broadcast(&["load.booked.#"])
            .await
            .unwrap();
        for rate in [200_000, 210_000, 220_000] {
            book(&app, &broker, &carrier, &dallas_atlanta_load("AR", rate)).await;
        }
        let truck = json!({"equipment": "V", "trailer_length_ft": 53, "available_at": {"place": "Dallas, TX"},
            "available_from": at(1, 6), "available_until": at(6, 18), "max_deadhead_miles": 100});
        assert!(app
            .post_json("/v1/trucks", &truck, Some(&carrier.access))
            .await
            .status()
            .is_success());

        let bookings = archived(&blobs, "bookings", 3).await;
        let today = chrono::Utc::now().date_naive();
        for (path, _) in &bookings {
            assert!(
                path.starts_with(&format!("archive/bookings/date={today}/part-")),
                "{path}"
            );
            assert!(path.ends_with(".parquet"), "{path}");
        }
        // Three loads posted and one truck.
        archived(&blobs, "postings", 4).await;

        // The same booking again under a new event id (a producer's retry): stored once,
        // archived once.
        let first = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap();
        let mut again = first.event.clone();
        again.id = uuid::Uuid::now_v7();
        app.app().bus().publish(&again).await.unwrap();
        book(&app, &broker, &carrier, &dallas_atlanta_load("AR", 230_000)).await;
        let bookings = archived(&blobs, "bookings", 4).await;
        let mut ids: Vec<&String> = bookings.iter().flat_map(|f| &f.1).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!((n, ids.len()), (4, 4), "{bookings:?}");
    }
);

/// The same archive in an S3 bucket: moto's server on 127.0.0.1:5000 (`scripts/s3.sh`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_goes_to_an_s3_bucket() {
    if skip_engine_test("an S3 server (moto, scripts/s3.sh)") {
        return;
    }
    let app = TestApp::spawn_with(Backend::Sqlite, lanerunner::testing::use_local_s3).await;
    let blobs = blob::open(&app.config.blob, &app.config.data_dir).unwrap();
    let broker = app.signup("s3-b@example.com", "broker").await;
    let carrier = app.signup("s3-c@example.com", "carrier").await;
    book(&app, &broker, &carrier, &dallas_atlanta_load("S3", 250_000)).await;
    let files = archived(&blobs, "bookings", 1).await;
    assert_eq!(files.len(), 1, "{files:?}");
    // Nothing went to the local directory.
    assert!(!app.config.data_dir.join("blobs/archive").exists());
}
