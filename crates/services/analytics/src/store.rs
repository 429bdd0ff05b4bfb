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
use crate::kpis::{BrokerLoad, KpiChange};

/// Whether the booking is new (a redelivered one is not).
pub async fn insert_booking(tx: &mut Tx, r: &BookingRecord) -> sqlx::Result<bool> {
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
    .map(|d| d.rows_affected() == 1))
}

/// Whether the posting is new.
pub async fn insert_posting(tx: &mut Tx, p: &PostingRecord) -> sqlx::Result<bool> {
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
    .map(|d| d.rows_affected() == 1))
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

/// Applies one KPI change to the broker's load record. A change for a load the broker
/// never posted (a booking of a load covered straight from draft) starts no record: the
/// KPIs are about postings.
pub async fn apply_kpi(tx: &mut Tx, org: OrgId, change: &KpiChange) -> sqlx::Result<()> {
    match *change {
        KpiChange::Posted {
            load_id,
            posted_at,
            posted_rate_cents,
            delivery_due,
        } => on_tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO broker_loads (load_id, org_id, posted_at, posted_rate_cents, delivery_due) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (load_id) DO UPDATE SET \
             posted_rate_cents = excluded.posted_rate_cents, delivery_due = excluded.delivery_due"
        )
        .bind(load_id)
        .bind(org)
        .bind(posted_at)
        .bind(posted_rate_cents)
        .bind(delivery_due)
        .execute(c)
        .await
        .map(|_| ())
        }),
        KpiChange::Booked {
            load_id,
            booked_at,
            booked_rate_cents,
            carrier_org_id,
        } => on_tx!(tx, |c| {
            sqlx::query(
            "UPDATE broker_loads SET booked_at = $3, booked_rate_cents = $4, carrier_org_id = $5 \
             WHERE org_id = $1 AND load_id = $2"
        )
        .bind(org)
        .bind(load_id)
        .bind(booked_at)
        .bind(booked_rate_cents)
        .bind(carrier_org_id)
        .execute(c)
        .await
        .map(|_| ())
        }),
        KpiChange::Delivered { load_id, at } => on_tx!(tx, |c| sqlx::query(
            "UPDATE broker_loads SET delivered_at = $3 WHERE org_id = $1 AND load_id = $2"
        )
        .bind(org)
        .bind(load_id)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ())),
        KpiChange::Ended { load_id, outcome } => on_tx!(tx, |c| sqlx::query(
            "UPDATE broker_loads SET outcome = $3 WHERE org_id = $1 AND load_id = $2"
        )
        .bind(org)
        .bind(load_id)
        .bind(outcome.as_str())
        .execute(c)
        .await
        .map(|_| ())),
    }
}

/// The broker's loads posted in `[from, to)`.
pub async fn broker_loads(
    db: &Db,
    org: OrgId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<BrokerLoad>> {
    on_db!(db, |p| {
        sqlx::query_as(
        "SELECT posted_at, posted_rate_cents, delivery_due, booked_at, booked_rate_cents, delivered_at, outcome, \
         carrier_org_id \
         FROM broker_loads WHERE org_id = $1 AND posted_at >= $2 AND posted_at < $3"
    )
    .bind(org)
    .bind(from)
    .bind(to)
    .fetch_all(p)
    .await
    })
}
