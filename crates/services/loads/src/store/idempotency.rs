//! Idempotency keys of load creation.
//!
//! A create claims its key first, inside its own transaction, with an insert that the
//! primary key (`org_id`, `key`) arbitrates: `ON CONFLICT DO NOTHING` lets exactly one
//! request in, and a concurrent one waits on PostgreSQL's row lock (on SQLite, on the write
//! lock `BEGIN IMMEDIATE` takes) until the first commits, then finds its stored response.
//! The claim and the response commit together, so a committed claim without a response is
//! not expected; should one be read it is "in flight", never a default response.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_tx, Tx};
use sqlx::types::Json;

/// The `response_status` of a claim whose response is not written yet.
const CLAIMED: i32 = 0;

/// What a key holds.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredResponse {
    /// Claimed by a request that has not finished.
    InFlight { request_hash: String },
    Done {
        request_hash: String,
        status: i32,
        body: serde_json::Value,
    },
}

/// Claims `key` for a request whose body hashes to `request_hash`; false when another
/// request holds it (committed, or waited for until it committed).
pub async fn claim_idempotency(
    tx: &mut Tx,
    org: OrgId,
    key: &str,
    request_hash: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO idempotency_keys (org_id, key, request_hash, response_status, response_body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, key) DO NOTHING",
        )
        .bind(org)
        .bind(key)
        .bind(request_hash)
        .bind(CLAIMED)
        .bind(Json(serde_json::Value::Null))
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1)
    })
}

/// Stores the response of the request that claimed `key`.
pub async fn complete_idempotency(
    tx: &mut Tx,
    org: OrgId,
    key: &str,
    status: i32,
    body: &serde_json::Value,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = $3, response_body = $4 \
             WHERE org_id = $1 AND key = $2",
        )
        .bind(org)
        .bind(key)
        .bind(status)
        .bind(Json(body))
        .execute(c)
        .await
        .map(|_| ())
    })
}

/// What `key` holds, read in the claiming transaction (no second connection).
pub async fn get_idempotency(
    tx: &mut Tx,
    org: OrgId,
    key: &str,
) -> sqlx::Result<Option<StoredResponse>> {
    let row: Option<(String, i32, Json<serde_json::Value>)> = on_tx!(tx, |c| {
        sqlx::query_as(
            "SELECT request_hash, response_status, response_body FROM idempotency_keys \
             WHERE org_id = $1 AND key = $2",
        )
        .bind(org)
        .bind(key)
        .fetch_optional(c)
        .await
    })?;
    Ok(row.map(|(request_hash, status, body)| match status {
        CLAIMED => StoredResponse::InFlight { request_hash },
        status => StoredResponse::Done {
            request_hash,
            status,
            body: body.0,
        },
    }))
}
