//! What clients send and see.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/chat/conversations`: about a load (`load_id`; a broker names the carrier), or
/// direct, with members of your organization (`member_ids`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewConversation {
    pub load_id: Option<Uuid>,
    /// A broker starting a conversation about its load names the carrier.
    pub carrier_org_id: Option<Uuid>,
    /// A direct conversation: the other members (of your organization).
    pub member_ids: Option<Vec<Uuid>>,
    /// A direct conversation's title.
    pub title: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewMessage {
    /// 1–4,000 characters.
    pub text: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReadMark {
    /// Everything up to and including this message has been read.
    pub seq: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub seq: i64,
    /// `text`, or `negotiation` (an offer, counter, acceptance or agent move, from the
    /// negotiation on this load: see `negotiation`).
    pub kind: String,
    pub author_org_id: Uuid,
    /// `null` for an agent's move or the service's.
    pub author_user_id: Option<Uuid>,
    /// The words (a negotiation move's words, when it came in words).
    pub text: Option<String>,
    /// For `negotiation` messages: `{negotiation_id, status, side, event}` where `event` is
    /// the protocol's (`offered` with the offer, `agreed`, …; an agent's carries
    /// `agent_reason`).
    #[schema(value_type = Option<Object>)]
    pub negotiation: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    pub user_id: Uuid,
    pub org_id: Uuid,
    pub last_read_seq: i64,
    pub read_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    pub id: Uuid,
    /// `load` or `direct`.
    pub kind: String,
    pub title: String,
    pub load_id: Option<Uuid>,
    pub broker_org_id: Option<Uuid>,
    pub carrier_org_id: Option<Uuid>,
    /// A direct conversation's members (on one conversation; `null` in lists).
    pub member_ids: Option<Vec<Uuid>>,
    pub last_seq: i64,
    pub last_message_at: Option<DateTime<Utc>>,
    /// Messages from others after your read mark.
    pub unread: i64,
    /// How far each reader has read (read receipts); on one conversation, `null` in lists.
    pub receipts: Option<Vec<ReceiptView>>,
    pub created_at: DateTime<Utc>,
}

/// A page of messages, newest first; `next_before` pages further back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    pub next_before: Option<i64>,
}
