//! What clients send and see.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use lanerunner_negotiation::protocol::Move;
use lanerunner_negotiation::Side;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{MessageRow, NegotiationRow};

/// A move: structured (`move`), or in words (`text`, read by the offer parser: "can you do
/// 2200?", "$2.45 a mile", "deal", "no thanks").
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MoveRequest {
    /// `{"move": "offer", "rate_cents": 215000, "accessorials": [["fuel_surcharge", 5000]],
    /// "expires_at": "…"}`, `{"move": "accept"}`, `{"move": "reject"}`,
    /// `{"move": "withdraw"}`, `{"move": "book_now"}`.
    #[serde(rename = "move")]
    #[schema(value_type = Option<Object>)]
    pub r#move: Option<Move>,
    pub text: Option<String>,
}

impl MoveRequest {
    /// The request with any card number in its text masked to its last four digits (PCI):
    /// what is read (by the parser or a language model), stored and sent on.
    pub fn with_cards_masked(mut self) -> Self {
        if let Some(text) = &self.text {
            if let std::borrow::Cow::Owned(masked) = lanerunner_core::pan::mask(text) {
                self.text = Some(masked);
            }
        }
        self
    }
}

/// `POST /v1/negotiations`: a carrier's first move on a posted load.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OpenRequest {
    pub load_id: Uuid,
    #[serde(flatten)]
    pub body: MoveRequest,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    pub seq: i64,
    /// `broker` or `carrier`.
    pub side: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub author_id: Option<lanerunner_core::UserId>,
    /// What the protocol recorded: `{"event": "offered", "offer": {…}}`, `agreed`,
    /// `rejected`, `withdrawn`, `expired`, or `closed` with its reason.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    /// The words it came in, when it came as text.
    pub text: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NegotiationView {
    #[schema(value_type = String, format = Uuid)]
    pub id: crate::NegotiationId,
    pub load_id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub broker_org_id: OrgId,
    #[schema(value_type = String, format = Uuid)]
    pub carrier_org_id: OrgId,
    /// Which side you are.
    pub your_side: String,
    /// `open`, `agreed`, `rejected`, `withdrawn` or `expired`.
    pub status: String,
    pub closed_reason: Option<String>,
    /// Who answers next (`null`: either may offer, or it is closed).
    pub turn: Option<String>,
    pub deadline: DateTime<Utc>,
    pub posted_rate_cents: Option<i64>,
    /// The standing offer's total.
    pub standing_cents: Option<i64>,
    pub agreed_cents: Option<i64>,
    /// Offers each side may still make.
    pub offers_left: OffersLeft,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every message, oldest first (on a single negotiation; `null` in lists).
    pub messages: Option<Vec<MessageView>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OffersLeft {
    pub broker: u32,
    pub carrier: u32,
}

impl NegotiationView {
    pub fn new(r: NegotiationRow, messages: Option<Vec<MessageRow>>, viewer: OrgId) -> Self {
        let n = &r.state.0;
        let left = |s: Side| n.terms.max_offers_per_side.saturating_sub(n.offers_by(s));
        NegotiationView {
            id: r.id,
            load_id: r.load_id,
            broker_org_id: r.broker_org_id,
            carrier_org_id: r.carrier_org_id,
            your_side: if viewer == r.carrier_org_id {
                "carrier"
            } else {
                "broker"
            }
            .into(),
            status: r.status.clone(),
            closed_reason: r.closed_reason.clone(),
            turn: n.turn().map(|s| s.as_str().to_string()),
            deadline: n.terms.deadline,
            posted_rate_cents: n.terms.posted_rate_cents,
            standing_cents: n.standing().map(|o| o.total_cents()),
            agreed_cents: n.agreed_cents,
            offers_left: OffersLeft {
                broker: left(Side::Broker),
                carrier: left(Side::Carrier),
            },
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            messages: messages.map(|m| {
                m.into_iter()
                    .map(|m| MessageView {
                        seq: m.seq,
                        side: m.side,
                        author_id: m.author_id,
                        event: m.event.0,
                        text: m.text,
                        at: m.at,
                    })
                    .collect()
            }),
        }
    }
}
