//! The voice service's SQL, one text for both backends. What a broker reads or changes
//! names its organization; the provider's webhooks act for the system, on the call their
//! signed URL names.
//!
//! A turn is claimed by inserting its row (`vc_turns`, keyed by call and turn) before the
//! agent acts, and the call moves on by compare-and-set on its turn count: a webhook that
//! Twilio retries, even at the same instant, is answered once and repeated.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

use crate::CallId;

// ---- lines ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub phone_number: String,
    pub org_id: Uuid,
    pub company_name: String,
    pub transfer_number: Option<String>,
    pub recording_notice: bool,
    pub updated_at: DateTime<Utc>,
}

const LINE: &str =
    "phone_number, org_id, company_name, transfer_number, recording_notice, updated_at";

/// Adds or changes `org`'s line; `false` when the number is another organization's.
pub async fn put_line(db: &Db, org: OrgId, l: &LineRow) -> sqlx::Result<bool> {
    let sql = format!(
        "INSERT INTO vc_lines ({LINE}) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (phone_number) DO UPDATE SET company_name = excluded.company_name, \
         transfer_number = excluded.transfer_number, recording_notice = excluded.recording_notice, \
         updated_at = excluded.updated_at WHERE vc_lines.org_id = excluded.org_id"
    );
    on_db!(db, |c| sqlx::query(&sql)
        .bind(&l.phone_number)
        .bind(org.0)
        .bind(&l.company_name)
        .bind(&l.transfer_number)
        .bind(l.recording_notice)
        .bind(l.updated_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn lines(db: &Db, org: OrgId) -> sqlx::Result<Vec<LineRow>> {
    let sql = format!("SELECT {LINE} FROM vc_lines WHERE org_id = $1 ORDER BY phone_number");
    on_db!(db, |c| sqlx::query_as(&sql).bind(org.0).fetch_all(c).await)
}

/// `org`'s line `number`.
pub async fn line(db: &Db, org: OrgId, number: &str) -> sqlx::Result<Option<LineRow>> {
    let sql = format!("SELECT {LINE} FROM vc_lines WHERE org_id = $1 AND phone_number = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org.0)
        .bind(number)
        .fetch_optional(c)
        .await)
}

pub async fn delete_line(db: &Db, org: OrgId, number: &str) -> sqlx::Result<bool> {
    let sql = "DELETE FROM vc_lines WHERE org_id = $1 AND phone_number = $2";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org.0)
        .bind(number)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// The line a call came in on (system: the provider's webhook names the number called).
pub async fn line_called(db: &Db, number: &str) -> sqlx::Result<Option<LineRow>> {
    let sql = format!("SELECT {LINE} FROM vc_lines WHERE phone_number = $1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(number)
        .fetch_optional(c)
        .await)
}

/// `org`'s first line (a simulated call without a number named).
pub async fn first_line(db: &Db, org: OrgId) -> sqlx::Result<Option<LineRow>> {
    let sql =
        format!("SELECT {LINE} FROM vc_lines WHERE org_id = $1 ORDER BY phone_number LIMIT 1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org.0)
        .fetch_optional(c)
        .await)
}

// ---- the loads and carriers callers ask about ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoadRow {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub reference: String,
    pub reference_key: String,
    pub origin: String,
    pub destination: String,
    pub equipment: String,
    pub weight_lbs: i64,
    pub loaded_miles: f64,
    pub pickup_at: DateTime<Utc>,
    pub rate_cents: Option<i64>,
    pub status: String,
    pub visibility: String,
}

const LOAD: &str =
    "load_id, broker_org_id, reference, reference_key, origin, destination, equipment, \
                    weight_lbs, loaded_miles, pickup_at, rate_cents, status, visibility";

pub async fn upsert_load(tx: &mut Tx, l: &LoadRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO vc_loads ({LOAD}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (load_id) DO UPDATE SET reference = excluded.reference, reference_key = excluded.reference_key, \
         origin = excluded.origin, destination = excluded.destination, equipment = excluded.equipment, \
         weight_lbs = excluded.weight_lbs, loaded_miles = excluded.loaded_miles, pickup_at = excluded.pickup_at, \
         rate_cents = excluded.rate_cents, status = excluded.status, visibility = excluded.visibility"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(l.load_id)
        .bind(l.broker_org_id)
        .bind(&l.reference)
        .bind(&l.reference_key)
        .bind(&l.origin)
        .bind(&l.destination)
        .bind(&l.equipment)
        .bind(l.weight_lbs)
        .bind(l.loaded_miles)
        .bind(l.pickup_at)
        .bind(l.rate_cents)
        .bind(&l.status)
        .bind(&l.visibility)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Statuses of a load on the road, when a check call makes sense.
pub const MOVING: [&str; 4] = ["dispatched", "at_pickup", "in_transit", "at_delivery"];

/// [`MOVING`] as an SQL list: `('dispatched', …)`.
fn moving_sql() -> String {
    let quoted: Vec<String> = MOVING.iter().map(|s| format!("'{s}'")).collect();
    format!("({})", quoted.join(", "))
}

/// The load's status; the time it first started moving is kept.
pub async fn set_load_status(
    tx: &mut Tx,
    load: Uuid,
    status: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let moving = moving_sql();
    let sql = format!(
        "UPDATE vc_loads SET status = $2, moving_since = CASE WHEN $2 IN {moving} \
         THEN COALESCE(moving_since, $3) ELSE moving_since END WHERE load_id = $1"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(load)
        .bind(status)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn set_load_carrier(tx: &mut Tx, load: Uuid, carrier: Option<Uuid>) -> sqlx::Result<()> {
    let sql = "UPDATE vc_loads SET carrier_org_id = $2 WHERE load_id = $1";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(load)
        .bind(carrier)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The latest position time (an older one arriving late changes nothing).
pub async fn seen(tx: &mut Tx, load: Uuid, at: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "UPDATE vc_loads SET last_position_at = $2 WHERE load_id = $1 \
               AND (last_position_at IS NULL OR last_position_at < $2)";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(load)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// A moving load and whom a check call about it goes to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OnTheRoad {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Uuid,
    pub phone: String,
    pub mc_number: Option<i64>,
}

const ON_THE_ROAD: &str =
    "SELECT l.load_id, l.broker_org_id, l.carrier_org_id, d.phone, c.mc_number FROM vc_loads l \
     JOIN vc_dispatch d ON d.carrier_org_id = l.carrier_org_id \
     LEFT JOIN vc_carriers c ON c.carrier_org_id = l.carrier_org_id";

/// `org`'s load, if it is on the road and its carrier gave a dispatch number.
pub async fn on_the_road(db: &Db, org: OrgId, load: Uuid) -> sqlx::Result<Option<OnTheRoad>> {
    let moving = moving_sql();
    let sql = format!(
        "{ON_THE_ROAD} WHERE l.broker_org_id = $1 AND l.load_id = $2 AND l.status IN {moving}"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org.0)
        .bind(load)
        .fetch_optional(c)
        .await)
}

/// Claims the load's next check call: `false` when one was placed since `before` (by
/// another instance's sweep, or a broker).
pub async fn claim_check_call(
    db: &Db,
    load: Uuid,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE vc_loads SET check_called_at = $3 WHERE load_id = $1 \
               AND (check_called_at IS NULL OR check_called_at < $2)";
    on_db!(db, |c| sqlx::query(sql)
        .bind(load)
        .bind(before)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Loads on the road with no position since `before` (or none at all since they started
/// moving before it), and no check call since `before`: the sweep's work.
pub async fn due_check_calls(
    db: &Db,
    before: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<OnTheRoad>> {
    let moving = moving_sql();
    let sql = format!(
        "{ON_THE_ROAD} WHERE l.status IN {moving} AND l.moving_since < $1 \
         AND (l.last_position_at IS NULL OR l.last_position_at < $1) \
         AND (l.check_called_at IS NULL OR l.check_called_at < $1) ORDER BY l.moving_since LIMIT $2"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// `org`'s posted public loads, soonest pickup first (what a caller may be offered).
/// `org`'s posted public loads whose reference key ends with `key` (the whole key, or the
/// digits a caller said without the letters); the caller picks the exact match.
pub async fn open_loads_ending(db: &Db, org: OrgId, key: &str) -> sqlx::Result<Vec<LoadRow>> {
    let sql = format!(
        "SELECT {LOAD} FROM vc_loads WHERE broker_org_id = $1 AND status = 'posted' \
         AND visibility = 'public' AND (reference_key = $2 OR reference_key LIKE '%' || $2) \
         ORDER BY pickup_at LIMIT 50"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org.0)
        .bind(key)
        .fetch_all(c)
        .await)
}

pub async fn open_loads(db: &Db, org: OrgId, limit: i64) -> sqlx::Result<Vec<LoadRow>> {
    let sql = format!(
        "SELECT {LOAD} FROM vc_loads WHERE broker_org_id = $1 AND status = 'posted' \
         AND visibility = 'public' ORDER BY pickup_at LIMIT $2"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org.0)
        .bind(limit)
        .fetch_all(c)
        .await)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CarrierRow {
    pub carrier_org_id: Uuid,
    pub mc_number: Option<i64>,
    pub usdot_number: i64,
    pub standing: String,
    pub checked_at: DateTime<Utc>,
}

pub async fn put_carrier(tx: &mut Tx, r: &CarrierRow) -> sqlx::Result<()> {
    // An older check arriving late does not undo a newer one.
    let sql =
        "INSERT INTO vc_carriers (carrier_org_id, mc_number, usdot_number, standing, checked_at) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (carrier_org_id) DO UPDATE SET \
               mc_number = excluded.mc_number, usdot_number = excluded.usdot_number, \
               standing = excluded.standing, checked_at = excluded.checked_at \
               WHERE vc_carriers.checked_at <= excluded.checked_at";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(r.carrier_org_id)
        .bind(r.mc_number)
        .bind(r.usdot_number)
        .bind(&r.standing)
        .bind(r.checked_at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The carrier organizations holding MC `mc`, verified ones first.
pub async fn carriers_by_mc(db: &Db, mc: i64) -> sqlx::Result<Vec<CarrierRow>> {
    let sql = "SELECT carrier_org_id, mc_number, usdot_number, standing, checked_at FROM vc_carriers \
               WHERE mc_number = $1 ORDER BY CASE standing WHEN 'verified' THEN 0 WHEN 'unverified' THEN 1 ELSE 2 END, checked_at DESC";
    on_db!(db, |c| sqlx::query_as(sql).bind(mc).fetch_all(c).await)
}

/// `org`'s load, whatever its status.
pub async fn load(db: &Db, org: OrgId, load: Uuid) -> sqlx::Result<Option<LoadRow>> {
    let sql = format!("SELECT {LOAD} FROM vc_loads WHERE broker_org_id = $1 AND load_id = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org.0)
        .bind(load)
        .fetch_optional(c)
        .await)
}

// ---- outreach: carriers' dispatch numbers and the carriers matched to each load ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DispatchRow {
    pub carrier_org_id: Uuid,
    pub phone: String,
    pub consented_by: Uuid,
    pub consented_at: DateTime<Utc>,
}

pub async fn put_dispatch(db: &Db, org: OrgId, d: &DispatchRow) -> sqlx::Result<()> {
    let sql = "INSERT INTO vc_dispatch (carrier_org_id, phone, consented_by, consented_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (carrier_org_id) DO UPDATE SET phone = excluded.phone, \
               consented_by = excluded.consented_by, consented_at = excluded.consented_at";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org.0)
        .bind(&d.phone)
        .bind(d.consented_by)
        .bind(d.consented_at)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn dispatch(db: &Db, org: OrgId) -> sqlx::Result<Option<DispatchRow>> {
    let sql = "SELECT carrier_org_id, phone, consented_by, consented_at FROM vc_dispatch WHERE carrier_org_id = $1";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org.0)
        .fetch_optional(c)
        .await)
}

pub async fn delete_dispatch(db: &Db, org: OrgId) -> sqlx::Result<bool> {
    let sql = "DELETE FROM vc_dispatch WHERE carrier_org_id = $1";
    on_db!(db, |c| sqlx::query(sql)
        .bind(org.0)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Keeps the best (lowest) cost matching suggested for this carrier on this load.
pub async fn suggest(
    tx: &mut Tx,
    load: Uuid,
    carrier: Uuid,
    broker: Uuid,
    cost_cents: f64,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO vc_suggestions (load_id, carrier_org_id, broker_org_id, cost_cents) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (load_id, carrier_org_id) DO UPDATE SET cost_cents = excluded.cost_cents \
               WHERE excluded.cost_cents < vc_suggestions.cost_cents";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(load)
        .bind(carrier)
        .bind(broker)
        .bind(cost_cents)
        .execute(c)
        .await
        .map(|_| ()))
}

/// A carrier matching suggested for a load, with a dispatch number, not yet called about it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub carrier_org_id: Uuid,
    pub phone: String,
    pub mc_number: Option<i64>,
    pub standing: Option<String>,
}

/// `org`'s load's matched carriers that can be called, best match first.
pub async fn outreach_candidates(
    db: &Db,
    org: OrgId,
    load: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<Candidate>> {
    let sql = "SELECT s.carrier_org_id, d.phone, c.mc_number, c.standing FROM vc_suggestions s \
               JOIN vc_dispatch d ON d.carrier_org_id = s.carrier_org_id \
               LEFT JOIN vc_carriers c ON c.carrier_org_id = s.carrier_org_id \
               WHERE s.broker_org_id = $1 AND s.load_id = $2 AND NOT EXISTS (SELECT 1 FROM vc_calls k \
               WHERE k.direction = 'outbound' AND k.load_id = s.load_id AND k.carrier_org_id = s.carrier_org_id) \
               ORDER BY s.cost_cents, s.carrier_org_id LIMIT $3";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org.0)
        .bind(load)
        .bind(limit)
        .fetch_all(c)
        .await)
}

// ---- calls ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallRow {
    pub id: CallId,
    pub org_id: Uuid,
    pub call_sid: String,
    pub channel: String,
    pub from_number: String,
    pub to_number: String,
    /// The agent's state (`service::Progress`), as JSON.
    pub progress: String,
    pub turn: i64,
    pub status: String,
    pub outcome: Option<String>,
    pub mc_number: Option<i64>,
    pub carrier_org_id: Option<Uuid>,
    pub load_id: Option<Uuid>,
    pub negotiation_id: Option<Uuid>,
    pub agreed_cents: Option<i64>,
    pub sentiment: Option<String>,
    pub summary: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `inbound` (a carrier called a line) or `outbound` (outreach: we called).
    pub direction: String,
    /// When the retention job deleted its transcript.
    pub transcript_purged_at: Option<DateTime<Utc>>,
}

const CALL: &str = "id, org_id, call_sid, channel, from_number, to_number, progress, turn, status, outcome, \
                    mc_number, carrier_org_id, load_id, negotiation_id, agreed_cents, sentiment, summary, \
                    started_at, ended_at, direction, transcript_purged_at";

/// Records a new call; `false` when one with its `call_sid` is already recorded (the
/// provider retried the first webhook), or, for outreach, when this carrier was already
/// called about this load.
pub async fn insert_call(tx: &mut Tx, r: &CallRow) -> sqlx::Result<bool> {
    let sql = format!(
        "INSERT INTO vc_calls ({CALL}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
         ON CONFLICT DO NOTHING"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(r.id)
        .bind(r.org_id)
        .bind(&r.call_sid)
        .bind(&r.channel)
        .bind(&r.from_number)
        .bind(&r.to_number)
        .bind(&r.progress)
        .bind(r.turn)
        .bind(&r.status)
        .bind(&r.outcome)
        .bind(r.mc_number)
        .bind(r.carrier_org_id)
        .bind(r.load_id)
        .bind(r.negotiation_id)
        .bind(r.agreed_cents)
        .bind(&r.sentiment)
        .bind(&r.summary)
        .bind(r.started_at)
        .bind(r.ended_at)
        .bind(&r.direction)
        .bind(r.transcript_purged_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn call_by_sid(db: &Db, sid: &str) -> sqlx::Result<Option<CallRow>> {
    let sql = format!("SELECT {CALL} FROM vc_calls WHERE call_sid = $1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(sid)
        .fetch_optional(c)
        .await)
}

/// A call, for the provider's webhooks (whose signed URL names it).
pub async fn call_system(db: &Db, id: CallId) -> sqlx::Result<Option<CallRow>> {
    let sql = format!("SELECT {CALL} FROM vc_calls WHERE id = $1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub async fn call(db: &Db, org: OrgId, id: CallId) -> sqlx::Result<Option<CallRow>> {
    let sql = format!("SELECT {CALL} FROM vc_calls WHERE org_id = $1 AND id = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org.0)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// `org`'s calls, newest first, optionally on one load or from one carrier.
pub async fn calls(
    db: &Db,
    org: OrgId,
    load: Option<Uuid>,
    carrier: Option<Uuid>,
    before: Option<CallId>,
    limit: i64,
) -> sqlx::Result<Vec<CallRow>> {
    let sql = format!(
        "SELECT {CALL} FROM vc_calls WHERE org_id = $1 AND ($2 IS NULL OR load_id = $2) \
         AND ($3 IS NULL OR carrier_org_id = $3) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org.0)
        .bind(load)
        .bind(carrier)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Writes the call as the turn `read_turn` left it, only if no other request moved it
/// on meanwhile.
pub async fn save_call(tx: &mut Tx, r: &CallRow, read_turn: i64) -> sqlx::Result<bool> {
    let sql = "UPDATE vc_calls SET progress = $3, turn = $4, status = $5, outcome = $6, mc_number = $7, \
               carrier_org_id = $8, load_id = $9, negotiation_id = $10, agreed_cents = $11, sentiment = $12, \
               summary = $13, ended_at = $14, call_sid = $15 WHERE id = $1 AND turn = $2";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(r.id)
        .bind(read_turn)
        .bind(&r.progress)
        .bind(r.turn)
        .bind(&r.status)
        .bind(&r.outcome)
        .bind(r.mc_number)
        .bind(r.carrier_org_id)
        .bind(r.load_id)
        .bind(r.negotiation_id)
        .bind(r.agreed_cents)
        .bind(&r.sentiment)
        .bind(&r.summary)
        .bind(r.ended_at)
        .bind(&r.call_sid)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

// ---- turns ----

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TurnRow {
    pub call_id: CallId,
    pub turn: i64,
    pub heard: Option<String>,
    pub said: Option<String>,
    pub reply: Option<String>,
    pub at: DateTime<Utc>,
}

/// Claims turn `turn` of the call with what was heard; `false` when another request has.
pub async fn claim_turn(
    db: &Db,
    call: CallId,
    turn: i64,
    heard: Option<&str>,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "INSERT INTO vc_turns (call_id, turn, heard, at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (call_id, turn) DO NOTHING";
    on_db!(db, |c| sqlx::query(sql)
        .bind(call)
        .bind(turn)
        .bind(heard)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Gives up a claim whose turn failed, so the provider's retry can take it.
pub async fn release_turn(db: &Db, call: CallId, turn: i64) -> sqlx::Result<()> {
    let sql = "DELETE FROM vc_turns WHERE call_id = $1 AND turn = $2 AND reply IS NULL";
    on_db!(db, |c| sqlx::query(sql)
        .bind(call)
        .bind(turn)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn answer_turn(
    tx: &mut Tx,
    call: CallId,
    turn: i64,
    said: &str,
    reply: &str,
) -> sqlx::Result<()> {
    let sql = "UPDATE vc_turns SET said = $3, reply = $4 WHERE call_id = $1 AND turn = $2";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(call)
        .bind(turn)
        .bind(said)
        .bind(reply)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn turn(db: &Db, call: CallId, turn: i64) -> sqlx::Result<Option<TurnRow>> {
    let sql = "SELECT call_id, turn, heard, said, reply, at FROM vc_turns WHERE call_id = $1 AND turn = $2";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(call)
        .bind(turn)
        .fetch_optional(c)
        .await)
}

/// Retention: deletes the transcripts of up to `limit` calls that started before `before`
/// and marks them; how many calls.
pub async fn purge_transcripts(
    db: &Db,
    before: DateTime<Utc>,
    limit: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<usize> {
    let mut tx = db.begin().await?;
    let due: Vec<CallId> = on_tx!(&mut tx, |c| {
        sqlx::query_scalar(
        "SELECT id FROM vc_calls WHERE transcript_purged_at IS NULL AND started_at < $1 ORDER BY started_at LIMIT $2"
    )
    .bind(before)
    .bind(limit)
    .fetch_all(c)
    .await
    })?;
    for id in &due {
        on_tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM vc_turns WHERE call_id = $1"
        )
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))?;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE vc_calls SET transcript_purged_at = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))?;
    }
    tx.commit().await?;
    Ok(due.len())
}

pub async fn turns(db: &Db, call: CallId) -> sqlx::Result<Vec<TurnRow>> {
    let sql = "SELECT call_id, turn, heard, said, reply, at FROM vc_turns WHERE call_id = $1 ORDER BY turn";
    on_db!(db, |c| sqlx::query_as(sql).bind(call).fetch_all(c).await)
}

/// A whole turn at once (the greeting, which answers the call's first webhook).
pub async fn record_turn(tx: &mut Tx, t: &TurnRow) -> sqlx::Result<()> {
    let sql = "INSERT INTO vc_turns (call_id, turn, heard, said, reply, at) VALUES ($1, $2, $3, $4, $5, $6)";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(t.call_id)
        .bind(t.turn)
        .bind(&t.heard)
        .bind(&t.said)
        .bind(&t.reply)
        .bind(t.at)
        .execute(c)
        .await
        .map(|_| ()))
}
