//! The ledger's SQL, one text for both backends. An entry, its postings and its balance
//! changes are written in one transaction; the balance rows are changed by atomic
//! increments in a fixed order (see `NewEntry::balance_changes`), so concurrent entries on
//! the same accounts queue on the rows rather than overwrite each other or deadlock.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

use super::domain::NewEntry;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub id: Uuid,
    pub org_id: OrgId,
    pub kind: String,
    pub reference: String,
    pub memo: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PostingRow {
    pub entry_id: Uuid,
    pub seq: i32,
    pub account: String,
    pub currency: String,
    pub amount_cents: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BalanceRow {
    pub account: String,
    pub currency: String,
    pub balance_cents: i64,
    pub postings: i64,
}

/// What recording an entry did.
pub enum Recorded {
    New(Uuid),
    /// The reference was recorded before, with the same postings: nothing new.
    Replayed(Uuid),
    /// The reference was recorded before with other postings.
    Conflict(Uuid),
}

/// Records `entry` (already checked) in `tx`.
pub async fn record(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    entry: &NewEntry,
    recorded_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> sqlx::Result<Recorded> {
    let reference = entry.reference.trim();
    let inserted = match tx {
        // One statement, one round trip: the entry, its postings and its balance increments
        // in data-modifying CTEs; the postings and balances follow only a new entry.
        Tx::Postgres(t) => record_pg(t, org, id, entry, reference, recorded_by, at).await?,
        Tx::Sqlite(_) => {
            let inserted = insert_entry(tx, org, id, entry, reference, recorded_by, at).await?;
            if inserted {
                insert_lines(tx, org, id, entry).await?;
            }
            inserted
        }
    };
    if !inserted {
        // Read in this transaction: after the conflict it sees the winner's commit.
        return replay(tx, org, entry, reference).await;
    }
    Ok(Recorded::New(id))
}

/// What an entry whose reference is taken answers: the same postings replay it, others
/// conflict.
async fn replay(
    tx: &mut Tx,
    org: OrgId,
    entry: &NewEntry,
    reference: &str,
) -> sqlx::Result<Recorded> {
    let (existing, kind): (Uuid, String) = on_tx!(tx, |c| sqlx::query_as(
        "SELECT id, kind FROM ledger_entries WHERE org_id = $1 AND reference = $2"
    )
    .bind(org)
    .bind(reference)
    .fetch_one(c)
    .await)?;
    let stored: Vec<PostingRow> = on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT entry_id, seq, account, currency, amount_cents FROM ledger_postings WHERE entry_id = $1 ORDER BY seq"
    )
    .bind(existing)
    .fetch_all(c)
    .await
    })?;
    let same = kind == entry.kind.as_str()
        && stored.len() == entry.postings.len()
        && stored.iter().zip(&entry.postings).all(|(s, p)| {
            s.account == p.account && s.currency == p.currency && s.amount_cents == p.amount_cents
        });
    Ok(if same {
        Recorded::Replayed(existing)
    } else {
        Recorded::Conflict(existing)
    })
}

/// Records `entry` on its own. On PostgreSQL that is one autocommitted statement (it is
/// atomic by itself: no BEGIN and COMMIT round trips); on SQLite, one transaction.
pub async fn record_alone(
    db: &Db,
    org: OrgId,
    id: Uuid,
    entry: &NewEntry,
    recorded_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> sqlx::Result<Recorded> {
    if let Db::Postgres(pool) = db {
        let mut c = pool.acquire().await?;
        if record_pg(
            &mut c,
            org,
            id,
            entry,
            entry.reference.trim(),
            recorded_by,
            at,
        )
        .await?
        {
            return Ok(Recorded::New(id));
        }
        drop(c);
        // The reference was taken (and its entry committed: the insert waited for it).
        let mut tx = db.begin().await?;
        return replay(&mut tx, org, entry, entry.reference.trim()).await;
    }
    let mut tx = db.begin().await?;
    let recorded = record(&mut tx, org, id, entry, recorded_by, at).await?;
    if matches!(recorded, Recorded::New(_)) {
        tx.commit().await?;
    }
    Ok(recorded)
}

async fn insert_entry(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    entry: &NewEntry,
    reference: &str,
    recorded_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO ledger_entries (id, org_id, kind, reference, memo, occurred_at, recorded_at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (org_id, reference) DO NOTHING"
    )
    .bind(id)
    .bind(org)
    .bind(entry.kind.as_str())
    .bind(reference)
    .bind(entry.memo.as_deref())
    .bind(at)
    .bind(recorded_by)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1)
    })
}

/// The postings and the balance increments of a new entry (SQLite: statement by statement
/// inside the one transaction, whose single writer orders them anyway).
async fn insert_lines(tx: &mut Tx, org: OrgId, id: Uuid, entry: &NewEntry) -> sqlx::Result<()> {
    let mut sql = String::from(
        "INSERT INTO ledger_postings (entry_id, seq, org_id, account, currency, amount_cents) VALUES ",
    );
    for i in 0..entry.postings.len() {
        let b = i * 4;
        sql.push_str(&format!(
            "{}($1, ${}, $2, ${}, ${}, ${})",
            if i == 0 { "" } else { ", " },
            b + 3,
            b + 4,
            b + 5,
            b + 6
        ));
    }
    on_tx!(tx, |c| {
        let mut q = sqlx::query(&sql).bind(id).bind(org);
        for (i, p) in entry.postings.iter().enumerate() {
            q = q
                .bind(i as i32)
                .bind(&p.account)
                .bind(&p.currency)
                .bind(p.amount_cents);
        }
        q.execute(c).await.map(|_| ())
    })?;

    let changes = entry.balance_changes();
    let mut sql = String::from(
        "INSERT INTO ledger_balances (org_id, account, currency, balance_cents, postings) VALUES ",
    );
    for i in 0..changes.len() {
        let b = i * 3;
        sql.push_str(&format!(
            "{}($1, ${}, ${}, ${}, 1)",
            if i == 0 { "" } else { ", " },
            b + 2,
            b + 3,
            b + 4
        ));
    }
    sql.push_str(
        " ON CONFLICT (org_id, account, currency) DO UPDATE SET \
         balance_cents = ledger_balances.balance_cents + excluded.balance_cents, \
         postings = ledger_balances.postings + 1",
    );
    on_tx!(tx, |c| {
        let mut q = sqlx::query(&sql).bind(org);
        for (account, currency, amount) in &changes {
            q = q.bind(*account).bind(*currency).bind(*amount);
        }
        q.execute(c).await.map(|_| ())
    })?;
    Ok(())
}

/// PostgreSQL's one-statement record; whether the entry was new.
async fn record_pg(
    c: &mut sqlx::PgConnection,
    org: OrgId,
    id: Uuid,
    entry: &NewEntry,
    reference: &str,
    recorded_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let changes = entry.balance_changes();
    let mut lines = Vec::new();
    for i in 0..entry.postings.len() {
        let b = 8 + i * 4;
        lines.push(format!(
            "(${}::int, ${}::text, ${}::text, ${}::bigint)",
            b,
            b + 1,
            b + 2,
            b + 3
        ));
    }
    let first = 8 + entry.postings.len() * 4;
    let mut moves = Vec::new();
    for i in 0..changes.len() {
        let b = first + i * 3;
        moves.push(format!(
            "({}::int, ${}::text, ${}::text, ${}::bigint)",
            i,
            b,
            b + 1,
            b + 2
        ));
    }
    // The balance rows are inserted (and so locked) in the fixed order of `balance_changes`.
    let sql = format!(
        "WITH e AS (\
            INSERT INTO ledger_entries (id, org_id, kind, reference, memo, occurred_at, recorded_at, recorded_by) \
            VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (org_id, reference) DO NOTHING RETURNING id), \
         p AS (INSERT INTO ledger_postings (entry_id, seq, org_id, account, currency, amount_cents) \
            SELECT e.id, v.seq, $2, v.account, v.currency, v.amount FROM e, (VALUES {}) AS v(seq, account, currency, amount)), \
         b AS (INSERT INTO ledger_balances (org_id, account, currency, balance_cents, postings) \
            SELECT $2, v.account, v.currency, v.amount, 1 FROM e, (VALUES {}) AS v(ord, account, currency, amount) ORDER BY v.ord \
            ON CONFLICT (org_id, account, currency) DO UPDATE SET \
            balance_cents = ledger_balances.balance_cents + excluded.balance_cents, postings = ledger_balances.postings + 1) \
         SELECT COUNT(*) FROM e",
        lines.join(", "),
        moves.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql)
        .bind(id)
        .bind(org)
        .bind(entry.kind.as_str())
        .bind(reference)
        .bind(entry.memo.as_deref())
        .bind(at)
        .bind(recorded_by);
    for (i, p) in entry.postings.iter().enumerate() {
        q = q
            .bind(i as i32)
            .bind(&p.account)
            .bind(&p.currency)
            .bind(p.amount_cents);
    }
    for (account, currency, amount) in &changes {
        q = q.bind(*account).bind(*currency).bind(*amount);
    }
    Ok(q.fetch_one(c).await? == 1)
}

pub async fn balances(db: &Db, org: OrgId) -> sqlx::Result<Vec<BalanceRow>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT account, currency, balance_cents, postings FROM ledger_balances WHERE org_id = $1 ORDER BY account, currency"
    )
    .bind(org)
    .fetch_all(c)
    .await
    })
}

/// The organization's entries, newest first, before `before`.
pub async fn entries(
    db: &Db,
    org: OrgId,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<EntryRow>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, org_id, kind, reference, memo, occurred_at, recorded_at, recorded_by FROM ledger_entries \
         WHERE org_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    )
    .bind(org)
    .bind(before)
    .bind(limit)
    .fetch_all(c)
    .await
    })
}

pub async fn entry(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<EntryRow>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT id, org_id, kind, reference, memo, occurred_at, recorded_at, recorded_by FROM ledger_entries \
         WHERE org_id = $1 AND id = $2"
    )
    .bind(org)
    .bind(id)
    .fetch_optional(c)
    .await
    })
}

/// The postings of `entries` (all of one organization), by entry and line.
pub async fn postings_of(db: &Db, org: OrgId, entries: &[Uuid]) -> sqlx::Result<Vec<PostingRow>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..entries.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT entry_id, seq, account, currency, amount_cents FROM ledger_postings \
         WHERE org_id = $1 AND entry_id IN ({}) ORDER BY entry_id, seq",
        list.join(", ")
    );
    on_db!(db, |c| {
        let mut q = sqlx::query_as(&sql).bind(org);
        for e in entries {
            q = q.bind(*e);
        }
        q.fetch_all(c).await
    })
}

/// The ledger's invariants over every organization, for audits and the benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invariants {
    pub entries: i64,
    /// (entry, currency) pairs whose postings do not sum to zero.
    pub unbalanced_entries: i64,
    /// The sum of every balance, per currency (each must be zero).
    pub totals: Vec<(String, i64)>,
    /// Balances that differ from the sum of their account's postings.
    pub drifted_balances: i64,
}

impl Invariants {
    pub fn hold(&self) -> bool {
        self.unbalanced_entries == 0
            && self.drifted_balances == 0
            && self.totals.iter().all(|(_, t)| *t == 0)
    }
}

pub async fn invariants(db: &Db) -> sqlx::Result<Invariants> {
    let entries: i64 = on_db!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_entries"
    )
    .fetch_one(c)
    .await)?;
    let unbalanced: i64 = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT entry_id, currency FROM ledger_postings GROUP BY entry_id, currency HAVING SUM(amount_cents) <> 0) AS u"
    )
    .fetch_one(c)
    .await
    })?;
    let totals: Vec<(String, i64)> = on_db!(db, |c| {
        sqlx::query_as(
        "SELECT currency, CAST(SUM(balance_cents) AS BIGINT) FROM ledger_balances GROUP BY currency ORDER BY currency"
    )
    .fetch_all(c)
    .await
    })?;
    let drifted: i64 = on_db!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_balances b WHERE b.balance_cents <> \
         (SELECT COALESCE(CAST(SUM(p.amount_cents) AS BIGINT), 0) FROM ledger_postings p \
          WHERE p.org_id = b.org_id AND p.account = b.account AND p.currency = b.currency)"
    )
    .fetch_one(c)
    .await)?;
    Ok(Invariants {
        entries,
        unbalanced_entries: unbalanced,
        totals,
        drifted_balances: drifted,
    })
}
