//! Organizations and the roles people hold in them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {what}: {value:?}")]
pub struct UnknownVariant {
    pub what: &'static str,
    pub value: String,
}

/// What a tenant does in freight: arranges loads, hauls them, or owns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Broker,
    Carrier,
    Shipper,
}

impl OrgKind {
    pub const ALL: [OrgKind; 3] = [OrgKind::Broker, OrgKind::Carrier, OrgKind::Shipper];

    pub const fn as_str(self) -> &'static str {
        match self {
            OrgKind::Broker => "broker",
            OrgKind::Carrier => "carrier",
            OrgKind::Shipper => "shipper",
        }
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrgKind {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                what: "organization kind",
                value: s.to_owned(),
            })
    }
}

/// A member's role in one organization.
///
/// - `Owner`: everything, including making other owners; an org keeps at least one.
/// - `Admin`: runs the account (users, API keys, settings) but cannot create owners.
/// - `Dispatcher`: books, assigns and tracks loads.
/// - `Accountant`: invoices, settlements and payments.
/// - `Driver`: sees and updates the loads assigned to them.
/// - `Viewer`: read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Dispatcher,
    Accountant,
    Driver,
    Viewer,
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

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Accountant => "accountant",
            Role::Driver => "driver",
            Role::Viewer => "viewer",
        }
    }

    /// Invite, remove and change the roles of members.
    pub const fn can_manage_users(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Create and revoke API keys; a key acts for the whole organization.
    pub const fn can_manage_api_keys(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Change the organization's name, authority numbers, MFA requirement and the like.
    pub const fn can_change_org_settings(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Whether this role may give `target` to someone. Only an owner makes owners, so
    /// an admin cannot take over the organization; an admin may assign any other role.
    pub const fn can_assign(self, target: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(target, Role::Owner),
            _ => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownVariant {
                what: "role",
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_kinds_round_trip_through_text_and_json() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(
                serde_json::to_string(&role).unwrap(),
                format!("\"{}\"", role.as_str())
            );
            assert_eq!(
                serde_json::from_str::<Role>(&format!("\"{role}\"")).unwrap(),
                role
            );
        }
        for kind in OrgKind::ALL {
            assert_eq!(kind.as_str().parse::<OrgKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
    }

    #[test]
    fn unknown_role_text_is_refused() {
        assert!("Owner".parse::<Role>().is_err());
        assert!("superuser".parse::<Role>().is_err());
        assert!("".parse::<OrgKind>().is_err());
    }

    #[test]
    fn only_owners_and_admins_manage_users_keys_and_settings() {
        for role in Role::ALL {
            let admin_like = matches!(role, Role::Owner | Role::Admin);
            assert_eq!(role.can_manage_users(), admin_like, "{role}");
            assert_eq!(role.can_manage_api_keys(), admin_like, "{role}");
            assert_eq!(role.can_change_org_settings(), admin_like, "{role}");
        }
    }

    #[test]
    fn only_an_owner_can_make_another_owner() {
        assert!(Role::Owner.can_assign(Role::Owner));
        assert!(!Role::Admin.can_assign(Role::Owner));
    }

    #[test]
    fn admin_can_assign_every_role_but_owner() {
        for target in Role::ALL {
            assert_eq!(
                Role::Admin.can_assign(target),
                target != Role::Owner,
                "{target}"
            );
        }
    }

    #[test]
    fn other_roles_can_assign_nothing() {
        for who in [
            Role::Dispatcher,
            Role::Accountant,
            Role::Driver,
            Role::Viewer,
        ] {
            for target in Role::ALL {
                assert!(!who.can_assign(target), "{who} -> {target}");
            }
        }
    }
}
