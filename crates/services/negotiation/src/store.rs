//! The negotiation service's SQL, one text for both backends. A negotiation is read by
//! its id together with the caller's organization (as broker or as carrier), so another
//! organization's negotiation is not found rather than forbidden.

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, UserId};
use lanerunner_negotiation::protocol::Negotiation;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use crate::NegotiationId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoadRow {
    pub load_id: Uuid,
    pub broker_org_id: OrgId,
    pub posted_rate_cents: Option<i64>,
    pub loaded_miles: f64,
    pub pickup_at: DateTime<Utc>,
    pub origin: String,
    pub destination: String,
    pub equipment: String,
    pub weight_lbs: i64,
    pub status: String,
    /// `public` or `private` (negotiated only by the broker's preferred carriers).
    pub visibility: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NegotiationRow {
    pub id: NegotiationId,
    pub load_id: Uuid,
    pub broker_org_id: OrgId,
    pub carrier_org_id: OrgId,
    pub status: String,
    pub state: Json<Negotiation>,
    pub version: i64,
    pub closed_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub seq: i64,
    pub side: String,
    pub author_id: Option<UserId>,
    pub event: Json<serde_json::Value>,
    pub text: Option<String>,
    pub at: DateTime<Utc>,
}

impl LoadRow {
    pub fn is_private(&self) -> bool {
        self.visibility == "private"
    }
}

/// A load as posted; a repost keeps the terms current but never reopens a load that has
/// moved on (its status changes carry versions, the posting does not).
pub async fn upsert_posted(tx: &mut Tx, l: &LoadRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO loads (load_id, broker_org_id, posted_rate_cents, loaded_miles, pickup_at, origin, destination, \
         equipment, weight_lbs, status, status_version, visibility) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'posted', 0, $10) ON CONFLICT (load_id) DO UPDATE SET \
         posted_rate_cents = excluded.posted_rate_cents, loaded_miles = excluded.loaded_miles, \
         pickup_at = excluded.pickup_at, origin = excluded.origin, destination = excluded.destination, \
         equipment = excluded.equipment, weight_lbs = excluded.weight_lbs, visibility = excluded.visibility"
    )
    .bind(l.load_id)
    .bind(l.broker_org_id)
    .bind(l.posted_rate_cents)
    .bind(l.loaded_miles)
    .bind(l.pickup_at)
    .bind(&l.origin)
    .bind(&l.destination)
    .bind(&l.equipment)
    .bind(l.weight_lbs)
    .bind(&l.visibility)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Moves the load to `status` unless a later change is already stored; whether it moved.
pub async fn set_load_status(
    tx: &mut Tx,
    load: Uuid,
    status: &str,
    version: i64,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE loads SET status = $2, status_version = $3 WHERE load_id = $1 AND status_version < $3"
    )
    .bind(load)
    .bind(status)
    .bind(version)
    .execute(c)
    .await
    .map(|d| d.rows_affected() == 1)
    })
}

const LOAD_COLUMNS: &str =
    "load_id, broker_org_id, posted_rate_cents, loaded_miles, pickup_at, origin, \
                            destination, equipment, weight_lbs, status, visibility";

pub async fn load(db: &Db, load: Uuid) -> sqlx::Result<Option<LoadRow>> {
    let sql = format!("SELECT {LOAD_COLUMNS} FROM loads WHERE load_id = $1");
    on_db!(db, |p| {
        sqlx::query_as(&sql).bind(load).fetch_optional(p).await
    })
}

pub async fn load_in(tx: &mut Tx, load: Uuid) -> sqlx::Result<Option<LoadRow>> {
    let sql = format!("SELECT {LOAD_COLUMNS} FROM loads WHERE load_id = $1");
    on_tx!(tx, |c| {
        sqlx::query_as(&sql).bind(load).fetch_optional(c).await
    })
}

const COLUMNS: &str = "id, load_id, broker_org_id, carrier_org_id, status, state, version, closed_reason, created_at, updated_at";

/// The negotiation `id` if `org` is one of its two parties.
pub async fn negotiation(
    db: &Db,
    org: OrgId,
    id: NegotiationId,
) -> sqlx::Result<Option<NegotiationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM negotiations WHERE id = $1 AND (broker_org_id = $2 OR carrier_org_id = $2)");
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(id)
        .bind(org)
        .fetch_optional(p)
        .await)
}

/// `org`'s negotiations (as either party), on one load or all, most recently changed first.
pub async fn negotiations(
    db: &Db,
    org: OrgId,
    load: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<NegotiationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM negotiations WHERE (broker_org_id = $1 OR carrier_org_id = $1) \
         AND ($2 IS NULL OR load_id = $2) ORDER BY updated_at DESC, id DESC LIMIT $3"
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(org)
        .bind(load)
        .bind(limit)
        .fetch_all(p)
        .await)
}

/// The open negotiation `org` (a carrier) has on `load`, if any.
pub async fn open_for_carrier(
    tx: &mut Tx,
    load: Uuid,
    carrier: OrgId,
) -> sqlx::Result<Option<NegotiationId>> {
    let row: Option<(NegotiationId,)> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT id FROM negotiations WHERE load_id = $1 AND carrier_org_id = $2 AND status = 'open'"
    )
    .bind(load)
    .bind(carrier)
    .fetch_optional(c)
    .await
    })?;
    Ok(row.map(|r| r.0))
}

/// Open negotiations on `load` other than `except`, for closing.
pub async fn open_on_load(
    tx: &mut Tx,
    load: Uuid,
    except: Option<NegotiationId>,
) -> sqlx::Result<Vec<NegotiationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM negotiations WHERE load_id = $1 AND status = 'open' AND ($2 IS NULL OR id <> $2)");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(load)
        .bind(except)
        .fetch_all(c)
        .await)
}

pub async fn insert(tx: &mut Tx, r: &NegotiationRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO negotiations (id, load_id, broker_org_id, carrier_org_id, status, state, version, closed_reason, \
         deadline, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(r.id)
    .bind(r.load_id)
    .bind(r.broker_org_id)
    .bind(r.carrier_org_id)
    .bind(&r.status)
    .bind(&r.state)
    .bind(r.version)
    .bind(&r.closed_reason)
    .bind(r.state.0.terms.deadline)
    .bind(r.created_at)
    .bind(r.updated_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Stores the new state if the row is still at `read_version`; whether it was.
pub async fn update(tx: &mut Tx, r: &NegotiationRow, read_version: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE negotiations SET status = $3, state = $4, version = $5, closed_reason = $6, updated_at = $7 \
         WHERE id = $1 AND version = $2"
    )
    .bind(r.id)
    .bind(read_version)
    .bind(&r.status)
    .bind(&r.state)
    .bind(r.version)
    .bind(&r.closed_reason)
    .bind(r.updated_at)
    .execute(c)
    .await
    .map(|d| d.rows_affected() == 1)
    })
}

pub struct NewMessage<'a> {
    pub negotiation: NegotiationId,
    pub side: &'a str,
    pub author: Option<UserId>,
    pub event: serde_json::Value,
    pub text: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Stores a message; its sequence number in the negotiation.
pub async fn insert_message(tx: &mut Tx, m: &NewMessage<'_>) -> sqlx::Result<i64> {
    on_tx!(tx, |c| {
        sqlx::query_scalar(
        "INSERT INTO negotiation_messages (negotiation_id, seq, side, author_id, event, text, at) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM negotiation_messages WHERE negotiation_id = $1), $2, $3, $4, $5, $6) \
         RETURNING seq"
    )
    .bind(m.negotiation)
    .bind(m.side)
    .bind(m.author)
    .bind(Json(&m.event))
    .bind(m.text)
    .bind(m.at)
    .fetch_one(c)
    .await
    })
}

pub async fn messages(db: &Db, id: NegotiationId) -> sqlx::Result<Vec<MessageRow>> {
    on_db!(db, |p| {
        sqlx::query_as(
        "SELECT seq, side, author_id, event, text, at FROM negotiation_messages WHERE negotiation_id = $1 ORDER BY seq"
    )
    .bind(id)
    .fetch_all(p)
    .await
    })
}

/// Whether `e` is the unique index that allows one agreement per load.
pub fn is_second_agreement(e: &sqlx::Error) -> bool {
    // PostgreSQL names the index; SQLite names the columns.
    e.as_database_error().is_some_and(|d| {
        d.is_unique_violation()
            && (d.constraint() == Some("negotiations_one_agreement_per_load")
                || d.message().ends_with("negotiations.load_id"))
    })
}

/// Whether `e` is the unique index that allows one open negotiation per carrier and load.
pub fn is_second_open(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// The negotiation `id`, read in `tx` for a change made on behalf of a party (the agent).
pub async fn negotiation_in(
    tx: &mut Tx,
    id: NegotiationId,
) -> sqlx::Result<Option<NegotiationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM negotiations WHERE id = $1");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PolicyRow {
    pub load_id: Uuid,
    pub broker_org_id: OrgId,
    pub start_cents: i64,
    pub target_cents: Option<i64>,
    pub max_cents: i64,
    pub approval_above_cents: Option<i64>,
    pub concession: f64,
    pub updated_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
}

const POLICY_COLUMNS: &str =
    "load_id, broker_org_id, start_cents, target_cents, max_cents, approval_above_cents, \
                              concession, updated_by, updated_at";

pub async fn put_policy(db: &Db, p: &PolicyRow) -> sqlx::Result<()> {
    on_db!(db, |c| {
        sqlx::query(
        "INSERT INTO agent_policies (load_id, broker_org_id, start_cents, target_cents, max_cents, approval_above_cents, \
         concession, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (load_id) DO UPDATE SET start_cents = excluded.start_cents, target_cents = excluded.target_cents, \
         max_cents = excluded.max_cents, approval_above_cents = excluded.approval_above_cents, \
         concession = excluded.concession, updated_by = excluded.updated_by, updated_at = excluded.updated_at"
    )
    .bind(p.load_id)
    .bind(p.broker_org_id)
    .bind(p.start_cents)
    .bind(p.target_cents)
    .bind(p.max_cents)
    .bind(p.approval_above_cents)
    .bind(p.concession)
    .bind(p.updated_by)
    .bind(p.updated_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// The agent policy on `load` if `org` is its broker.
pub async fn policy(db: &Db, org: OrgId, load: Uuid) -> sqlx::Result<Option<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM agent_policies WHERE load_id = $1 AND broker_org_id = $2"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(load)
        .bind(org)
        .fetch_optional(c)
        .await)
}

pub async fn policy_in(tx: &mut Tx, org: OrgId, load: Uuid) -> sqlx::Result<Option<PolicyRow>> {
    let sql = format!(
        "SELECT {POLICY_COLUMNS} FROM agent_policies WHERE load_id = $1 AND broker_org_id = $2"
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(load)
        .bind(org)
        .fetch_optional(c)
        .await)
}

pub async fn delete_policy(db: &Db, org: OrgId, load: Uuid) -> sqlx::Result<bool> {
    on_db!(db, |c| sqlx::query(
        "DELETE FROM agent_policies WHERE load_id = $1 AND broker_org_id = $2"
    )
    .bind(load)
    .bind(org)
    .execute(c)
    .await
    .map(|d| d.rows_affected() == 1))
}

/// Open negotiations whose deadline has come, oldest deadline first.
pub async fn due(db: &Db, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<NegotiationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM negotiations WHERE status = 'open' AND deadline <= $1 ORDER BY deadline, id LIMIT $2"
    );
    on_db!(db, |p| sqlx::query_as(&sql)
        .bind(now)
        .bind(limit)
        .fetch_all(p)
        .await)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CarrierPolicyRow {
    pub carrier_org_id: OrgId,
    pub desired_rpm_cents: i64,
    pub min_rpm_cents: i64,
    pub approval_below_cents: Option<i64>,
    pub concession: f64,
    pub updated_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
}

const CARRIER_POLICY_COLUMNS: &str =
    "carrier_org_id, desired_rpm_cents, min_rpm_cents, approval_below_cents, concession, updated_by, updated_at";

pub async fn put_carrier_policy(db: &Db, p: &CarrierPolicyRow) -> sqlx::Result<()> {
    on_db!(db, |c| {
        sqlx::query(
        "INSERT INTO carrier_policies (carrier_org_id, desired_rpm_cents, min_rpm_cents, approval_below_cents, \
         concession, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (carrier_org_id) DO UPDATE SET desired_rpm_cents = excluded.desired_rpm_cents, \
         min_rpm_cents = excluded.min_rpm_cents, approval_below_cents = excluded.approval_below_cents, \
         concession = excluded.concession, updated_by = excluded.updated_by, updated_at = excluded.updated_at"
    )
    .bind(p.carrier_org_id)
    .bind(p.desired_rpm_cents)
    .bind(p.min_rpm_cents)
    .bind(p.approval_below_cents)
    .bind(p.concession)
    .bind(p.updated_by)
    .bind(p.updated_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn carrier_policy(db: &Db, org: OrgId) -> sqlx::Result<Option<CarrierPolicyRow>> {
    let sql =
        format!("SELECT {CARRIER_POLICY_COLUMNS} FROM carrier_policies WHERE carrier_org_id = $1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .fetch_optional(c)
        .await)
}

pub async fn carrier_policy_in(tx: &mut Tx, org: OrgId) -> sqlx::Result<Option<CarrierPolicyRow>> {
    let sql =
        format!("SELECT {CARRIER_POLICY_COLUMNS} FROM carrier_policies WHERE carrier_org_id = $1");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(org)
        .fetch_optional(c)
        .await)
}

pub async fn delete_carrier_policy(db: &Db, org: OrgId) -> sqlx::Result<bool> {
    on_db!(db, |c| sqlx::query(
        "DELETE FROM carrier_policies WHERE carrier_org_id = $1"
    )
    .bind(org)
    .execute(c)
    .await
    .map(|d| d.rows_affected() == 1))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedCarrier {
    pub carrier_org_id: OrgId,
    pub list: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn put_listed(
    db: &Db,
    broker: OrgId,
    carrier: OrgId,
    list: &str,
    by: Option<UserId>,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_db!(db, |c| {
        sqlx::query(
        "INSERT INTO carrier_lists (broker_org_id, carrier_org_id, list, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (broker_org_id, carrier_org_id) DO UPDATE SET list = excluded.list, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at"
    )
    .bind(broker)
    .bind(carrier)
    .bind(list)
    .bind(by)
    .bind(at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn delete_listed(db: &Db, broker: OrgId, carrier: OrgId) -> sqlx::Result<bool> {
    on_db!(db, |c| sqlx::query(
        "DELETE FROM carrier_lists WHERE broker_org_id = $1 AND carrier_org_id = $2"
    )
    .bind(broker)
    .bind(carrier)
    .execute(c)
    .await
    .map(|d| d.rows_affected() == 1))
}

pub async fn listed(db: &Db, broker: OrgId) -> sqlx::Result<Vec<ListedCarrier>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT carrier_org_id, list, updated_at FROM carrier_lists WHERE broker_org_id = $1 ORDER BY list, carrier_org_id"
    )
    .bind(broker)
    .fetch_all(c)
    .await
    })
}

/// Which list, if any, `broker` keeps `carrier` on.
/// Everything that decides whether `carrier` may deal on `broker`'s loads: the broker's
/// list and rule, the carrier's standing.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ClearanceRow {
    pub list: Option<String>,
    pub standing: Option<String>,
    pub reasons: Option<Json<Vec<String>>>,
    pub allow_unverified: Option<bool>,
    pub private_loads_vetted_only: Option<bool>,
}

const CLEARANCE: &str = "SELECT \
    (SELECT list FROM carrier_lists WHERE broker_org_id = $1 AND carrier_org_id = $2) AS list, \
    (SELECT standing FROM carrier_standing WHERE carrier_org_id = $2) AS standing, \
    (SELECT reasons FROM carrier_standing WHERE carrier_org_id = $2) AS reasons, \
    (SELECT allow_unverified FROM vetting_policies WHERE broker_org_id = $1) AS allow_unverified, \
    (SELECT private_loads_vetted_only FROM vetting_policies WHERE broker_org_id = $1) AS private_loads_vetted_only";

pub async fn clearance(db: &Db, broker: OrgId, carrier: OrgId) -> sqlx::Result<ClearanceRow> {
    on_db!(db, |c| sqlx::query_as(CLEARANCE)
        .bind(broker)
        .bind(carrier)
        .fetch_one(c)
        .await)
}

/// The same, read in `tx` (where it decides the write).
pub async fn clearance_in(
    tx: &mut Tx,
    broker: OrgId,
    carrier: OrgId,
) -> sqlx::Result<ClearanceRow> {
    on_tx!(tx, |c| sqlx::query_as(CLEARANCE)
        .bind(broker)
        .bind(carrier)
        .fetch_one(c)
        .await)
}

/// A carrier's standing as checked at `checked_at`, unless a later check is already kept.
pub async fn put_standing(
    tx: &mut Tx,
    carrier: OrgId,
    standing: &str,
    reasons: &[String],
    checked_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO carrier_standing (carrier_org_id, standing, reasons, checked_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (carrier_org_id) DO UPDATE SET standing = excluded.standing, reasons = excluded.reasons, \
         checked_at = excluded.checked_at WHERE carrier_standing.checked_at < excluded.checked_at"
    )
    .bind(carrier)
    .bind(standing)
    .bind(Json(reasons))
    .bind(checked_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VettingPolicyRow {
    pub allow_unverified: bool,
    pub private_loads_vetted_only: bool,
    pub updated_at: DateTime<Utc>,
}

pub async fn vetting_policy(db: &Db, broker: OrgId) -> sqlx::Result<Option<VettingPolicyRow>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT allow_unverified, private_loads_vetted_only, updated_at FROM vetting_policies WHERE broker_org_id = $1"
    )
    .bind(broker)
    .fetch_optional(c)
    .await
    })
}

pub async fn put_vetting_policy(
    db: &Db,
    broker: OrgId,
    p: &VettingPolicyRow,
    by: Option<UserId>,
) -> sqlx::Result<()> {
    on_db!(db, |c| {
        sqlx::query(
        "INSERT INTO vetting_policies (broker_org_id, allow_unverified, private_loads_vetted_only, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (broker_org_id) DO UPDATE SET \
         allow_unverified = excluded.allow_unverified, private_loads_vetted_only = excluded.private_loads_vetted_only, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at"
    )
    .bind(broker)
    .bind(p.allow_unverified)
    .bind(p.private_loads_vetted_only)
    .bind(by)
    .bind(p.updated_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}
