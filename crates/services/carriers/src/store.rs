//! The carriers service's SQL, one text for both backends.

use chrono::{DateTime, NaiveDate, Utc};
use lanerunner_core::{OrgId, UserId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthorityRow {
    pub carrier_org_id: OrgId,
    pub usdot_number: i64,
    pub mc_number: Option<i64>,
    pub insurance_expires_on: Option<NaiveDate>,
    pub source: String,
    pub standing: String,
    pub reasons: Json<Vec<String>>,
    pub record: Option<Json<serde_json::Value>>,
    pub legal_name: Option<String>,
    pub checked_at: DateTime<Utc>,
    pub next_check_at: DateTime<Utc>,
    pub version: i64,
    pub declared_by: Option<UserId>,
    pub declared_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "carrier_org_id, usdot_number, mc_number, insurance_expires_on, source, standing, \
    reasons, record, legal_name, checked_at, next_check_at, version, declared_by, declared_at";

pub async fn get(db: &Db, carrier: OrgId) -> sqlx::Result<Option<AuthorityRow>> {
    let sql = format!("SELECT {COLUMNS} FROM carrier_authority WHERE carrier_org_id = $1");
    on_db!(db, |c| sqlx::query_as::<_, AuthorityRow>(&sql)
        .bind(carrier)
        .fetch_optional(c)
        .await)
}

/// Records a declaration and its check, replacing the carrier's previous one.
pub async fn put(tx: &mut Tx, r: &AuthorityRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO carrier_authority ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13) \
         ON CONFLICT (carrier_org_id) DO UPDATE SET usdot_number = excluded.usdot_number, \
         mc_number = excluded.mc_number, insurance_expires_on = excluded.insurance_expires_on, \
         source = excluded.source, standing = excluded.standing, reasons = excluded.reasons, \
         record = excluded.record, legal_name = excluded.legal_name, checked_at = excluded.checked_at, \
         next_check_at = excluded.next_check_at, version = carrier_authority.version + 1, \
         declared_by = excluded.declared_by, declared_at = excluded.declared_at"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(r.carrier_org_id)
        .bind(r.usdot_number)
        .bind(r.mc_number)
        .bind(r.insurance_expires_on)
        .bind(&r.source)
        .bind(&r.standing)
        .bind(&r.reasons)
        .bind(&r.record)
        .bind(&r.legal_name)
        .bind(r.checked_at)
        .bind(r.next_check_at)
        .bind(r.declared_by)
        .bind(r.declared_at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// A re-check's result, if nothing changed the declaration since `read_version`.
pub async fn update_check(tx: &mut Tx, r: &AuthorityRow, read_version: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE carrier_authority SET source = $1, standing = $2, reasons = $3, record = $4, legal_name = $5, \
         checked_at = $6, next_check_at = $7, version = version + 1 \
         WHERE carrier_org_id = $8 AND version = $9"
    )
    .bind(&r.source)
    .bind(&r.standing)
    .bind(&r.reasons)
    .bind(&r.record)
    .bind(&r.legal_name)
    .bind(r.checked_at)
    .bind(r.next_check_at)
    .bind(r.carrier_org_id)
    .bind(read_version)
    .execute(c)
    .await
    .map(|d| d.rows_affected() == 1)
    })
}

/// Declarations due for a re-check, oldest due first.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<AuthorityRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM carrier_authority WHERE next_check_at <= $1 ORDER BY next_check_at LIMIT $2"
    );
    on_db!(db, |c| sqlx::query_as::<_, AuthorityRow>(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Whether `e` is the unique index that gives a USDOT number to one organization.
pub fn is_number_claimed(e: &sqlx::Error) -> bool {
    // PostgreSQL names the index; SQLite names the column.
    e.as_database_error().is_some_and(|d| {
        d.is_unique_violation()
            && (d.constraint() == Some("carrier_authority_one_org_per_dot")
                || d.message().ends_with("carrier_authority.usdot_number"))
    })
}
