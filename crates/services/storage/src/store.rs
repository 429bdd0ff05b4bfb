//! The storage service's SQL, one text for both backends. Every read of an object names the
//! caller's organization, except the signed download (the link is the authority) and the
//! rewrap sweep (which only moves keys).

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, Db};
use uuid::Uuid;

use crate::FileId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ObjectRow {
    pub id: FileId,
    pub org_id: OrgId,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub blob_key: String,
    pub kek_version: i32,
    pub wrapped_key: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, org_id, name, content_type, size_bytes, sha256, blob_key, kek_version, wrapped_key, created_by, created_at";

pub async fn insert(db: &Db, r: &ObjectRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO storage_objects ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    on_db!(db, |c| sqlx::query(&sql)
        .bind(r.id)
        .bind(r.org_id)
        .bind(&r.name)
        .bind(&r.content_type)
        .bind(r.size_bytes)
        .bind(&r.sha256)
        .bind(&r.blob_key)
        .bind(r.kek_version)
        .bind(&r.wrapped_key)
        .bind(r.created_by)
        .bind(r.created_at)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn get(db: &Db, org: OrgId, id: FileId) -> sqlx::Result<Option<ObjectRow>> {
    let sql = format!("SELECT {COLUMNS} FROM storage_objects WHERE org_id = $1 AND id = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// For a signed link only: the link names the object and proves the right to it.
pub async fn get_linked(db: &Db, id: FileId) -> sqlx::Result<Option<ObjectRow>> {
    let sql = format!("SELECT {COLUMNS} FROM storage_objects WHERE id = $1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// The organization's objects, newest first, after `before` (a cursor).
pub async fn list(
    db: &Db,
    org: OrgId,
    before: Option<FileId>,
    limit: i64,
) -> sqlx::Result<Vec<ObjectRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM storage_objects WHERE org_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Removes the row (and with it the data key); the blob key to delete, if it was there.
pub async fn delete(db: &Db, org: OrgId, id: FileId) -> sqlx::Result<Option<String>> {
    on_db!(db, |c| sqlx::query_scalar(
        "DELETE FROM storage_objects WHERE org_id = $1 AND id = $2 RETURNING blob_key"
    )
    .bind(org)
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Objects whose data key is wrapped by another version than `current`.
pub async fn under_other_versions(
    db: &Db,
    current: i32,
    limit: i64,
) -> sqlx::Result<Vec<ObjectRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM storage_objects WHERE kek_version <> $1 ORDER BY id LIMIT $2"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(current)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Compare-and-set: replaces the wrapped key only if it is still the one that was read
/// (another instance's sweep may have moved it first).
pub async fn rewrap(
    db: &Db,
    id: FileId,
    from_version: i32,
    to_version: i32,
    wrapped_key: &str,
) -> sqlx::Result<bool> {
    on_db!(db, |c| {
        sqlx::query(
        "UPDATE storage_objects SET kek_version = $3, wrapped_key = $4 WHERE id = $1 AND kek_version = $2"
    )
    .bind(id)
    .bind(from_version)
    .bind(to_version)
    .bind(wrapped_key)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}

/// How many objects each key version wraps (for the operator, before dropping a version).
pub async fn count_by_version(db: &Db) -> sqlx::Result<Vec<(i32, i64)>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT kek_version, COUNT(*) FROM storage_objects GROUP BY kek_version ORDER BY kek_version"
    )
    .fetch_all(c)
    .await
    })
}
