//! The security audit trail.

use std::collections::{BTreeMap, HashMap};

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

pub(super) const AUDIT_COLUMNS: &str = "id, org_id, actor_id, action, outcome, target_id, client_addr, addr_salt, addr_digest, detail, occurred_at, chain_seq, prev_hash, hash";

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
            .fetch_all(&mut **c)
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
        .execute(&mut **c)
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

/// Writes `a` waiting for its place (its chain columns empty until the chainer fills them).
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
/// statement here, as a plain insert; the append-only guard covers it until then).
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

/// Up to `limit` records awaiting their place, oldest first, locked. On PostgreSQL a
/// record another pass holds is waited for, then left out if that pass chained it: when a
/// pass ends, every record committed before it began is chained (verification and
/// anchoring rely on it). SQLite's write lock already makes passes take turns.
async fn pending(tx: &mut Tx, limit: i64) -> sqlx::Result<Vec<AuditRow>> {
    let lock = match tx {
        Tx::Postgres(_) => " FOR UPDATE",
        Tx::Sqlite(_) => "",
    };
    on_tx!(tx, |c| {
        sqlx::query_as(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE hash IS NULL ORDER BY occurred_at, id LIMIT $1{lock}"
    ))
    .bind(limit)
    .fetch_all(c)
    .await
    })
}

/// Writes the places and hashes of `chained`, each only if still unchained; how many were.
/// A record with a digest keeps its salt as it is now (an erasure may have dropped it
/// since it was read); one from before the digests takes the salt it was chained with.
async fn write_places(tx: &mut Tx, chained: &[AuditRow]) -> sqlx::Result<usize> {
    let chain = |a: &AuditRow| chain_of(a.org_id.map(|o| o.0));
    match tx {
        // One statement for the whole batch.
        Tx::Postgres(c) => {
            let col =
                |f: fn(&AuditRow) -> Option<String>| chained.iter().map(f).collect::<Vec<_>>();
            sqlx::query(
                "UPDATE audit_events SET chain_id = v.chain_id, chain_seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, \
                 addr_salt = CASE WHEN audit_events.addr_digest IS NULL THEN v.salt ELSE audit_events.addr_salt END, \
                 addr_digest = COALESCE(audit_events.addr_digest, v.digest) \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::text[]) \
                 AS v(id, chain_id, seq, prev_hash, hash, salt, digest) \
                 WHERE audit_events.id = v.id AND audit_events.hash IS NULL"
            )
            .bind(chained.iter().map(|a| a.id.0).collect::<Vec<_>>())
            .bind(chained.iter().map(chain).collect::<Vec<_>>())
            .bind(chained.iter().map(|a| a.chain_seq).collect::<Vec<_>>())
            .bind(col(|a| a.prev_hash.clone()))
            .bind(col(|a| a.hash.clone()))
            .bind(col(|a| a.addr_salt.clone()))
            .bind(col(|a| a.addr_digest.clone()))
            .execute(&mut **c)
            .await
            .map(|r| r.rows_affected() as usize)
        }
        // In-process: a statement per record costs no round trip.
        Tx::Sqlite(c) => {
            let mut placed = 0;
            for a in chained {
                placed += sqlx::query(
                    "UPDATE audit_events SET chain_id = $2, chain_seq = $3, prev_hash = $4, hash = $5, \
                     addr_salt = CASE WHEN addr_digest IS NULL THEN $6 ELSE addr_salt END, \
                     addr_digest = COALESCE(addr_digest, $7) \
                     WHERE id = $1 AND hash IS NULL"
                )
                .bind(a.id)
                .bind(chain(a))
                .bind(a.chain_seq)
                .bind(&a.prev_hash)
                .bind(&a.hash)
                .bind(&a.addr_salt)
                .bind(&a.addr_digest)
                .execute(&mut **c)
                .await?
                .rows_affected() as usize;
            }
            Ok(placed)
        }
    }
}

/// Chains up to `limit` records awaiting their place, oldest first, in one transaction:
/// each chain takes as many places as it has records (one statement for all chains on
/// PostgreSQL), the records are hashed in order, each head moves to its last hash, and
/// every place is written.
pub async fn chain_pending(db: &Db, limit: i64) -> sqlx::Result<ChainPass> {
    // Most wakes find nothing (the service wakes the chainer on every commit): a read
    // says so without a write transaction (SQLite's write lock, a PostgreSQL snapshot).
    let waiting: Option<i32> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT 1 FROM audit_events WHERE hash IS NULL LIMIT 1"
    )
    .fetch_optional(c)
    .await)?;
    if waiting.is_none() {
        return Ok(ChainPass::default());
    }
    let mut tx = db.begin().await?;
    let rows = pending(&mut tx, limit).await?;
    let oldest = rows.iter().map(|r| r.occurred_at).min();
    let mut by_chain: BTreeMap<Uuid, Vec<AuditRow>> = BTreeMap::new();
    for mut r in rows {
        seal_address(&mut r);
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
    if chained.is_empty() {
        return Ok(ChainPass::default());
    }
    if write_places(&mut tx, &chained).await? != chained.len() {
        // Chained by someone else since it was read (the locks make this unexpected):
        // everything here is rolled back, the heads included, for the next pass.
        return Ok(ChainPass::default());
    }
    tx.commit().await?;
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
        "SELECT DISTINCT e.chain_id FROM audit_events e LEFT JOIN audit_chains h ON h.chain_id = e.chain_id \
         WHERE e.chain_id IS NOT NULL AND h.chain_id IS NULL AND ($1 IS NULL OR e.chain_id = $1)"
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
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE chain_id = $1 AND chain_seq > $2 ORDER BY chain_seq LIMIT $3"
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
            "SELECT {AUDIT_COLUMNS} FROM audit_events \
         WHERE org_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
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
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3 \
         AND action IN ({}) ORDER BY occurred_at, id",
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
