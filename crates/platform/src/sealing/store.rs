//! The SQL of [`super::FieldSealer`]: the `data_keys` table, and the generic reads and
//! compare-and-set writes the sweep and the report make on a sealed column. Table and
//! column names come from the services' own [`SealedField`] constants, never from input.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::fields::{IdKind, SealedField};
use super::value;
use crate::{on_db, on_tx, Db};

#[derive(Debug, Clone)]
pub struct DataKeyRow {
    pub version: u32,
    pub kek: String,
    /// Base64 of the wrapped key; empty once retired.
    pub wrapped: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub replaced_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

pub async fn load(db: &Db) -> sqlx::Result<Vec<DataKeyRow>> {
    on_db!(db, |p| {
        let rows = sqlx::query("SELECT * FROM data_keys ORDER BY version")
            .fetch_all(p)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DataKeyRow {
                    version: row.try_get::<i64, _>("version")? as u32,
                    kek: row.try_get("kek")?,
                    wrapped: row.try_get("wrapped")?,
                    state: row.try_get("state")?,
                    created_at: row.try_get("created_at")?,
                    replaced_at: row.try_get("replaced_at")?,
                    retired_at: row.try_get("retired_at")?,
                })
            })
            .collect()
    })
}

/// Makes a new active key (the next version) and marks the active one draining, in one
/// transaction. Two rotations at the same instant: the second fails on the version's key
/// (or the one-active index) and its caller re-reads.
pub async fn insert_active(
    db: &Db,
    kek: &str,
    wrapped: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u32> {
    let mut tx = db.begin().await?;
    let version = on_tx!(&mut tx, |c| {
        let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM data_keys")
            .fetch_one(&mut *c)
            .await?;
        sqlx::query(
            "UPDATE data_keys SET state = 'draining', replaced_at = $1 WHERE state = 'active'",
        )
        .bind(now)
        .execute(&mut *c)
        .await?;
        sqlx::query(
            "INSERT INTO data_keys (version, kek, wrapped, state, created_at) \
             VALUES ($1, $2, $3, 'active', $4)",
        )
        .bind(next)
        .bind(kek)
        .bind(wrapped)
        .bind(now)
        .execute(&mut *c)
        .await?;
        Ok::<_, sqlx::Error>(next as u32)
    })?;
    tx.commit().await?;
    Ok(version)
}

/// Moves a data key to another key-encryption key if it is still wrapped by `old_kek`.
pub async fn rewrap(
    db: &Db,
    version: u32,
    old_kek: &str,
    kek: &str,
    wrapped: &str,
) -> sqlx::Result<bool> {
    on_db!(db, |p| sqlx::query(
        "UPDATE data_keys SET kek = $3, wrapped = $4 \
         WHERE version = $1 AND kek = $2 AND state <> 'retired'"
    )
    .bind(version as i64)
    .bind(old_kek)
    .bind(kek)
    .bind(wrapped)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Erases a drained key's wrapped copy: what it sealed can never be opened again.
pub async fn retire(db: &Db, version: u32, now: DateTime<Utc>) -> sqlx::Result<bool> {
    on_db!(db, |p| sqlx::query(
        "UPDATE data_keys SET state = 'retired', wrapped = '', retired_at = $2 \
         WHERE version = $1 AND state = 'draining'"
    )
    .bind(version as i64)
    .bind(now)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// How many of `field`'s values match `pattern` (`LIKE`), or are in the clear when `None`.
pub async fn count(db: &Db, field: &SealedField, pattern: Option<&str>) -> sqlx::Result<u64> {
    let sql = match pattern {
        Some(_) => format!(
            "SELECT COUNT(*) FROM {t} WHERE {c} LIKE $1",
            t = field.table,
            c = field.column
        ),
        None => format!(
            "SELECT COUNT(*) FROM {t} WHERE {c} IS NOT NULL AND {c} NOT LIKE $1",
            t = field.table,
            c = field.column
        ),
    };
    let bind = pattern.map(str::to_string).unwrap_or_else(value::like_any);
    on_db!(db, |p| sqlx::query_scalar::<_, i64>(&sql)
        .bind(bind)
        .fetch_one(p)
        .await
        .map(|n| n as u64))
}

/// A record's id, as its column holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKey {
    Uuid(Uuid),
    Text(String),
}

impl std::fmt::Display for RowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowKey::Uuid(u) => u.fmt(f),
            RowKey::Text(t) => t.fmt(f),
        }
    }
}

/// The next `limit` values of `field` not sealed under `active`, after `after` in id order.
pub async fn not_under(
    db: &Db,
    field: &SealedField,
    active: u32,
    after: Option<&RowKey>,
    limit: u32,
) -> sqlx::Result<Vec<(RowKey, String)>> {
    let sql = format!(
        "SELECT {id} AS id, {c} AS v FROM {t} WHERE {c} IS NOT NULL AND {c} NOT LIKE $1 {after} \
         ORDER BY {id} LIMIT {limit}",
        id = field.id_column,
        c = field.column,
        t = field.table,
        after = if after.is_some() {
            format!("AND {} > $2", field.id_column)
        } else {
            String::new()
        },
    );
    on_db!(db, |p| {
        let mut q = sqlx::query(&sql).bind(value::like_version(active));
        q = match after {
            Some(RowKey::Uuid(u)) => q.bind(*u),
            Some(RowKey::Text(t)) => q.bind(t.clone()),
            None => q,
        };
        let rows = q.fetch_all(p).await?;
        rows.iter()
            .map(|r| {
                let key = match field.id_kind {
                    IdKind::Uuid => RowKey::Uuid(r.try_get("id")?),
                    IdKind::Text => RowKey::Text(r.try_get("id")?),
                };
                Ok((key, r.try_get::<String, _>("v")?))
            })
            .collect()
    })
}

/// Replaces each `old` with its `new` where the value is still `old` (a write since wins),
/// in one transaction; returns how many were replaced.
pub async fn replace_all(
    db: &Db,
    field: &SealedField,
    changes: &[(RowKey, String, String)],
) -> sqlx::Result<u64> {
    let sql = format!(
        "UPDATE {t} SET {c} = $1 WHERE {id} = $2 AND {c} = $3",
        t = field.table,
        c = field.column,
        id = field.id_column
    );
    if changes.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let mut replaced = 0;
    for (id, old, new) in changes {
        replaced += on_tx!(&mut tx, |c| {
            let q = sqlx::query(&sql).bind(new);
            let q = match id {
                RowKey::Uuid(u) => q.bind(*u),
                RowKey::Text(t) => q.bind(t.clone()),
            };
            q.bind(old).execute(c).await?.rows_affected()
        });
    }
    tx.commit().await?;
    Ok(replaced)
}

/// A blind-index key as stored: `(kek, wrapped base64)`.
pub async fn index_key(db: &Db, name: &str) -> sqlx::Result<Option<(String, String)>> {
    on_db!(db, |p| sqlx::query_as(
        "SELECT kek, wrapped FROM index_keys WHERE name = $1"
    )
    .bind(name)
    .fetch_optional(p)
    .await)
}

/// Stores a first blind-index key unless one is there (two instances making it at the same
/// instant: the first one written is the key, and both read it back).
pub async fn insert_index_key(
    db: &Db,
    name: &str,
    kek: &str,
    wrapped: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, |p| sqlx::query(
        "INSERT INTO index_keys (name, kek, wrapped, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO NOTHING"
    )
    .bind(name)
    .bind(kek)
    .bind(wrapped)
    .bind(now)
    .execute(p)
    .await
    .map(|_| ()))
}

/// Every blind-index key: `(name, kek, wrapped base64)`.
pub async fn index_keys(db: &Db) -> sqlx::Result<Vec<(String, String, String)>> {
    on_db!(db, |p| sqlx::query_as(
        "SELECT name, kek, wrapped FROM index_keys ORDER BY name"
    )
    .fetch_all(p)
    .await)
}

/// Moves a blind-index key to another key-encryption key if it is still wrapped by `old_kek`.
pub async fn rewrap_index_key(
    db: &Db,
    name: &str,
    old_kek: &str,
    kek: &str,
    wrapped: &str,
) -> sqlx::Result<bool> {
    on_db!(db, |p| sqlx::query(
        "UPDATE index_keys SET kek = $3, wrapped = $4 WHERE name = $1 AND kek = $2"
    )
    .bind(name)
    .bind(old_kek)
    .bind(kek)
    .bind(wrapped)
    .execute(p)
    .await
    .map(|r| r.rows_affected() == 1))
}
