//! The market archive: every record analytics accepted, also written as Parquet through
//! the blob seam, partitioned the way DuckDB and Spark read as they are:
//!
//! ```text
//! archive/bookings/date=2026-12-04/part-<first seq>-<last seq>.parquet
//! archive/postings/date=2026-12-04/part-….parquet
//! ```
//!
//! (the schemas of `lanerunner simulate`'s `bookings.parquet` and `postings.parquet`). The
//! ingest transaction that stores a record also queues it (`archive_queue`); a flusher on
//! every instance takes a batch, writes one file per dataset and day, and deletes exactly
//! the rows it wrote, in one transaction — so a record is archived at least once and, but
//! for a crash between the upload and the commit (the retry writes the same rows again
//! under the same name, replacing the file), exactly once. On PostgreSQL an advisory
//! lock lets one instance flush at a time; on SQLite the write lock does.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use lanerunner_core::market::{BookingRecord, PostingRecord};
use lanerunner_platform::blob::Blobs;
use lanerunner_platform::{on_tx, Db, Tx};
use serde::Serialize;
use sqlx::types::Json;

/// Rows one flush takes at most.
pub const BATCH: i64 = 50_000;

pub async fn enqueue<R: Serialize>(
    tx: &mut Tx,
    kind: &str,
    day: NaiveDate,
    record: &R,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO archive_queue (kind, day, record) VALUES ($1, $2, $3)"
    )
    .bind(kind)
    .bind(day.to_string())
    .bind(Json(record))
    .execute(c)
    .await
    .map(|_| ()))
}

/// The object name of a batch's file for one dataset and day.
pub fn file_name(kind: &str, day: &str, first: i64, last: i64) -> String {
    format!("archive/{kind}/date={day}/part-{first:020}-{last:020}.parquet")
}

type Row = (i64, String, String, Json<serde_json::Value>);

fn parquet(kind: &str, rows: Vec<serde_json::Value>) -> anyhow::Result<Vec<u8>> {
    Ok(match kind {
        "bookings" => {
            let r: Vec<BookingRecord> = rows
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()?;
            lanerunner_market::bookings_parquet(&r)?
        }
        "postings" => {
            let r: Vec<PostingRecord> = rows
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()?;
            lanerunner_market::postings_parquet(&r)?
        }
        other => anyhow::bail!("archive_queue holds an unknown dataset {other:?}"),
    })
}

/// Writes one batch; the number of records archived (0 when another instance holds the
/// flush or nothing waits).
pub async fn flush(db: &Db, blobs: &Blobs) -> anyhow::Result<usize> {
    let mut tx = db.begin().await?;
    if let Tx::Postgres(t) = &mut tx {
        let mine: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext('analytics.archive'))")
                .fetch_one(&mut t.conn())
                .await?;
        if !mine {
            tx.rollback().await?;
            return Ok(0);
        }
    }
    let rows: Vec<Row> = on_tx!(&mut tx, |c| sqlx::query_as(
        "SELECT seq, kind, day, record FROM archive_queue ORDER BY seq LIMIT $1"
    )
    .bind(BATCH)
    .fetch_all(c)
    .await)?;
    if rows.is_empty() {
        tx.rollback().await?;
        return Ok(0);
    }
    let n = rows.len();
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut groups: BTreeMap<(String, String), (i64, i64, Vec<serde_json::Value>)> =
        BTreeMap::new();
    for (seq, kind, day, record) in rows {
        let g = groups.entry((kind, day)).or_insert((seq, seq, Vec::new()));
        g.1 = seq;
        g.2.push(record.0);
    }
    for ((kind, day), (first, last, records)) in groups {
        let bytes = parquet(&kind, records)?;
        blobs
            .put(&file_name(&kind, &day, first, last), bytes)
            .await?;
    }
    // Exactly the rows written: on PostgreSQL a row with a smaller seq may commit after
    // this batch was read, and must wait for the next one.
    match &mut tx {
        Tx::Postgres(t) => {
            sqlx::query("DELETE FROM archive_queue WHERE seq = ANY($1)")
                .bind(&seqs)
                .execute(&mut t.conn())
                .await?;
        }
        // The write lock (BEGIN IMMEDIATE) was held since the read: no row came in between.
        Tx::Sqlite(t) => {
            sqlx::query("DELETE FROM archive_queue WHERE seq >= $1 AND seq <= $2")
                .bind(seqs[0])
                .bind(seqs[n - 1])
                .execute(&mut **t)
                .await?;
        }
    }
    tx.commit().await?;
    metrics::counter!("lanerunner_analytics_archived_total").increment(n as u64);
    Ok(n)
}
