//! What the webhooks API answers with.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{self, DeliveryStatus};
use crate::store::{AttemptRow, DeliveryRow, EndpointRow};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventTypeView {
    pub event_type: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// Empty: every event in the catalog.
    pub event_types: Vec<String>,
    pub disabled: bool,
    /// While a rotated secret still signs alongside the new one: until when.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub deliveries: DeliveryCounts,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EndpointView {
    pub fn new(r: &EndpointRow, deliveries: DeliveryCounts, now: DateTime<Utc>) -> Self {
        Self {
            id: r.id,
            url: r.url.clone(),
            description: r.description.clone(),
            event_types: serde_json::from_str(&r.event_types).unwrap_or_default(),
            disabled: r.disabled,
            previous_secret_expires_at: r.previous_expires_at.filter(|t| *t > now),
            deliveries,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A new endpoint, with its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedEndpoint {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_…`: verify deliveries with it (any Standard Webhooks library does).
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SecretView {
    /// The secret new deliveries are signed with.
    pub secret: String,
    /// Until when the previous secret still signs too (after a rotation).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the old secret keeps signing beside the new one, in hours (0 to 168;
    /// default 24): time to deploy the new secret to the receiver.
    #[serde(default)]
    pub overlap_hours: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The `webhook-id` header it is sent with.
    pub message_id: String,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When it is next tried (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's HTTP status, if the receiver answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(r: &DeliveryRow) -> Self {
        let status = DeliveryStatus::parse(&r.status).unwrap_or(DeliveryStatus::Pending);
        Self {
            id: r.id,
            endpoint_id: r.endpoint_id,
            message_id: domain::message_id(r.message_id),
            event_type: r.event_type.clone(),
            status,
            attempts: r.attempts,
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then(|| Utc.timestamp_millis_opt(r.next_attempt_ms).single())
                .flatten(),
            last_status: r.last_status,
            last_error: r.last_error.clone(),
            created_at: r.created_at,
            delivered_at: r.delivered_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    pub id: Uuid,
    pub attempted_at: DateTime<Utc>,
    /// `scheduled`, or `replay` for the first attempt after a replay.
    pub trigger: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response: Option<String>,
    pub duration_ms: i64,
}

impl From<&AttemptRow> for AttemptView {
    fn from(a: &AttemptRow) -> Self {
        Self {
            id: a.id,
            attempted_at: a.attempted_at,
            trigger: a.trigger_kind.clone(),
            status_code: a.status_code,
            error: a.error.clone(),
            response: a.response.clone(),
            duration_ms: a.duration_ms,
        }
    }
}

/// A delivery with what it carries and every attempt at it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    /// The body sent, as sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub attempts_log: Vec<AttemptView>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// Replay the dead-lettered deliveries created at or after this time.
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoverView {
    pub replayed: u64,
}
