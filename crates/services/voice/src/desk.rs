//! The seams to the rest of LaneRunner a call needs, wired by the binary: the negotiation
//! service (may this carrier book with this broker; the caller's words as a move, and the
//! broker's agent's answer) and the telephony provider (is this request signed by it;
//! place this call).

use async_trait::async_trait;
use lanerunner_core::OrgId;
use uuid::Uuid;

/// What the broker's side answered the caller's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskAnswer {
    Countered {
        negotiation: Uuid,
        rate_cents: i64,
        offers_left: u32,
    },
    Agreed {
        negotiation: Uuid,
        rate_cents: i64,
    },
    Declined {
        negotiation: Uuid,
    },
    /// Not read as a move: the question to ask back.
    Unclear(String),
    /// A person must take it (no agent on the load, an approval, the offers used up).
    NeedsPerson {
        negotiation: Option<Uuid>,
        why: String,
    },
    /// Not allowed (the load is gone, the carrier may not book it).
    Refused(String),
}

#[async_trait]
pub trait DealDesk: Send + Sync + 'static {
    /// `Ok(Err(reason))` when `carrier` may not book `broker`'s loads.
    async fn clearance(&self, broker: OrgId, carrier: OrgId) -> anyhow::Result<Result<(), String>>;

    /// The caller's `words` as `carrier`'s move on `broker`'s load, and the answer.
    async fn offer(
        &self,
        broker: OrgId,
        carrier: OrgId,
        load_id: Uuid,
        negotiation: Option<Uuid>,
        words: &str,
    ) -> anyhow::Result<DeskAnswer>;
}

/// A call to place.
#[derive(Debug, Clone)]
pub struct Dial {
    pub from: String,
    pub to: String,
    /// Where the provider asks what to say once someone answers.
    pub answer_url: String,
    /// Where the provider posts the call's progress.
    pub status_url: String,
}

/// The telephony provider: its request signatures, and placing calls.
#[async_trait]
pub trait Telephony: Send + Sync + 'static {
    /// Whether `signature` signs `url` and `params` (Twilio: `X-Twilio-Signature`).
    fn signed(&self, url: &str, params: &[(String, String)], signature: &str) -> bool;

    /// Places a call; the provider's id for it. `Err` carries why it could not be placed.
    async fn dial(&self, call: &Dial) -> anyhow::Result<String>;

    /// The channel calls placed here run on: `twilio`, or `simulated` when no provider is
    /// configured (the call is then answered by text, like a simulated inbound call).
    fn channel(&self) -> &'static str;
}
