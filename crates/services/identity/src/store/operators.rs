//! LaneRunner's operators: who they are and the last step a code of theirs was accepted at.

use chrono::{DateTime, Utc};
use lanerunner_platform::{on_db, on_tx, Db, Tx};

use super::decode::from_row;

#[derive(Debug, Clone)]
pub struct OperatorRow {
    pub name: String,
    /// Sealed (`sealed::OPERATOR_TOTP_SECRET`, bound to `name_key`).
    pub totp_secret: String,
    pub last_step: Option<i64>,
    pub enrolled_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

from_row!(OperatorRow, |row| {
    Ok(OperatorRow {
        name: row.try_get("name")?,
        totp_secret: row.try_get("totp_secret")?,
        last_step: row.try_get("last_step")?,
        enrolled_at: row.try_get("enrolled_at")?,
        retired_at: row.try_get("retired_at")?,
    })
});

const COLUMNS: &str = "name, totp_secret, last_step, enrolled_at, retired_at";

/// The key a name is stored and looked up under: trimmed, case ignored.
pub fn operator_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Enrols an operator; false when the name (ignoring case) is taken, retired or not.
pub async fn insert_operator(tx: &mut Tx, r: &OperatorRow) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO operators (name, name_key, totp_secret, enrolled_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING"
    )
    .bind(&r.name)
    .bind(operator_key(&r.name))
    .bind(&r.totp_secret)
    .bind(r.enrolled_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

pub async fn find_operator(db: &Db, name: &str) -> sqlx::Result<Option<OperatorRow>> {
    let sql = format!("SELECT {COLUMNS} FROM operators WHERE name_key = $1");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(operator_key(name))
        .fetch_optional(p)
        .await)
}

/// Whether any operator was ever enrolled (retired ones count).
pub async fn any_operator(db: &Db) -> sqlx::Result<bool> {
    on_db!(db, |p| sqlx::query_scalar::<_, i32>(
        "SELECT 1 FROM operators LIMIT 1"
    )
    .fetch_optional(p)
    .await
    .map(|found| found.is_some()))
}

pub async fn list_operators(db: &Db) -> sqlx::Result<Vec<OperatorRow>> {
    let sql = format!("SELECT {COLUMNS} FROM operators ORDER BY name_key");
    on_db!(db, |p| sqlx::query_as(&sql).fetch_all(p).await)
}

/// Takes `step` as the operator's last accepted one, if it is later than the last and the
/// operator is not retired (compare-and-set: of two uses of one code, one lands).
pub async fn take_operator_step(tx: &mut Tx, name: &str, step: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE operators SET last_step = $2 \
         WHERE name_key = $1 AND retired_at IS NULL AND (last_step IS NULL OR last_step < $2)"
    )
    .bind(operator_key(name))
    .bind(step)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// The name keys of the serving operators, their rows locked until `tx` ends (on SQLite
/// the write transaction already is the lock), in key order.
pub async fn lock_serving_operators(tx: &mut Tx) -> sqlx::Result<Vec<String>> {
    let sql = format!(
        "SELECT name_key FROM operators WHERE retired_at IS NULL ORDER BY name_key{}",
        tx.for_update()
    );
    on_tx!(tx, |c| sqlx::query_scalar(&sql).fetch_all(c).await)
}

/// Retires an operator; false when there is none of that name still serving.
pub async fn retire_operator(tx: &mut Tx, name: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE operators SET retired_at = $2 WHERE name_key = $1 AND retired_at IS NULL"
    )
    .bind(operator_key(name))
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}
