//! The voice service's seams in this binary: the negotiation service in this process
//! (vetting and the broker's agent, for the caller's words) and Twilio (request signatures
//! with the account's auth token, outbound calls through the Calls API; without an account
//! no webhook is accepted, and calls can only be simulated).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_core::OrgId;
use lanerunner_negotiation_service::phone::PhoneAnswer;
use lanerunner_negotiation_service::Negotiations;
use lanerunner_platform::config::TwilioConfig;
use lanerunner_twilio::{CallsClient, PlaceCall};
use lanerunner_voice::desk::{DealDesk, DeskAnswer, Dial, Telephony};
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
/// Twilio for the voice service: webhook signatures with the account's auth token, and
/// outbound calls through the Calls API. Without an account no webhook is accepted, and
/// outreach calls are simulated (answered by text, like a simulated inbound call).
pub struct TwilioVoice {
    auth_token: Option<String>,
    calls: Option<CallsClient>,
}

impl TwilioVoice {
    pub fn new(config: &TwilioConfig) -> anyhow::Result<Self> {
        let calls = match (&config.account_sid, &config.auth_token) {
            (Some(sid), Some(token)) => Some(CallsClient::new(
                &config.api_base_url,
                sid,
                token,
                Duration::from_millis(config.timeout_ms),
            )?),
            _ => None,
        };
        Ok(Self {
            auth_token: config.auth_token.clone(),
            calls,
        })
    }
}

#[async_trait]
impl Telephony for TwilioVoice {
    fn signed(&self, url: &str, params: &[(String, String)], signature: &str) -> bool {
        self.auth_token
            .as_deref()
            .is_some_and(|token| lanerunner_twilio::verify(token, url, params, signature))
    }

    async fn dial(&self, call: &Dial) -> anyhow::Result<String> {
        let Some(client) = &self.calls else {
            return Ok(format!("SIM{}", Uuid::now_v7().simple()));
        };
        let placed = client
            .place(&PlaceCall {
                to: call.to.clone(),
                from: call.from.clone(),
                url: call.answer_url.clone(),
                status_callback: Some(call.status_url.clone()),
                detect_machine: true,
                timeout_secs: Some(30),
            })
            .await?;
        Ok(placed.sid)
    }

    fn channel(&self) -> &'static str {
        if self.calls.is_some() {
            "twilio"
        } else {
            "simulated"
        }
    }
}
