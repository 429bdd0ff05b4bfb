//! Payouts' SQL, one text for both backends. Reads name the organization (as payer or
//! payee); the sweep and the processor's webhooks find rows by their own ids.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

use super::domain::{Offer, Terms};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayoutRow {
    pub id: Uuid,
    pub load_id: Uuid,
    pub payer_org_id: Uuid,
    pub payee_org_id: Uuid,
    pub reference: String,
    pub currency: String,
    pub amount_cents: i64,
    pub standard_days: i64,
    pub quick_pay_fee_bps: Option<i64>,
    pub completed_at: DateTime<Utc>,
    pub status: String,
    pub choice: Option<String>,
    pub fee_cents: i64,
    pub due_at: DateTime<Utc>,
    pub chosen_at: Option<DateTime<Utc>>,
    pub chosen_by: Option<Uuid>,
    pub transfer_id: Option<String>,
    pub processor_payout_id: Option<String>,
    pub manual_reference: Option<String>,
    pub transfer_attempts: i32,
    pub payout_attempts: i32,
    pub last_failure: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub transferred_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
}

impl PayoutRow {
    pub fn net_cents(&self) -> i64 {
        self.amount_cents - self.fee_cents
    }
}

const COLUMNS: &str = "id, load_id, payer_org_id, payee_org_id, reference, currency, amount_cents, standard_days, \
    quick_pay_fee_bps, completed_at, status, choice, fee_cents, due_at, chosen_at, chosen_by, transfer_id, \
    processor_payout_id, manual_reference, transfer_attempts, payout_attempts, last_failure, next_attempt_at, \
    transferred_at, paid_at";

#[derive(Debug, sqlx::FromRow)]
struct TermsRow {
    standard_days: i64,
    quick_pay_fee_bps: Option<i64>,
}

pub async fn terms_in(tx: &mut Tx, org: Uuid) -> sqlx::Result<Option<Terms>> {
    let sql = "SELECT standard_days, quick_pay_fee_bps FROM payout_terms WHERE org_id = $1";
    let row: Option<TermsRow> = on_tx!(tx, |c| sqlx::query_as(sql)
        .bind(org)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|r| Terms {
        standard_days: r.standard_days,
        quick_pay_fee_bps: r.quick_pay_fee_bps,
    }))
}

pub async fn terms(db: &Db, org: OrgId) -> sqlx::Result<Option<Terms>> {
    let sql = "SELECT standard_days, quick_pay_fee_bps FROM payout_terms WHERE org_id = $1";
    let row: Option<TermsRow> = on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .fetch_optional(c)
        .await)?;
    Ok(row.map(|r| Terms {
        standard_days: r.standard_days,
        quick_pay_fee_bps: r.quick_pay_fee_bps,
    }))
}

pub async fn put_terms(
    tx: &mut Tx,
    org: OrgId,
    t: &Terms,
    by: Uuid,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO payout_terms (org_id, standard_days, quick_pay_fee_bps, updated_at, updated_by) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id) DO UPDATE SET \
               standard_days = excluded.standard_days, quick_pay_fee_bps = excluded.quick_pay_fee_bps, \
               updated_at = excluded.updated_at, updated_by = excluded.updated_by";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(org)
        .bind(t.standard_days)
        .bind(t.quick_pay_fee_bps)
        .bind(at)
        .bind(by)
        .execute(c)
        .await
        .map(|_| ()))
}

/// The payout a completed load offers, once per load: `false` if it was offered before.
pub async fn offer(tx: &mut Tx, r: &PayoutRow, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let sql = "INSERT INTO payouts (id, load_id, payer_org_id, payee_org_id, reference, currency, amount_cents, \
               standard_days, quick_pay_fee_bps, completed_at, status, due_at, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'offered', $11, $12) ON CONFLICT (load_id) DO NOTHING";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(r.id)
        .bind(r.load_id)
        .bind(r.payer_org_id)
        .bind(r.payee_org_id)
        .bind(&r.reference)
        .bind(&r.currency)
        .bind(r.amount_cents)
        .bind(r.standard_days)
        .bind(r.quick_pay_fee_bps)
        .bind(r.completed_at)
        .bind(r.due_at)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// A payout the organization pays or is paid.
pub async fn get(db: &Db, org: OrgId, id: Uuid) -> sqlx::Result<Option<PayoutRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payouts WHERE id = $1 AND (payer_org_id = $2 OR payee_org_id = $2)"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .bind(org)
        .fetch_optional(c)
        .await)
}

pub async fn lock(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<PayoutRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payouts WHERE id = $1{}",
        tx.for_update()
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

pub async fn lock_by_processor_payout(
    tx: &mut Tx,
    payout: &str,
) -> sqlx::Result<Option<PayoutRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payouts WHERE processor_payout_id = $1{}",
        tx.for_update()
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(payout)
        .fetch_optional(c)
        .await)
}

/// The organization's payouts, either side, newest first.
pub async fn list(
    db: &Db,
    org: OrgId,
    before: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<PayoutRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payouts WHERE (payer_org_id = $1 OR payee_org_id = $1) \
         AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
    );
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(before)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// The carrier's choice, taken only while the payout is still offered (compare-and-set:
/// of two choices at the same instant, one lands).
pub async fn choose(
    tx: &mut Tx,
    id: Uuid,
    payee: OrgId,
    offer: &Offer,
    by: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE payouts SET status = 'scheduled', choice = $3, fee_cents = $4, due_at = $5, chosen_by = $6, \
               chosen_at = $7 WHERE id = $1 AND payee_org_id = $2 AND status = 'offered'";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(payee)
        .bind(offer.option.as_str())
        .bind(offer.fee_cents)
        .bind(offer.sent_on)
        .bind(by)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Payouts due to be sent now to carriers whose accounts are ready, and sends left
/// unfinished (claimed before `stale`: the instance sending them stopped).
pub async fn due(
    db: &Db,
    now: DateTime<Utc>,
    stale: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<(Uuid, String)>> {
    let sql = "SELECT p.id, a.account_id FROM payouts p JOIN payee_accounts a ON a.org_id = p.payee_org_id \
               WHERE a.status = 'ready' AND ((p.status IN ('offered', 'scheduled') AND p.due_at <= $1 \
               AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= $1)) \
               OR (p.status = 'sending' AND p.claimed_at < $2)) ORDER BY p.due_at LIMIT $3";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(now)
        .bind(stale)
        .bind(limit)
        .fetch_all(c)
        .await)
}

/// Claims a due payout for sending (compare-and-set: one instance sends it).
pub async fn claim(
    db: &Db,
    id: Uuid,
    now: DateTime<Utc>,
    stale: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE payouts SET status = 'sending', claimed_at = $2, choice = COALESCE(choice, 'standard') \
               WHERE id = $1 AND ((status IN ('offered', 'scheduled') AND due_at <= $2) \
               OR (status = 'sending' AND claimed_at < $3))";
    on_db!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .bind(stale)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// A send the processor refused or could not take: scheduled again, later.
pub async fn release(db: &Db, id: Uuid, failure: &str, next: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "UPDATE payouts SET status = 'scheduled', claimed_at = NULL, transfer_attempts = transfer_attempts + 1, \
               last_failure = $2, next_attempt_at = $3 WHERE id = $1 AND status = 'sending'";
    on_db!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(failure)
        .bind(next)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn transferred(
    tx: &mut Tx,
    id: Uuid,
    transfer: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = "UPDATE payouts SET status = 'transferred', transfer_id = $2, transferred_at = $3, claimed_at = NULL, \
               last_failure = NULL, next_attempt_at = NULL WHERE id = $1 AND status = 'sending'";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(transfer)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// Transferred payouts still to be paid out to the carrier's bank.
pub async fn to_bank(db: &Db, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<(Uuid, String)>> {
    let sql = "SELECT p.id, a.account_id FROM payouts p JOIN payee_accounts a ON a.org_id = p.payee_org_id \
               WHERE p.status = 'transferred' AND p.processor_payout_id IS NULL AND a.status = 'ready' \
               AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= $1) ORDER BY p.transferred_at LIMIT $2";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await)
}

pub async fn get_any(db: &Db, id: Uuid) -> sqlx::Result<Option<PayoutRow>> {
    let sql = format!("SELECT {COLUMNS} FROM payouts WHERE id = $1");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// The processor's payout for a transferred payout that has none (compare-and-set).
pub async fn set_processor_payout(db: &Db, id: Uuid, payout: &str) -> sqlx::Result<bool> {
    let sql =
        "UPDATE payouts SET processor_payout_id = $2, last_failure = NULL, next_attempt_at = NULL \
               WHERE id = $1 AND status = 'transferred' AND processor_payout_id IS NULL";
    on_db!(db, |c| sqlx::query(sql)
        .bind(id)
        .bind(payout)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// A payout to the bank that could not be made, or that the bank returned: tried again
/// later (the carrier may have to correct its bank details first).
pub async fn bank_failed(
    exec: &mut Tx,
    id: Uuid,
    failure: &str,
    next: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql =
        "UPDATE payouts SET processor_payout_id = NULL, payout_attempts = payout_attempts + 1, \
               last_failure = $2, next_attempt_at = $3 WHERE id = $1 AND status = 'transferred'";
    on_tx!(exec, |c| sqlx::query(sql)
        .bind(id)
        .bind(failure)
        .bind(next)
        .execute(c)
        .await
        .map(|_| ()))
}

pub async fn paid(
    tx: &mut Tx,
    id: Uuid,
    manual_reference: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "UPDATE payouts SET status = 'paid', paid_at = $2, manual_reference = COALESCE($3, manual_reference), \
               choice = COALESCE(choice, 'standard'), claimed_at = NULL, last_failure = NULL, next_attempt_at = NULL \
               WHERE id = $1";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(id)
        .bind(now)
        .bind(manual_reference)
        .execute(c)
        .await
        .map(|_| ()))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayeeRow {
    pub org_id: Uuid,
    pub processor: String,
    pub account_id: String,
    pub status: String,
    pub currently_due: String,
    pub updated_at: DateTime<Utc>,
}

pub async fn payee(db: &Db, org: OrgId) -> sqlx::Result<Option<PayeeRow>> {
    let sql = "SELECT org_id, processor, account_id, status, currently_due, updated_at FROM payee_accounts WHERE org_id = $1";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .fetch_optional(c)
        .await)
}

/// Keeps a carrier's new account unless it has one: `false` then (another request opened
/// it first, with the same idempotency key, so the same account).
pub async fn put_payee(db: &Db, r: &PayeeRow) -> sqlx::Result<bool> {
    let sql = "INSERT INTO payee_accounts (org_id, processor, account_id, status, currently_due, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING";
    on_db!(db, |c| sqlx::query(sql)
        .bind(r.org_id)
        .bind(&r.processor)
        .bind(&r.account_id)
        .bind(&r.status)
        .bind(&r.currently_due)
        .bind(r.updated_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// The account's status as the processor last said; the organization it belongs to.
pub async fn set_payee_status(
    tx: &mut Tx,
    account: &str,
    status: &str,
    currently_due: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Uuid>> {
    let sql = "UPDATE payee_accounts SET status = $2, currently_due = $3, updated_at = $4 WHERE account_id = $1 \
               RETURNING org_id";
    on_tx!(tx, |c| sqlx::query_scalar(sql)
        .bind(account)
        .bind(status)
        .bind(currently_due)
        .bind(now)
        .fetch_optional(c)
        .await)
}

/// A carrier whose account became ready: what waited on it is tried now.
pub async fn retry_now(tx: &mut Tx, payee: Uuid) -> sqlx::Result<()> {
    let sql = "UPDATE payouts SET next_attempt_at = NULL WHERE payee_org_id = $1 \
               AND status IN ('scheduled', 'transferred') AND processor_payout_id IS NULL";
    on_tx!(tx, |c| sqlx::query(sql)
        .bind(payee)
        .execute(c)
        .await
        .map(|_| ()))
}
