//! Plan changes under dual control (`lanerunner org plan request|approve|reject|list`): one
//! operator asks, another decides, and only an approval moves the organization to the plan
//! (rules in `domain::plan_change`). Each operator gives a code from their own
//! authenticator (`operators`), so the two names are two people. Each step is in the
//! organization's audit trail with both names. The caller checks the plan asked for is
//! configured (`http.plans`).

use chrono::Utc;
use lanerunner_core::{OrgId, PlanChangeId};
use serde_json::json;

use crate::domain::plan_change::{self, PlanChangeStatus, Refusal, REQUEST_TTL};
use crate::domain::{AuditAction, AuditOutcome};
use crate::error::{IdentityError, Result};
use crate::identity::{Actor, Identity};
use crate::store::{self, OrgRow, PlanChangeRow};

/// Requests listed at most.
const LIST_LIMIT: i64 = 500;

impl Identity {
    /// `by` asks for `org` to be put on `plan` (none: the default limits), for `reason`.
    /// A request left undecided past its time is closed first; another still waiting is
    /// `409 plan-change-pending`.
    pub async fn request_plan_change(
        &self,
        org: OrgId,
        plan: Option<&str>,
        by: &str,
        code: &str,
        reason: &str,
    ) -> Result<PlanChangeRow> {
        let (by, reason) = name_and_reason(by, reason)?;
        let (mut tx, by) = self.begin_as_operator(&by, code).await?;
        let now = Utc::now();
        let before = store::org_plan_tx(&mut tx, org)
            .await?
            .ok_or(IdentityError::NotFound("organization"))?;
        store::expire_plan_change(&mut tx, org, now - REQUEST_TTL, now).await?;
        let row = PlanChangeRow {
            id: PlanChangeId::new(),
            org_id: org,
            plan: plan.map(str::to_owned),
            requested_by: by,
            reason,
            requested_at: now,
            status: PlanChangeStatus::Pending,
            decided_by: None,
            decision_reason: None,
            decided_at: None,
            plan_before: None,
        };
        if !store::insert_plan_change(&mut tx, &row).await? {
            return Err(IdentityError::Conflict(
                "plan-change-pending",
                "the organization already has a plan change waiting for a decision",
            ));
        }
        self.audit(
            &mut tx,
            Actor::operator(org),
            AuditAction::PlanChangeRequested,
            AuditOutcome::Success,
            Some(org),
            json!({ "request": row.id, "from": before, "to": plan, "requested_by": row.requested_by, "reason": row.reason }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(row)
    }

    /// `by` approves request `id`: the organization moves to its plan in the same
    /// transaction. The one who asked cannot (`403`); a request already decided is `409
    /// plan-change-decided`, one that waited too long `409 plan-change-expired`, one for a
    /// plan `configured` no longer knows `409 plan-not-configured`.
    pub async fn approve_plan_change(
        &self,
        id: PlanChangeId,
        by: &str,
        code: &str,
        configured: &dyn Fn(&str) -> bool,
    ) -> Result<(PlanChangeRow, OrgRow)> {
        // The name is checked with the code (`invalid by` when malformed).
        let (mut tx, by) = self.begin_as_operator(by, code).await?;
        let now = Utc::now();
        let mut row = self.decidable(&mut tx, id, &by, true, now).await?;
        if row.plan.as_deref().is_some_and(|p| !configured(p)) {
            return Err(IdentityError::Conflict(
                "plan-not-configured",
                "the plan asked for is no longer in http.plans; reject the request",
            ));
        }
        let before = store::org_plan_tx(&mut tx, row.org_id)
            .await?
            .ok_or(IdentityError::NotFound("organization"))?;
        if !store::decide_plan_change(
            &mut tx,
            id,
            PlanChangeStatus::Approved,
            &by,
            None,
            before.as_deref(),
            now,
        )
        .await?
        {
            return Err(decided());
        }
        store::set_plan_tx(&mut tx, row.org_id, row.plan.as_deref(), now).await?;
        self.audit(
            &mut tx,
            Actor::operator(row.org_id),
            AuditAction::PlanChanged,
            AuditOutcome::Success,
            Some(row.org_id),
            json!({ "request": id, "from": before, "to": row.plan, "requested_by": row.requested_by, "approved_by": by }),
        )
        .await?;
        self.commit(tx).await?;
        self.forget_org_gate(row.org_id).await;
        (row.status, row.decided_by, row.decided_at, row.plan_before) =
            (PlanChangeStatus::Approved, Some(by), Some(now), before);
        let org = self.organization(row.org_id).await?;
        Ok((row, org))
    }

    /// `by` rejects request `id` for `reason`; the one who asked may withdraw it so.
    pub async fn reject_plan_change(
        &self,
        id: PlanChangeId,
        by: &str,
        code: &str,
        reason: &str,
    ) -> Result<PlanChangeRow> {
        let (by, reason) = name_and_reason(by, reason)?;
        let (mut tx, by) = self.begin_as_operator(&by, code).await?;
        let now = Utc::now();
        let mut row = self.decidable(&mut tx, id, &by, false, now).await?;
        let status = PlanChangeStatus::Rejected;
        if !store::decide_plan_change(&mut tx, id, status, &by, Some(&reason), None, now).await? {
            return Err(decided());
        }
        self.audit(
            &mut tx,
            Actor::operator(row.org_id),
            AuditAction::PlanChangeRejected,
            AuditOutcome::Success,
            Some(row.org_id),
            json!({ "request": id, "to": row.plan, "requested_by": row.requested_by, "rejected_by": by, "reason": reason }),
        )
        .await?;
        self.commit(tx).await?;
        (
            row.status,
            row.decided_by,
            row.decision_reason,
            row.decided_at,
        ) = (status, Some(by), Some(reason), Some(now));
        Ok(row)
    }

    /// Requests, newest first (at most 500): `org`'s or everyone's, waiting or all.
    pub async fn plan_changes(
        &self,
        org: Option<OrgId>,
        pending_only: bool,
    ) -> Result<Vec<PlanChangeRow>> {
        Ok(store::list_plan_changes(&self.db, org, pending_only, LIST_LIMIT).await?)
    }

    /// The request, if `by` may decide it now (`approve`: approving, else rejecting).
    async fn decidable(
        &self,
        tx: &mut lanerunner_platform::Tx,
        id: PlanChangeId,
        by: &str,
        approve: bool,
        now: chrono::DateTime<Utc>,
    ) -> Result<PlanChangeRow> {
        let row = store::find_plan_change(tx, id)
            .await?
            .ok_or(IdentityError::NotFound("plan change"))?;
        plan_change::may_decide(
            row.status,
            &row.requested_by,
            row.requested_at,
            by,
            approve,
            now,
        )
        .map_err(|refusal| match refusal {
            Refusal::SameOperator => IdentityError::Forbidden(
                "separation of duties: the operator who asked for a plan change cannot approve it",
            ),
            Refusal::Decided(_) => decided(),
            Refusal::Expired => IdentityError::Conflict(
                "plan-change-expired",
                "the plan change waited longer than 7 days; ask again",
            ),
        })?;
        Ok(row)
    }
}

/// The operator's name and the reason, checked together (both wrong: both reported).
fn name_and_reason(by: &str, reason: &str) -> Result<(String, String)> {
    match (plan_change::operator_name(by), plan_change::reason(reason)) {
        (Ok(by), Ok(reason)) => Ok((by, reason)),
        (by, reason) => Err(IdentityError::Invalid(
            [("by", by.err()), ("reason", reason.err())]
                .into_iter()
                .filter_map(|(field, e)| e.map(|e| (field, e)))
                .collect(),
        )),
    }
}

fn decided() -> IdentityError {
    IdentityError::Conflict("plan-change-decided", "the plan change was already decided")
}
