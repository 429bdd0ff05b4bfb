//! What clients send and see.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::{CallRow, LineRow, TurnRow};
use crate::twiml::{Next, Reply};

/// `PUT /v1/voice/lines/{phone_number}`: a number of the organization's on which the agent
/// answers carriers.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct LineInput {
    /// The name the agent answers with ("Thanks for calling Acme Logistics").
    pub company_name: String,
    /// Where a call goes when a person must take it (E.164); without one the agent says
    /// someone will call back.
    pub transfer_number: Option<String>,
    /// Tell callers the call is recorded and transcribed (required in all-party-consent
    /// states; default on).
    pub recording_notice: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub phone_number: String,
    pub company_name: String,
    pub transfer_number: Option<String>,
    pub recording_notice: bool,
    pub updated_at: DateTime<Utc>,
}

impl From<LineRow> for LineView {
    fn from(l: LineRow) -> Self {
        LineView {
            phone_number: l.phone_number,
            company_name: l.company_name,
            transfer_number: l.transfer_number,
            recording_notice: l.recording_notice,
            updated_at: l.updated_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TurnView {
    pub turn: i64,
    /// What the caller said (speech as recognized) or keyed.
    pub heard: Option<String>,
    /// What the agent said.
    pub said: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<TurnRow> for TurnView {
    fn from(t: TurnRow) -> Self {
        TurnView {
            turn: t.turn,
            heard: t.heard,
            said: t.said,
            at: t.at,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallView {
    pub id: Uuid,
    /// `twilio` or `simulated`.
    pub channel: String,
    /// `inbound` (a carrier called a line), `outbound` (outreach: the agent called about a
    /// load) or `check_call` (the agent called about a load on the road).
    pub direction: String,
    pub from_number: String,
    pub to_number: String,
    /// `ringing` (outreach, not answered yet), `in_progress`, `completed`, `transferred`, or
    /// `failed` (could not be placed).
    pub status: String,
    /// `booked`, `countered`, `declined`, `not_eligible`, `no_load`, `transferred`,
    /// `abandoned`, `no_answer`, `checked_in`; `null` while the call goes on.
    pub outcome: Option<String>,
    pub mc_number: Option<i64>,
    pub carrier_org_id: Option<Uuid>,
    pub load_id: Option<Uuid>,
    pub negotiation_id: Option<Uuid>,
    pub agreed_cents: Option<i64>,
    /// `positive`, `neutral` or `negative`.
    pub sentiment: Option<String>,
    pub summary: Option<String>,
    /// A check call's answers: where the truck is, when it delivers, anything wrong.
    pub check_in: Option<crate::events::CheckIn>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The transcript, oldest first (on a single call; `null` in lists). Empty once the
    /// retention removed it.
    pub transcript: Option<Vec<TurnView>>,
    /// When the transcript was removed, `voice.transcript_retention_days` after the call.
    pub transcript_removed_at: Option<DateTime<Utc>>,
}

impl CallView {
    pub fn new(c: CallRow, turns: Option<Vec<TurnRow>>) -> Self {
        CallView {
            id: c.id.0,
            channel: c.channel,
            direction: c.direction,
            from_number: c.from_number,
            to_number: c.to_number,
            status: c.status,
            outcome: c.outcome,
            mc_number: c.mc_number,
            carrier_org_id: c.carrier_org_id,
            load_id: c.load_id,
            negotiation_id: c.negotiation_id,
            agreed_cents: c.agreed_cents,
            sentiment: c.sentiment,
            check_in: serde_json::from_str::<crate::service::Progress>(&c.progress)
                .ok()
                .and_then(|p| p.check_in),
            summary: c.summary,
            started_at: c.started_at,
            ended_at: c.ended_at,
            transcript: turns.map(|t| t.into_iter().map(TurnView::from).collect()),
            transcript_removed_at: c.transcript_purged_at,
        }
    }
}

/// `POST /v1/voice/calls/simulated`: a call on one of your lines, by text in place of a
/// phone (to try the agent, and in the embedded default without a telephony account).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SimulatedCallInput {
    /// The line called (default: your first line).
    pub line: Option<String>,
    /// The caller's number as it would show (default `+15550000000`).
    pub from: Option<String>,
}

/// `POST /v1/voice/calls/{id}/say`: what the caller says, or keys.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SayInput {
    pub text: Option<String>,
    pub digits: Option<String>,
}

/// The agent's turn on a simulated call.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentTurnView {
    pub call_id: Uuid,
    pub say: String,
    /// `listen`, `transfer` or `hang_up`.
    pub then: String,
    pub transfer_to: Option<String>,
    pub ended: bool,
}

impl AgentTurnView {
    pub fn new(call_id: Uuid, r: &Reply) -> Self {
        let (then, transfer_to) = match &r.next {
            Next::Listen { .. } => ("listen", None),
            Next::Transfer { to } => ("transfer", Some(to.clone())),
            Next::HangUp => ("hang_up", None),
        };
        AgentTurnView {
            call_id,
            say: r.say.clone(),
            then: then.into(),
            transfer_to,
            ended: then != "listen",
        }
    }
}

/// `PUT /v1/voice/dispatch`: a carrier's number for the agent to call about loads that fit
/// its trucks. Giving it is the carrier's consent to those automated calls; removing it
/// withdraws the consent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    /// E.164, or ten North American digits.
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DispatchView {
    pub phone: String,
    /// Who gave the number (and the consent), and when.
    pub consented_by: Uuid,
    pub consented_at: DateTime<Utc>,
}

impl From<crate::store::DispatchRow> for DispatchView {
    fn from(d: crate::store::DispatchRow) -> Self {
        DispatchView {
            phone: d.phone,
            consented_by: d.consented_by,
            consented_at: d.consented_at,
        }
    }
}

/// `POST /v1/voice/loads/{load_id}/outreach`: call the best-matched carriers now.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutreachInput {
    /// The line the calls come from (default: your first line).
    pub line: Option<String>,
    /// How many carriers to call, 1 to 10 (default 3).
    pub carriers: Option<u32>,
}

/// A matched carrier outreach did not call, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SkippedCarrier {
    pub carrier_org_id: Uuid,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutreachView {
    pub load_id: Uuid,
    /// The calls placed, best match first.
    pub calls: Vec<CallView>,
    /// Matched carriers passed over (authority, the broker's vetting).
    pub skipped: Vec<SkippedCarrier>,
}

/// `POST /v1/voice/loads/{load_id}/check-call`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckCallInput {
    /// The line the call comes from (default: your first line).
    pub line: Option<String>,
}
