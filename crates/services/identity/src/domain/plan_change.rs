//! Plan changes under dual control (SOX separation of duties): a plan is the only way past
//! an organization's rate limit and quota, so changing it takes two operators, one who asks
//! and another who decides. Pure rules; the requests are kept by `plan_changes.rs`.

use chrono::{DateTime, Duration, Utc};

use super::UnknownVariant;

/// How long a request waits for a decision before it can no longer be approved.
pub const REQUEST_TTL: Duration = Duration::days(7);
const MAX_NAME: usize = 100;
const MAX_REASON: usize = 500;

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanChangeStatus {
    Pending,
    Approved,
    Rejected,
    /// Undecided for [`REQUEST_TTL`]: closed, so another can be asked.
    Expired,
}

impl PlanChangeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }
}

impl std::str::FromStr for PlanChangeStatus {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "expired" => Self::Expired,
            _ => {
                return Err(UnknownVariant {
                    what: "plan change status",
                    value: s.into(),
                    expected: "pending, approved, rejected, expired",
                })
            }
        })
    }
}

/// An operator's name as given (`--by`): trimmed, 1 to 100 characters, no control
/// characters. Two names are the same person when they match ignoring case.
pub fn operator_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the operator's name is required".into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!("at most {MAX_NAME} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("no control characters".into());
    }
    Ok(name.to_owned())
}

/// Why a change is asked for, or rejected: required, at most 500 characters.
pub fn reason(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a reason is required".into());
    }
    if text.chars().count() > MAX_REASON {
        return Err(format!("at most {MAX_REASON} characters"));
    }
    Ok(text.to_owned())
}

/// Whether two operator names are the same person.
pub fn same_operator(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Why a decision cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The one who asked cannot decide.
    SameOperator,
    /// Already approved, rejected or expired.
    Decided(PlanChangeStatus),
    /// Undecided for longer than [`REQUEST_TTL`].
    Expired,
}

/// Whether `decider` may decide a request asked by `requested_by` at `requested_at`,
/// standing at `status`, at `now`. Withdrawing (the asker rejecting their own request) is
/// allowed; approving it is not.
pub fn may_decide(
    status: PlanChangeStatus,
    requested_by: &str,
    requested_at: DateTime<Utc>,
    decider: &str,
    approve: bool,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if status != PlanChangeStatus::Pending {
        return Err(Refusal::Decided(status));
    }
    if approve && same_operator(requested_by, decider) {
        return Err(Refusal::SameOperator);
    }
    if approve && now - requested_at > REQUEST_TTL {
        return Err(Refusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_compared_without_case() {
        assert_eq!(operator_name("  Alice Ops ").unwrap(), "Alice Ops");
        assert!(operator_name("   ").is_err());
        assert!(operator_name(&"a".repeat(101)).is_err());
        assert!(operator_name("al\nice").is_err());
        assert!(same_operator("Alice", " alice"));
        assert!(!same_operator("alice", "bob"));
        assert!(reason("").is_err());
        assert!(reason(&"r".repeat(501)).is_err());
        assert_eq!(
            reason(" bigger quota for the pilot ").unwrap(),
            "bigger quota for the pilot"
        );
    }

    #[test]
    fn the_asker_cannot_approve_and_a_decided_or_stale_request_stays_as_it_is() {
        let at = Utc::now();
        let pending = PlanChangeStatus::Pending;
        assert_eq!(may_decide(pending, "alice", at, "bob", true, at), Ok(()));
        assert_eq!(
            may_decide(pending, "alice", at, "ALICE", true, at),
            Err(Refusal::SameOperator)
        );
        // Withdrawing one's own request is a rejection anyone may make.
        assert_eq!(may_decide(pending, "alice", at, "alice", false, at), Ok(()));
        let later = at + REQUEST_TTL + Duration::seconds(1);
        assert_eq!(
            may_decide(pending, "alice", at, "bob", true, later),
            Err(Refusal::Expired)
        );
        assert_eq!(
            may_decide(pending, "alice", at, "bob", false, later),
            Ok(())
        );
        for s in [
            PlanChangeStatus::Approved,
            PlanChangeStatus::Rejected,
            PlanChangeStatus::Expired,
        ] {
            assert_eq!(
                may_decide(s, "alice", at, "bob", true, at),
                Err(Refusal::Decided(s))
            );
            assert_eq!(s.as_str().parse::<PlanChangeStatus>().unwrap(), s);
        }
        assert!("maybe".parse::<PlanChangeStatus>().is_err());
    }
}
