//! The voice service's seams in this binary: the negotiation service in this process
//! (vetting and the broker's agent, for the caller's words) and Twilio's request
//! signatures (the account's auth token; without an account no webhook is accepted, and
//! calls can only be simulated).

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_core::OrgId;
use lanerunner_negotiation_service::phone::PhoneAnswer;
use lanerunner_negotiation_service::Negotiations;
use lanerunner_voice::desk::{DealDesk, DeskAnswer, Telephony};
use uuid::Uuid;

pub struct NegotiationDeal(pub Arc<Negotiations>);

#[async_trait]
impl DealDesk for NegotiationDeal {
    async fn clearance(&self, broker: OrgId, carrier: OrgId) -> anyhow::Result<Result<(), String>> {
        Ok(self.0.phone_clearance(broker, carrier).await?)
    }

    async fn offer(
        &self,
        broker: OrgId,
        carrier: OrgId,
        load_id: Uuid,
        negotiation: Option<Uuid>,
        words: &str,
    ) -> anyhow::Result<DeskAnswer> {
        let answer = self
            .0
            .by_phone(broker, carrier, load_id, negotiation, words)
            .await?;
        Ok(match answer {
            PhoneAnswer::Countered {
                negotiation,
                rate_cents,
                offers_left,
            } => DeskAnswer::Countered {
                negotiation,
                rate_cents,
                offers_left,
            },
            PhoneAnswer::Agreed {
                negotiation,
                rate_cents,
            } => DeskAnswer::Agreed {
                negotiation,
                rate_cents,
            },
            PhoneAnswer::Declined { negotiation } => DeskAnswer::Declined { negotiation },
            PhoneAnswer::Unclear(q) => DeskAnswer::Unclear(q),
            PhoneAnswer::NeedsPerson { negotiation, why } => {
                DeskAnswer::NeedsPerson { negotiation, why }
            }
            PhoneAnswer::Refused(why) => DeskAnswer::Refused(why),
        })
    }
}

/// `X-Twilio-Signature` with the account's auth token; `None`: nothing is signed.
pub struct TwilioSignatures(pub Option<String>);

impl Telephony for TwilioSignatures {
    fn signed(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        self.0
            .as_deref()
            .is_some_and(|token| lanerunner_twilio::verify(token, url, params, signature))
    }
}
