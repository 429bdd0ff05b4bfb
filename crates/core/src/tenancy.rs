//! Who may do what inside an organization. Every service authorises by these, so they live
//! in core rather than in the identity service.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What an organization does in the market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Broker,
    Carrier,
    Shipper,
}

/// A member's role in their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Dispatcher,
    Accountant,
    Driver,
    Viewer,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of: {expected}")]
pub struct UnknownVariant {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl OrgKind {
    pub const ALL: [OrgKind; 3] = [OrgKind::Broker, OrgKind::Carrier, OrgKind::Shipper];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Broker => "broker",
            OrgKind::Carrier => "carrier",
            OrgKind::Shipper => "shipper",
        }
    }
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Owner,
        Role::Admin,
        Role::Dispatcher,
        Role::Accountant,
        Role::Driver,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Accountant => "accountant",
            Role::Driver => "driver",
            Role::Viewer => "viewer",
        }
    }

    /// Invite, deactivate and change the roles of members.
    pub fn can_manage_users(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Create and revoke API keys; read the audit log; change organization settings.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// How much a role may do to the organization itself: owners above admins above the
    /// working roles, which are side by side, above viewers.
    fn privilege(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Dispatcher | Role::Accountant | Role::Driver => 1,
            Role::Viewer => 0,
        }
    }

    /// This role, reduced to what `cap` may do: an API key acts with its own role capped by
    /// its creator's current one. Two different working roles share nothing beyond reading,
    /// so their cap is `Viewer`.
    pub fn capped_by(self, cap: Role) -> Role {
        use std::cmp::Ordering::*;
        match self.privilege().cmp(&cap.privilege()) {
            Less => self,
            Greater => cap,
            Equal if self == cap => self,
            Equal => Role::Viewer,
        }
    }

    /// Whether a member with this role may give someone `target`. Only an owner makes
    /// another owner; an admin can give any other role.
    pub fn can_assign(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => target != Role::Owner,
            _ => false,
        }
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrgKind {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                what: "organization kind",
                value: s.into(),
                expected: "broker, carrier, shipper",
            })
    }
}

impl FromStr for Role {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                what: "role",
                value: s.into(),
                expected: "owner, admin, dispatcher, accountant, driver, viewer",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_capped_by_another_never_exceeds_either() {
        assert_eq!(Role::Admin.capped_by(Role::Owner), Role::Admin);
        assert_eq!(Role::Admin.capped_by(Role::Admin), Role::Admin);
        assert_eq!(Role::Admin.capped_by(Role::Dispatcher), Role::Dispatcher);
        assert_eq!(Role::Admin.capped_by(Role::Viewer), Role::Viewer);
        assert_eq!(Role::Dispatcher.capped_by(Role::Accountant), Role::Viewer);
        for a in Role::ALL {
            for b in Role::ALL {
                let c = a.capped_by(b);
                assert!(c.privilege() <= a.privilege().min(b.privilege()));
                assert!(!c.is_admin() || (a.is_admin() && b.is_admin()));
            }
        }
    }

    #[test]
    fn roles_and_kinds_round_trip_through_text() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for k in OrgKind::ALL {
            assert_eq!(k.as_str().parse::<OrgKind>().unwrap(), k);
        }
        assert!("superuser"
            .parse::<Role>()
            .unwrap_err()
            .to_string()
            .contains("dispatcher"));
    }

    #[test]
    fn only_owners_make_owners_and_only_admins_assign() {
        assert!(Role::Owner.can_assign(Role::Owner));
        assert!(!Role::Admin.can_assign(Role::Owner));
        assert!(Role::Admin.can_assign(Role::Admin));
        for r in [
            Role::Dispatcher,
            Role::Accountant,
            Role::Driver,
            Role::Viewer,
        ] {
            assert!(Role::ALL.iter().all(|t| !r.can_assign(*t)));
            assert!(!r.can_manage_users());
        }
    }
}
