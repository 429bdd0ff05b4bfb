//! The rate model service's SQL, one text for both backends. Market records are keyed by
//! their source id and outcomes by (load, model version), so a redelivered event changes
//! nothing. Nothing here is any one organization's: the records are the market's, shown
//! only as gated aggregates or anonymized comparables.

use chrono::{DateTime, Utc};
use lanerunner_core::market::{BookingRecord, PostingRecord};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;

pub async fn insert_booking(tx: &mut Tx, r: &BookingRecord) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO market_bookings (load_id, booked_at, record) VALUES ($1, $2, $3) \
         ON CONFLICT (load_id) DO NOTHING"
    )
    .bind(r.load_id)
    .bind(r.booked_at)
    .bind(Json(r))
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn insert_posting(tx: &mut Tx, p: &PostingRecord) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO market_postings (posting_id, posted_at, record) VALUES ($1, $2, $3) \
         ON CONFLICT (posting_id) DO NOTHING"
    )
    .bind(p.id)
    .bind(p.posted_at)
    .bind(Json(p))
    .execute(c)
    .await
    .map(|_| ()))
}

/// Every kept booking and posting, oldest first: the training history.
pub async fn history(db: &Db) -> sqlx::Result<(Vec<BookingRecord>, Vec<PostingRecord>)> {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    Ok((
        bookings_since(db, epoch).await?,
        postings_since(db, epoch).await?,
    ))
}

/// Bookings from `since` on, oldest first.
pub async fn bookings_since(db: &Db, since: DateTime<Utc>) -> sqlx::Result<Vec<BookingRecord>> {
    let rows: Vec<(Json<BookingRecord>,)> = on_db!(db, |p| sqlx::query_as(
        "SELECT record FROM market_bookings WHERE booked_at >= $1 ORDER BY booked_at, load_id"
    )
    .bind(since)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(|r| r.0 .0).collect())
}

pub async fn postings_since(db: &Db, since: DateTime<Utc>) -> sqlx::Result<Vec<PostingRecord>> {
    let rows: Vec<(Json<PostingRecord>,)> = on_db!(db, |p| {
        sqlx::query_as(
        "SELECT record FROM market_postings WHERE posted_at >= $1 ORDER BY posted_at, posting_id"
    )
    .bind(since)
    .fetch_all(p)
    .await
    })?;
    Ok(rows.into_iter().map(|r| r.0 .0).collect())
}

/// A stored model version, without its bytes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModelRow {
    pub version: String,
    pub published_at: DateTime<Utc>,
    pub provenance: Json<serde_json::Value>,
}

/// Stores a checked model file; `false` when the version is already stored.
pub async fn insert_model(
    db: &Db,
    version: &str,
    provenance: &serde_json::Value,
    artifact: &[u8],
) -> sqlx::Result<bool> {
    on_db!(db, |p| {
        sqlx::query(
        "INSERT INTO rate_models (version, published_at, provenance, artifact) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (version) DO NOTHING"
    )
    .bind(version)
    .bind(Utc::now())
    .bind(Json(provenance))
    .bind(artifact)
    .execute(p)
    .await
    .map(|d| d.rows_affected() == 1)
    })
}

pub async fn models(db: &Db) -> sqlx::Result<Vec<ModelRow>> {
    on_db!(db, |p| {
        sqlx::query_as(
        "SELECT version, published_at, provenance FROM rate_models ORDER BY published_at DESC, version DESC"
    )
    .fetch_all(p)
    .await
    })
}

pub async fn artifact(db: &Db, version: &str) -> sqlx::Result<Option<Vec<u8>>> {
    on_db!(db, |p| sqlx::query_scalar(
        "SELECT artifact FROM rate_models WHERE version = $1"
    )
    .bind(version)
    .fetch_optional(p)
    .await)
}

pub async fn activate(db: &Db, version: &str) -> sqlx::Result<()> {
    on_db!(db, |p| sqlx::query(
        "INSERT INTO rate_model_activations (version, activated_at) VALUES ($1, $2)"
    )
    .bind(version)
    .bind(Utc::now())
    .execute(p)
    .await
    .map(|_| ()))
}

/// Activations, newest first: the first is the active version.
pub async fn activations(db: &Db, limit: i64) -> sqlx::Result<Vec<(String, DateTime<Utc>)>> {
    on_db!(db, |p| sqlx::query_as(
        "SELECT version, activated_at FROM rate_model_activations ORDER BY seq DESC LIMIT $1"
    )
    .bind(limit)
    .fetch_all(p)
    .await)
}

/// The model's answer for a load, recorded before its booking was folded in.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Outcome {
    pub load_id: uuid::Uuid,
    pub model_version: String,
    pub booked_at: DateTime<Utc>,
    pub log_rpm: f64,
    pub actual_cents: i64,
    pub predicted_cents: i64,
    pub low_cents: i64,
    pub high_cents: i64,
}

pub async fn insert_outcome(db: &Db, o: &Outcome) -> sqlx::Result<()> {
    on_db!(db, |p| {
        sqlx::query(
        "INSERT INTO rate_outcomes (load_id, model_version, booked_at, log_rpm, actual_cents, predicted_cents, low_cents, high_cents) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (load_id, model_version) DO NOTHING"
    )
    .bind(o.load_id)
    .bind(&o.model_version)
    .bind(o.booked_at)
    .bind(o.log_rpm)
    .bind(o.actual_cents)
    .bind(o.predicted_cents)
    .bind(o.low_cents)
    .bind(o.high_cents)
    .execute(p)
    .await
    .map(|_| ())
    })
}

pub async fn outcomes_since(db: &Db, since: DateTime<Utc>) -> sqlx::Result<Vec<Outcome>> {
    on_db!(db, |p| {
        sqlx::query_as(
        "SELECT load_id, model_version, booked_at, log_rpm, actual_cents, predicted_cents, low_cents, high_cents \
         FROM rate_outcomes WHERE booked_at >= $1 ORDER BY booked_at, load_id"
    )
    .bind(since)
    .fetch_all(p)
    .await
    })
}
