//! Negotiating on a phone call: the voice service's caller is a carrier identified by its
//! MC number, not a signed-in person. Its words go through the same offer parser, protocol
//! and compare-and-set as a typed message, and the broker's agent answers in the same turn
//! (the caller is waiting on the line), inside the broker's policy, as it would by chat.

use lanerunner_core::tenancy::{OrgKind, Role};
use lanerunner_core::{ApiKeyId, OrgId, Scopes};
use lanerunner_negotiation::protocol::Status;
use lanerunner_negotiation::Side;
use lanerunner_platform::http::{Caller, Principal};
use uuid::Uuid;

use crate::error::{NegotiationError, Result};
use crate::service::Negotiations;
use crate::store;
use crate::vetting::Clearance;
use crate::views::{MoveRequest, NegotiationView, OpenRequest};
use crate::NegotiationId;

/// What the broker's side said back to a caller's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneAnswer {
    /// The broker's agent countered at `rate_cents`; the carrier has `offers_left` offers.
    Countered {
        negotiation: Uuid,
        rate_cents: i64,
        offers_left: u32,
    },
    /// Agreed at `rate_cents`: the load is being booked to the carrier.
    Agreed { negotiation: Uuid, rate_cents: i64 },
    /// Closed without a deal (the caller declined, or the agent walked away).
    Declined { negotiation: Uuid },
    /// The words were not read as a move; the question to ask back.
    Unclear(String),
    /// A person must take it from here: the broker has no agent on the load, the agent's
    /// answer needs the broker's approval, or the offers ran out.
    NeedsPerson {
        negotiation: Option<Uuid>,
        why: String,
    },
    /// Not allowed: the load is no longer open, or the carrier may not book it.
    Refused(String),
}

/// The caller on the line, acting for carrier organization `carrier`: no person of the
/// carrier's is signed in, so its moves are recorded with their words and no author.
fn on_the_line(carrier: OrgId) -> Caller {
    Caller {
        org: carrier,
        org_kind: OrgKind::Carrier,
        principal: Principal::ApiKey(ApiKeyId(Uuid::nil())),
        role: Role::Dispatcher,
        scopes: Scopes::all(),
        session: None,
        mfa_enrollment_pending: false,
        plan: None,
    }
}

impl Negotiations {
    /// Whether `carrier` may book `broker`'s public loads: `Err` with the reason, in words
    /// the agent can say, when not.
    pub async fn phone_clearance(
        &self,
        broker: OrgId,
        carrier: OrgId,
    ) -> Result<std::result::Result<(), String>> {
        let c = Clearance(store::clearance(&self.db, broker, carrier).await?);
        Ok(c.check(false)
            .map_err(|r| NegotiationError::from(r).to_string()))
    }

    /// The caller's `words` on `broker`'s load `load_id` (continuing `negotiation` when
    /// there is one), and the broker's answer.
    pub async fn by_phone(
        &self,
        broker: OrgId,
        carrier: OrgId,
        load_id: Uuid,
        negotiation: Option<Uuid>,
        words: &str,
    ) -> Result<PhoneAnswer> {
        // The call came to this broker's line: only its own loads are dealt on it.
        let load = store::load(&self.db, load_id).await?;
        if load.is_none_or(|l| l.broker_org_id != broker) {
            return Ok(PhoneAnswer::Refused("that load is not one of ours".into()));
        }
        let caller = on_the_line(carrier);
        // "Yes" to the pitch, before any offer, takes the posted rate: Book Now.
        let book_now = negotiation.is_none()
            && lanerunner_negotiation::parse::parse(words)
                == lanerunner_negotiation::parse::Intent::Accept;
        let body = if book_now {
            MoveRequest {
                r#move: Some(lanerunner_negotiation::protocol::Move::BookNow),
                text: None,
            }
        } else {
            MoveRequest {
                r#move: None,
                text: Some(words.to_owned()),
            }
        };
        let moved = match negotiation {
            None => {
                let open = OpenRequest {
                    load_id,
                    body: body.clone(),
                };
                match self.open(&caller, open).await {
                    // A negotiation this carrier opened earlier (by app or another call)
                    // goes on.
                    Err(NegotiationError::AlreadyOpen(id)) => {
                        self.act(&caller, NegotiationId(id), body).await
                    }
                    other => other,
                }
            }
            Some(id) => self.act(&caller, NegotiationId(id), body).await,
        };
        let view = match moved {
            Ok(v) => v,
            Err(NegotiationError::Unclear(question)) => return Ok(PhoneAnswer::Unclear(question)),
            Err(e @ (NegotiationError::Db(_) | NegotiationError::Internal(_))) => return Err(e),
            Err(NegotiationError::Contended) => {
                return Ok(PhoneAnswer::NeedsPerson {
                    negotiation,
                    why: "the offer changed while we spoke".into(),
                })
            }
            Err(NegotiationError::Protocol(p)) => {
                return Ok(PhoneAnswer::NeedsPerson {
                    negotiation,
                    why: p.to_string(),
                })
            }
            Err(e) => return Ok(PhoneAnswer::Refused(e.to_string())),
        };
        if view.status == Status::Open.as_str() && view.turn.as_deref() == Some("broker") {
            // The agent answers now, in its own transaction, as its consumer would.
            let mut tx = self.db.begin().await?;
            self.agent_answers(&mut tx, view.id, Side::Broker)
                .await
                .map_err(NegotiationError::Internal)?;
            self.commit(tx).await?;
        }
        let after = self.view(carrier, view.id).await?;
        Ok(answer_of(&after))
    }
}

/// The caller's answer, from the negotiation as it stands after the agent's turn.
fn answer_of(v: &NegotiationView) -> PhoneAnswer {
    let negotiation = v.id.0;
    match v.status.as_str() {
        "agreed" => PhoneAnswer::Agreed {
            negotiation,
            rate_cents: v.agreed_cents.unwrap_or_default(),
        },
        "open" if v.turn.as_deref() == Some("carrier") => match v.standing_cents {
            Some(rate_cents) if v.offers_left.carrier > 0 => PhoneAnswer::Countered {
                negotiation,
                rate_cents,
                offers_left: v.offers_left.carrier,
            },
            _ => PhoneAnswer::NeedsPerson {
                negotiation: Some(negotiation),
                why: "the offers allowed on this load are used up".into(),
            },
        },
        "open" => {
            let asked = v
                .messages
                .as_ref()
                .and_then(|m| m.last())
                .is_some_and(|m| m.event["event"] == "approval_requested");
            PhoneAnswer::NeedsPerson {
                negotiation: Some(negotiation),
                why: if asked {
                    "that rate needs the broker's approval".into()
                } else {
                    "the broker answers offers on this load in person".into()
                },
            }
        }
        _ => PhoneAnswer::Declined { negotiation },
    }
}
