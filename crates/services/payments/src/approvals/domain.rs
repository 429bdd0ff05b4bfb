//! Dual control's rules, pure: which actions need a second person, who may ask, who may
//! decide, and how long a request stays open.

use chrono::{DateTime, Duration, Utc};
use lanerunner_core::Role;
use lanerunner_platform::http::{Caller, Principal};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ledger::NewEntry;
use crate::payouts::domain::Terms;

/// A request stays open this long; after it, it can no longer be approved.
pub const TTL: Duration = Duration::days(7);
/// The most a rejection's reason may say.
pub const MAX_REASON: usize = 500;

/// An action on money that, under dual control, a second person must approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// A payout made outside the processor, recorded with its bank reference.
    PayoutPaidByHand { payout_id: Uuid, reference: String },
    /// A journal entry by hand (an accountant's adjustment).
    LedgerAdjustment { entry: NewEntry },
    /// New payout terms for loads completed from then on.
    PayoutTerms { terms: Terms },
    /// Turning dual control off.
    DualControlOff,
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::PayoutPaidByHand { .. } => "payout_paid_by_hand",
            Action::LedgerAdjustment { .. } => "ledger_adjustment",
            Action::PayoutTerms { .. } => "payout_terms",
            Action::DualControlOff => "dual_control_off",
        }
    }

    /// One line a reviewer reads before deciding.
    pub fn summary(&self) -> String {
        match self {
            Action::PayoutPaidByHand { reference, .. } => {
                format!("Record a payout as paid by hand (bank reference {reference})")
            }
            Action::LedgerAdjustment { entry } => {
                let debits: i64 = entry
                    .postings
                    .iter()
                    .map(|p| p.amount_cents)
                    .filter(|c| *c > 0)
                    .sum();
                let currency = entry
                    .postings
                    .first()
                    .map(|p| p.currency.as_str())
                    .unwrap_or("");
                format!(
                    "Ledger entry {} ({}, {} postings, {}.{:02} {currency} debited)",
                    entry.reference,
                    entry.kind.as_str(),
                    entry.postings.len(),
                    debits / 100,
                    debits % 100
                )
            }
            Action::PayoutTerms { terms } => match terms.quick_pay_fee_bps {
                Some(bps) => format!(
                    "Payout terms: standard {} days, quick pay fee {}.{:02} %",
                    terms.standard_days,
                    bps / 100,
                    bps % 100
                ),
                None => format!(
                    "Payout terms: standard {} days, no quick pay",
                    terms.standard_days
                ),
            },
            Action::DualControlOff => "Turn dual control off".into(),
        }
    }

    /// Turning the control itself off is for owners and admins; the rest for the finance
    /// roles (owners, admins, accountants).
    fn deciders(&self) -> &'static [Role] {
        match self {
            Action::DualControlOff => &[Role::Owner, Role::Admin],
            _ => &[Role::Owner, Role::Admin, Role::Accountant],
        }
    }
}

/// Why a caller may not ask for, or decide, a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Under dual control two named people act: an API key can do neither.
    NotAPerson,
    /// The role may not decide this kind of request.
    Role,
    /// The person who asked cannot approve their own request.
    SamePerson,
}

/// Who is asking: under dual control a person (an API key's request could be approved by
/// the person who made the key, one person in effect).
pub fn requester(caller: &Caller) -> Result<Uuid, Refusal> {
    match caller.principal {
        Principal::User(u) => Ok(u.as_uuid()),
        Principal::ApiKey(_) => Err(Refusal::NotAPerson),
    }
}

/// Whether `caller` may approve or reject a request `requested_by` made.
pub fn may_decide(caller: &Caller, action: &Action, requested_by: Uuid) -> Result<Uuid, Refusal> {
    let decider = requester(caller)?;
    if !action.deciders().contains(&caller.role) {
        return Err(Refusal::Role);
    }
    if decider == requested_by {
        return Err(Refusal::SamePerson);
    }
    Ok(decider)
}

/// The status a stored request shows at `now`: a pending request past its expiry shows as
/// expired (it is never approved after it).
pub fn shown_status(status: &str, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> &str {
    if status == "pending" && now >= expires_at {
        "expired"
    } else {
        status
    }
}

/// A rejection's reason: one line of at most [`MAX_REASON`] characters.
pub fn check_reason(reason: &str) -> Result<String, String> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON
        || reason.chars().any(char::is_control)
    {
        return Err(format!("must be 1 to {MAX_REASON} characters on one line"));
    }
    Ok(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanerunner_core::{ApiKeyId, OrgId, OrgKind, Scopes, UserId};

    fn caller(principal: Principal, role: Role) -> Caller {
        Caller {
            org: OrgId::new(),
            org_kind: OrgKind::Broker,
            principal,
            role,
            scopes: Scopes::all(),
            session: None,
            mfa_enrollment_pending: false,
            plan: None,
        }
    }

    fn terms() -> Action {
        Action::PayoutTerms {
            terms: Terms {
                standard_days: 30,
                quick_pay_fee_bps: Some(299),
            },
        }
    }

    #[test]
    fn a_second_person_in_a_finance_role_decides() {
        let asker = UserId::new();
        let other = UserId::new();
        let accountant = caller(Principal::User(other), Role::Accountant);
        assert_eq!(
            may_decide(&accountant, &terms(), asker.as_uuid()),
            Ok(other.as_uuid())
        );
        let same = caller(Principal::User(asker), Role::Owner);
        assert_eq!(
            may_decide(&same, &terms(), asker.as_uuid()),
            Err(Refusal::SamePerson)
        );
        let dispatcher = caller(Principal::User(other), Role::Dispatcher);
        assert_eq!(
            may_decide(&dispatcher, &terms(), asker.as_uuid()),
            Err(Refusal::Role)
        );
        let key = caller(Principal::ApiKey(ApiKeyId::new()), Role::Admin);
        assert_eq!(
            may_decide(&key, &terms(), asker.as_uuid()),
            Err(Refusal::NotAPerson)
        );
        assert_eq!(requester(&key), Err(Refusal::NotAPerson));
    }

    #[test]
    fn only_owners_and_admins_turn_dual_control_off() {
        let asker = UserId::new().as_uuid();
        let accountant = caller(Principal::User(UserId::new()), Role::Accountant);
        assert_eq!(
            may_decide(&accountant, &Action::DualControlOff, asker),
            Err(Refusal::Role)
        );
        let admin = caller(Principal::User(UserId::new()), Role::Admin);
        assert!(may_decide(&admin, &Action::DualControlOff, asker).is_ok());
    }

    #[test]
    fn a_pending_request_past_its_expiry_shows_as_expired() {
        let now = Utc::now();
        assert_eq!(shown_status("pending", now + TTL, now), "pending");
        assert_eq!(shown_status("pending", now, now), "expired");
        assert_eq!(shown_status("approved", now - TTL, now), "approved");
    }

    #[test]
    fn summaries_say_what_is_asked() {
        assert_eq!(
            terms().summary(),
            "Payout terms: standard 30 days, quick pay fee 2.99 %"
        );
        let action: Action = serde_json::from_value(serde_json::json!({
            "kind": "payout_paid_by_hand", "payout_id": Uuid::nil(), "reference": "WIRE-1"
        }))
        .unwrap();
        assert_eq!(action.kind(), "payout_paid_by_hand");
        assert!(action.summary().contains("WIRE-1"));
    }

    #[test]
    fn reasons_are_one_bounded_line() {
        assert_eq!(check_reason("  wrong amount ").unwrap(), "wrong amount");
        assert!(check_reason("").is_err());
        assert!(check_reason("a\nb").is_err());
        assert!(check_reason(&"x".repeat(MAX_REASON + 1)).is_err());
    }
}
