//! What the chat service consumes (its own tolerant reading of `load.posted.v1` and
//! `negotiation.updated.v1`) and what it publishes.

use chrono::{DateTime, Utc};
use lanerunner_core::EventType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::views::{MessageView, ReceiptView};

pub const LOAD_POSTED: EventType = EventType::new("load.posted", 1);
pub const NEGOTIATION_UPDATED: EventType = EventType::new("negotiation.updated", 1);

/// A message was added to a conversation (to each participant organization; a direct
/// conversation's carries `to_users`, and only they hear it).
pub const CHAT_MESSAGE: EventType = EventType::new("chat.message", 1);
/// Someone read a conversation up to a message (a read receipt).
pub const CHAT_READ: EventType = EventType::new("chat.read", 1);

pub fn consumed_topics() -> Vec<String> {
    [LOAD_POSTED, NEGOTIATION_UPDATED]
        .iter()
        .map(|t| t.topic())
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
pub struct Place {
    pub label: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Stop {
    pub kind: String,
    pub location: Place,
}

/// `load.posted.v1`, the fields a conversation needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Posted {
    pub id: Uuid,
    pub broker_org_id: Uuid,
    pub stops: Vec<Stop>,
    #[serde(default = "public")]
    pub visibility: String,
}

fn public() -> String {
    "public".into()
}

/// `negotiation.updated.v1`, the fields a structured message needs.
#[derive(Debug, Clone, Deserialize)]
pub struct NegotiationUpdated {
    pub negotiation_id: Uuid,
    pub load_id: Uuid,
    pub broker_org_id: Uuid,
    pub carrier_org_id: Uuid,
    pub status: String,
    pub event: serde_json::Value,
    pub seq: i64,
    pub side: String,
    pub author_id: Option<Uuid>,
    pub text: Option<String>,
    pub at: DateTime<Utc>,
}

/// `chat.message.v1`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageAdded<'a> {
    pub conversation_id: Uuid,
    pub message: &'a MessageView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_users: Option<&'a [Uuid]>,
}

/// `chat.read.v1`.
#[derive(Debug, Clone, Serialize)]
pub struct ReadReceipt<'a> {
    pub conversation_id: Uuid,
    pub receipt: &'a ReceiptView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_users: Option<&'a [Uuid]>,
}
