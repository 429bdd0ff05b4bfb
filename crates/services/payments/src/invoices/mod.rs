//! Invoices: a shipper billed for a load whose paperwork is complete, paid through the
//! payment processor (a PaymentIntent the client confirms with the processor's own page,
//! so no card number touches LaneRunner) or recorded as paid by hand. Every movement is a
//! ledger entry in the same transaction as the invoice's change; processor webhooks are
//! verified first, applied once per event id, and read as cumulative facts so their order
//! does not matter.
//!
//! `domain.rs` the rules (pure), `store.rs` the SQL, this file the flows.

pub mod domain;
pub mod store;

use std::sync::Arc;

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use lanerunner_core::{EventEnvelope, OrgId};
use lanerunner_platform::bus::Permanent;
use lanerunner_platform::http::{Caller, Violations};
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::{Db, Tx};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{PaymentsError, Result};
use crate::events;
use crate::ledger::Ledger;
use crate::processor::{Fact, IntentRequest, PaymentProcessor};
use crate::reconcile::{Movement, MovementKind, Report};
use crate::views::InvoiceView;
use domain::{accounts, InvoiceInput};
use store::{InvoiceRow, PayLoadRow};

pub struct Invoices {
    db: Db,
    processor: Arc<dyn PaymentProcessor>,
    outbox: OutboxSignal,
}

/// A payment recorded by hand (a check, a wire, an ACH received outside the processor).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualPayment {
    pub amount_cents: i64,
    /// The bank's reference (check number, wire id): a payment is recorded once per reference.
    pub reference: String,
}

/// What a webhook did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookOutcome {
    pub event_id: String,
    /// `applied`, `duplicate`, `ignored`, `unknown-payment`, `already-paid`...
    pub outcome: String,
}

fn hash_of<T: Serialize>(v: &T) -> String {
    let json = serde_json::to_vec(v).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn finance(caller: &Caller) -> Result<()> {
    crate::error::finance_only(caller, "invoices are for owners, admins and accountants")
}

impl Invoices {
    pub fn new(db: Db, processor: Arc<dyn PaymentProcessor>, outbox: OutboxSignal) -> Self {
        Self {
            db,
            processor,
            outbox,
        }
    }

    pub fn processor(&self) -> &dyn PaymentProcessor {
        self.processor.as_ref()
    }

    /// `documents.checklist_completed.v1`: the load may be invoiced, and its carrier is
    /// owed the rate (a payable in the broker's ledger), once. The load, when it is new.
    pub async fn on_checklist_completed(
        &self,
        tx: &mut Tx,
        event: &EventEnvelope,
    ) -> anyhow::Result<Option<PayLoadRow>> {
        let c: events::ChecklistCompleted =
            serde_json::from_value(event.payload.clone()).map_err(Permanent::new)?;
        let row = PayLoadRow {
            load_id: c.load_id,
            broker_org_id: c.broker_org_id,
            carrier_org_id: c.carrier_org_id,
            reference: c.reference.clone(),
            carrier_rate_cents: c.rate_cents,
            completed_at: c.completed_at,
        };
        if !store::put_load(tx, &row).await? {
            return Ok(None);
        }
        if let Some(carrier) = c.carrier_org_id {
            let entry = domain::carrier_payable(c.load_id, &c.reference, carrier, c.rate_cents);
            Ledger::record_in(tx, OrgId(c.broker_org_id), &entry, None)
                .await
                .map_err(|e| Permanent::new(anyhow::anyhow!(e)))?;
        }
        Ok(Some(row))
    }

    /// Issues an invoice for a load whose paperwork is complete, with its ledger entry, then
    /// opens its payment with the processor. The same request again (the same
    /// `Idempotency-Key`, or the same load and body) answers with the first invoice.
    pub async fn create(
        &self,
        caller: &Caller,
        input: InvoiceInput,
        key: Option<&str>,
    ) -> Result<(InvoiceView, bool)> {
        finance(caller)?;
        let total = input.check()?;
        if let Some(k) = key {
            if k.is_empty() || k.len() > 200 || k.chars().any(char::is_control) {
                let mut v = Violations::default();
                v.add("Idempotency-Key", "must be 1 to 200 characters on one line");
                v.into_result(())?;
            }
        }
        let hash = hash_of(&input);
        let replay = |found: InvoiceRow| -> Result<(InvoiceView, bool)> {
            if found.request_hash == hash {
                Ok((InvoiceView::from(&found), false))
            } else if key.is_some() && found.idempotency_key.as_deref() == key {
                Err(PaymentsError::Conflict {
                    kind: "idempotency-key-reused",
                    title: "Idempotency-Key used for another request",
                    detail: "This Idempotency-Key created another invoice; use a new key for a new invoice.".into(),
                })
            } else {
                Err(PaymentsError::Conflict {
                    kind: "invoice-exists",
                    title: "The load is invoiced",
                    detail: format!("Invoice {} already bills this load.", found.number),
                })
            }
        };
        if let Some(found) = store::existing(&self.db, caller.org, input.load_id, key).await? {
            return replay(found);
        }
        let load = store::load(&self.db, caller.org, input.load_id)
            .await?
            .ok_or_else(|| PaymentsError::Conflict {
                kind: "paperwork-incomplete",
                title: "The load cannot be invoiced yet",
                detail: "Only your loads whose document checklist is complete are invoiced (see GET /v1/loads/{id}/documents/checklist).".into(),
            })?;
        let id = Uuid::now_v7();
        let simple = id.simple().to_string();
        let now = Utc::now();
        let row = InvoiceRow {
            id,
            org_id: caller.org.0,
            load_id: load.load_id,
            number: format!("INV-{}", simple[simple.len() - 10..].to_uppercase()),
            customer_name: input.customer_name.trim().to_owned(),
            customer_email: input.customer_email.trim().to_owned(),
            currency: input.currency().to_owned(),
            lines: serde_json::to_string(&input.lines).map_err(anyhow::Error::from)?,
            amount_cents: total,
            paid_cents: 0,
            refunded_cents: 0,
            disputed_cents: 0,
            failed_attempts: 0,
            last_failure: None,
            issued_at: now,
            due_at: now + Duration::days(input.due_in_days.unwrap_or(30)),
            paid_at: None,
            processor: None,
            processor_intent_id: None,
            client_secret: None,
            idempotency_key: key.map(String::from),
            request_hash: hash.clone(),
            created_by: caller.actor_id(),
        };
        let mut tx = self.db.begin().await?;
        if !store::insert(&mut tx, &row).await? {
            tx.rollback().await?;
            // Another request took the load or the key at the same instant: its answer.
            let found = store::existing(&self.db, caller.org, input.load_id, key)
                .await?
                .ok_or(PaymentsError::NotFound("invoice"))?;
            return replay(found);
        }
        Ledger::record_in(
            &mut tx,
            caller.org,
            &domain::issued(id, &row.number, &row.currency, total),
            Some(caller.actor_id()),
        )
        .await?;
        let issued = events::InvoiceIssued::from(&row);
        let event = EventEnvelope::new(events::INVOICE_ISSUED, Some(caller.org), id, &issued)
            .map_err(anyhow::Error::from)?;
        outbox::enqueue(&mut tx, &event).await?;
        tx.commit().await?;
        self.outbox.committed();
        metrics::counter!("invoices_issued_total").increment(1);
        let row = self.open_payment(row).await;
        Ok((InvoiceView::from(&row), true))
    }

    /// Opens the invoice's payment with the processor, once (its idempotency key is the
    /// invoice's id). A processor that cannot be reached leaves the invoice without one;
    /// `POST /v1/payments/invoices/{id}/payment` tries again.
    async fn open_payment(&self, mut row: InvoiceRow) -> InvoiceRow {
        if row.processor_intent_id.is_some() {
            return row;
        }
        let req = IntentRequest {
            invoice_id: row.id,
            invoice_number: &row.number,
            amount_cents: row.amount_cents,
            currency: &row.currency,
            customer_email: &row.customer_email,
            idempotency_key: format!("invoice-{}", row.id),
        };
        match self.processor.open(&req).await {
            Ok(Some(intent)) => {
                match store::set_intent(
                    &self.db,
                    row.id,
                    self.processor.name(),
                    &intent.id,
                    intent.client_secret.as_deref(),
                )
                .await
                {
                    Ok(_) => {
                        row.processor = Some(self.processor.name().into());
                        row.processor_intent_id = Some(intent.id);
                        row.client_secret = intent.client_secret;
                    }
                    Err(e) => {
                        tracing::warn!(invoice_id = %row.id, error = %e, "recording the invoice's payment failed; it is opened again on retry")
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(invoice_id = %row.id, error = %e, "opening the invoice's payment failed; retry with POST /v1/payments/invoices/{{id}}/payment")
            }
        }
        row
    }

    pub async fn retry_payment(&self, caller: &Caller, id: Uuid) -> Result<InvoiceView> {
        finance(caller)?;
        let row = store::get(&self.db, caller.org, id)
            .await?
            .ok_or(PaymentsError::NotFound("invoice"))?;
        let row = self.open_payment(row).await;
        if row.processor_intent_id.is_none() && self.processor.name() != "manual" {
            return Err(PaymentsError::Unavailable(
                "the payment processor could not open the payment; try again".into(),
            ));
        }
        Ok(InvoiceView::from(&row))
    }

    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<InvoiceView> {
        finance(caller)?;
        let row = store::get(&self.db, caller.org, id)
            .await?
            .ok_or(PaymentsError::NotFound("invoice"))?;
        Ok(InvoiceView::from(&row))
    }

    pub async fn list(
        &self,
        caller: &Caller,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<InvoiceView>> {
        finance(caller)?;
        let rows = store::list(&self.db, caller.org, before, limit).await?;
        Ok(rows.iter().map(InvoiceView::from).collect())
    }

    /// Records money received outside the processor; once per bank reference.
    pub async fn record_payment(
        &self,
        caller: &Caller,
        id: Uuid,
        p: ManualPayment,
    ) -> Result<InvoiceView> {
        finance(caller)?;
        let mut v = Violations::default();
        if !(1..=crate::ledger::domain::MAX_AMOUNT_CENTS).contains(&p.amount_cents) {
            v.add(
                "amount_cents",
                "must be a positive amount of cents, at most 10^12",
            );
        }
        let reference = p.reference.trim();
        if reference.is_empty()
            || reference.chars().count() > 100
            || reference.chars().any(char::is_control)
        {
            v.add("reference", "must be 1 to 100 characters on one line");
        }
        v.into_result(())?;
        let mut tx = self.db.begin().await?;
        let mut row = store::lock(&mut tx, caller.org, id)
            .await?
            .ok_or(PaymentsError::NotFound("invoice"))?;
        let outstanding = row.amount_cents - row.paid_cents;
        if outstanding <= 0 {
            return Err(PaymentsError::Conflict {
                kind: "invoice-paid",
                title: "The invoice is paid",
                detail: format!("Invoice {} is paid in full.", row.number),
            });
        }
        if p.amount_cents > outstanding {
            return Err(PaymentsError::Conflict {
                kind: "overpayment",
                title: "More than is owed",
                detail: format!(
                    "Invoice {} has {} cents outstanding.",
                    row.number, outstanding
                ),
            });
        }
        let entry = domain::received(
            format!("manual-payment:{}:{}", row.id, reference),
            format!("payment {reference} for invoice {}", row.number),
            &row.currency,
            accounts::BANK,
            true,
            p.amount_cents,
        );
        // The same payment recorded again (its reference seen): nothing changes.
        if let crate::ledger::Recorded::New(_) =
            Ledger::record_in(&mut tx, caller.org, &entry, Some(caller.actor_id())).await?
        {
            row.paid_cents += p.amount_cents;
            if row.paid_cents >= row.amount_cents {
                row.paid_at = Some(Utc::now());
            }
            store::set_amounts(&mut tx, &row).await?;
        }
        tx.commit().await?;
        Ok(InvoiceView::from(&row))
    }

    /// Reconciles one UTC day: the movements the ledger recorded against the processor's
    /// balance transactions. Every difference is logged and counted; the processor's fees
    /// on the day's charges are entered in the ledger of the organization each charge paid
    /// (once per balance transaction); the report is kept (a run again replaces it).
    /// Nothing to do without a processor.
    pub async fn reconcile(&self, day: chrono::NaiveDate) -> Result<Report> {
        let from = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let to = from + Duration::days(1);
        let history = self
            .processor
            .balance_history(from, to)
            .await
            .map_err(|e| PaymentsError::Unavailable(e.to_string()))?;
        let ledger = store::movements(&self.db, from, to).await?;
        let mut report = crate::reconcile::reconcile(&ledger, &history.movements);
        for fee in &history.fees {
            // A charge the ledger does not know is reported above; its fee waits for it.
            let Some(org) = store::movement_org(&self.db, &fee.object_id).await? else {
                continue;
            };
            let mut entry = domain::processor_fee(fee);
            entry.occurred_at = Some(fee.at);
            let mut tx = self.db.begin().await?;
            Ledger::record_in(&mut tx, OrgId(org), &entry, None).await?;
            tx.commit().await?;
            *report.fees.entry(fee.currency.clone()).or_insert(0) += fee.fee_cents;
        }
        for d in &report.differences {
            tracing::warn!(day = %day, difference = ?d, "reconciliation: the ledger and the processor differ");
        }
        metrics::gauge!("payments_reconciliation_differences").set(report.differences.len() as f64);
        let json = serde_json::to_string(&report).map_err(anyhow::Error::from)?;
        store::put_reconciliation(
            &self.db,
            day,
            Utc::now(),
            report.matched as i64,
            report.differences.len() as i64,
            &json,
        )
        .await?;
        Ok(report)
    }

    /// The kept reports, newest day first (for operators: the processor's account is the
    /// platform's, so a report spans every organization).
    pub async fn reconciliations(&self, limit: i64) -> Result<Vec<(chrono::NaiveDate, Report)>> {
        store::reconciliations(&self.db, limit)
            .await?
            .into_iter()
            .map(|r| {
                let report: Report =
                    serde_json::from_str(&r.report).map_err(anyhow::Error::from)?;
                Ok((r.day, report))
            })
            .collect()
    }

    /// The daily run: yesterday, unless it was reconciled already.
    pub async fn reconcile_yesterday(&self) -> Result<Option<Report>> {
        if self.processor.name() == "manual" {
            return Ok(None);
        }
        let yesterday = (Utc::now() - Duration::days(1)).date_naive();
        if store::reconciled(&self.db, yesterday).await? {
            return Ok(None);
        }
        self.reconcile(yesterday).await.map(Some)
    }

    /// A processor webhook: verified first (a bad or stale signature is refused and
    /// nothing is applied), then applied once per event id, in one transaction with its
    /// ledger entries.
    pub async fn webhook(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookOutcome> {
        let now = Utc::now();
        let event = self
            .processor
            .read_webhook(headers, body, now)
            .map_err(|e| {
                tracing::warn!(error = %e, "a payment webhook was refused");
                PaymentsError::WebhookRejected(e.0)
            })?;
        let mut tx = self.db.begin().await?;
        if !store::first_sight(&mut tx, &event.id, &event.kind, event.created, now).await? {
            tx.rollback().await?;
            return Ok(WebhookOutcome {
                event_id: event.id,
                outcome: "duplicate".into(),
            });
        }
        let (outcome, invoice) = self
            .apply(&mut tx, &event.id, event.created, &event.fact)
            .await?;
        store::event_outcome(&mut tx, &event.id, outcome, invoice).await?;
        tx.commit().await?;
        metrics::counter!("payment_webhooks_total", "outcome" => outcome).increment(1);
        Ok(WebhookOutcome {
            event_id: event.id,
            outcome: outcome.into(),
        })
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        event_id: &str,
        at: DateTime<Utc>,
        fact: &Fact,
    ) -> Result<(&'static str, Option<Uuid>)> {
        let intent = match fact {
            Fact::PaymentSucceeded { intent_id, .. }
            | Fact::PaymentFailed { intent_id, .. }
            | Fact::Refunded { intent_id, .. }
            | Fact::DisputeOpened { intent_id, .. } => intent_id,
            Fact::AccountUpdated { .. } | Fact::PayoutPaid { .. } | Fact::PayoutFailed { .. } => {
                return Ok((crate::payouts::on_fact(tx, at, fact).await?, None));
            }
            Fact::Other => return Ok(("ignored", None)),
        };
        let Some(mut row) = store::lock_by_intent(tx, intent).await? else {
            tracing::warn!(event_id, payment = %intent, "a payment event for no invoice of LaneRunner's; kept for review");
            return Ok(("unknown-payment", None));
        };
        let org = OrgId(row.org_id);
        let mut outcome = "applied";
        match fact {
            Fact::PaymentSucceeded {
                amount_cents,
                currency,
                charge_id,
                ..
            } => {
                // Cumulative: a payment already counted (a second event for it) adds nothing.
                let applied = row.paid_cents < row.amount_cents;
                let currency = currency.to_uppercase();
                let mut entry = domain::received(
                    format!("payment:{intent}"),
                    format!("payment for invoice {}", row.number),
                    &currency,
                    accounts::PROCESSOR,
                    applied,
                    *amount_cents,
                );
                entry.occurred_at = Some(at);
                // The same payment reported again (another event for the intent) was
                // recorded under this reference already, applied or not: nothing new.
                let recorded = match Ledger::record_in(tx, org, &entry, None).await {
                    Err(PaymentsError::ReferenceReused(id)) => {
                        crate::ledger::Recorded::Replayed(id)
                    }
                    other => other?,
                };
                if let crate::ledger::Recorded::New(_) = recorded {
                    let object_id = charge_id.clone().unwrap_or_else(|| intent.clone());
                    let m = Movement {
                        object_id,
                        kind: MovementKind::Charge,
                        currency,
                        amount_cents: *amount_cents,
                    };
                    store::put_movement(tx, row.org_id, &m, at).await?;
                    if applied {
                        row.paid_cents += amount_cents;
                        row.paid_at = Some(at);
                    } else {
                        outcome = "already-paid";
                    }
                } else {
                    outcome = "already-recorded";
                }
            }
            Fact::PaymentFailed { reason, .. } => {
                if row.paid_cents >= row.amount_cents {
                    // A failure reported after the payment succeeded (events out of order).
                    outcome = "ignored";
                } else {
                    row.failed_attempts += 1;
                    row.last_failure = reason.clone().or_else(|| Some("the payment failed".into()));
                }
            }
            Fact::Refunded {
                refunds, currency, ..
            } => {
                // Each refund once, by its id: a later event listing earlier refunds, or
                // an earlier one arriving late, adds only what is new.
                let currency = currency.to_uppercase();
                let mut added = 0;
                for (refund_id, cents) in refunds {
                    let mut entry = domain::refunded(
                        format!("refund:{refund_id}"),
                        format!("refund on invoice {}", row.number),
                        &currency,
                        *cents,
                    );
                    entry.occurred_at = Some(at);
                    if let crate::ledger::Recorded::New(_) =
                        Ledger::record_in(tx, org, &entry, None).await?
                    {
                        let m = Movement {
                            object_id: refund_id.clone(),
                            kind: MovementKind::Refund,
                            currency: currency.clone(),
                            amount_cents: -cents,
                        };
                        store::put_movement(tx, row.org_id, &m, at).await?;
                        row.refunded_cents += cents;
                        added += 1;
                    }
                }
                if added == 0 {
                    outcome = "ignored";
                }
            }
            Fact::DisputeOpened {
                dispute_id,
                amount_cents,
                currency,
                ..
            } => {
                let mut entry = domain::disputed(
                    format!("dispute:{dispute_id}"),
                    format!("dispute on invoice {}", row.number),
                    &currency.to_uppercase(),
                    *amount_cents,
                );
                entry.occurred_at = Some(at);
                if let crate::ledger::Recorded::New(_) =
                    Ledger::record_in(tx, org, &entry, None).await?
                {
                    let m = Movement {
                        object_id: dispute_id.clone(),
                        kind: MovementKind::Dispute,
                        currency: currency.to_uppercase(),
                        amount_cents: -amount_cents,
                    };
                    store::put_movement(tx, row.org_id, &m, at).await?;
                    row.disputed_cents += amount_cents;
                } else {
                    outcome = "already-recorded";
                }
            }
            _ => {}
        }
        store::set_amounts(tx, &row).await?;
        Ok((outcome, Some(row.id)))
    }
}
