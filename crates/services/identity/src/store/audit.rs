//! The security audit trail.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};
use lanerunner_core::{AuditId, OrgId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use super::decode::{from_row, stored};
use crate::domain::audit_chain::{
    address_digest, chain_of, record_hash, to_micros, AddrSeal, Chained, GENESIS,
};
use crate::domain::{AuditAction, AuditOutcome};

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRow {
    pub id: AuditId,
    pub org_id: Option<OrgId>,
    /// The member or API key that acted; none when nobody could be identified (a login
    /// with an unknown email).
    pub actor_id: Option<Uuid>,
    pub action: AuditAction,
    pub outcome: AuditOutcome,
    /// What was acted on: a user, a session, an invitation, an API key, an organization.
    pub target_id: Option<Uuid>,
    /// Empty once erased.
    pub client_addr: String,
    /// The v2 address seal (crate::domain::audit_chain): the salt until the address is
    /// erased, and the digest the hash covers. Both none on a v1 record.
    #[serde(skip)]
    pub addr_salt: Option<String>,
    #[serde(skip)]
    pub addr_digest: Option<String>,
    pub detail: Json<serde_json::Value>,
    pub occurred_at: DateTime<Utc>,
    /// Its place in its organization's hash chain (none only for a record from before the
    /// chains, until start-up chains it).
    pub chain_seq: Option<i64>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl AuditRow {
    /// What its hash covers, at `seq` of its chain.
    pub fn chained(&self, seq: i64) -> Chained<'_> {
        let org = self.org_id.map(|o| o.0);
        Chained {
            chain_id: chain_of(org),
            seq,
            id: self.id.0,
            org_id: org,
            actor_id: self.actor_id,
            action: self.action.as_str(),
            outcome: self.outcome.as_str(),
            target_id: self.target_id,
            client_addr: &self.client_addr,
            addr_seal: self.addr_digest.as_deref().map(|digest| AddrSeal {
                salt: self.addr_salt.as_deref(),
                digest,
            }),
            detail: &self.detail.0,
            occurred_at: self.occurred_at,
        }
    }
}

from_row!(AuditRow, |row| {
    let id: AuditId = row.try_get("id")?;
    Ok(AuditRow {
        id,
        org_id: row.try_get("org_id")?,
        actor_id: row.try_get("actor_id")?,
        action: stored("audit_events", id, "action", row.try_get("action")?)?,
        outcome: stored("audit_events", id, "outcome", row.try_get("outcome")?)?,
        target_id: row.try_get("target_id")?,
        client_addr: row.try_get("client_addr")?,
        addr_salt: row.try_get("addr_salt")?,
        addr_digest: row.try_get("addr_digest")?,
        detail: row.try_get("detail")?,
        occurred_at: row.try_get("occurred_at")?,
        chain_seq: row.try_get("chain_seq")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
});

/// A record's own columns, as `e`.
macro_rules! record_columns {
    () => {
        "e.id, e.org_id, e.actor_id, e.action, e.outcome, e.target_id, e.client_addr, e.addr_salt, e.addr_digest, e.detail, e.occurred_at"
    };
}

/// A record and its link (its place on its chain and its hashes; none while it waits), as
/// read `FROM` [`AUDIT_FROM`].
pub(super) const AUDIT_COLUMNS: &str = concat!(
    record_columns!(),
    ", l.seq AS chain_seq, l.prev_hash, l.hash"
);

/// A record waiting for its link: its own columns, the link's empty.
const WAITING_COLUMNS: &str = concat!(
    record_columns!(),
    ", CAST(NULL AS BIGINT) AS chain_seq, CAST(NULL AS TEXT) AS prev_hash, CAST(NULL AS TEXT) AS hash"
);

/// The records with their links. A record is written once, by the audited action; its link
/// is written once, by the chainer, in a table of its own (`audit_links`): chaining adds a
/// narrow row instead of rewriting the record and every index over it.
pub(super) const AUDIT_FROM: &str = "audit_events e LEFT JOIN audit_links l ON l.record_id = e.id";

/// Takes `n` places at the end of each chain of `wanted` (sorted by chain id, so two
/// instances lock heads in one order and never wait on each other in a cycle; the head
/// rows' locks, held to commit, keep them from taking the same places): per chain, the
/// last place taken and the hash the first follows (the head's hash is not moved yet).
async fn take_places(
    tx: &mut Tx,
    wanted: &[(Uuid, i64)],
    now: DateTime<Utc>,
) -> sqlx::Result<HashMap<Uuid, (i64, String)>> {
    const UPSERT: &str =
        "ON CONFLICT (chain_id) DO UPDATE SET seq = audit_chains.seq + EXCLUDED.seq, \
         updated_at = EXCLUDED.updated_at RETURNING chain_id, seq, hash";
    match tx {
        // One statement for every chain.
        Tx::Postgres(c) => {
            let rows: Vec<(Uuid, i64, String)> = sqlx::query_as(&format!(
                "INSERT INTO audit_chains (chain_id, seq, hash, updated_at) \
                 SELECT chain_id, n, $3, $4 FROM UNNEST($1::uuid[], $2::int8[]) AS t(chain_id, n) {UPSERT}"
            ))
            .bind(wanted.iter().map(|w| w.0).collect::<Vec<_>>())
            .bind(wanted.iter().map(|w| w.1).collect::<Vec<_>>())
            .bind(GENESIS)
            .bind(now)
            .fetch_all(&mut c.conn())
            .await?;
            Ok(rows
                .into_iter()
                .map(|(c, seq, hash)| (c, (seq, hash)))
                .collect())
        }
        Tx::Sqlite(c) => {
            let mut taken = HashMap::with_capacity(wanted.len());
            for &(chain, n) in wanted {
                let (chain, seq, hash): (Uuid, i64, String) = sqlx::query_as(&format!(
                    "INSERT INTO audit_chains (chain_id, seq, hash, updated_at) VALUES ($1, $2, $3, $4) {UPSERT}"
                ))
                .bind(chain)
                .bind(n)
                .bind(GENESIS)
                .bind(now)
                .fetch_one(&mut **c)
                .await?;
                taken.insert(chain, (seq, hash));
            }
            Ok(taken)
        }
    }
}

/// Moves each chain's head to its new last hash.
async fn set_heads(tx: &mut Tx, heads: &[(Uuid, String)]) -> sqlx::Result<()> {
    match tx {
        Tx::Postgres(c) => sqlx::query(
            "UPDATE audit_chains SET hash = v.hash FROM UNNEST($1::uuid[], $2::text[]) AS v(chain_id, hash) \
             WHERE audit_chains.chain_id = v.chain_id",
        )
        .bind(heads.iter().map(|h| h.0).collect::<Vec<_>>())
        .bind(heads.iter().map(|h| h.1.clone()).collect::<Vec<_>>())
        .execute(&mut c.conn())
        .await
        .map(|_| ()),
        Tx::Sqlite(c) => {
            for (chain, hash) in heads {
                sqlx::query("UPDATE audit_chains SET hash = $2 WHERE chain_id = $1")
                    .bind(chain)
                    .bind(hash)
                    .execute(&mut **c)
                    .await?;
            }
            Ok(())
        }
    }
}

/// Gives `a` (format v2) the salted digest of its address its hash will cover; a record
/// that has one keeps it.
fn seal_address(a: &mut AuditRow) {
    if a.addr_digest.is_none() {
        let salt = crate::domain::digest::hex(&rand::random::<[u8; 16]>());
        a.addr_digest = Some(address_digest(&salt, &a.client_addr));
        a.addr_salt = Some(salt);
    }
}

/// Writes `a`, waiting for its place (its link is written by the chainer).
pub(crate) async fn write_audit(tx: &mut Tx, a: &AuditRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO audit_events (id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at, addr_salt, addr_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(a.id)
    .bind(a.org_id)
    .bind(a.actor_id)
    .bind(a.action.as_str())
    .bind(a.outcome.as_str())
    .bind(a.target_id)
    .bind(&a.client_addr)
    .bind(&a.detail)
    .bind(a.occurred_at)
    .bind(&a.addr_salt)
    .bind(&a.addr_digest)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Appends `a` to the trail, awaiting its place: its place on its organization's chain
/// and its hashes are given by [`chain_pending`], in batches off the request's path (one
/// statement here, as a plain insert; the append-only guard covers it from the start).
pub async fn insert_audit(tx: &mut Tx, a: &mut AuditRow) -> sqlx::Result<()> {
    a.occurred_at = to_micros(a.occurred_at);
    seal_address(a);
    write_audit(tx, a).await
}

/// What a chaining pass did: the records it chained, and when the oldest of them occurred
/// (how long the trail waited, at most).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainPass {
    pub records: usize,
    pub oldest: Option<DateTime<Utc>>,
}

impl ChainPass {
    pub fn add(&mut self, other: ChainPass) {
        self.records += other.records;
        self.oldest = match (self.oldest, other.oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Where the chainer's search for waiting records begins: every record written before it is
/// chained. On PostgreSQL a transaction id (each record keeps its writer's, `xact_id`): once
/// every transaction older than a snapshot's `xmin` has ended, nothing can still appear below
/// it. On SQLite a rowid: writers take turns, so rowids grow in commit order. Held in memory:
/// a process begins at 0, so its first pass (at start-up) reads the whole trail once, which
/// also makes it right after a restore into another cluster (other transaction ids).
#[derive(Debug, Default)]
pub struct ChainHorizon(AtomicI64);

impl ChainHorizon {
    fn get(&self) -> i64 {
        self.0.load(Ordering::Acquire)
    }

    fn advance(&self, to: i64) {
        self.0.fetch_max(to, Ordering::AcqRel);
    }
}

/// The records waiting for their place, from the horizon on: those without a link. The
/// link is looked up record by record (a scalar subquery, which PostgreSQL never turns
/// into a join): as an anti-join the planner, misjudging how few records lie past the
/// horizon, hashes the whole links table on every pass.
fn waiting(postgres: bool) -> &'static str {
    if postgres {
        "FROM audit_events e WHERE e.xact_id >= $1 \
         AND (SELECT l.record_id FROM audit_links l WHERE l.record_id = e.id) IS NULL"
    } else {
        "FROM audit_events e WHERE e.rowid >= $1 \
         AND (SELECT l.record_id FROM audit_links l WHERE l.record_id = e.id) IS NULL"
    }
}

/// Up to `limit` records waiting for their place from `from` on, oldest first. Planned for
/// the horizon given (`persistent(false)`: an unnamed statement): a plan cached for any
/// horizon would read the whole trail.
async fn pending(tx: &mut Tx, from: i64, limit: i64) -> sqlx::Result<Vec<AuditRow>> {
    let sql = format!(
        "SELECT {WAITING_COLUMNS} {} ORDER BY e.occurred_at, e.id LIMIT $2",
        waiting(matches!(tx, Tx::Postgres(_)))
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .persistent(false)
        .bind(from)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Takes the chain's turn (on PostgreSQL, the schema's advisory lock, held to commit: passes
/// of every instance take turns, and each sees the links of the one before; SQLite's write
/// lock, taken by `BEGIN IMMEDIATE`, already does it), then says where the horizon may move
/// once this pass has chained everything waiting: on PostgreSQL the snapshot's `xmin`, taken
/// before the records are read; on SQLite past the last rowid.
async fn take_turn(tx: &mut Tx) -> sqlx::Result<i64> {
    match tx {
        Tx::Postgres(c) => {
            sqlx::query(
                "SELECT pg_advisory_xact_lock(hashtextextended('lanerunner.audit_chain.' || current_schema(), 0))",
            )
            .execute(&mut c.conn())
            .await?;
            // A pass reads a few thousand rows at most: compiling its plan (JIT, which the
            // planner's estimate of the links looked up can trigger) costs more than it saves.
            sqlx::query("SET LOCAL jit = off")
                .execute(&mut c.conn())
                .await?;
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::int8")
                .fetch_one(&mut c.conn())
                .await
        }
        Tx::Sqlite(c) => {
            sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) + 1 FROM audit_events")
                .fetch_one(&mut **c)
                .await
        }
    }
}

/// Writes the links of `chained` (each record's place and hashes).
async fn write_links(tx: &mut Tx, chained: &[AuditRow]) -> sqlx::Result<()> {
    let chain = |a: &AuditRow| chain_of(a.org_id.map(|o| o.0));
    match tx {
        // One statement for the whole batch.
        Tx::Postgres(c) => {
            let col =
                |f: fn(&AuditRow) -> Option<String>| chained.iter().map(f).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO audit_links (record_id, chain_id, seq, prev_hash, hash) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $5::text[])",
            )
            .bind(chained.iter().map(|a| a.id.0).collect::<Vec<_>>())
            .bind(chained.iter().map(chain).collect::<Vec<_>>())
            .bind(chained.iter().map(|a| a.chain_seq).collect::<Vec<_>>())
            .bind(col(|a| a.prev_hash.clone()))
            .bind(col(|a| a.hash.clone()))
            .execute(&mut c.conn())
            .await
            .map(|_| ())
        }
        // In-process: a statement per record costs no round trip.
        Tx::Sqlite(c) => {
            for a in chained {
                sqlx::query(
                    "INSERT INTO audit_links (record_id, chain_id, seq, prev_hash, hash) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(a.id)
                .bind(chain(a))
                .bind(a.chain_seq)
                .bind(&a.prev_hash)
                .bind(&a.hash)
                .execute(&mut **c)
                .await?;
            }
            Ok(())
        }
    }
}

/// Chains up to `limit` records waiting for their place, oldest first, in one transaction:
/// each chain takes as many places as it has records (one statement for all chains on
/// PostgreSQL), the records are hashed in order, each head moves to its last hash, and
/// every link is written. When the pass chained everything waiting, `horizon` moves on.
pub async fn chain_pending(db: &Db, horizon: &ChainHorizon, limit: i64) -> sqlx::Result<ChainPass> {
    // Most wakes find nothing: a read says so without a write transaction (SQLite's write
    // lock, PostgreSQL's advisory lock).
    let from = horizon.get();
    let probe = format!(
        "SELECT 1 {} LIMIT 1",
        waiting(matches!(db, Db::Postgres(_)))
    );
    let waiting: Option<i32> = on_db!(db, |c| sqlx::query_scalar(&probe)
        .persistent(false)
        .bind(from)
        .fetch_optional(c)
        .await)?;
    if waiting.is_none() {
        return Ok(ChainPass::default());
    }
    let mut tx = db.begin().await?;
    let next = take_turn(&mut tx).await?;
    let rows = pending(&mut tx, from, limit).await?;
    let complete = (rows.len() as i64) < limit;
    let oldest = rows.iter().map(|r| r.occurred_at).min();
    let mut by_chain: BTreeMap<Uuid, Vec<AuditRow>> = BTreeMap::new();
    for r in rows {
        // A record written without the address's digest (only by a version from before
        // the digests) is chained as it is: format v1, its address in the hash.
        by_chain
            .entry(chain_of(r.org_id.map(|o| o.0)))
            .or_default()
            .push(r);
    }
    let wanted: Vec<(Uuid, i64)> = by_chain
        .iter()
        .map(|(chain, records)| (*chain, records.len() as i64))
        .collect();
    let taken = take_places(&mut tx, &wanted, Utc::now()).await?;
    let mut chained = Vec::new();
    let mut heads = Vec::with_capacity(by_chain.len());
    for (chain, mut records) in by_chain {
        let n = records.len() as i64;
        let Some((last, mut prev)) = taken.get(&chain).cloned() else {
            return Err(sqlx::Error::RowNotFound);
        };
        for (seq, r) in (last - n + 1..).zip(records.iter_mut()) {
            let hash = record_hash(&prev, &r.chained(seq));
            r.chain_seq = Some(seq);
            r.prev_hash = Some(std::mem::replace(&mut prev, hash.clone()));
            r.hash = Some(hash);
        }
        heads.push((chain, prev));
        chained.extend(records);
    }
    set_heads(&mut tx, &heads).await?;
    write_links(&mut tx, &chained).await?;
    tx.commit().await?;
    if complete {
        horizon.advance(next);
    }
    Ok(ChainPass {
        records: chained.len(),
        oldest,
    })
}

/// Erases the client address of every v2 record of `org` that `user` made, or that was
/// made about them with no one acting (an attempt to sign in as them): the addresses that
/// were theirs, or a stranger's aimed at them. Records an admin made about them keep the
/// admin's address. The one change the append-only trigger lets through; how many.
pub async fn erase_audit_addresses_of(
    tx: &mut Tx,
    org: OrgId,
    user: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<u64> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE audit_events SET client_addr = '', addr_salt = NULL, addr_erased_at = $3 \
         WHERE org_id = $1 AND (actor_id = $2 OR (actor_id IS NULL AND target_id = $2)) AND addr_salt IS NOT NULL"
    )
    .bind(org)
    .bind(user)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
}

/// v1 records (chained before addresses could be erased) of `user` in `org` that still
/// hold an address: what an erasure could not remove, reported with it.
pub async fn v1_addresses_of(tx: &mut Tx, org: OrgId, user: Uuid) -> sqlx::Result<i64> {
    on_tx!(tx, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events \
         WHERE org_id = $1 AND (actor_id = $2 OR (actor_id IS NULL AND target_id = $2)) AND addr_digest IS NULL AND client_addr <> ''"
    )
    .bind(org)
    .bind(user)
    .fetch_one(c)
    .await
    })
}

/// Retention: erases the addresses of up to `limit` v2 records that occurred before
/// `before`; how many.
pub async fn erase_audit_addresses_before(
    db: &Db,
    before: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<u64> {
    on_db!(db, |c| {
        sqlx::query(
        "UPDATE audit_events SET client_addr = '', addr_salt = NULL, addr_erased_at = $2 \
         WHERE id IN (SELECT id FROM audit_events WHERE addr_salt IS NOT NULL AND occurred_at < $1 LIMIT $3)"
    )
    .bind(before)
    .bind(Utc::now())
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
}

/// Retention: empties the client address of up to `limit` sessions begun before `before`;
/// how many.
pub async fn erase_session_addresses_before(
    db: &Db,
    before: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<u64> {
    on_db!(db, |c| {
        sqlx::query(
        "UPDATE sessions SET client_addr = '' \
         WHERE id IN (SELECT id FROM sessions WHERE client_addr <> '' AND created_at < $1 LIMIT $2)"
    )
    .bind(before)
    .bind(limit)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
}

/// A chain's head as its row says.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainHead {
    pub chain_id: Uuid,
    pub seq: i64,
    pub hash: String,
}

/// Every chain's head, or `only`'s.
pub async fn chain_heads(db: &Db, only: Option<Uuid>) -> sqlx::Result<Vec<ChainHead>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT chain_id, seq, hash FROM audit_chains WHERE ($1 IS NULL OR chain_id = $1) ORDER BY chain_id"
    )
    .bind(only)
    .fetch_all(c)
    .await
    })
}

/// Chains that have records but no head row (a deleted head).
pub async fn headless_chains(db: &Db, only: Option<Uuid>) -> sqlx::Result<Vec<Uuid>> {
    on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT DISTINCT l.chain_id FROM audit_links l LEFT JOIN audit_chains h ON h.chain_id = l.chain_id \
         WHERE h.chain_id IS NULL AND ($1 IS NULL OR l.chain_id = $1)"
    )
    .bind(only)
    .fetch_all(c)
    .await
    })
}

/// Up to `limit` records of `chain` after position `after`, in chain order.
pub async fn chain_records(
    db: &Db,
    chain: Uuid,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<AuditRow>> {
    on_db!(db, |c| {
        sqlx::query_as(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_links l JOIN audit_events e ON e.id = l.record_id \
         WHERE l.chain_id = $1 AND l.seq > $2 ORDER BY l.seq LIMIT $3"
        ))
        .bind(chain)
        .bind(after)
        .bind(limit)
        .fetch_all(c)
        .await
    })
}

/// A chain head written down at a time.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct Anchor {
    pub id: Uuid,
    pub chain_id: Uuid,
    pub seq: i64,
    pub hash: String,
    pub anchored_at: DateTime<Utc>,
}

/// The heads that moved since their chain's last anchor.
pub async fn unanchored_heads(db: &Db) -> sqlx::Result<Vec<ChainHead>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT h.chain_id, h.seq, h.hash FROM audit_chains h \
         WHERE h.seq > COALESCE((SELECT MAX(a.seq) FROM audit_anchors a WHERE a.chain_id = h.chain_id), 0) \
         ORDER BY h.chain_id"
    )
    .fetch_all(c)
    .await
    })
}

pub async fn insert_anchor(db: &Db, a: &Anchor) -> sqlx::Result<()> {
    on_db!(db, |c| {
        sqlx::query(
        "INSERT INTO audit_anchors (id, chain_id, seq, hash, anchored_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(a.id)
    .bind(a.chain_id)
    .bind(a.seq)
    .bind(&a.hash)
    .bind(a.anchored_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// `chain`'s anchors, oldest first.
pub async fn anchors(db: &Db, chain: Uuid) -> sqlx::Result<Vec<Anchor>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, chain_id, seq, hash, anchored_at FROM audit_anchors WHERE chain_id = $1 ORDER BY seq"
    )
    .bind(chain)
    .fetch_all(c)
    .await
    })
}

pub async fn list_audit(
    db: &Db,
    org: OrgId,
    after: Option<AuditId>,
    limit: u32,
) -> sqlx::Result<Vec<AuditRow>> {
    on_db!(db, |p| {
        sqlx::query_as(&format!(
            "SELECT {AUDIT_COLUMNS} FROM {AUDIT_FROM} \
         WHERE e.org_id = $1 AND ($2 IS NULL OR e.id > $2) ORDER BY e.id LIMIT $3"
        ))
        .bind(org)
        .bind(after)
        .bind(i64::from(limit) + 1)
        .fetch_all(p)
        .await
    })
}

/// `org`'s records of the actions in `actions` that occurred in `[from, to)`, oldest first:
/// the access controls report.
pub async fn audit_in_period(
    db: &Db,
    org: OrgId,
    actions: &[AuditAction],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<AuditRow>> {
    // The names are the catalogue's own constants (never input), so they are written into
    // the statement: SQLite has no array to bind them as.
    let names: Vec<String> = actions
        .iter()
        .map(|a| format!("'{}'", a.as_str()))
        .collect();
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM {AUDIT_FROM} WHERE e.org_id = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3 \
         AND e.action IN ({}) ORDER BY e.occurred_at, e.id",
        names.join(", ")
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await)
}

/// What `org`'s members (their email) and API keys ("API key <name>") are called, by id:
/// the names a report shows beside the ids.
pub async fn principal_names(db: &Db, org: OrgId) -> sqlx::Result<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT id, email FROM users WHERE org_id = $1 \
         UNION ALL SELECT id, 'API key ' || name FROM api_keys WHERE org_id = $1"
    )
    .bind(org)
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().collect())
}
