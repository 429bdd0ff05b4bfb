//! What the notifications service consumes and publishes.

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::SOURCES;

/// Published: a notice was added to a person's in-app list (the realtime service pushes it
/// to that person's sockets only: `to_users`).
pub const NOTIFICATION_CREATED: EventType = EventType::new("notification.created", 1);

/// Consumed from identity: who is in each organization.
pub const USER_REGISTERED: &str = "identity.user_registered.v1";
pub const USER_ROLE_CHANGED: &str = "identity.user_role_changed.v1";
pub const USER_DEACTIVATED: &str = "identity.user_deactivated.v1";
pub const USER_REACTIVATED: &str = "identity.user_reactivated.v1";
pub const USER_ERASED: &str = "identity.user_erased.v1";

pub fn consumed_topics() -> Vec<String> {
    let mut topics: Vec<String> = [
        USER_REGISTERED,
        USER_ROLE_CHANGED,
        USER_DEACTIVATED,
        USER_REACTIVATED,
        USER_ERASED,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    topics.extend(SOURCES.iter().map(|t| (*t).to_owned()));
    topics
}

/// `identity.user_registered.v1`, the fields this service keeps.
#[derive(Debug, Deserialize)]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: String,
}

/// `identity.user_role_changed.v1`.
#[derive(Debug, Deserialize)]
pub struct UserRoleChanged {
    pub user_id: Uuid,
    pub to: String,
}

/// `identity.user_deactivated.v1`, `identity.user_reactivated.v1` and
/// `identity.user_erased.v1`.
#[derive(Debug, Deserialize)]
pub struct UserActive {
    pub user_id: Uuid,
}

/// `notification.created.v1`.
#[derive(Debug, Serialize)]
pub struct NotificationCreated<'a> {
    pub notification_id: Uuid,
    pub user_id: Uuid,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub link: &'a str,
    pub created_at: DateTime<Utc>,
    /// Only these people's sockets hear it.
    pub to_users: [Uuid; 1],
}
