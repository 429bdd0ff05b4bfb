//! The ledger's SQL. An entry, its postings and its balance changes are written together
//! (one statement on PostgreSQL, one transaction on SQLite); the balance rows are changed
//! by atomic increments in a fixed order (see `NewEntry::balance_changes`), so concurrent
//! entries on the same accounts queue on the rows rather than overwrite each other or
//! deadlock. Reads are one text for both backends.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

use super::domain::{BalanceChange, NewEntry};

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

/// The entry's own row; postings and balance changes follow only when it is new (the
/// reference is unique per organization). Parameters `$1`–`$8`, bound by [`entry_query`].
const INSERT_ENTRY: &str = "INSERT INTO ledger_entries \
    (id, org_id, kind, reference, memo, occurred_at, recorded_at, recorded_by) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (org_id, reference) DO NOTHING";
const ENTRY_PARAMS: usize = 8;

/// `count` rows of `width` numbered parameters from `$first`, each written by `row` from
/// its parameters' numbers: `(…), (…)`.
fn value_rows(
    first: usize,
    count: usize,
    width: usize,
    row: impl Fn(usize, &[usize]) -> String,
) -> String {
    (0..count)
        .map(|i| {
            let params: Vec<usize> = (0..width).map(|k| first + i * width + k).collect();
            row(i, &params)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An entry's postings, four parameters each from `$first`: line, account, currency, amount.
fn posting_rows(entry: &NewEntry, first: usize, casts: bool) -> String {
    let (int, text, big) = if casts {
        ("::int", "::text", "::bigint")
    } else {
        ("", "", "")
    };
    value_rows(first, entry.postings.len(), 4, |_, p| {
        format!(
            "(${}{int}, ${}{text}, ${}{text}, ${}{big})",
            p[0], p[1], p[2], p[3]
        )
    })
}

/// An entry's balance changes, four parameters each from `$first`: account, currency,
/// amount, postings; in [`NewEntry::balance_changes`]' order, the order rows are locked in.
fn change_rows(changes: &[BalanceChange<'_>], first: usize, casts: bool) -> String {
    // PostgreSQL's rows lead with their position, which the statement orders by (an
    // integer sort, not a collated text one); SQLite's single writer needs no order.
    value_rows(first, changes.len(), 4, |i, p| {
        if casts {
            format!(
                "({i}, ${}::text, ${}::text, ${}::bigint, ${}::bigint)",
                p[0], p[1], p[2], p[3]
            )
        } else {
            format!("(${}, ${}, ${}, ${})", p[0], p[1], p[2], p[3])
        }
    })
}

const UPSERT_BALANCE: &str = "ON CONFLICT (org_id, account, currency) DO UPDATE SET \
    balance_cents = ledger_balances.balance_cents + excluded.balance_cents, \
    postings = ledger_balances.postings + excluded.postings";

/// Binds the entry's row, then its postings, then its balance changes, in the order the
/// statements above number them.
macro_rules! bind_entry {
    ($q:expr, $id:expr, $org:expr, $entry:expr, $at:expr, $by:expr, $changes:expr) => {{
        let mut q = $q
            .bind($id)
            .bind($org)
            .bind($entry.kind.as_str())
            .bind($entry.reference.trim())
            .bind($entry.memo.as_deref())
            .bind($entry.occurred_at.unwrap_or($at))
            .bind($at)
            .bind($by);
        for (i, p) in $entry.postings.iter().enumerate() {
            q = q
                .bind(i as i32)
                .bind(&p.account)
                .bind(&p.currency)
                .bind(p.amount_cents);
        }
        for c in $changes {
            q = q
                .bind(c.account)
                .bind(c.currency)
                .bind(c.amount_cents)
                .bind(c.postings);
        }
        q
    }};
}

/// Records `entry` (already checked) in `tx`, so a caller can record it with its own
/// writes (an invoice and its entry commit together).
pub async fn record(
    tx: &mut Tx,
    org: OrgId,
    id: Uuid,
    entry: &NewEntry,
    recorded_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> sqlx::Result<Recorded> {
    let inserted = match tx {
        Tx::Postgres(t) => record_pg(&mut t.conn(), org, id, entry, recorded_by, at).await?,
        Tx::Sqlite(t) => record_sqlite(t, org, id, entry, recorded_by, at).await?,
    };
    if !inserted {
        // Read in this transaction: after the conflict it sees the winner's commit.
        return replay(tx, org, entry).await;
    }
    Ok(Recorded::New(id))
}

/// What an entry whose reference is taken answers: the same postings replay it, others
/// conflict.
async fn replay(tx: &mut Tx, org: OrgId, entry: &NewEntry) -> sqlx::Result<Recorded> {
    let (existing, kind): (Uuid, String) = on_tx!(tx, |c| sqlx::query_as(
        "SELECT id, kind FROM ledger_entries WHERE org_id = $1 AND reference = $2"
    )
    .bind(org)
    .bind(entry.reference.trim())
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

/// Records `entry` on its own. On PostgreSQL that is one autocommitted statement (atomic
/// by itself: no BEGIN and COMMIT round trips); on SQLite, one transaction.
pub async fn record_alone(
    db: &Db,
    org: OrgId,
    id: Uuid,
    entry: &NewEntry,
    recorded_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> sqlx::Result<Recorded> {
    if let Db::Postgres(pg) = db {
        if record_pg(pg.exec(), org, id, entry, recorded_by, at).await? {
            return Ok(Recorded::New(id));
        }
        // The reference was taken (and its entry committed: the insert waited for it).
        let mut tx = db.begin().await?;
        return replay(&mut tx, org, entry).await;
    }
    let mut tx = db.begin().await?;
    let recorded = record(&mut tx, org, id, entry, recorded_by, at).await?;
    if matches!(recorded, Recorded::New(_)) {
        tx.commit().await?;
    }
    Ok(recorded)
}

/// SQLite, inside the caller's transaction (its single writer orders entries anyway): the
/// entry, then its postings and balance changes if it is new. Whether it was new.
async fn record_sqlite(
    c: &mut sqlx::SqliteConnection,
    org: OrgId,
    id: Uuid,
    entry: &NewEntry,
    recorded_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let none: &[BalanceChange<'_>] = &[];
    let inserted = sqlx::query(INSERT_ENTRY);
    let inserted = bind_entry!(inserted, id, org, entry, at, recorded_by, none.iter())
        .execute(&mut *c)
        .await?
        .rows_affected()
        == 1;
    if !inserted {
        return Ok(false);
    }
    // Parameters keep the entry's numbering (`$1`, `$2` are its id and organization), so
    // one binding serves every statement; SQLite ignores the ones a statement leaves out.
    let lines = format!(
        "INSERT INTO ledger_postings (entry_id, seq, org_id, account, currency, amount_cents) \
         SELECT $1, column1, $2, column2, column3, column4 FROM (VALUES {})",
        posting_rows(entry, ENTRY_PARAMS + 1, false)
    );
    let changes = entry.balance_changes();
    let first_change = ENTRY_PARAMS + 1 + entry.postings.len() * 4;
    let balances = format!(
        "INSERT INTO ledger_balances (org_id, account, currency, balance_cents, postings) \
         SELECT $2, column1, column2, column3, column4 FROM (VALUES {}) WHERE true {UPSERT_BALANCE}",
        change_rows(&changes, first_change, false)
    );
    for sql in [&lines, &balances] {
        bind_entry!(
            sqlx::query(sql),
            id,
            org,
            entry,
            at,
            recorded_by,
            changes.iter()
        )
        .execute(&mut *c)
        .await?;
    }
    Ok(true)
}

/// PostgreSQL, in one statement: the entry, its postings and its balance changes in
/// data-modifying CTEs; the postings and balances follow only a new entry. Whether it was
/// new.
async fn record_pg<'c>(
    c: impl sqlx::Executor<'c, Database = sqlx::Postgres>,
    org: OrgId,
    id: Uuid,
    entry: &NewEntry,
    recorded_by: Option<Uuid>,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let changes = entry.balance_changes();
    let first_change = ENTRY_PARAMS + 1 + entry.postings.len() * 4;
    // The balance rows are inserted (and so locked) in `balance_changes`' order.
    let sql = format!(
        "WITH e AS ({INSERT_ENTRY} RETURNING id), \
         p AS (INSERT INTO ledger_postings (entry_id, seq, org_id, account, currency, amount_cents) \
            SELECT e.id, v.seq, $2, v.account, v.currency, v.amount \
            FROM e, (VALUES {}) AS v(seq, account, currency, amount)), \
         b AS (INSERT INTO ledger_balances (org_id, account, currency, balance_cents, postings) \
            SELECT $2, v.account, v.currency, v.amount, v.postings \
            FROM e, (VALUES {}) AS v(ord, account, currency, amount, postings) \
            ORDER BY v.ord {UPSERT_BALANCE}) \
         SELECT COUNT(*) FROM e",
        posting_rows(entry, ENTRY_PARAMS + 1, true),
        change_rows(&changes, first_change, true),
    );
    let q = sqlx::query_scalar::<_, i64>(&sql);
    Ok(
        bind_entry!(q, id, org, entry, at, recorded_by, changes.iter())
            .fetch_one(c)
            .await?
            == 1,
    )
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
    /// Balances (or posting counts) that differ from their account's postings.
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
    let drifted: i64 = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_balances b LEFT JOIN \
         (SELECT org_id, account, currency, CAST(SUM(amount_cents) AS BIGINT) AS total, COUNT(*) AS n \
          FROM ledger_postings GROUP BY org_id, account, currency) p \
         ON p.org_id = b.org_id AND p.account = b.account AND p.currency = b.currency \
         WHERE p.total IS NULL OR b.balance_cents <> p.total OR b.postings <> p.n"
    )
    .fetch_one(c)
    .await
    })?;
    Ok(Invariants {
        entries,
        unbalanced_entries: unbalanced,
        totals,
        drifted_balances: drifted,
    })
}
