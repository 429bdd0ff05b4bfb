//! Domain primitives with no I/O, shared by every LaneRunner service.

pub mod distance;
pub mod event;
pub mod id;
pub mod market;
pub mod money;
pub mod pan;
pub mod phone;
pub mod scope;
pub mod tenancy;

pub use event::{EventEnvelope, EventType, TraceContext};
pub use id::{
    new_id, ApiKeyId, AuditId, InvitationId, LoadId, OrgId, PlanChangeId, RunId, SessionId,
    TruckId, UserId,
};
pub use money::Cents;
pub use scope::{Access, Resource, Scope, Scopes};
pub use tenancy::{OrgKind, Role};
