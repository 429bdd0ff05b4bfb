//! Invoices' SQL, one text for both backends. Every read names the organization, except
//! the webhook's, which finds the invoice by the processor's payment id.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayLoadRow {
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Option<Uuid>,
    pub reference: String,
    pub carrier_rate_cents: i64,
    pub completed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InvoiceRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub load_id: Uuid,
    pub number: String,
    pub customer_name: String,
    pub customer_email: String,
    pub currency: String,
    pub lines: String,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub refunded_cents: i64,
    pub disputed_cents: i64,
    pub failed_attempts: i32,
    pub last_failure: Option<String>,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub processor: Option<String>,
    pub processor_intent_id: Option<String>,
    pub client_secret: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
    pub created_by: Uuid,
}

pub async fn put_load(tx: &mut Tx, r: &PayLoadRow) -> sqlx::Result<bool> {
    let sql = "INSERT INTO pay_loads (load_id, broker_org_id, carrier_org_id, reference, carrier_rate_cents, completed_at) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (load_id) DO NOTHING";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(r.load_id)
        .bind(r.broker_org_id)
        .bind(r.carrier_org_id)
        .bind(&r.reference)
        .bind(r.carrier_rate_cents)
        .bind(r.completed_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn load(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<PayLoadRow>> {
    let sql = "SELECT load_id, broker_org_id, carrier_org_id, reference, carrier_rate_cents, completed_at \
               FROM pay_loads WHERE load_id = $1 AND broker_org_id = $2";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(id)
        .bind(org)
        .fetch_optional(c)
        .await)
}

const COLUMNS: &str = "id, org_id, load_id, number, customer_name, customer_email, currency, lines, amount_cents, \
    paid_cents, refunded_cents, disputed_cents, failed_attempts, last_failure, issued_at, due_at, paid_at, processor, \
    processor_intent_id, client_secret, idempotency_key, request_hash, created_by";

/// Inserts the invoice unless the organization already invoiced the load or used the
/// key: `false` then, and nothing written.
pub async fn insert(tx: &mut Tx, r: &InvoiceRow) -> sqlx::Result<bool> {
    let sql = "INSERT INTO invoices (id, org_id, load_id, number, customer_name, customer_email, currency, lines, \
               amount_cents, issued_at, due_at, idempotency_key, request_hash, created_by) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(r.id)
        .bind(r.org_id)
        .bind(r.load_id)
        .bind(&r.number)
        .bind(&r.customer_name)
        .bind(&r.customer_email)
        .bind(&r.currency)
        .bind(&r.lines)
        .bind(r.amount_cents)
        .bind(r.issued_at)
        .bind(r.due_at)
        .bind(&r.idempotency_key)
        .bind(&r.request_hash)
        .bind(r.created_by)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// The invoice that stands in the way of a new one: the same key, or the same load.
pub async fn existing(
    db: &Db,
    org: OrgId,
    load: Uuid,
    key: Option<&str>,
) -> sqlx::Result<Option<InvoiceRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM invoices WHERE org_id = $1 AND (idempotency_key = $2 OR load_id = $3) \
         ORDER BY (idempotency_key = $2) DESC LIMIT 1"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(key)
        .bind(load)
        .fetch_optional(c)
        .await)
}

pub async fn get(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<InvoiceRow>> {
    let sql = format!("SELECT {COLUMNS} FROM invoices WHERE org_id = $1 AND id = $2");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub async fn lock(tx: &mut Tx, org: OrgId, id: Uuid) -> sqlx::Result<Option<InvoiceRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM invoices WHERE org_id = $1 AND id = $2{}",
        tx.for_update()
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// For a webhook: the invoice a processor payment belongs to, locked.
pub async fn lock_by_intent(tx: &mut Tx, intent: &str) -> sqlx::Result<Option<InvoiceRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM invoices WHERE processor_intent_id = $1{}",
        tx.for_update()
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(intent)
        .fetch_optional(c)
        .await)
}

pub async fn list(
    db: &Db,
    org: OrgId,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<InvoiceRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM invoices WHERE org_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Records the processor's payment on an invoice that has none yet (compare-and-set).
pub async fn set_intent(
    db: &Db,
    id: Uuid,
    processor: &str,
    intent: &str,
    client_secret: Option<&str>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE invoices SET processor = $2, processor_intent_id = $3, client_secret = $4 \
               WHERE id = $1 AND processor_intent_id IS NULL";
    on_db!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(processor)
        .bind(intent)
        .bind(client_secret)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// The amounts after a movement (the caller holds the row's lock).
pub async fn set_amounts(tx: &mut Tx, r: &InvoiceRow) -> sqlx::Result<()> {
    let sql = "UPDATE invoices SET paid_cents = $2, refunded_cents = $3, disputed_cents = $4, failed_attempts = $5, \
               last_failure = $6, paid_at = $7 WHERE id = $1";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(r.id)
        .bind(r.paid_cents)
        .bind(r.refunded_cents)
        .bind(r.disputed_cents)
        .bind(r.failed_attempts)
        .bind(&r.last_failure)
        .bind(r.paid_at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// Records a processor event once: `false` if it was seen before.
pub async fn first_sight(
    tx: &mut Tx,
    id: &str,
    kind: &str,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "INSERT INTO processor_events (event_id, kind, created_at, received_at, outcome) \
               VALUES ($1, $2, $3, $4, 'received') ON CONFLICT (event_id) DO NOTHING";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(kind)
        .bind(created)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn event_outcome(
    tx: &mut Tx,
    id: &str,
    outcome: &str,
    invoice: Option<Uuid>,
) -> sqlx::Result<()> {
    let sql = "UPDATE processor_events SET outcome = $2, invoice_id = $3 WHERE event_id = $1";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(outcome)
        .bind(invoice)
        .execute(c)
        .await
        .map(|_| ()))
}

/// A movement of the processor's balance as the ledger recorded it, once per object.
pub async fn put_movement(
    tx: &mut Tx,
    org: Uuid,
    m: &crate::reconcile::Movement,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO processor_movements (object_id, org_id, kind, currency, amount_cents, occurred_at) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (object_id) DO NOTHING";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(&m.object_id)
        .bind(org)
        .bind(m.kind.as_str())
        .bind(&m.currency)
        .bind(m.amount_cents)
        .bind(at)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The organization whose ledger recorded a processor object.
pub async fn movement_org(db: &Db, object_id: &str) -> sqlx::Result<Option<Uuid>> {
    let sql = "SELECT org_id FROM processor_movements WHERE object_id = $1";
    on_db!(db, |c| sqlx::query_scalar(sql)
        .bind(object_id)
        .fetch_optional(c)
        .await)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReconciliationRow {
    pub day: chrono::NaiveDate,
    pub ran_at: DateTime<Utc>,
    pub matched: i64,
    pub differences: i64,
    pub report: String,
}

/// The kept reports, newest day first.
pub async fn reconciliations(db: &Db, limit: i64) -> sqlx::Result<Vec<ReconciliationRow>> {
    let sql = "SELECT day, ran_at, matched, differences, report FROM reconciliations ORDER BY day DESC LIMIT $1";
    on_db!(db, |c| sqlx::query_as(sql).bind(limit).fetch_all(c).await)
}

#[derive(Debug, sqlx::FromRow)]
struct MovementRow {
    object_id: String,
    kind: String,
    currency: String,
    amount_cents: i64,
}

/// Every movement the ledger recorded from `from` to `to` (all organizations: the
/// processor account is the platform's).
pub async fn movements(
    db: &Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<crate::reconcile::Movement>> {
    let sql = "SELECT object_id, kind, currency, amount_cents FROM processor_movements \
               WHERE occurred_at >= $1 AND occurred_at < $2";
    let rows: Vec<MovementRow> = on_db!(db, |c| sqlx::query_as(sql)
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(crate::reconcile::Movement {
                kind: crate::reconcile::MovementKind::parse(&r.kind)?,
                object_id: r.object_id,
                currency: r.currency,
                amount_cents: r.amount_cents,
            })
        })
        .collect())
}

/// Keeps a day's reconciliation (the latest run replaces an earlier one).
pub async fn put_reconciliation(
    db: &Db,
    day: chrono::NaiveDate,
    at: DateTime<Utc>,
    matched: i64,
    differences: i64,
    report: &str,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO reconciliations (day, ran_at, matched, differences, report) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (day) DO UPDATE SET ran_at = excluded.ran_at, matched = excluded.matched, \
               differences = excluded.differences, report = excluded.report";
    on_db!(db, |c| sqlx::query(sql)
        .bind(day)
        .bind(at)
        .bind(matched)
        .bind(differences)
        .bind(report)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn reconciled(db: &Db, day: chrono::NaiveDate) -> sqlx::Result<bool> {
    let sql = "SELECT COUNT(*) FROM reconciliations WHERE day = $1";
    let n: i64 = on_db!(db, |c| sqlx::query_scalar(sql).bind(day).fetch_one(c).await)?;
    Ok(n > 0)
}
