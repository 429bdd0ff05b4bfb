//! Dual control on money (SOX separation of duties). An organization that turns it on
//! (`PUT /v1/payments/controls`) has every action on money that a person takes by hand —
//! a payout recorded as paid outside the processor, a ledger entry by hand, new payout
//! terms — and turning the control off again, become a request that a second person in a
//! finance role approves. The approval carries the action out, as asked, in the same
//! transaction that records the decision (compare-and-set on the pending request: of two
//! approvals at the same instant one carries it out, once). Who asked, who decided, when and
//! why are kept for good, and listed in the controls report.
//!
//! `domain.rs` holds the rules (pure), `store.rs` the SQL.

pub mod domain;
pub mod store;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, Role};
use lanerunner_platform::http::Caller;
use lanerunner_platform::{Db, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{PaymentsError, Result};
use crate::ledger::{Ledger, NewEntry, Recorded};
use crate::payouts::domain::Terms;
use crate::payouts::Payouts;
use crate::views::{ApprovalView, ControlsView, PayoutView};
pub use domain::Action;
use domain::Refusal;
use store::ApprovalRow;

/// What an action under dual control came to: done now, or waiting for a second person.
pub enum Outcome<T> {
    Done(T),
    Pending(ApprovalView),
}

/// `PUT /v1/payments/controls`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlsInput {
    pub dual_control: bool,
}

/// `POST /v1/payments/approvals/{id}/reject`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectInput {
    /// Why (one line, at most 500 characters); the requester withdrawing may leave it out.
    #[serde(default)]
    pub reason: Option<String>,
}

pub struct Approvals {
    db: Db,
    payouts: Arc<Payouts>,
}

fn refused(r: Refusal) -> PaymentsError {
    match r {
        Refusal::NotAPerson => PaymentsError::SeparationOfDuties(
            "under dual control a person, not an API key, asks for and approves actions on money",
        ),
        Refusal::Role => PaymentsError::Forbidden(
            "this request is decided by owners, admins and accountants (turning dual control off: owners and admins)",
        ),
        Refusal::SamePerson => PaymentsError::SeparationOfDuties(
            "the person who asked cannot approve their own request: a second person must",
        ),
    }
}

fn finance(caller: &Caller) -> Result<()> {
    crate::error::finance_only(caller, "approvals are for owners, admins and accountants")
}

impl Approvals {
    pub fn new(db: Db, payouts: Arc<Payouts>) -> Self {
        Self { db, payouts }
    }

    async fn dual_control(&self, org: OrgId) -> Result<bool> {
        Ok(store::controls(&self.db, org)
            .await?
            .is_some_and(|c| c.dual_control))
    }

    pub async fn controls(&self, caller: &Caller) -> Result<ControlsView> {
        finance(caller)?;
        Ok(ControlsView::new(
            store::controls(&self.db, caller.org).await?,
        ))
    }

    /// Turning dual control on takes effect at once (and is kept in the record as a request
    /// its owner decided); turning it off is itself a request for a second person.
    pub async fn set_controls(
        &self,
        caller: &Caller,
        input: ControlsInput,
    ) -> Result<Outcome<ControlsView>> {
        if !matches!(caller.role, Role::Owner | Role::Admin) {
            return Err(PaymentsError::Forbidden(
                "dual control is set by owners and admins",
            ));
        }
        let on = self.dual_control(caller.org).await?;
        match (on, input.dual_control) {
            (true, false) => Ok(Outcome::Pending(
                self.ask(caller, Action::DualControlOff).await?,
            )),
            (false, true) => {
                let person = domain::requester(caller).map_err(refused)?;
                let now = Utc::now();
                let mut tx = self.db.begin().await?;
                store::set_controls(&mut tx, caller.org, true, person, now).await?;
                // The switch on is in the record beside the requests it governs.
                store::insert(
                    &mut tx,
                    &ApprovalRow {
                        id: Uuid::now_v7(),
                        org_id: caller.org.0,
                        kind: "dual_control_on".into(),
                        action: serde_json::json!({"kind": "dual_control_on"}).to_string(),
                        summary: "Turn dual control on (no second person needed)".into(),
                        status: "approved".into(),
                        requested_by: person,
                        requested_at: now,
                        expires_at: now,
                        decided_by: Some(person),
                        decided_at: Some(now),
                        reason: None,
                        result: Some(serde_json::json!({"dual_control": true}).to_string()),
                    },
                )
                .await?;
                tx.commit().await?;
                tracing::info!(org = %caller.org, by = %person, "dual control turned on");
                Ok(Outcome::Done(self.controls(caller).await?))
            }
            _ => Ok(Outcome::Done(self.controls(caller).await?)),
        }
    }

    /// A payout made outside the processor: recorded now, or asked for under dual control.
    pub async fn payout_paid_by_hand(
        &self,
        caller: &Caller,
        id: Uuid,
        reference: &str,
    ) -> Result<Outcome<PayoutView>> {
        if !self.dual_control(caller.org).await? {
            let input = crate::payouts::PaidByHand {
                reference: reference.to_string(),
            };
            return Ok(Outcome::Done(
                self.payouts.record_paid(caller, id, input).await?,
            ));
        }
        let reference = self
            .payouts
            .check_payable_by_hand(caller, id, reference)
            .await?;
        Ok(Outcome::Pending(
            self.ask(
                caller,
                Action::PayoutPaidByHand {
                    payout_id: id,
                    reference,
                },
            )
            .await?,
        ))
    }

    /// A ledger entry by hand: recorded now (`(id, new)`), or asked for under dual control.
    pub async fn ledger_entry(
        &self,
        caller: &Caller,
        ledger: &Ledger,
        entry: NewEntry,
    ) -> Result<Outcome<(Uuid, bool)>> {
        finance(caller)?;
        if !self.dual_control(caller.org).await? {
            return Ok(Outcome::Done(
                ledger
                    .record(caller.org, &entry, Some(caller.actor_id()))
                    .await?,
            ));
        }
        entry.check()?;
        Ok(Outcome::Pending(
            self.ask(caller, Action::LedgerAdjustment { entry }).await?,
        ))
    }

    /// New payout terms: set now, or asked for under dual control.
    pub async fn payout_terms(&self, caller: &Caller, terms: Terms) -> Result<Outcome<Terms>> {
        if !self.dual_control(caller.org).await? {
            return Ok(Outcome::Done(self.payouts.set_terms(caller, terms).await?));
        }
        self.payouts.check_terms(caller, &terms)?;
        Ok(Outcome::Pending(
            self.ask(caller, Action::PayoutTerms { terms }).await?,
        ))
    }

    async fn ask(&self, caller: &Caller, action: Action) -> Result<ApprovalView> {
        let person = domain::requester(caller).map_err(refused)?;
        let now = Utc::now();
        let row = ApprovalRow {
            id: Uuid::now_v7(),
            org_id: caller.org.0,
            kind: action.kind().into(),
            action: serde_json::to_string(&action).map_err(anyhow::Error::from)?,
            summary: action.summary(),
            status: "pending".into(),
            requested_by: person,
            requested_at: now,
            expires_at: now + domain::TTL,
            decided_by: None,
            decided_at: None,
            reason: None,
            result: None,
        };
        let mut tx = self.db.begin().await?;
        store::insert(&mut tx, &row).await?;
        tx.commit().await?;
        metrics::counter!("payment_approvals_total", "kind" => action.kind(), "event" => "requested")
            .increment(1);
        tracing::info!(org = %caller.org, approval = %row.id, kind = action.kind(), by = %person, "approval requested");
        Ok(ApprovalView::new(&row, now))
    }

    async fn pending(&self, caller: &Caller, id: Uuid) -> Result<(ApprovalRow, Action)> {
        finance(caller)?;
        let row = store::get(&self.db, caller.org, id)
            .await?
            .ok_or(PaymentsError::NotFound("approval"))?;
        let action: Action = serde_json::from_str(&row.action).map_err(|e| {
            // Only `dual_control_on` records are not actions; they are never pending.
            PaymentsError::conflict(
                "approval-decided",
                "Already decided",
                format!("request {id} is not open for a decision ({e})"),
            )
        })?;
        Ok((row, action))
    }

    /// Why a decision found the request no longer open.
    async fn closed(&self, org: OrgId, id: Uuid, now: DateTime<Utc>) -> Result<PaymentsError> {
        let row = store::get(&self.db, org, id)
            .await?
            .ok_or(PaymentsError::NotFound("approval"))?;
        Ok(
            match domain::shown_status(&row.status, row.expires_at, now) {
                "expired" => PaymentsError::conflict(
                    "approval-expired",
                    "The request expired",
                    format!("request {id} expired at {}; ask again", row.expires_at),
                ),
                status => PaymentsError::conflict(
                    "approval-decided",
                    "Already decided",
                    format!("request {id} is {status}"),
                ),
            },
        )
    }

    /// A second person approves: the action is carried out, as asked, in the transaction
    /// that records the decision. If it can no longer be (the payout was sent meanwhile),
    /// nothing is recorded and the request stays open for a rejection.
    pub async fn approve(&self, caller: &Caller, id: Uuid) -> Result<ApprovalView> {
        let (row, action) = self.pending(caller, id).await?;
        let approver = domain::may_decide(caller, &action, row.requested_by).map_err(refused)?;
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        if !store::decide(&mut tx, caller.org, id, "approved", approver, now, None).await? {
            drop(tx);
            return Err(self.closed(caller.org, id, now).await?);
        }
        let result = carry_out(
            &mut tx,
            caller.org,
            row.requested_by,
            approver,
            &action,
            now,
        )
        .await?;
        store::set_result(&mut tx, caller.org, id, &result.to_string()).await?;
        let row = store::get_in(&mut tx, caller.org, id)
            .await?
            .ok_or(PaymentsError::NotFound("approval"))?;
        tx.commit().await?;
        metrics::counter!("payment_approvals_total", "kind" => action.kind(), "event" => "approved")
            .increment(1);
        tracing::info!(org = %caller.org, approval = %id, kind = action.kind(), requested_by = %row.requested_by, approved_by = %approver, "approval granted and carried out");
        Ok(ApprovalView::new(&row, now))
    }

    /// A second person rejects (a reason is required), or the requester withdraws.
    pub async fn reject(
        &self,
        caller: &Caller,
        id: Uuid,
        input: RejectInput,
    ) -> Result<ApprovalView> {
        let (row, action) = self.pending(caller, id).await?;
        let me = domain::requester(caller).map_err(refused)?;
        let (status, decider) = if me == row.requested_by {
            ("withdrawn", me)
        } else {
            (
                "rejected",
                domain::may_decide(caller, &action, row.requested_by).map_err(refused)?,
            )
        };
        let reason = match (&input.reason, status) {
            (Some(r), _) => {
                Some(domain::check_reason(r).map_err(|why| PaymentsError::invalid("reason", why))?)
            }
            (None, "rejected") => {
                return Err(PaymentsError::invalid(
                    "reason",
                    "say why the request is rejected",
                ))
            }
            (None, _) => None,
        };
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        if !store::decide(
            &mut tx,
            caller.org,
            id,
            status,
            decider,
            now,
            reason.as_deref(),
        )
        .await?
        {
            drop(tx);
            return Err(self.closed(caller.org, id, now).await?);
        }
        let row = store::get_in(&mut tx, caller.org, id)
            .await?
            .ok_or(PaymentsError::NotFound("approval"))?;
        tx.commit().await?;
        metrics::counter!("payment_approvals_total", "kind" => action.kind(), "event" => status)
            .increment(1);
        Ok(ApprovalView::new(&row, now))
    }

    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<ApprovalView> {
        finance(caller)?;
        let row = store::get(&self.db, caller.org, id)
            .await?
            .ok_or(PaymentsError::NotFound("approval"))?;
        Ok(ApprovalView::new(&row, Utc::now()))
    }

    pub async fn list(
        &self,
        caller: &Caller,
        pending_only: bool,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ApprovalView>> {
        finance(caller)?;
        let now = Utc::now();
        let rows = store::list(
            &self.db,
            caller.org,
            pending_only.then_some(now),
            before,
            limit,
        )
        .await?;
        Ok(rows.iter().map(|r| ApprovalView::new(r, now)).collect())
    }

    /// The controls report for `[from, to)`: every request on money made or decided in the
    /// period, who asked, who decided, when, why, and what it made; CSV for auditors.
    pub async fn report(
        &self,
        caller: &Caller,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<String> {
        finance(caller)?;
        let now = Utc::now();
        let rows = store::in_period(&self.db, caller.org, from, to).await?;
        let mut csv = csv::Writer::from_writer(Vec::new());
        let header = [
            "approval_id",
            "kind",
            "summary",
            "requested_by",
            "requested_at",
            "status",
            "decided_by",
            "decided_at",
            "reason",
            "result",
        ];
        let write = |csv: &mut csv::Writer<Vec<u8>>, record: &[String]| {
            csv.write_record(record).map_err(anyhow::Error::from)
        };
        write(&mut csv, &header.map(String::from))?;
        let at = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        for r in &rows {
            write(
                &mut csv,
                &[
                    r.id.to_string(),
                    r.kind.clone(),
                    r.summary.clone(),
                    r.requested_by.to_string(),
                    r.requested_at.to_rfc3339(),
                    domain::shown_status(&r.status, r.expires_at, now).to_string(),
                    r.decided_by.map(|u| u.to_string()).unwrap_or_default(),
                    at(r.decided_at),
                    r.reason.clone().unwrap_or_default(),
                    r.result.clone().unwrap_or_default(),
                ],
            )?;
        }
        let bytes = csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(String::from_utf8(bytes).map_err(anyhow::Error::from)?)
    }
}

/// The approved action, in the decision's transaction; what it made, as JSON.
async fn carry_out(
    tx: &mut Tx,
    org: OrgId,
    requested_by: Uuid,
    approved_by: Uuid,
    action: &Action,
    now: DateTime<Utc>,
) -> Result<serde_json::Value> {
    Ok(match action {
        Action::PayoutPaidByHand {
            payout_id,
            reference,
        } => {
            let row =
                crate::payouts::record_paid_in(tx, org, requested_by, *payout_id, reference, now)
                    .await?;
            serde_json::json!({"payout_id": row.id, "status": row.status})
        }
        Action::LedgerAdjustment { entry } => {
            let id = match Ledger::record_in(tx, org, entry, Some(requested_by)).await? {
                Recorded::New(id) | Recorded::Replayed(id) | Recorded::Conflict(id) => id,
            };
            serde_json::json!({"entry_id": id})
        }
        Action::PayoutTerms { terms } => {
            crate::payouts::store::put_terms(tx, org, terms, requested_by, now).await?;
            serde_json::json!({"terms": terms})
        }
        Action::DualControlOff => {
            store::set_controls(tx, org, false, approved_by, now).await?;
            serde_json::json!({"dual_control": false})
        }
    })
}
