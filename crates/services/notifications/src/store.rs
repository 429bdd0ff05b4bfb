//! The notifications service's SQL, one text for both backends. Whatever a person reads or
//! changes names their organization and themselves; the consumer, the dispatcher and the
//! provider's callbacks act for the system.
//!
//! The dispatcher claims deliveries by compare-and-set on a lease (`lease_until_ms`,
//! `lease_token`), as the webhooks service does, and records each outcome only while it
//! still holds the lease.

use chrono::{DateTime, Utc};
use lanerunner_platform::sealing::BLIND_INDEX_PREFIX;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

// ---- members ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: String,
    pub active: bool,
}

pub async fn upsert_member(tx: &mut Tx, m: &MemberRow) -> sqlx::Result<()> {
    let sql = "INSERT INTO nt_members (user_id, org_id, email, role, active) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (user_id) DO UPDATE SET org_id = excluded.org_id, email = excluded.email, role = excluded.role, active = excluded.active \
               WHERE nt_members.erased_at IS NULL";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(m.user_id)
        .bind(m.org_id)
        .bind(&m.email)
        .bind(&m.role)
        .bind(m.active)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn set_member_role(tx: &mut Tx, org: Uuid, user: Uuid, role: &str) -> sqlx::Result<()> {
    let sql = "UPDATE nt_members SET role = $3 WHERE org_id = $1 AND user_id = $2";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(org)
        .bind(user)
        .bind(role)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn set_member_active(
    tx: &mut Tx,
    org: Uuid,
    user: Uuid,
    active: bool,
) -> sqlx::Result<()> {
    let sql = "UPDATE nt_members SET active = $3 WHERE org_id = $1 AND user_id = $2";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(org)
        .bind(user)
        .bind(active)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Removes what this service holds about an erased member of `org`: their email (the
/// member row stays, emptied and inactive), settings and phone, preferences, notices,
/// deliveries, unsubscribe links and reply codes, and the texts received from their phone.
/// A phone's opt-out (STOP) is kept: it must go on being honoured, and it names no one.
/// Texts and consent of a number another member also uses are left alone.
pub async fn erase_member(
    tx: &mut Tx,
    org: Uuid,
    user: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let phones: Vec<(Option<String>, Option<String>)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT phone_index, pending_phone_index FROM nt_settings WHERE org_id = $1 AND user_id = $2"
    )
    .bind(org)
    .bind(user)
    .fetch_all(c)
    .await
    })?;
    for phone in phones.into_iter().flat_map(|(a, b)| [a, b]).flatten() {
        let not_shared = "NOT EXISTS (SELECT 1 FROM nt_settings WHERE user_id <> $2 AND (phone_index = $1 OR pending_phone_index = $1))";
        let inbound = format!(
            "UPDATE nt_inbound SET phone_index = '', body = '' WHERE phone_index = $1 AND {not_shared}"
        );
        let consent = format!(
            "DELETE FROM nt_sms_consent WHERE phone_index = $1 AND opted_out = $3 AND {not_shared}"
        );
        on_tx!(tx, |c| sqlx::query(&inbound)
            .bind(&phone)
            .bind(user)
            .execute(c)
            .await
            .map(|_| ()))?;
        on_tx!(tx, |c| sqlx::query(&consent)
            .bind(&phone)
            .bind(user)
            .bind(false)
            .execute(c)
            .await
            .map(|_| ()))?;
    }
    for table in [
        "nt_reply_codes",
        "nt_deliveries",
        "nt_notifications",
        "nt_unsubscribe",
        "nt_preferences",
        "nt_settings",
    ] {
        let sql = format!("DELETE FROM {table} WHERE org_id = $1 AND user_id = $2");
        on_tx!(tx, |c| sqlx::query(&sql)
            .bind(org)
            .bind(user)
            .execute(c)
            .await
            .map(|_| ()))?;
    }
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE nt_members SET email = '', active = $3, erased_at = $4 WHERE org_id = $1 AND user_id = $2"
    )
    .bind(org)
    .bind(user)
    .bind(false)
    .bind(at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// A notice and whether it was read, for the person's export.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct NoticeExport {
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// An email or text and what became of it, for the person's export.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct DeliveryExport {
    pub id: Uuid,
    pub channel: String,
    pub mode: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

pub async fn notices_of(db: &Db, org: Uuid, user: Uuid) -> sqlx::Result<Vec<NoticeExport>> {
    let sql = "SELECT id, kind, title, body, created_at, read_at FROM nt_notifications \
               WHERE org_id = $1 AND user_id = $2 ORDER BY id";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(user)
        .fetch_all(c)
        .await)
}

pub async fn deliveries_of(db: &Db, org: Uuid, user: Uuid) -> sqlx::Result<Vec<DeliveryExport>> {
    let sql = "SELECT id, channel, mode, status, created_at, sent_at FROM nt_deliveries \
               WHERE org_id = $1 AND user_id = $2 ORDER BY id";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(user)
        .fetch_all(c)
        .await)
}

pub async fn member(db: &Db, org: Uuid, user: Uuid) -> sqlx::Result<Option<MemberRow>> {
    let sql = "SELECT user_id, org_id, email, role, active FROM nt_members WHERE org_id = $1 AND user_id = $2";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(user)
        .fetch_optional(c)
        .await)
}

/// A person a notice may go to, with everything deciding how.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub user_id: Uuid,
    pub time_zone: Option<String>,
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub digest_minutes: Option<i32>,
    /// The verified number, sealed, and its blind index.
    pub phone: Option<String>,
    pub phone_index: Option<String>,
}

/// The active members of `org` (or only `only`, if active there), with their settings.
pub async fn recipients(
    tx: &mut Tx,
    org: Uuid,
    only: Option<Uuid>,
) -> sqlx::Result<Vec<Recipient>> {
    let sql = "SELECT m.user_id, s.time_zone, s.quiet_start, s.quiet_end, s.digest_minutes, \
               CASE WHEN s.phone_verified_at IS NULL THEN NULL ELSE s.phone END AS phone, \
               CASE WHEN s.phone_verified_at IS NULL THEN NULL ELSE s.phone_index END AS phone_index \
               FROM nt_members m LEFT JOIN nt_settings s ON s.user_id = m.user_id \
               WHERE m.org_id = $1 AND m.active = TRUE AND ($2 IS NULL OR m.user_id = $2) ORDER BY m.user_id";
    on_tx!(tx, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(only)
        .fetch_all(c)
        .await)
}

// ---- settings and preferences ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SettingsRow {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub time_zone: String,
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub digest_minutes: i32,
    /// Sealed (`crate::phones`), with its blind index.
    pub phone: Option<String>,
    pub phone_index: Option<String>,
    pub phone_verified_at: Option<DateTime<Utc>>,
    /// Sealed, with its blind index.
    pub pending_phone: Option<String>,
    pub pending_phone_index: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const SETTINGS_COLUMNS: &str = "user_id, org_id, time_zone, quiet_start, quiet_end, digest_minutes, phone, phone_verified_at, pending_phone, updated_at, phone_index, pending_phone_index";

pub async fn settings(db: &Db, org: Uuid, user: Uuid) -> sqlx::Result<Option<SettingsRow>> {
    let sql =
        format!("SELECT {SETTINGS_COLUMNS} FROM nt_settings WHERE org_id = $1 AND user_id = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .fetch_optional(c)
        .await)
}

pub async fn put_settings(db: &Db, s: &SettingsRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO nt_settings ({SETTINGS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (user_id) DO UPDATE SET time_zone = excluded.time_zone, quiet_start = excluded.quiet_start, \
         quiet_end = excluded.quiet_end, digest_minutes = excluded.digest_minutes, phone = excluded.phone, \
         phone_verified_at = excluded.phone_verified_at, pending_phone = excluded.pending_phone, updated_at = excluded.updated_at, \
         phone_index = excluded.phone_index, pending_phone_index = excluded.pending_phone_index"
    );
    on_db!(db, |c| sqlx::query(&sql)
        .bind(s.user_id)
        .bind(s.org_id)
        .bind(&s.time_zone)
        .bind(&s.quiet_start)
        .bind(&s.quiet_end)
        .bind(s.digest_minutes)
        .bind(&s.phone)
        .bind(s.phone_verified_at)
        .bind(&s.pending_phone)
        .bind(s.updated_at)
        .bind(&s.phone_index)
        .bind(&s.pending_phone_index)
        .execute(c)
        .await
        .map(|_| ()))
}

/// `(kind, channel, mode)` choices of `user`.
pub async fn preferences_in(
    tx: &mut Tx,
    user: Uuid,
) -> sqlx::Result<Vec<(String, String, String)>> {
    let sql = "SELECT kind, channel, mode FROM nt_preferences WHERE user_id = $1";
    on_tx!(tx, |c| sqlx::query_as(sql).bind(user).fetch_all(c).await)
}

pub async fn preferences(
    db: &Db,
    org: Uuid,
    user: Uuid,
) -> sqlx::Result<Vec<(String, String, String)>> {
    let sql = "SELECT kind, channel, mode FROM nt_preferences WHERE org_id = $1 AND user_id = $2";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(user)
        .fetch_all(c)
        .await)
}

pub async fn put_preference(
    tx: &mut Tx,
    org: Uuid,
    user: Uuid,
    kind: &str,
    channel: &str,
    mode: &str,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO nt_preferences (user_id, org_id, kind, channel, mode) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (user_id, kind, channel) DO UPDATE SET mode = excluded.mode";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(user)
        .bind(org)
        .bind(kind)
        .bind(channel)
        .bind(mode)
        .execute(c)
        .await
        .map(|_| ()))
}

// ---- notices ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub event_id: Uuid,
    pub dedupe_key: String,
    pub in_app: bool,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

const NOTIFICATION_COLUMNS: &str =
    "id, org_id, user_id, kind, title, body, link, event_id, dedupe_key, in_app, created_at, read_at";

/// False when this person already has a notice with this key.
pub async fn insert_notification(tx: &mut Tx, n: &NotificationRow) -> sqlx::Result<bool> {
    let sql = format!(
        "INSERT INTO nt_notifications ({NOTIFICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (user_id, dedupe_key) DO NOTHING"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(n.id)
        .bind(n.org_id)
        .bind(n.user_id)
        .bind(&n.kind)
        .bind(&n.title)
        .bind(&n.body)
        .bind(&n.link)
        .bind(n.event_id)
        .bind(&n.dedupe_key)
        .bind(n.in_app)
        .bind(n.created_at)
        .bind(n.read_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// The person's in-app list, newest first.
pub async fn notifications(
    db: &Db,
    org: Uuid,
    user: Uuid,
    unread_only: bool,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<NotificationRow>> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM nt_notifications WHERE org_id = $1 AND user_id = $2 AND in_app = TRUE \
         AND ($3 = FALSE OR read_at IS NULL) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .bind(unread_only)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await)
}

pub async fn unread_count(db: &Db, org: Uuid, user: Uuid) -> sqlx::Result<i64> {
    let sql = "SELECT COUNT(*) FROM nt_notifications WHERE org_id = $1 AND user_id = $2 AND in_app = TRUE AND read_at IS NULL";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(org)
        .bind(user)
        .fetch_one(c)
        .await)
}

/// `Some(changed)` when the notice is the person's; `None` when it is not theirs.
pub async fn mark_read(
    db: &Db,
    org: Uuid,
    user: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<bool>> {
    let sql = "UPDATE nt_notifications SET read_at = COALESCE(read_at, $4) WHERE org_id = $1 AND user_id = $2 AND id = $3 AND in_app = TRUE";
    let n = on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(user)
        .bind(id)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok((n == 1).then_some(true))
}

pub async fn mark_all_read(db: &Db, org: Uuid, user: Uuid, at: DateTime<Utc>) -> sqlx::Result<u64> {
    let sql = "UPDATE nt_notifications SET read_at = $3 WHERE org_id = $1 AND user_id = $2 AND in_app = TRUE AND read_at IS NULL";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(user)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

// ---- deliveries ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub notification_id: Uuid,
    pub channel: String,
    pub mode: String,
    pub status: String,
    pub due_ms: i64,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub provider_ref: Option<String>,
    pub reply_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, org_id, user_id, notification_id, channel, mode, status, due_ms, attempts, last_error, provider_ref, reply_code, created_at, sent_at";

pub async fn insert_delivery(tx: &mut Tx, d: &DeliveryRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO nt_deliveries ({DELIVERY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(d.id)
        .bind(d.org_id)
        .bind(d.user_id)
        .bind(d.notification_id)
        .bind(&d.channel)
        .bind(&d.mode)
        .bind(&d.status)
        .bind(d.due_ms)
        .bind(d.attempts)
        .bind(&d.last_error)
        .bind(&d.provider_ref)
        .bind(&d.reply_code)
        .bind(d.created_at)
        .bind(d.sent_at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Immediate messages queued for `user` on `channel` since `since`, counted up to `up_to`
/// (flood control).
pub async fn immediate_since(
    tx: &mut Tx,
    user: Uuid,
    channel: &str,
    since: DateTime<Utc>,
    up_to: u32,
) -> sqlx::Result<i64> {
    // Counted only as far as the flood limit: a person's whole hour need not be read to
    // know it is over (a flood of thousands made every new notice read them all).
    let sql =
        "SELECT COUNT(*) FROM (SELECT 1 FROM nt_deliveries WHERE user_id = $1 AND channel = $2 \
               AND mode = 'immediate' AND created_at >= $3 LIMIT $4) AS recent";
    on_tx!(tx, |c| sqlx::query_scalar(sql)
        .bind(user)
        .bind(channel)
        .bind(since)
        .bind(i64::from(up_to))
        .fetch_one(c)
        .await)
}

/// When `user`'s pending digest on `channel` goes, if one is gathering.
pub async fn digest_due(tx: &mut Tx, user: Uuid, channel: &str) -> sqlx::Result<Option<i64>> {
    let sql = "SELECT MIN(due_ms) FROM nt_deliveries WHERE user_id = $1 AND channel = $2 AND mode = 'digest' AND status = 'pending'";
    on_tx!(tx, |c| sqlx::query_scalar(sql)
        .bind(user)
        .bind(channel)
        .fetch_one(c)
        .await)
}

/// A delivery a dispatcher holds the lease on, with what it needs to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub channel: String,
    pub mode: String,
    pub attempts: i32,
    pub reply_code: Option<String>,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub email: String,
    pub active: bool,
    /// The verified number, sealed, and its blind index.
    pub phone: Option<String>,
    pub phone_index: Option<String>,
    /// When it was first leased (see [`Claimed::tried_before`]).
    pub first_claimed_ms: Option<i64>,
}

impl Claimed {
    /// When an attempt before the lease taken at `claimed_ms` began, if one did: that
    /// attempt may have sent the message without its outcome being recorded.
    pub fn tried_before(&self, claimed_ms: i64) -> Option<i64> {
        self.first_claimed_ms.filter(|first| *first < claimed_ms)
    }
}

const CLAIMED_SELECT: &str =
    "SELECT d.id, d.org_id, d.user_id, d.channel, d.mode, d.attempts, d.reply_code, \
     n.kind, n.title, n.body, n.link, m.email, m.active, \
     CASE WHEN s.phone_verified_at IS NULL THEN NULL ELSE s.phone END AS phone, \
     CASE WHEN s.phone_verified_at IS NULL THEN NULL ELSE s.phone_index END AS phone_index, d.first_claimed_ms \
     FROM nt_deliveries d JOIN nt_notifications n ON n.id = d.notification_id \
     JOIN nt_members m ON m.user_id = d.user_id LEFT JOIN nt_settings s ON s.user_id = d.user_id";

/// Leases up to `limit` due deliveries for `token` until `lease_until_ms`.
pub async fn claim(
    db: &Db,
    now_ms: i64,
    lease_until_ms: i64,
    token: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Claimed>> {
    let lease = "UPDATE nt_deliveries SET lease_until_ms = $2, lease_token = $3, \
         first_claimed_ms = COALESCE(first_claimed_ms, $1) \
         WHERE id IN (SELECT id FROM nt_deliveries WHERE status = 'pending' AND due_ms <= $1 \
             AND (lease_until_ms IS NULL OR lease_until_ms < $1) ORDER BY due_ms LIMIT $4) \
         AND status = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < $1)";
    // Planned each time: a plan cached while the table was nearly empty goes bad as it grows.
    let claimed = on_db!(db, |c| sqlx::query(lease)
        .persistent(false)
        .bind(now_ms)
        .bind(lease_until_ms)
        .bind(token)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if claimed == 0 {
        return Ok(Vec::new());
    }
    let sql = format!("{CLAIMED_SELECT} WHERE d.lease_token = $1 ORDER BY d.id");
    on_db!(db, |c| sqlx::query_as(&sql).bind(token).fetch_all(c).await)
}

/// Adds to a lease every pending digest delivery of `user` on `channel` that no one else
/// holds, so one digest carries all of them; the ones it then holds, oldest first.
pub async fn gather_digest(
    db: &Db,
    user: Uuid,
    channel: &str,
    now_ms: i64,
    lease_until_ms: i64,
    token: Uuid,
) -> sqlx::Result<Vec<Claimed>> {
    let lease = "UPDATE nt_deliveries SET lease_until_ms = $4, lease_token = $5, \
         first_claimed_ms = COALESCE(first_claimed_ms, $3) \
         WHERE user_id = $1 AND channel = $2 AND mode = 'digest' AND status = 'pending' \
         AND (lease_until_ms IS NULL OR lease_until_ms < $3 OR lease_token = $5)";
    on_db!(db, |c| sqlx::query(lease)
        .persistent(false)
        .bind(user)
        .bind(channel)
        .bind(now_ms)
        .bind(lease_until_ms)
        .bind(token)
        .execute(c)
        .await
        .map(|_| ()))?;
    let sql = format!(
        "{CLAIMED_SELECT} WHERE d.lease_token = $1 AND d.user_id = $2 AND d.channel = $3 AND d.mode = 'digest' ORDER BY d.id"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(token)
        .bind(user)
        .bind(channel)
        .fetch_all(c)
        .await)
}

/// What one attempt came to, for [`record`].
pub struct Recorded<'a> {
    pub status: &'a str,
    pub due_ms: i64,
    pub last_error: Option<&'a str>,
    pub provider_ref: Option<&'a str>,
    pub digest_id: Option<Uuid>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Records an outcome on a delivery this claim (`token`) still holds; false when the lease
/// was lost.
pub async fn record(tx: &mut Tx, id: Uuid, token: Uuid, r: &Recorded<'_>) -> sqlx::Result<bool> {
    let sql = "UPDATE nt_deliveries SET status = $3, attempts = attempts + 1, due_ms = $4, last_error = $5, \
               provider_ref = COALESCE($6, provider_ref), digest_id = $7, sent_at = $8, lease_until_ms = NULL, lease_token = NULL \
               WHERE id = $1 AND lease_token = $2";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(token)
        .bind(r.status)
        .bind(r.due_ms)
        .bind(r.last_error)
        .bind(r.provider_ref)
        .bind(r.digest_id)
        .bind(r.sent_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// A status the provider reported for the message `provider_ref`, applied only forwards
/// (callbacks can arrive out of order: `delivered` is never undone by a late `sent`).
pub async fn provider_status(
    db: &Db,
    provider_ref: &str,
    status: &str,
    error: Option<&str>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE nt_deliveries SET status = $2, last_error = COALESCE($3, last_error) \
               WHERE provider_ref = $1 AND status = 'sent'";
    on_db!(db, |c| sqlx::query(sql)
        .bind(provider_ref)
        .bind(status)
        .bind(error)
        .execute(c)
        .await
        .map(|r| r.rows_affected() > 0))
}

/// The person's emails and texts, newest first.
pub async fn deliveries(
    db: &Db,
    org: Uuid,
    user: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM nt_deliveries WHERE org_id = $1 AND user_id = $2 AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await)
}

// ---- phones: consent, reply codes, inbound ----

pub async fn set_consent(
    db: &Db,
    phone_index: &str,
    opted_out: bool,
    keyword: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO nt_sms_consent (phone_index, opted_out, keyword, changed_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (phone_index) DO UPDATE SET opted_out = excluded.opted_out, keyword = excluded.keyword, changed_at = excluded.changed_at";
    on_db!(db, |c| sqlx::query(sql)
        .bind(phone_index)
        .bind(opted_out)
        .bind(keyword)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// `(opted_out, keyword, changed_at)` of the number of `phone_index`, if it ever replied a
/// keyword.
pub async fn consent(
    db: &Db,
    phone_index: &str,
) -> sqlx::Result<Option<(bool, String, DateTime<Utc>)>> {
    let sql = "SELECT opted_out, keyword, changed_at FROM nt_sms_consent WHERE phone_index = $1";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(phone_index)
        .fetch_optional(c)
        .await)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReplyCodeRow {
    /// The blind index of the number the code was texted to.
    pub phone_index: String,
    pub code: String,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub negotiation_id: Uuid,
    pub offer_seq: i64,
    pub total_cents: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// False when the number already has a live code `code` (pick another).
pub async fn insert_reply_code(tx: &mut Tx, r: &ReplyCodeRow) -> sqlx::Result<bool> {
    // A code that expired or was used frees its number for reuse.
    let free = "DELETE FROM nt_reply_codes WHERE phone_index = $1 AND code = $2 AND (used_at IS NOT NULL OR expires_at < $3)";
    on_tx!(tx, |c| sqlx::query(free)
        .bind(&r.phone_index)
        .bind(&r.code)
        .bind(Utc::now())
        .execute(c)
        .await
        .map(|_| ()))?;
    let sql = "INSERT INTO nt_reply_codes (phone_index, code, org_id, user_id, negotiation_id, offer_seq, total_cents, expires_at, used_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (phone_index, code) DO NOTHING";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(&r.phone_index)
        .bind(&r.code)
        .bind(r.org_id)
        .bind(r.user_id)
        .bind(r.negotiation_id)
        .bind(r.offer_seq)
        .bind(r.total_cents)
        .bind(r.expires_at)
        .bind(r.used_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Takes the live code `code` of the number of `phone_index` (compare-and-set: two replies at once take it
/// once); the code's row when this call took it.
pub async fn take_reply_code(
    db: &Db,
    phone_index: &str,
    code: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<ReplyCodeRow>> {
    let sql = "UPDATE nt_reply_codes SET used_at = $3 WHERE phone_index = $1 AND code = $2 AND used_at IS NULL AND expires_at > $3";
    let taken = on_db!(db, |c| sqlx::query(sql)
        .bind(phone_index)
        .bind(code)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))?;
    if !taken {
        return Ok(None);
    }
    let sql = "SELECT phone_index, code, org_id, user_id, negotiation_id, offer_seq, total_cents, expires_at, used_at \
               FROM nt_reply_codes WHERE phone_index = $1 AND code = $2";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(phone_index)
        .bind(code)
        .fetch_optional(c)
        .await)
}

/// Gives a taken code back (the acceptance could not be tried: try again later).
pub async fn release_reply_code(db: &Db, phone_index: &str, code: &str) -> sqlx::Result<()> {
    let sql = "UPDATE nt_reply_codes SET used_at = NULL WHERE phone_index = $1 AND code = $2";
    on_db!(db, |c| sqlx::query(sql)
        .bind(phone_index)
        .bind(code)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Records an inbound message; false when its SID was seen before (a provider retry).
pub async fn insert_inbound(
    db: &Db,
    sid: &str,
    phone_index: &str,
    body: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "INSERT INTO nt_inbound (message_sid, phone_index, body, outcome, received_at) VALUES ($1, $2, $3, 'received', $4) \
               ON CONFLICT (message_sid) DO NOTHING";
    on_db!(db, |c| sqlx::query(sql)
        .bind(sid)
        .bind(phone_index)
        .bind(body)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn inbound_outcome(db: &Db, sid: &str) -> sqlx::Result<Option<String>> {
    let sql = "SELECT outcome FROM nt_inbound WHERE message_sid = $1";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(sid)
        .fetch_optional(c)
        .await)
}

pub async fn set_inbound_outcome(db: &Db, sid: &str, outcome: &str) -> sqlx::Result<()> {
    let sql = "UPDATE nt_inbound SET outcome = $2 WHERE message_sid = $1";
    on_db!(db, |c| sqlx::query(sql)
        .bind(sid)
        .bind(outcome)
        .execute(c)
        .await
        .map(|_| ()))
}

// ---- one-click unsubscribe ----

/// The token of `user`'s unsubscribe link for `scope`, made on first use.
pub async fn unsubscribe_token(
    db: &Db,
    org: Uuid,
    user: Uuid,
    scope: &str,
    fresh: &str,
) -> sqlx::Result<String> {
    let insert = "INSERT INTO nt_unsubscribe (user_id, org_id, scope, token, created_at) VALUES ($1, $2, $3, $4, $5) \
                  ON CONFLICT (user_id, scope) DO NOTHING";
    on_db!(db, |c| sqlx::query(insert)
        .bind(user)
        .bind(org)
        .bind(scope)
        .bind(fresh)
        .bind(Utc::now())
        .execute(c)
        .await
        .map(|_| ()))?;
    let sql = "SELECT token FROM nt_unsubscribe WHERE user_id = $1 AND scope = $2";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(user)
        .bind(scope)
        .fetch_one(c)
        .await)
}

/// `(org, user, scope)` of an unsubscribe token.
pub async fn unsubscribe_of(db: &Db, token: &str) -> sqlx::Result<Option<(Uuid, Uuid, String)>> {
    let sql = "SELECT org_id, user_id, scope FROM nt_unsubscribe WHERE token = $1";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(token)
        .fetch_optional(c)
        .await)
}

/// Retention: empties the number and text of up to `limit` texts received before
/// `before`; how many.
pub async fn purge_inbound(db: &Db, before: DateTime<Utc>, limit: i64) -> sqlx::Result<u64> {
    let sql = "UPDATE nt_inbound SET phone_index = '', body = '' WHERE message_sid IN \
               (SELECT message_sid FROM nt_inbound WHERE phone_index <> '' AND received_at < $1 LIMIT $2)";
    on_db!(db, |c| sqlx::query(sql)
        .bind(before)
        .bind(limit)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

// ---- numbers stored before they were sealed (`crate::phones::convert`) ----

/// Up to `limit` settings whose number, or number awaiting its code, has no blind index:
/// written before numbers were sealed. `(user, phone, pending_phone)` as stored.
pub async fn settings_without_index(
    db: &Db,
    limit: i64,
) -> sqlx::Result<Vec<(Uuid, Option<String>, Option<String>)>> {
    let sql = "SELECT user_id, phone, pending_phone FROM nt_settings \
               WHERE (phone IS NOT NULL AND phone_index IS NULL) \
               OR (pending_phone IS NOT NULL AND pending_phone_index IS NULL) \
               ORDER BY user_id LIMIT $1";
    on_db!(db, |c| sqlx::query_as(sql).bind(limit).fetch_all(c).await)
}

/// A number and its blind index, as stored together.
pub type SealedPhone = (Option<String>, Option<String>);

/// Sets a member's numbers to their sealed forms with their indexes if they are still
/// `old` (compare-and-set: a change made meanwhile wins and is already sealed).
pub async fn seal_settings_phones(
    db: &Db,
    user: Uuid,
    old: (Option<&str>, Option<&str>),
    phone: &SealedPhone,
    pending: &SealedPhone,
) -> sqlx::Result<bool> {
    let sql = "UPDATE nt_settings SET phone = $2, phone_index = $3, pending_phone = $4, pending_phone_index = $5 \
               WHERE user_id = $1 AND COALESCE(phone, '') = $6 AND COALESCE(pending_phone, '') = $7";
    on_db!(db, |c| sqlx::query(sql)
        .bind(user)
        .bind(&phone.0)
        .bind(&phone.1)
        .bind(&pending.0)
        .bind(&pending.1)
        .bind(old.0.unwrap_or_default())
        .bind(old.1.unwrap_or_default())
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Up to `limit` numbers still in the clear in the tables that keep a number's blind index
/// alone (consent, reply codes, texts received).
pub async fn unindexed_numbers(db: &Db, limit: i64) -> sqlx::Result<Vec<String>> {
    let sql = "SELECT phone_index FROM nt_sms_consent WHERE phone_index NOT LIKE $2 \
               UNION SELECT phone_index FROM nt_reply_codes WHERE phone_index NOT LIKE $2 \
               UNION SELECT phone_index FROM nt_inbound WHERE phone_index <> '' AND phone_index NOT LIKE $2 \
               LIMIT $1";
    let indexed = format!("{BLIND_INDEX_PREFIX}%");
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(limit)
        .bind(&indexed)
        .fetch_all(c)
        .await)
}

/// Puts `index` in place of the number `clear` wherever it is kept, in one transaction. A
/// consent recorded under both (a reply taken by a previous version while this one ran) keeps
/// the later; a reply code under both keeps the indexed one.
pub async fn index_number(db: &Db, clear: &str, index: &str) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| {
        let read =
            "SELECT opted_out, keyword, changed_at FROM nt_sms_consent WHERE phone_index = $1";
        let old: Option<(bool, String, DateTime<Utc>)> = sqlx::query_as(read)
            .bind(clear)
            .fetch_optional(&mut *c)
            .await?;
        let new: Option<(bool, String, DateTime<Utc>)> = sqlx::query_as(read)
            .bind(index)
            .fetch_optional(&mut *c)
            .await?;
        if let Some((out, keyword, at)) = old {
            if new.as_ref().is_none_or(|n| n.2 < at) {
                sqlx::query(
                    "INSERT INTO nt_sms_consent (phone_index, opted_out, keyword, changed_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (phone_index) DO UPDATE SET opted_out = excluded.opted_out, \
                     keyword = excluded.keyword, changed_at = excluded.changed_at",
                )
                .bind(index)
                .bind(out)
                .bind(keyword)
                .bind(at)
                .execute(&mut *c)
                .await?;
            }
            sqlx::query("DELETE FROM nt_sms_consent WHERE phone_index = $1")
                .bind(clear)
                .execute(&mut *c)
                .await?;
        }
        sqlx::query(
            "UPDATE nt_reply_codes SET phone_index = $2 WHERE phone_index = $1 \
             AND code NOT IN (SELECT code FROM nt_reply_codes WHERE phone_index = $2)",
        )
        .bind(clear)
        .bind(index)
        .execute(&mut *c)
        .await?;
        sqlx::query("DELETE FROM nt_reply_codes WHERE phone_index = $1")
            .bind(clear)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE nt_inbound SET phone_index = $2 WHERE phone_index = $1")
            .bind(clear)
            .bind(index)
            .execute(&mut *c)
            .await?;
        Ok::<_, sqlx::Error>(())
    })?;
    tx.commit().await
}
