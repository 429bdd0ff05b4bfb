//! What the notifications API answers and accepts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Channel, Kind, Mode};
use crate::store::{DeliveryRow, NotificationRow};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// `search_alert`, `match`, `offer`, `booked`, `late_risk`, `paperwork`, `invoice`.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// The console page it is about.
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<NotificationRow> for NotificationView {
    fn from(r: NotificationRow) -> Self {
        NotificationView {
            id: r.id,
            kind: r.kind,
            title: r.title,
            body: r.body,
            link: r.link,
            created_at: r.created_at,
            read_at: r.read_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnreadView {
    pub unread: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MarkedView {
    pub marked: u64,
}

/// One kind of news and how it reaches each channel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KindPreference {
    pub kind: Kind,
    pub label: String,
    pub in_app: Mode,
    pub email: Mode,
    pub sms: Mode,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreferencesView {
    pub time_zone: String,
    /// `HH:MM` local, or `null` for no quiet hours.
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub digest_minutes: i32,
    /// The verified mobile number texts go to.
    pub phone: Option<String>,
    /// A number waiting for its code.
    pub pending_phone: Option<String>,
    /// The verified number replied STOP: no texts until it replies START.
    pub sms_opted_out: bool,
    pub kinds: Vec<KindPreference>,
}

/// One change: `{"kind": "offer", "channel": "sms", "mode": "off"}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferenceChange {
    pub kind: String,
    pub channel: String,
    pub mode: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesInput {
    pub preferences: Vec<PreferenceChange>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneInput {
    /// A mobile number: E.164 (`+14155550100`) or ten North American digits.
    pub phone: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneCode {
    pub code: String,
}

/// An email or text sent (or to be sent) for one of your notices.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub notification_id: Uuid,
    pub channel: Channel,
    /// `immediate`, or `digest` (gathered with others).
    pub mode: Mode,
    /// `pending`, `sent`, `delivered`, `failed` or `skipped`.
    pub status: String,
    /// When it goes (after quiet hours, or with the next digest), while pending.
    pub due_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(r: DeliveryRow) -> Self {
        DeliveryView {
            id: r.id,
            notification_id: r.notification_id,
            channel: Channel::parse(&r.channel).unwrap_or(Channel::Email),
            mode: Mode::parse(&r.mode).unwrap_or(Mode::Immediate),
            due_at: (r.status == "pending")
                .then(|| DateTime::from_timestamp_millis(r.due_ms))
                .flatten(),
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        }
    }
}
