//! What the identity service publishes. Payloads never carry secrets (hashes, tokens).

use lanerunner_core::{EventType, OrgId, OrgKind, Role, UserId};
use serde::Serialize;
use uuid::Uuid;

pub const ORG_CREATED: EventType = EventType::new("identity.org_created", 1);
pub const USER_REGISTERED: EventType = EventType::new("identity.user_registered", 1);
pub const USER_ROLE_CHANGED: EventType = EventType::new("identity.user_role_changed", 1);
pub const USER_DEACTIVATED: EventType = EventType::new("identity.user_deactivated", 1);
pub const USER_REACTIVATED: EventType = EventType::new("identity.user_reactivated", 1);
pub const USER_ERASED: EventType = EventType::new("identity.user_erased", 1);
pub const AUDIT_RECORDED: EventType = EventType::new("identity.audit_recorded", 1);

#[derive(Debug, Serialize)]
pub struct OrgCreated<'a> {
    pub org_id: OrgId,
    pub kind: OrgKind,
    pub name: &'a str,
}

#[derive(Debug, Serialize)]
pub struct UserRegistered<'a> {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub email: &'a str,
    pub role: Role,
    /// `signup` or `invitation`.
    pub via: &'a str,
}

#[derive(Debug, Serialize)]
pub struct UserRoleChanged {
    pub user_id: UserId,
    pub from: Role,
    pub to: Role,
    /// The member or API key that changed it.
    pub changed_by: Uuid,
}

#[derive(Debug, Serialize)]
pub struct UserDeactivated {
    pub user_id: UserId,
    /// The member or API key that deactivated them.
    pub deactivated_by: Uuid,
}

#[derive(Debug, Serialize)]
pub struct UserReactivated {
    pub user_id: UserId,
    /// The member or API key that reactivated them.
    pub reactivated_by: Uuid,
}

/// A member's personal data was erased: every service that keeps a copy of it (an email,
/// a phone, notices addressed to them) removes its own, by `user_id` in the envelope's
/// organization. Carries nothing about who they were.
#[derive(Debug, Serialize)]
pub struct UserErased {
    pub user_id: UserId,
    /// The owner, admin or API key that erased them.
    pub erased_by: Uuid,
}
