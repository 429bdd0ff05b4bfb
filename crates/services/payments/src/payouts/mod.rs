//! Carrier payouts. When a load's paperwork is complete its carrier is owed the rate and
//! offered the broker's terms: standard (sent N days later, free) or quick pay (sent now,
//! for a fee). An offer not taken becomes standard terms when it falls due. A payout is
//! sent through the processor (a transfer to the carrier's connected account, then a
//! payout to its bank) by a sweep, or recorded as paid by hand (a check, a wire); each
//! movement is a ledger entry on both sides, in the same transaction as the payout's
//! change, so the broker's payable and the carrier's receivable always agree.
//!
//! `domain.rs` the rules (pure), `store.rs` the SQL, this file the flows.

pub mod domain;
pub mod store;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use lanerunner_core::OrgId;
use lanerunner_platform::http::{Caller, Violations};
use lanerunner_platform::{Db, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{PaymentsError, Result};
use crate::invoices::store::PayLoadRow;
use crate::ledger::{Ledger, Recorded};
use crate::processor::{Fact, OnboardingLink, PaymentProcessor, ProcessorError, TransferRequest};
use crate::reconcile::{Movement, MovementKind};
use crate::views::{PayeeAccountView, PayoutView};
use domain::{Choice, Terms};
use store::{PayeeRow, PayoutRow};

/// A send not finished after this long is taken up again (its instance stopped; the
/// processor's idempotency key makes the second send the first one's answer).
const STALE_AFTER_SECS: i64 = 300;
const SWEEP_BATCH: i64 = 50;

pub struct Payouts {
    db: Db,
    processor: Arc<dyn PaymentProcessor>,
    /// A broker's terms until it sets its own.
    defaults: Terms,
}

/// `POST /v1/payments/payouts/{id}/choice`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceInput {
    pub option: Choice,
}

/// `POST /v1/payments/payouts/{id}/paid`: paid outside the processor.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaidByHand {
    /// The bank's reference (check number, wire id).
    pub reference: String,
}

/// `POST /v1/payments/payout-account/onboarding`: where the processor's onboarding sends
/// the carrier back.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingInput {
    /// Where a finished onboarding lands.
    pub return_url: String,
    /// Where an expired or used link lands (ask for a new one from there).
    pub refresh_url: String,
}

/// What a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub transferred: usize,
    pub refused: usize,
    pub sent_to_bank: usize,
}

fn finance(caller: &Caller) -> Result<()> {
    crate::error::finance_only(caller, "payouts are for owners, admins and accountants")
}

/// A bank reference: one line of 1 to 100 characters.
pub fn check_reference(reference: &str) -> Result<String> {
    let reference = reference.trim();
    if reference.is_empty()
        || reference.chars().count() > 100
        || reference.chars().any(char::is_control)
    {
        let mut v = Violations::default();
        v.add("reference", "must be 1 to 100 characters on one line");
        v.into_result(())?;
    }
    Ok(reference.to_string())
}

fn in_progress(row: &PayoutRow) -> PaymentsError {
    PaymentsError::conflict(
        "payout-in-progress",
        "The payout is under way",
        format!(
            "The payout for load {} is {}: it cannot be recorded as paid by hand.",
            row.reference, row.status
        ),
    )
}

/// Records payout `id` paid by hand in `tx` (both books and the payout), by `actor` of the
/// paying organization; the same reference again changes nothing.
pub async fn record_paid_in(
    tx: &mut Tx,
    org: OrgId,
    actor: Uuid,
    id: Uuid,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<PayoutRow> {
    let row = store::lock(tx, id)
        .await?
        .filter(|r| r.payer_org_id == org.0)
        .ok_or(PaymentsError::NotFound("payout"))?;
    if row.status == "paid" && row.manual_reference.as_deref() == Some(reference) {
        // The same record again: nothing changes.
        return Ok(row);
    }
    if !matches!(row.status.as_str(), "offered" | "scheduled") {
        return Err(in_progress(&row));
    }
    let (broker, carrier) = domain::sent(
        id,
        &row.reference,
        row.payer_org_id,
        row.payee_org_id,
        &row.currency,
        true,
        row.net_cents(),
    );
    Ledger::record_in(tx, org, &broker, Some(actor)).await?;
    Ledger::record_in(tx, OrgId(row.payee_org_id), &carrier, None).await?;
    store::paid(tx, id, Some(reference), now).await?;
    let row = store::lock(tx, id)
        .await?
        .ok_or(PaymentsError::NotFound("payout"))?;
    metrics::counter!("payouts_paid_total", "by" => "hand").increment(1);
    Ok(row)
}

fn url_ok(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://"))
        && u.len() <= 2000
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Payouts {
    pub fn new(db: Db, processor: Arc<dyn PaymentProcessor>, defaults: Terms) -> Self {
        Self {
            db,
            processor,
            defaults,
        }
    }

    /// A load whose paperwork is complete: its carrier is offered the broker's terms, and
    /// is owed the rate in its own books (the broker's payable is the invoices' entry).
    pub async fn offer(&self, tx: &mut Tx, load: &PayLoadRow) -> anyhow::Result<()> {
        let Some(carrier) = load.carrier_org_id else {
            return Ok(());
        };
        let terms = store::terms_in(tx, load.broker_org_id)
            .await?
            .unwrap_or(self.defaults);
        let row = PayoutRow {
            id: Uuid::now_v7(),
            load_id: load.load_id,
            payer_org_id: load.broker_org_id,
            payee_org_id: carrier,
            reference: load.reference.clone(),
            currency: "USD".into(),
            amount_cents: load.carrier_rate_cents,
            standard_days: terms.standard_days,
            quick_pay_fee_bps: terms.quick_pay_fee_bps,
            completed_at: load.completed_at,
            status: "offered".into(),
            choice: None,
            fee_cents: 0,
            due_at: load.completed_at + Duration::days(terms.standard_days),
            chosen_at: None,
            chosen_by: None,
            transfer_id: None,
            processor_payout_id: None,
            manual_reference: None,
            transfer_attempts: 0,
            payout_attempts: 0,
            last_failure: None,
            next_attempt_at: None,
            transferred_at: None,
            paid_at: None,
        };
        if store::offer(tx, &row, Utc::now()).await? {
            let entry = domain::receivable(
                load.load_id,
                &load.reference,
                load.broker_org_id,
                load.carrier_rate_cents,
            );
            Ledger::record_in(tx, OrgId(carrier), &entry, None)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            metrics::counter!("payouts_offered_total").increment(1);
        }
        Ok(())
    }

    pub async fn terms(&self, caller: &Caller) -> Result<Terms> {
        finance(caller)?;
        Ok(store::terms(&self.db, caller.org)
            .await?
            .unwrap_or(self.defaults))
    }

    /// The broker's terms for loads completed from now on (offers made stay as made).
    pub async fn set_terms(&self, caller: &Caller, t: Terms) -> Result<Terms> {
        self.check_terms(caller, &t)?;
        let mut tx = self.db.begin().await?;
        store::put_terms(&mut tx, caller.org, &t, caller.actor_id(), Utc::now()).await?;
        tx.commit().await?;
        Ok(t)
    }

    /// Whether `caller` may set terms `t`, and `t` is valid.
    pub fn check_terms(&self, caller: &Caller, t: &Terms) -> Result<()> {
        finance(caller)?;
        Ok(t.check()?)
    }

    pub async fn list(
        &self,
        caller: &Caller,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<PayoutView>> {
        finance(caller)?;
        let now = Utc::now();
        let rows = store::list(&self.db, caller.org, before, limit).await?;
        Ok(rows
            .iter()
            .map(|r| PayoutView::new(r, caller.org, now))
            .collect())
    }

    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<PayoutView> {
        finance(caller)?;
        let row = store::get(&self.db, caller.org, id)
            .await?
            .ok_or(PaymentsError::NotFound("payout"))?;
        Ok(PayoutView::new(&row, caller.org, Utc::now()))
    }

    /// The carrier takes one of the offers, once. Quick pay's fee is recorded on both
    /// sides in the same transaction.
    pub async fn choose(&self, caller: &Caller, id: Uuid, choice: Choice) -> Result<PayoutView> {
        finance(caller)?;
        let now = Utc::now();
        let row = store::get(&self.db, caller.org, id)
            .await?
            .filter(|r| r.payee_org_id == caller.org.0)
            .ok_or(PaymentsError::NotFound("payout"))?;
        if row.status != "offered" {
            return Err(PaymentsError::conflict(
                "payout-chosen",
                "The payout's terms are settled",
                format!(
                    "The payout for load {} is {} ({}).",
                    row.reference,
                    row.status,
                    row.choice.as_deref().unwrap_or("standard")
                ),
            ));
        }
        let offer = domain::offers(
            row.amount_cents,
            row.standard_days,
            row.quick_pay_fee_bps,
            row.completed_at,
            now,
        )
        .into_iter()
        .find(|o| o.option == choice)
        .ok_or_else(|| {
            PaymentsError::conflict(
                "quick-pay-not-offered",
                "Quick pay is not offered",
                format!(
                    "Quick pay is not offered for load {}: the broker does not offer it, or the standard date has come.",
                    row.reference
                ),
            )
        })?;
        let mut tx = self.db.begin().await?;
        if !store::choose(&mut tx, id, caller.org, &offer, caller.actor_id(), now).await? {
            tx.rollback().await?;
            return Err(PaymentsError::conflict(
                "payout-chosen",
                "The payout's terms are settled",
                "Another choice for this payout landed first.".into(),
            ));
        }
        if offer.fee_cents > 0 {
            let (broker, carrier) = domain::quick_pay_fee(
                id,
                &row.reference,
                row.payer_org_id,
                row.payee_org_id,
                &row.currency,
                offer.fee_cents,
            );
            Ledger::record_in(&mut tx, OrgId(row.payer_org_id), &broker, None).await?;
            Ledger::record_in(&mut tx, caller.org, &carrier, Some(caller.actor_id())).await?;
        }
        let row = store::lock(&mut tx, id)
            .await?
            .ok_or(PaymentsError::NotFound("payout"))?;
        tx.commit().await?;
        metrics::counter!("payouts_chosen_total", "option" => choice.as_str()).increment(1);
        Ok(PayoutView::new(&row, caller.org, now))
    }

    /// The broker records a payout made outside the processor; once, and only before the
    /// processor has begun sending it.
    pub async fn record_paid(
        &self,
        caller: &Caller,
        id: Uuid,
        input: PaidByHand,
    ) -> Result<PayoutView> {
        finance(caller)?;
        let reference = check_reference(&input.reference)?;
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let row =
            record_paid_in(&mut tx, caller.org, caller.actor_id(), id, &reference, now).await?;
        tx.commit().await?;
        Ok(PayoutView::new(&row, caller.org, now))
    }

    /// Whether `id` is the organization's to pay and can still be recorded as paid by hand
    /// (a request for a second person's approval is refused at once when it could not be
    /// carried out).
    pub async fn check_payable_by_hand(
        &self,
        caller: &Caller,
        id: Uuid,
        reference: &str,
    ) -> Result<String> {
        finance(caller)?;
        let reference = check_reference(reference)?;
        let row = store::get(&self.db, caller.org, id)
            .await?
            .filter(|r| r.payer_org_id == caller.org.0)
            .ok_or(PaymentsError::NotFound("payout"))?;
        if !matches!(row.status.as_str(), "offered" | "scheduled") {
            return Err(in_progress(&row));
        }
        Ok(reference)
    }

    /// The carrier's account with the processor; its status is asked of the processor
    /// while onboarding is unfinished (webhooks also bring it).
    pub async fn payee_account(&self, caller: &Caller) -> Result<PayeeAccountView> {
        finance(caller)?;
        let Some(mut row) = store::payee(&self.db, caller.org).await? else {
            return Ok(PayeeAccountView::none(self.processor.name()));
        };
        if row.status != "ready" {
            match self.processor.payee_account(&row.account_id).await {
                Ok(a) => {
                    let due = a.currently_due.join(",");
                    let mut tx = self.db.begin().await?;
                    store::set_payee_status(&mut tx, &a.id, a.status.as_str(), &due, Utc::now())
                        .await?;
                    if a.status == crate::processor::PayeeStatus::Ready {
                        store::retry_now(&mut tx, caller.org.0).await?;
                    }
                    tx.commit().await?;
                    row.status = a.status.as_str().into();
                    row.currently_due = due;
                }
                Err(e) => {
                    tracing::warn!(org = %caller.org, error = %e, "the payout account's status could not be read; showing the last known")
                }
            }
        }
        Ok(PayeeAccountView::from(&row))
    }

    /// Opens the carrier's account with the processor (once) and answers with a link to
    /// the processor's onboarding.
    pub async fn onboarding(
        &self,
        caller: &Caller,
        input: OnboardingInput,
    ) -> Result<OnboardingLink> {
        finance(caller)?;
        let mut v = Violations::default();
        for (field, u) in [
            ("return_url", &input.return_url),
            ("refresh_url", &input.refresh_url),
        ] {
            if !url_ok(u) {
                v.add(field, "must be an http(s) URL of at most 2000 characters");
            }
        }
        v.into_result(())?;
        if self.processor.name() == "manual" {
            return Err(PaymentsError::conflict(
                "no-processor",
                "Payouts are made by hand",
                "No payment processor is configured (payments.processor): brokers pay carriers outside LaneRunner and record it.".into(),
            ));
        }
        let account = match store::payee(&self.db, caller.org).await? {
            Some(row) => row.account_id,
            None => {
                // One account per organization, whoever asks first: the key makes a second
                // request at the same instant the first one's account.
                let a = self
                    .processor
                    .open_payee_account(caller.org.0, &format!("payee-account-{}", caller.org))
                    .await
                    .map_err(unavailable)?;
                let now = Utc::now();
                store::put_payee(
                    &self.db,
                    &PayeeRow {
                        org_id: caller.org.0,
                        processor: self.processor.name().into(),
                        account_id: a.id.clone(),
                        status: a.status.as_str().into(),
                        currently_due: a.currently_due.join(","),
                        updated_at: now,
                    },
                )
                .await?;
                store::payee(&self.db, caller.org)
                    .await?
                    .map(|r| r.account_id)
                    .unwrap_or(a.id)
            }
        };
        self.processor
            .onboarding_link(&account, &input.refresh_url, &input.return_url)
            .await
            .map_err(unavailable)
    }

    /// Sends what is due: each payout claimed (one instance sends it), transferred with a
    /// key that is the same on a retry of the same attempt, recorded; then paid out to the
    /// carrier's bank. A refusal is kept on the payout and tried again later; nothing is
    /// recorded in the ledger for money that did not move.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Swept> {
        let mut swept = Swept::default();
        if self.processor.name() == "manual" {
            return Ok(swept);
        }
        let stale = now - Duration::seconds(STALE_AFTER_SECS);
        for (id, account) in store::due(&self.db, now, stale, SWEEP_BATCH).await? {
            if !store::claim(&self.db, id, now, stale).await? {
                continue;
            }
            let Some(row) = store::get_any(&self.db, id).await? else {
                continue;
            };
            let req = TransferRequest {
                payout_id: id,
                account_id: &account,
                amount_cents: row.net_cents(),
                currency: &row.currency,
                reference: &row.reference,
                idempotency_key: format!("payout-{id}-transfer-{}", row.transfer_attempts),
            };
            match self.processor.transfer(&req).await {
                Ok(transfer) => {
                    let mut tx = self.db.begin().await?;
                    if store::transferred(&mut tx, id, &transfer, now).await? {
                        let (broker, carrier) = domain::sent(
                            id,
                            &row.reference,
                            row.payer_org_id,
                            row.payee_org_id,
                            &row.currency,
                            false,
                            row.net_cents(),
                        );
                        Ledger::record_in(&mut tx, OrgId(row.payer_org_id), &broker, None).await?;
                        Ledger::record_in(&mut tx, OrgId(row.payee_org_id), &carrier, None).await?;
                        // Out of the platform's balance: reconciled with the day's history.
                        let m = Movement {
                            object_id: transfer.clone(),
                            kind: MovementKind::Transfer,
                            currency: row.currency.clone(),
                            amount_cents: -row.net_cents(),
                        };
                        crate::invoices::store::put_movement(&mut tx, row.payer_org_id, &m, now)
                            .await?;
                    }
                    tx.commit().await?;
                    swept.transferred += 1;
                    metrics::counter!("payout_transfers_total", "outcome" => "sent").increment(1);
                }
                Err(e) => {
                    tracing::warn!(payout_id = %id, load = %row.reference, error = %e, "a payout's transfer was not made; it is tried again later");
                    store::release(
                        &self.db,
                        id,
                        &e.to_string(),
                        now + domain::backoff(row.transfer_attempts),
                    )
                    .await?;
                    swept.refused += 1;
                    metrics::counter!("payout_transfers_total", "outcome" => "refused")
                        .increment(1);
                }
            }
        }
        for (id, account) in store::to_bank(&self.db, now, SWEEP_BATCH).await? {
            let Some(row) = store::get_any(&self.db, id).await? else {
                continue;
            };
            let req = TransferRequest {
                payout_id: id,
                account_id: &account,
                amount_cents: row.net_cents(),
                currency: &row.currency,
                reference: &row.reference,
                idempotency_key: format!("payout-{id}-bank-{}", row.payout_attempts),
            };
            match self.processor.pay_out(&req).await {
                Ok(payout) => {
                    if store::set_processor_payout(&self.db, id, &payout).await? {
                        swept.sent_to_bank += 1;
                    }
                }
                Err(e) => {
                    tracing::warn!(payout_id = %id, load = %row.reference, error = %e, "a payout to the carrier's bank was not made; it is tried again later");
                    let mut tx = self.db.begin().await?;
                    store::bank_failed(
                        &mut tx,
                        id,
                        &e.to_string(),
                        now + domain::backoff(row.payout_attempts),
                    )
                    .await?;
                    tx.commit().await?;
                }
            }
        }
        Ok(swept)
    }
}

fn unavailable(e: ProcessorError) -> PaymentsError {
    match e {
        ProcessorError::Refused(why) => {
            PaymentsError::conflict("processor-refused", "The payment processor refused", why)
        }
        ProcessorError::Unavailable(why) => PaymentsError::Unavailable(why),
    }
}

/// A processor event about payouts (inside the webhook's transaction, after its signature
/// and first sight were checked): what it did.
pub(crate) async fn on_fact(tx: &mut Tx, at: DateTime<Utc>, fact: &Fact) -> Result<&'static str> {
    match fact {
        Fact::AccountUpdated {
            account_id,
            status,
            currently_due,
        } => {
            let org = store::set_payee_status(
                tx,
                account_id,
                status.as_str(),
                &currently_due.join(","),
                at,
            )
            .await?;
            match org {
                Some(org) => {
                    if *status == crate::processor::PayeeStatus::Ready {
                        store::retry_now(tx, org).await?;
                    }
                    Ok("applied")
                }
                None => Ok("unknown-account"),
            }
        }
        Fact::PayoutPaid { payout_id, .. } => {
            let Some(row) = store::lock_by_processor_payout(tx, payout_id).await? else {
                return Ok("unknown-payout");
            };
            if row.status == "paid" {
                return Ok("already-recorded");
            }
            let mut entry =
                domain::banked(payout_id, &row.reference, &row.currency, row.net_cents());
            entry.occurred_at = Some(at);
            if let Recorded::New(_) =
                Ledger::record_in(tx, OrgId(row.payee_org_id), &entry, None).await?
            {
                metrics::counter!("payouts_paid_total", "by" => "processor").increment(1);
            }
            store::paid(tx, row.id, None, at).await?;
            Ok("applied")
        }
        Fact::PayoutFailed {
            payout_id, reason, ..
        } => {
            let Some(row) = store::lock_by_processor_payout(tx, payout_id).await? else {
                return Ok("unknown-payout");
            };
            if row.status != "transferred" {
                // Failed after it was recorded paid: a failure out of order changes nothing.
                return Ok("ignored");
            }
            let why = reason
                .clone()
                .unwrap_or_else(|| "the bank returned the payout".into());
            tracing::warn!(payout_id = %row.id, load = %row.reference, reason = %why, "the carrier's bank returned a payout; it is tried again later");
            store::bank_failed(tx, row.id, &why, at + domain::backoff(row.payout_attempts)).await?;
            Ok("applied")
        }
        _ => Ok("ignored"),
    }
}
