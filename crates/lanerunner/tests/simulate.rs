//! `lanerunner simulate` as a user runs it.

use std::process::Command;

fn simulate(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lanerunner"))
        .args(["simulate", "--out"])
        .arg(out)
        .args([
            "--start",
            "2026-03-02",
            "--days",
            "3",
            "--loads-per-day",
            "200",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("lanerunner-simulate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_same_seed_writes_the_same_files_and_a_summary() {
    let (a, b) = (scratch("a"), scratch("b"));
    let out = simulate(&a, &["--seed", "5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("bookings") && summary.contains("rate/mile"),
        "{summary}"
    );
    assert!(simulate(&b, &["--seed", "5"]).status.success());
    for file in [
        "bookings.csv",
        "postings.csv",
        "bookings.parquet",
        "postings.parquet",
    ] {
        let (x, y) = (
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
        );
        assert!(!x.is_empty(), "{file}");
        assert_eq!(x, y, "{file} differs between two runs of one seed");
    }
    let csv = std::fs::read_to_string(a.join("bookings.csv")).unwrap();
    assert!(
        csv.starts_with("load_id,booked_at,pickup_date,origin_city"),
        "{}",
        &csv[..80]
    );
    let c = scratch("c");
    assert!(simulate(&c, &["--seed", "6", "--format", "csv"])
        .status
        .success());
    assert_ne!(
        std::fs::read(c.join("bookings.csv")).unwrap(),
        std::fs::read(a.join("bookings.csv")).unwrap()
    );
    assert!(!c.join("bookings.parquet").exists());
}

#[test]
fn bad_parameters_are_refused_with_a_reason() {
    let out = simulate(&scratch("bad"), &["--brokers", "2"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("brokers must be between 3"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_lanerunner"))
        .args(["simulate", "--out", "/tmp/x", "--days", "lots"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// `ml train` reads what `simulate` wrote as CSV or as Parquet alike (the Parquet files
/// share the analytics archive's schema), and names a directory with no bookings.
#[test]
fn the_rate_model_trains_on_csv_and_on_parquet_alike() {
    let train = |data: &std::path::Path, out: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_lanerunner"))
            .args(["ml", "train", "--data"])
            .arg(data)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let (csv, parquet) = (scratch("train-csv"), scratch("train-parquet"));
    for (dir, format) in [(&csv, "csv"), (&parquet, "parquet")] {
        let out = Command::new(env!("CARGO_BIN_EXE_lanerunner"))
            .args(["simulate", "--out"])
            .arg(dir)
            .args([
                "--days",
                "8",
                "--loads-per-day",
                "250",
                "--seed",
                "9",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(parquet.join("bookings.parquet").exists() && !parquet.join("bookings.csv").exists());
    let (a, b) = (csv.join("model.lrm"), parquet.join("model.lrm"));
    let mut counts = Vec::new();
    for (data, model) in [(&csv, &a), (&parquet, &b)] {
        let out = train(data, model);
        let said = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{said}");
        assert!(std::fs::metadata(model).unwrap().len() > 0);
        // "N bookings (K skipped: …), M postings": the same records either way.
        counts.push(said.lines().next().unwrap_or_default().to_string());
    }
    assert!(
        counts[0].contains("bookings") && counts[0].contains("postings"),
        "{counts:?}"
    );
    assert_eq!(counts[0], counts[1]);
    let empty = scratch("train-empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = train(&empty, &empty.join("model.lrm"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holds no bookings"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for dir in [csv, parquet, empty] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}
