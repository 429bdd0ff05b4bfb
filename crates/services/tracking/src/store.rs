//! Tracking's SQL, one text for both backends. Reads a caller makes name its organization
//! (as the load's broker or carrier); links are found by their token's hash.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrackedRow {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub reference: String,
    pub stops: String,
    pub state: String,
    pub status: String,
    pub eta: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The telematics provider naming the truck on the load, and its name for it.
    pub vehicle_provider: Option<String>,
    pub vehicle_ref: Option<String>,
}

const TRACKED: &str =
    "load_id, broker_org_id, carrier_org_id, reference, stops, state, status, eta, delivered_at, \
                       updated_at, vehicle_provider, vehicle_ref";

/// A booking starts tracking; a booking made again (another carrier) starts it afresh.
pub async fn track(tx: &mut Tx, r: &TrackedRow, now: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "INSERT INTO tracked_loads (load_id, broker_org_id, carrier_org_id, reference, stops, state, status, \
               updated_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7) \
               ON CONFLICT (load_id) DO UPDATE SET carrier_org_id = excluded.carrier_org_id, \
               reference = excluded.reference, stops = excluded.stops, state = excluded.state, status = 'active', \
               eta = NULL, delivered_at = NULL, vehicle_provider = NULL, vehicle_ref = NULL, \
               updated_at = excluded.updated_at";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(r.load_id)
        .bind(r.broker_org_id)
        .bind(r.carrier_org_id)
        .bind(&r.reference)
        .bind(&r.stops)
        .bind(&r.state)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn lock(tx: &mut Tx, load: Uuid) -> sqlx::Result<Option<TrackedRow>> {
    let sql = format!(
        "SELECT {TRACKED} FROM tracked_loads WHERE load_id = $1{}",
        tx.for_update()
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(load)
        .fetch_optional(c)
        .await)
}

/// The load, when the organization is its broker or its carrier.
pub async fn get(db: &Db, org: OrgId, load: Uuid) -> sqlx::Result<Option<TrackedRow>> {
    let sql = format!(
        "SELECT {TRACKED} FROM tracked_loads WHERE load_id = $1 AND (broker_org_id = $2 OR carrier_org_id = $2)"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(load)
        .bind(org)
        .fetch_optional(c)
        .await)
}

pub async fn get_any(db: &Db, load: Uuid) -> sqlx::Result<Option<TrackedRow>> {
    let sql = format!("SELECT {TRACKED} FROM tracked_loads WHERE load_id = $1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(load)
        .fetch_optional(c)
        .await)
}

pub async fn save(
    tx: &mut Tx,
    load: Uuid,
    state: &str,
    eta: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "UPDATE tracked_loads SET state = $2, eta = $3, updated_at = $4 WHERE load_id = $1";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(load)
        .bind(state)
        .bind(eta)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Delivered or cancelled: positions are no longer taken.
pub async fn end(tx: &mut Tx, load: Uuid, status: &str, at: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "UPDATE tracked_loads SET status = $2, delivered_at = CASE WHEN $2 = 'delivered' THEN $3 ELSE delivered_at END, \
               updated_at = $3 WHERE load_id = $1";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(load)
        .bind(status)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ()))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PositionRow {
    pub id: Uuid,
    pub load_id: Uuid,
    pub at: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub speed_mph: Option<f64>,
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub refusal: Option<String>,
    pub detail: Option<String>,
}

pub async fn put_position(tx: &mut Tx, p: &PositionRow) -> sqlx::Result<()> {
    let sql = "INSERT INTO positions (id, load_id, at, lat, lon, speed_mph, source, received_at, refusal, detail) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(p.id)
        .bind(p.load_id)
        .bind(p.at)
        .bind(p.lat)
        .bind(p.lon)
        .bind(p.speed_mph)
        .bind(&p.source)
        .bind(p.received_at)
        .bind(&p.refusal)
        .bind(&p.detail)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The load's latest positions, applied or not, newest first.
pub async fn positions(db: &Db, load: Uuid, limit: i64) -> sqlx::Result<Vec<PositionRow>> {
    let sql = "SELECT id, load_id, at, lat, lon, speed_mph, source, received_at, refusal, detail FROM positions \
               WHERE load_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(load)
        .bind(limit)
        .fetch_all(c)
        .await)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: Uuid,
    pub load_id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn put_link(db: &Db, l: &LinkRow, token_hash: &str, by: Uuid) -> sqlx::Result<()> {
    let sql = "INSERT INTO tracking_links (id, token_hash, load_id, org_id, kind, created_by, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_db!(db, |c| sqlx::query(sql)
        .bind(l.id)
        .bind(token_hash)
        .bind(l.load_id)
        .bind(l.org_id)
        .bind(&l.kind)
        .bind(by)
        .bind(l.created_at)
        .bind(l.expires_at)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn link_by_token(db: &Db, token_hash: &str) -> sqlx::Result<Option<LinkRow>> {
    let sql = "SELECT id, load_id, org_id, kind, created_at, expires_at, revoked_at FROM tracking_links WHERE token_hash = $1";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(token_hash)
        .fetch_optional(c)
        .await)
}

pub async fn links(db: &Db, org: OrgId, load: Uuid) -> sqlx::Result<Vec<LinkRow>> {
    let sql =
        "SELECT id, load_id, org_id, kind, created_at, expires_at, revoked_at FROM tracking_links \
               WHERE load_id = $1 AND org_id = $2 ORDER BY created_at DESC";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(load)
        .bind(org)
        .fetch_all(c)
        .await)
}

/// Revokes the organization's link: `false` when it has no such link.
pub async fn revoke(db: &Db, org: OrgId, id: Uuid, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let sql = "UPDATE tracking_links SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND org_id = $2";
    on_db!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(org)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn secret(db: &Db, org: Uuid) -> sqlx::Result<Option<String>> {
    let sql = "SELECT secret FROM tracking_secrets WHERE org_id = $1";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(org)
        .fetch_optional(c)
        .await)
}

/// Sets (or replaces) the organization's webhook secret.
pub async fn put_secret(db: &Db, org: OrgId, secret: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "INSERT INTO tracking_secrets (org_id, secret, created_at) VALUES ($1, $2, $3) \
               ON CONFLICT (org_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(secret)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The shared secret of the carrier's account with a telematics provider.
pub async fn provider_secret(db: &Db, org: Uuid, provider: &str) -> sqlx::Result<Option<String>> {
    let sql = "SELECT secret FROM tracking_providers WHERE org_id = $1 AND provider = $2";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(org)
        .bind(provider)
        .fetch_optional(c)
        .await)
}

pub async fn put_provider(
    db: &Db,
    org: OrgId,
    provider: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO tracking_providers (org_id, provider, secret, created_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (org_id, provider) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(provider)
        .bind(secret)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The carrier's connected providers and when each was connected.
pub async fn providers(db: &Db, org: OrgId) -> sqlx::Result<Vec<(String, DateTime<Utc>)>> {
    let sql =
        "SELECT provider, created_at FROM tracking_providers WHERE org_id = $1 ORDER BY provider";
    on_db!(db, |c| sqlx::query_as(sql).bind(org).fetch_all(c).await)
}

pub async fn delete_provider(db: &Db, org: OrgId, provider: &str) -> sqlx::Result<bool> {
    let sql = "DELETE FROM tracking_providers WHERE org_id = $1 AND provider = $2";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org)
        .bind(provider)
        .execute(c)
        .await
        .map(|r| r.rows_affected() > 0))
}

/// Names (or, with `None`, forgets) the truck on a load the carrier hauls and still tracks.
pub async fn set_vehicle(
    db: &Db,
    carrier: OrgId,
    load: Uuid,
    vehicle: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE tracked_loads SET vehicle_provider = $1, vehicle_ref = $2, updated_at = $3 \
               WHERE load_id = $4 AND carrier_org_id = $5 AND status = 'active'";
    on_db!(db, |c| sqlx::query(sql)
        .bind(vehicle.map(|v| v.0))
        .bind(vehicle.map(|v| v.1))
        .bind(now)
        .bind(load)
        .bind(carrier)
        .execute(c)
        .await
        .map(|r| r.rows_affected() > 0))
}

/// The carrier's loads still tracked whose truck is this provider's vehicle.
pub async fn loads_on_vehicle(
    db: &Db,
    carrier: Uuid,
    provider: &str,
    vehicle: &str,
) -> sqlx::Result<Vec<Uuid>> {
    let sql =
        "SELECT load_id FROM tracked_loads WHERE carrier_org_id = $1 AND vehicle_provider = $2 \
               AND vehicle_ref = $3 AND status = 'active' ORDER BY created_at";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(carrier)
        .bind(provider)
        .bind(vehicle)
        .fetch_all(c)
        .await)
}

/// Loads whose tracking ended before `cutoff` and whose positions are still kept.
pub async fn to_purge(db: &Db, cutoff: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<Uuid>> {
    let sql = "SELECT load_id FROM tracked_loads WHERE status <> 'active' AND updated_at < $1 \
               AND purged_at IS NULL ORDER BY updated_at LIMIT $2";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(cutoff)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Deletes a load's positions and the last one in its state: what remains is when it
/// reached each stop.
pub async fn purge(tx: &mut Tx, load: Uuid, state: &str, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let deleted = on_tx!(tx, |c| sqlx::query(
        "DELETE FROM positions WHERE load_id = $1"
    )
    .bind(load)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let sql = "UPDATE tracked_loads SET state = $2, eta = NULL, purged_at = $3 WHERE load_id = $1";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(load)
        .bind(state)
        .bind(now)
        .execute(c)
        .await
        .map(|_| deleted))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndedRow {
    pub stops: String,
    pub state: String,
}

/// A carrier's loads delivered since `since`, newest first.
pub async fn delivered_by(
    db: &Db,
    carrier: Uuid,
    since: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<EndedRow>> {
    let sql = "SELECT stops, state FROM tracked_loads WHERE carrier_org_id = $1 AND status = 'delivered' \
               AND delivered_at >= $2 ORDER BY delivered_at DESC LIMIT $3";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(carrier)
        .bind(since)
        .bind(limit)
        .fetch_all(c)
        .await)
}
