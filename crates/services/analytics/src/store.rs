//! The analytics service's SQL, one text for both backends. Ingested records are keyed by
//! their source id (`ON CONFLICT DO NOTHING`), so a redelivered event changes nothing;
//! quarantined events are read back only by the organization that published them.

use chrono::{DateTime, Utc};
use lanerunner_core::market::{BookingRecord, PostingRecord};
use lanerunner_core::{EventEnvelope, OrgId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use crate::ingest::Refused;

pub async fn insert_booking(tx: &mut Tx, r: &BookingRecord) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO bookings (load_id, broker_org_id, booked_at, record) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (load_id) DO NOTHING"
    )
    .bind(r.load_id)
    .bind(r.broker_org_id)
    .bind(r.booked_at)
    .bind(Json(r))
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn insert_posting(tx: &mut Tx, p: &PostingRecord) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO postings (posting_id, org_id, posted_at, record) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (posting_id) DO NOTHING"
    )
    .bind(p.id)
    .bind(p.org_id)
    .bind(p.posted_at)
    .bind(Json(p))
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn quarantine(tx: &mut Tx, event: &EventEnvelope, why: &Refused) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO quarantine (event_id, org_id, event_type, reason_code, reason, payload, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING"
    )
    .bind(event.id)
    .bind(event.org_id)
    .bind(&event.event_type)
    .bind(why.code)
    .bind(&why.reason)
    .bind(Json(&event.payload))
    .bind(Utc::now())
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Every ingested booking, oldest first (the index is rebuilt from these).
pub async fn all_bookings(db: &Db) -> sqlx::Result<Vec<BookingRecord>> {
    let rows: Vec<(Json<BookingRecord>,)> = on_db!(db, |p| sqlx::query_as(
        "SELECT record FROM bookings ORDER BY booked_at, load_id"
    )
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(|r| r.0 .0).collect())
}

pub async fn all_postings(db: &Db) -> sqlx::Result<Vec<PostingRecord>> {
    let rows: Vec<(Json<PostingRecord>,)> = on_db!(db, |p| sqlx::query_as(
        "SELECT record FROM postings ORDER BY posted_at, posting_id"
    )
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(|r| r.0 .0).collect())
}

/// A quarantined event as its publisher sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Quarantined {
    pub event_id: Uuid,
    pub event_type: String,
    /// Stable: `unreadable`, `no-lane`, `rate-out-of-range`, …
    pub reason_code: String,
    pub reason: String,
    #[schema(value_type = Object)]
    pub payload: Json<serde_json::Value>,
    pub received_at: DateTime<Utc>,
}

/// The organization's quarantined events, newest first.
pub async fn quarantined(db: &Db, org: OrgId, limit: i64) -> sqlx::Result<Vec<Quarantined>> {
    on_db!(db, |p| sqlx::query_as(
        "SELECT event_id, event_type, reason_code, reason, payload, received_at FROM quarantine \
         WHERE org_id = $1 ORDER BY received_at DESC, event_id LIMIT $2"
    )
    .bind(org)
    .bind(limit)
    .fetch_all(p)
    .await)
}
