//! The security audit trail.

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

/// Takes the next place on `chain` (the head row's lock, held to commit, makes appends
/// one at a time): its position and the hash it follows.
async fn next_place(tx: &mut Tx, chain: Uuid, now: DateTime<Utc>) -> sqlx::Result<(i64, String)> {
    on_tx!(tx, |c| sqlx::query_as(
        "INSERT INTO audit_chains (chain_id, seq, hash, updated_at) VALUES ($1, 1, $2, $3) \
         ON CONFLICT (chain_id) DO UPDATE SET seq = audit_chains.seq + 1, updated_at = $3 \
         RETURNING seq, hash"
    )
    .bind(chain)
    .bind(GENESIS)
    .bind(now)
    .fetch_one(c)
    .await)
}

async fn set_head(tx: &mut Tx, chain: Uuid, hash: &str) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE audit_chains SET hash = $2 WHERE chain_id = $1"
    )
    .bind(chain)
    .bind(hash)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Gives `a` the next place on its organization's chain: its position, the hash it
/// follows and its own, which becomes the head's. The chain it joins.
async fn take_place(tx: &mut Tx, a: &mut AuditRow) -> sqlx::Result<Uuid> {
    if a.addr_digest.is_none() {
        let salt = crate::domain::digest::hex(&rand::random::<[u8; 16]>());
        a.addr_digest = Some(address_digest(&salt, &a.client_addr));
        a.addr_salt = Some(salt);
    }
    let chain = chain_of(a.org_id.map(|o| o.0));
    let (seq, prev) = next_place(tx, chain, Utc::now()).await?;
    let hash = record_hash(&prev, &a.chained(seq));
    set_head(tx, chain, &hash).await?;
    (a.chain_seq, a.prev_hash, a.hash) = (Some(seq), Some(prev), Some(hash));
    Ok(chain)
}

/// Writes `a` as it is: with its place on `chain`, or (`None`) unchained.
pub(crate) async fn write_audit(
    tx: &mut Tx,
    a: &AuditRow,
    chain: Option<Uuid>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO audit_events (id, org_id, actor_id, action, outcome, target_id, client_addr, detail, occurred_at, chain_id, chain_seq, prev_hash, hash, addr_salt, addr_digest) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
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
    .bind(chain)
    .bind(a.chain_seq)
    .bind(&a.prev_hash)
    .bind(&a.hash)
    .bind(&a.addr_salt)
    .bind(&a.addr_digest)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// Appends `a` to its organization's chain, filling in its place and hashes.
pub async fn insert_audit(tx: &mut Tx, a: &mut AuditRow) -> sqlx::Result<()> {
    a.occurred_at = to_micros(a.occurred_at);
    let chain = take_place(tx, a).await?;
    write_audit(tx, a, Some(chain)).await
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

/// Chains up to `limit` records from before the chains (oldest first); how many.
pub async fn chain_unchained(db: &Db, limit: i64) -> sqlx::Result<usize> {
    let mut tx = db.begin().await?;
    let rows: Vec<AuditRow> = on_tx!(&mut tx, |c| {
        sqlx::query_as(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE hash IS NULL ORDER BY occurred_at, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(c)
    .await
    })?;
    for mut a in rows.iter().cloned() {
        let chain = take_place(&mut tx, &mut a).await?;
        let placed = on_tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE audit_events SET chain_id = $2, chain_seq = $3, prev_hash = $4, hash = $5, addr_salt = $6, addr_digest = $7 WHERE id = $1 AND hash IS NULL"
        )
        .bind(a.id)
        .bind(chain)
        .bind(a.chain_seq)
        .bind(&a.prev_hash)
        .bind(&a.hash)
        .bind(&a.addr_salt)
        .bind(&a.addr_digest)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if placed == 0 {
            // Another instance starting at the same moment chained it first (its head lock
            // made this one wait): everything here is rolled back, the heads included.
            return Ok(0);
        }
    }
    tx.commit().await?;
    Ok(rows.len())
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
