//! The flows: a call's first webhook (the greeting), each turn after it (the agent reads
//! what was heard, acts, and answers), the provider's status callback, the broker's lines
//! and call log, and the projections of loads and carriers.
//!
//! The conversation: the MC number (said or keyed; a miss is asked again once, then the
//! call goes to a person), the carrier vetted (known to LaneRunner with authority that is
//! not failed, and cleared by the broker's vetting), the load by reference or lane, the
//! pitch, then the caller's words through the negotiation service, where the broker's
//! agent answers inside its policy. An agreement books the load; a request for a person,
//! an answer that needs the broker's approval, used-up offers, or two misunderstandings in
//! a row hand the call to the line's transfer number.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lanerunner_core::{phone, EventEnvelope, OrgId};
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::{Db, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::debrief::{self, Facts, Outcome};
use crate::desk::{DealDesk, DeskAnswer, Telephony};
use crate::error::{Result, VoiceError};
use crate::events;
use crate::numbers::Numbers;
use crate::script::{self, LoadFacts};
use crate::store::{self, CallRow, TurnRow};
use crate::twiml::{Next, Reply};
use crate::understand;
use crate::CallId;

pub const INBOUND_PATH: &str = "/v1/voice/twilio/inbound";
pub const STATUS_PATH: &str = "/v1/voice/twilio/status";

/// Misunderstandings in a row before the call goes to a person.
const MISSES: u32 = 2;

/// The soonest posted loads a lane in words is looked for among.
const LANE_CANDIDATES: i64 = 500;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the provider reaches this deployment (the turns' webhook URLs).
    pub public_url: String,
    /// Automatic check calls: after how long without a position, and how often to look.
    /// `None`: off.
    pub check_calls: Option<(Duration, Duration)>,
    /// How long transcripts are kept after a call started; `None`: for good.
    pub transcript_retention: Option<chrono::Duration>,
}

/// Where the conversation is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    #[default]
    Mc,
    Load,
    Deal,
    /// A check call: where the truck is, when it delivers, anything wrong.
    CheckWhere,
    CheckEta,
    CheckIssues,
    Ended,
}

/// The agent's state between turns.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress {
    pub stage: Stage,
    /// Misunderstandings in a row at the current question, and on the whole call.
    pub misses: u32,
    pub misunderstood: u32,
    pub company: String,
    pub transfer_number: Option<String>,
    pub reference: Option<String>,
    pub loaded_miles: f64,
    pub first_offer_cents: Option<i64>,
    pub last_counter_cents: Option<i64>,
    pub transfer_reason: Option<String>,
    /// A check call: the load's destination (for the ETA question) and the answers.
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub check_in: Option<events::CheckIn>,
}

/// What the caller said or keyed in one turn.
#[derive(Debug, Clone, Default)]
pub struct Heard {
    pub speech: Option<String>,
    pub digits: Option<String>,
}

impl Heard {
    fn text(&self) -> Option<String> {
        let speech = self
            .speech
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let digits = self
            .digits
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match (speech, digits) {
            (Some(s), Some(d)) => Some(format!("{s} [keyed {d}]")),
            (Some(s), None) => Some(s.to_owned()),
            (None, Some(d)) => Some(format!("[keyed {d}]")),
            (None, None) => None,
        }
    }

    /// What the agent reads: the words without their masked card numbers (whose last four
    /// digits are not an MC number or a reference the caller gave).
    fn without_cards(self) -> Heard {
        let strip = |t: String| lanerunner_core::pan::without_masked(&t).into_owned();
        Heard {
            speech: self.speech.map(strip),
            digits: self.digits.map(strip),
        }
    }
}

/// The agent's answer to one turn.
#[derive(Debug, Clone)]
pub struct Answered {
    pub call: CallId,
    /// The turn the caller's next words belong to.
    pub next_turn: i64,
    pub reply: Reply,
}

pub struct Calls {
    pub(crate) db: Db,
    pub(crate) outbox: OutboxSignal,
    pub(crate) desk: Arc<dyn DealDesk>,
    pub(crate) telephony: Arc<dyn Telephony>,
    /// Seals the callers' numbers the store keeps, and opens them.
    pub(crate) numbers: Numbers,
    settings: Settings,
}

fn transfer(p: &mut Progress, why: &str, first: &str) -> (Reply, Outcome) {
    p.transfer_reason = Some(why.to_owned());
    let outcome = if p.first_offer_cents.is_some() {
        Outcome::Countered
    } else {
        Outcome::Transferred
    };
    let reply = match &p.transfer_number {
        Some(to) => Reply {
            say: format!("{first} {}", script::TRANSFER).trim().to_owned(),
            next: Next::Transfer { to: to.clone() },
        },
        None => Reply {
            say: format!("{first} {}", script::NO_ONE).trim().to_owned(),
            next: Next::HangUp,
        },
    };
    (reply, outcome)
}

pub(crate) fn listen(say: impl Into<String>, hints: &str) -> Reply {
    Reply {
        say: say.into(),
        next: Next::Listen {
            hints: hints.into(),
        },
    }
}

pub(crate) fn hang_up(say: impl Into<String>) -> Reply {
    Reply {
        say: say.into(),
        next: Next::HangUp,
    }
}

const MC_HINTS: &str =
    "MC, M C, motor carrier, zero, one, two, three, four, five, six, seven, eight, nine";
const LOAD_HINTS: &str = "reference, load number, dry van, reefer, flatbed, to";
const CHECK_HINTS: &str = "miles, exit, interstate, hours, tomorrow, today, no problems, delayed";
pub(crate) const DEAL_HINTS: &str = "all in, per mile, deal, book it, no thanks, fuel";

/// What the caller asked, all in, as the offer parser reads it (for the summary; the
/// negotiation service reads the same words for the move itself).
fn asked_cents(words: &str, loaded_miles: f64) -> Option<i64> {
    use lanerunner_negotiation::parse::{parse, Amount, Intent};
    match parse(words) {
        Intent::Offer {
            amount: Amount::Total(c),
            ..
        } => Some(c),
        Intent::Offer {
            amount: Amount::PerMile(c),
            ..
        } => Some(((c as f64 * loaded_miles) / 100.0).round() as i64 * 100),
        _ => None,
    }
}

/// Fills in the call's outcome, sentiment and summary, and closes it.
fn debriefed(
    row: &mut CallRow,
    p: &Progress,
    outcome: Outcome,
    caller_said: &[String],
    now: chrono::DateTime<Utc>,
) {
    let sentiment = debrief::sentiment(caller_said.iter().map(String::as_str), p.misunderstood);
    let f = Facts {
        mc: row.mc_number.map(|m| m as u64),
        load: p.reference.clone(),
        first_offer_cents: p.first_offer_cents,
        last_counter_cents: p.last_counter_cents,
        agreed_cents: row.agreed_cents,
        transfer_reason: p.transfer_reason.clone(),
        outbound: row.direction != "inbound",
        check_in: p.check_in.clone(),
    };
    row.summary = Some(debrief::summary(outcome, &f, sentiment));
    row.sentiment = Some(sentiment.into());
    row.outcome = Some(outcome.as_str().into());
    row.status = if p.transfer_reason.is_some() && p.transfer_number.is_some() {
        "transferred".into()
    } else {
        "completed".into()
    };
    row.ended_at = Some(now);
}

pub(crate) fn facts(l: &store::LoadRow) -> LoadFacts {
    LoadFacts {
        reference: l.reference.clone(),
        origin: l.origin.clone(),
        destination: l.destination.clone(),
        equipment: l.equipment.clone(),
        weight_lbs: l.weight_lbs,
        loaded_miles: l.loaded_miles,
        pickup_at: l.pickup_at,
        rate_cents: l.rate_cents,
    }
}

impl Calls {
    pub fn new(
        db: Db,
        outbox: OutboxSignal,
        desk: Arc<dyn DealDesk>,
        telephony: Arc<dyn Telephony>,
        numbers: Numbers,
        settings: Settings,
    ) -> Self {
        Calls {
            db,
            outbox,
            desk,
            telephony,
            numbers,
            settings,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Where the caller's words for `turn` of `call` are posted.
    pub fn turn_url(&self, call: CallId, turn: i64) -> String {
        format!(
            "{}/v1/voice/twilio/calls/{}/turns/{turn}",
            self.settings.public_url.trim_end_matches('/'),
            call.0
        )
    }

    pub(crate) fn check_signed(
        &self,
        urls: &[String],
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Result<()> {
        let Some(sig) = signature else {
            return Err(VoiceError::Unsigned);
        };
        if urls.iter().any(|u| self.telephony.signed(u, params, sig)) {
            Ok(())
        } else {
            Err(VoiceError::Unsigned)
        }
    }

    // ---- a call ----

    /// A call comes in on `to` from `from` (`sid`: the provider's id of the call). `None`
    /// when `to` is no organization's line. The provider's retry of this webhook gets the
    /// same greeting.
    pub async fn start(
        &self,
        channel: &str,
        sid: &str,
        from: &str,
        to: &str,
    ) -> Result<Option<Answered>> {
        let Some(line) = store::line_called(&self.db, to).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        let progress = Progress {
            company: line.company_name.clone(),
            transfer_number: line.transfer_number.clone(),
            ..Default::default()
        };
        let row = CallRow {
            id: CallId::new(),
            org_id: line.org_id,
            call_sid: sid.to_owned(),
            channel: channel.to_owned(),
            from_number: from.to_owned(),
            to_number: to.to_owned(),
            progress: serde_json::to_string(&progress).map_err(anyhow::Error::from)?,
            turn: 1,
            status: "in_progress".into(),
            outcome: None,
            mc_number: None,
            carrier_org_id: None,
            load_id: None,
            negotiation_id: None,
            agreed_cents: None,
            sentiment: None,
            summary: None,
            started_at: now,
            ended_at: None,
            direction: "inbound".into(),
            transcript_purged_at: None,
        };
        let reply = listen(
            script::greeting(&line.company_name, line.recording_notice),
            MC_HINTS,
        );
        let stored = self.numbers.sealed_call(&row).await?;
        let mut tx = self.db.begin().await?;
        if !store::insert_call(&mut tx, &stored).await? {
            drop(tx);
            let known = self
                .call_by_sid(sid)
                .await?
                .ok_or(VoiceError::NotFound("call"))?;
            return self.replay(&known, 0).await.map(Some);
        }
        store::record_turn(
            &mut tx,
            &TurnRow {
                call_id: row.id,
                turn: 0,
                heard: None,
                said: Some(reply.say.clone()),
                reply: Some(serde_json::to_string(&reply).map_err(anyhow::Error::from)?),
                at: now,
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(call = %row.id.0, channel, "a call came in");
        Ok(Some(Answered {
            call: row.id,
            next_turn: 1,
            reply,
        }))
    }

    /// The reply already given to `turn` of `call` (a retried webhook), waiting briefly
    /// when another request is still answering it.
    pub(crate) async fn replay(&self, call: &CallRow, turn: i64) -> Result<Answered> {
        for _ in 0..150 {
            if let Some(reply) = store::turn(&self.db, call.id, turn)
                .await?
                .and_then(|t| t.reply)
            {
                let reply: Reply = serde_json::from_str(&reply).map_err(anyhow::Error::from)?;
                return Ok(Answered {
                    call: call.id,
                    next_turn: turn + 1,
                    reply,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(VoiceError::Conflict {
            kind: "turn-in-progress",
            title: "This turn is still being answered",
            detail: format!("turn {turn} of this call is being answered by another request"),
        })
    }

    /// A turn from the provider: the call its signed URL names must be the call `sid`.
    pub async fn answer_twilio(
        &self,
        call: CallId,
        sid: &str,
        turn: i64,
        heard: Heard,
    ) -> Result<Answered> {
        let row = self
            .call_system(call)
            .await?
            .filter(|c| c.call_sid == sid && c.channel == "twilio")
            .ok_or(VoiceError::NotFound("call"))?;
        self.answer_on(row, turn, heard).await
    }

    async fn answer_on(&self, row: CallRow, turn: i64, heard: Heard) -> Result<Answered> {
        if turn < row.turn {
            return self.replay(&row, turn).await;
        }
        if turn > row.turn {
            return Err(VoiceError::Conflict {
                kind: "turn-out-of-order",
                title: "Not this call's turn",
                detail: format!("the call is at turn {}, not {turn}", row.turn),
            });
        }
        if row.status != "in_progress" {
            return Ok(Answered {
                call: row.id,
                next_turn: turn,
                reply: hang_up("This call has ended. Goodbye."),
            });
        }
        let now = Utc::now();
        let text = heard.text();
        if !store::claim_turn(&self.db, row.id, turn, text.as_deref(), now).await? {
            return self.replay(&row, turn).await;
        }
        match self
            .take_turn(row.clone(), turn, heard.without_cards())
            .await
        {
            Ok(a) => Ok(a),
            Err(e) => {
                // The provider retries a failed webhook: let the retry take the turn.
                if let Err(r) = store::release_turn(&self.db, row.id, turn).await {
                    tracing::warn!(error = %r, "releasing a failed turn failed");
                }
                Err(e)
            }
        }
    }

    async fn take_turn(&self, mut row: CallRow, turn: i64, heard: Heard) -> Result<Answered> {
        let mut p: Progress = serde_json::from_str(&row.progress).map_err(anyhow::Error::from)?;
        let (reply, ended) = self.step(&mut row, &mut p, &heard).await?;
        let read_turn = row.turn;
        row.turn += 1;
        let completed = ended.is_some();
        if let Some(outcome) = ended {
            self.close(&mut row, &mut p, outcome).await?;
        }
        row.progress = serde_json::to_string(&p).map_err(anyhow::Error::from)?;
        let reply_json = serde_json::to_string(&reply).map_err(anyhow::Error::from)?;
        let mut tx = self.db.begin().await?;
        if !store::save_call(&mut tx, &row, read_turn).await? {
            return Err(VoiceError::Conflict {
                kind: "turn-in-progress",
                title: "This turn is still being answered",
                detail: "another request moved the call on".into(),
            });
        }
        store::answer_turn(&mut tx, row.id, turn, &reply.say, &reply_json).await?;
        if completed {
            self.publish_completed(&mut tx, &row, &p).await?;
        }
        tx.commit().await?;
        if completed {
            self.outbox.committed();
            tracing::info!(call = %row.id.0, outcome = row.outcome.as_deref().unwrap_or(""), "a call ended");
        }
        Ok(Answered {
            call: row.id,
            next_turn: row.turn,
            reply,
        })
    }

    /// Ends the call with `outcome`, debriefed from every turn's words (this turn's
    /// included: a turn is claimed with what was heard).
    pub(crate) async fn close(
        &self,
        row: &mut CallRow,
        p: &mut Progress,
        outcome: Outcome,
    ) -> Result<()> {
        p.stage = Stage::Ended;
        let said: Vec<String> = store::turns(&self.db, row.id)
            .await?
            .into_iter()
            .filter_map(|t| t.heard)
            .collect();
        debriefed(row, p, outcome, &said, Utc::now());
        Ok(())
    }

    pub(crate) async fn publish_completed(
        &self,
        tx: &mut Tx,
        row: &CallRow,
        p: &Progress,
    ) -> Result<()> {
        let payload = events::CallCompleted {
            call_id: row.id.0,
            broker_org_id: row.org_id,
            carrier_org_id: row.carrier_org_id,
            mc_number: row.mc_number,
            load_id: row.load_id,
            negotiation_id: row.negotiation_id,
            outcome: row.outcome.as_deref().unwrap_or_default(),
            agreed_cents: row.agreed_cents,
            sentiment: row.sentiment.as_deref().unwrap_or_default(),
            summary: row.summary.as_deref().unwrap_or_default(),
            direction: &row.direction,
            check_in: p.check_in.as_ref(),
            ended_at: row.ended_at.unwrap_or_else(Utc::now),
        };
        let event = EventEnvelope::new(
            events::CALL_COMPLETED,
            Some(OrgId(row.org_id)),
            row.id.0,
            &payload,
        )
        .map_err(anyhow::Error::from)?;
        outbox::enqueue(tx, &event).await?;
        Ok(())
    }

    /// A misunderstanding at the current question: asked again once, then a person.
    fn missed(&self, p: &mut Progress, again: &str, hints: &str) -> (Reply, Option<Outcome>) {
        p.misses += 1;
        p.misunderstood += 1;
        if p.misses >= MISSES {
            let (reply, outcome) = transfer(
                p,
                "the agent could not understand the caller",
                script::GIVE_UP,
            );
            return (reply, Some(outcome));
        }
        (listen(again, hints), None)
    }

    /// The agent's move on what was heard.
    async fn step(
        &self,
        row: &mut CallRow,
        p: &mut Progress,
        heard: &Heard,
    ) -> Result<(Reply, Option<Outcome>)> {
        let speech = heard.speech.as_deref().unwrap_or_default();
        if understand::wants_person(speech) {
            let (reply, outcome) = transfer(p, "the caller asked for a person", "");
            return Ok((reply, Some(outcome)));
        }
        let broker = OrgId(row.org_id);
        match p.stage {
            Stage::Mc => {
                let Some(mc) =
                    understand::read_mc(heard.speech.as_deref(), heard.digits.as_deref())
                else {
                    return Ok(self.missed(p, script::MC_AGAIN, MC_HINTS));
                };
                row.mc_number = Some(mc as i64);
                let carrier = store::carriers_by_mc(&self.db, mc as i64)
                    .await?
                    .into_iter()
                    .find(|c| c.standing != "failed");
                let Some(carrier) = carrier else {
                    return Ok((hang_up(script::not_on_file(mc)), Some(Outcome::NotEligible)));
                };
                row.carrier_org_id = Some(carrier.carrier_org_id);
                if let Err(why) = self
                    .desk
                    .clearance(broker, OrgId(carrier.carrier_org_id))
                    .await?
                {
                    return Ok((
                        hang_up(script::not_cleared(mc, &why)),
                        Some(Outcome::NotEligible),
                    ));
                }
                p.stage = Stage::Load;
                p.misses = 0;
                Ok((
                    listen(script::ask_load(&format!("MC {mc}")), LOAD_HINTS),
                    None,
                ))
            }
            Stage::Load => {
                let found = if let Some(lane) = understand::read_lane(speech) {
                    // A lane names cities, matched here against the soonest posted loads.
                    store::open_loads(&self.db, broker, LANE_CANDIDATES)
                        .await?
                        .into_iter()
                        .find(|l| {
                            understand::lane_matches(&lane, &l.origin, &l.destination, &l.equipment)
                        })
                } else if let Some(code) =
                    understand::spoken_reference(heard.speech.as_deref(), heard.digits.as_deref())
                {
                    // Among every posted load whose reference ends with what was said.
                    store::open_loads_ending(&self.db, broker, &code)
                        .await?
                        .into_iter()
                        .find(|l| understand::reference_matches(&code, &l.reference_key))
                } else {
                    None
                };
                let Some(load) = found else {
                    p.misses += 1;
                    if p.misses >= MISSES {
                        return Ok((hang_up(script::NO_LOAD), Some(Outcome::NoLoad)));
                    }
                    return Ok((listen(script::LOAD_AGAIN, LOAD_HINTS), None));
                };
                row.load_id = Some(load.load_id);
                p.reference = Some(load.reference.clone());
                p.loaded_miles = load.loaded_miles;
                p.stage = Stage::Deal;
                p.misses = 0;
                Ok((listen(script::pitch(&facts(&load)), DEAL_HINTS), None))
            }
            Stage::Deal => {
                let (Some(carrier), Some(load_id)) = (row.carrier_org_id, row.load_id) else {
                    let (reply, outcome) = transfer(p, "the call lost its place", "");
                    return Ok((reply, Some(outcome)));
                };
                let words = match (heard.speech.as_deref(), heard.digits.as_deref()) {
                    (Some(s), _) if !s.trim().is_empty() => s.to_owned(),
                    (_, Some(d)) if !d.trim().is_empty() => {
                        format!("{} all in", d.trim_end_matches('#'))
                    }
                    _ => {
                        return Ok(self.missed(
                            p,
                            "Are you still there? What rate would you need?",
                            DEAL_HINTS,
                        ))
                    }
                };
                // "No thanks" to the pitch: nothing to negotiate, nothing opened.
                if row.negotiation_id.is_none()
                    && lanerunner_negotiation::parse::parse(&words)
                        == lanerunner_negotiation::parse::Intent::Reject
                {
                    return Ok((hang_up(script::DECLINED), Some(Outcome::Declined)));
                }
                if p.first_offer_cents.is_none() {
                    p.first_offer_cents = asked_cents(&words, p.loaded_miles);
                }
                let answer = self
                    .desk
                    .offer(broker, OrgId(carrier), load_id, row.negotiation_id, &words)
                    .await?;
                let reference = p.reference.clone().unwrap_or_default();
                Ok(match answer {
                    DeskAnswer::Countered {
                        negotiation,
                        rate_cents,
                        offers_left,
                    } => {
                        row.negotiation_id = Some(negotiation);
                        p.last_counter_cents = Some(rate_cents);
                        p.misses = 0;
                        (
                            listen(script::countered(rate_cents, offers_left), DEAL_HINTS),
                            None,
                        )
                    }
                    DeskAnswer::Agreed {
                        negotiation,
                        rate_cents,
                    } => {
                        row.negotiation_id = Some(negotiation);
                        row.agreed_cents = Some(rate_cents);
                        (
                            hang_up(script::booked(rate_cents, &reference)),
                            Some(Outcome::Booked),
                        )
                    }
                    DeskAnswer::Declined { negotiation } => {
                        row.negotiation_id = Some(negotiation);
                        (hang_up(script::DECLINED), Some(Outcome::Declined))
                    }
                    DeskAnswer::Unclear(question) => self.missed(p, &question, DEAL_HINTS),
                    DeskAnswer::NeedsPerson { negotiation, why } => {
                        row.negotiation_id = negotiation.or(row.negotiation_id);
                        let (reply, outcome) = transfer(p, &why, "");
                        (reply, Some(outcome))
                    }
                    DeskAnswer::Refused(why) => (
                        hang_up(script::unavailable(&why)),
                        Some(Outcome::NotEligible),
                    ),
                })
            }
            Stage::CheckWhere | Stage::CheckEta | Stage::CheckIssues => {
                let said = speech.trim();
                if said.is_empty() {
                    let again = match p.stage {
                        Stage::CheckWhere => {
                            "Sorry, I didn't catch that. Where is the truck right now?".to_owned()
                        }
                        Stage::CheckEta => {
                            script::ask_eta(p.destination.as_deref().unwrap_or("the delivery"))
                        }
                        _ => script::ASK_ISSUES.to_owned(),
                    };
                    return Ok(self.missed(p, &again, CHECK_HINTS));
                }
                p.misses = 0;
                let answers = p.check_in.get_or_insert_with(Default::default);
                Ok(match p.stage {
                    Stage::CheckWhere => {
                        answers.location = Some(said.to_owned());
                        p.stage = Stage::CheckEta;
                        let to = p.destination.as_deref().unwrap_or("the delivery");
                        (listen(script::ask_eta(to), CHECK_HINTS), None)
                    }
                    Stage::CheckEta => {
                        answers.eta = Some(said.to_owned());
                        p.stage = Stage::CheckIssues;
                        (listen(script::ASK_ISSUES, CHECK_HINTS), None)
                    }
                    _ => {
                        answers.issues = Some(said.to_owned());
                        (
                            hang_up(script::checked_in(&p.company)),
                            Some(Outcome::CheckedIn),
                        )
                    }
                })
            }
            Stage::Ended => Ok((hang_up("This call has ended. Goodbye."), None)),
        }
    }
}

pub(crate) fn broker_writer(caller: &lanerunner_platform::http::Caller) -> Result<()> {
    use lanerunner_core::tenancy::{OrgKind, Role};
    if caller.org_kind == OrgKind::Carrier {
        return Err(VoiceError::Forbidden(
            "the call desk answers carriers for brokers and shippers",
        ));
    }
    if caller.role == Role::Viewer {
        return Err(VoiceError::Forbidden(
            "a viewer cannot change the call desk",
        ));
    }
    Ok(())
}

impl Calls {
    // ---- the broker's lines and calls ----

    pub async fn put_line(
        &self,
        caller: &lanerunner_platform::http::Caller,
        number: &str,
        input: crate::views::LineInput,
    ) -> Result<crate::views::LineView> {
        broker_writer(caller)?;
        let mut v = lanerunner_platform::http::Violations::default();
        if !phone::is_e164(number) {
            v.add("phone_number", "must be an E.164 number, like +14155550100");
        }
        let name = input.company_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            v.add("company_name", "must be 1–100 characters");
        }
        if input
            .transfer_number
            .as_deref()
            .is_some_and(|t| !phone::is_e164(t))
        {
            v.add(
                "transfer_number",
                "must be an E.164 number, like +14155550100",
            );
        }
        if input.transfer_number.as_deref() == Some(number) {
            v.add("transfer_number", "must not be the line itself");
        }
        v.into_result(())?;
        let row = store::LineRow {
            phone_number: number.to_owned(),
            org_id: caller.org.0,
            company_name: name.to_owned(),
            transfer_number: input.transfer_number,
            recording_notice: input.recording_notice.unwrap_or(true),
            updated_at: Utc::now(),
        };
        if !store::put_line(&self.db, caller.org, &row).await? {
            return Err(VoiceError::Conflict {
                kind: "line-taken",
                title: "The number is another organization's line",
                detail: format!("{number} already answers for another organization"),
            });
        }
        Ok(row.into())
    }

    /// The line a call (simulated, outreach, check call) uses: the one named, which must be
    /// `org`'s, or its first. `409 no-line` without one.
    pub(crate) async fn line_to_use(
        &self,
        org: OrgId,
        named: Option<&str>,
    ) -> Result<store::LineRow> {
        match named {
            Some(n) => store::line(&self.db, org, n).await?,
            None => store::first_line(&self.db, org).await?,
        }
        .ok_or(VoiceError::Conflict {
            kind: "no-line",
            title: "No line to call from",
            detail: "add a line (PUT /v1/voice/lines/{phone_number}) first".into(),
        })
    }

    pub async fn lines(
        &self,
        caller: &lanerunner_platform::http::Caller,
    ) -> Result<Vec<crate::views::LineView>> {
        Ok(store::lines(&self.db, caller.org)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    pub async fn delete_line(
        &self,
        caller: &lanerunner_platform::http::Caller,
        number: &str,
    ) -> Result<()> {
        broker_writer(caller)?;
        if store::delete_line(&self.db, caller.org, number).await? {
            Ok(())
        } else {
            Err(VoiceError::NotFound("line"))
        }
    }

    pub async fn calls(
        &self,
        org: OrgId,
        load: Option<Uuid>,
        carrier: Option<Uuid>,
        before: Option<CallId>,
        limit: i64,
    ) -> Result<Vec<crate::views::CallView>> {
        let rows = store::calls(&self.db, org, load, carrier, before, limit).await?;
        Ok(self
            .numbers
            .open_calls(rows)
            .await?
            .into_iter()
            .map(|c| crate::views::CallView::new(c, None))
            .collect())
    }

    pub async fn call(&self, org: OrgId, id: CallId) -> Result<crate::views::CallView> {
        let row = self
            .org_call(org, id)
            .await?
            .ok_or(VoiceError::NotFound("call"))?;
        let turns = store::turns(&self.db, id).await?;
        Ok(crate::views::CallView::new(row, Some(turns)))
    }

    // ---- simulated calls: the same agent, by text ----

    pub async fn simulate(
        &self,
        caller: &lanerunner_platform::http::Caller,
        input: crate::views::SimulatedCallInput,
    ) -> Result<crate::views::AgentTurnView> {
        broker_writer(caller)?;
        let line = self.line_to_use(caller.org, input.line.as_deref()).await?;
        let from = input.from.unwrap_or_else(|| "+15550000000".into());
        if !phone::is_e164(&from) {
            return Err(VoiceError::invalid("from", "must be an E.164 number"));
        }
        let sid = format!("SIM{}", Uuid::now_v7().simple());
        let a = self
            .start("simulated", &sid, &from, &line.phone_number)
            .await?
            .ok_or(VoiceError::NotFound("line"))?;
        Ok(crate::views::AgentTurnView::new(a.call.0, &a.reply))
    }

    pub async fn say(
        &self,
        caller: &lanerunner_platform::http::Caller,
        id: CallId,
        input: crate::views::SayInput,
    ) -> Result<crate::views::AgentTurnView> {
        broker_writer(caller)?;
        let mut v = lanerunner_platform::http::Violations::default();
        if input
            .text
            .as_deref()
            .is_some_and(|t| t.chars().count() > 1000)
        {
            v.add("text", "must be at most 1000 characters");
        }
        if input.digits.as_deref().is_some_and(|d| {
            d.len() > 20
                || !d
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '#' || c == '*')
        }) {
            v.add("digits", "must be up to 20 keypad keys (0-9, * and #)");
        }
        v.into_result(())?;
        let row = self
            .org_call(caller.org, id)
            .await?
            .filter(|c| c.channel == "simulated")
            .ok_or(VoiceError::NotFound("call"))?;
        if row.status == "ringing" {
            // A simulated outreach call: the first words are the carrier picking up.
            let a = self.pick_up(row, false).await?;
            return Ok(crate::views::AgentTurnView::new(a.call.0, &a.reply));
        }
        let turn = row.turn;
        let heard = Heard {
            speech: input.text,
            digits: input.digits,
        };
        let a = self.answer_on(row, turn, heard).await?;
        Ok(crate::views::AgentTurnView::new(a.call.0, &a.reply))
    }

    // ---- the provider's webhooks ----

    /// The provider's status callback: a call that ended without the agent ending it (the
    /// caller hung up, or an outreach call no one answered) is closed and debriefed.
    pub async fn status(&self, sid: &str, status: &str) -> Result<()> {
        if !matches!(
            status,
            "completed" | "busy" | "failed" | "no-answer" | "canceled"
        ) {
            return Ok(());
        }
        let Some(mut row) = self.call_by_sid(sid).await? else {
            return Ok(());
        };
        let unanswered = row.status == "ringing";
        if row.status != "in_progress" && !unanswered {
            return Ok(());
        }
        let mut p: Progress = serde_json::from_str(&row.progress).map_err(anyhow::Error::from)?;
        let outcome = if unanswered {
            Outcome::NoAnswer
        } else if p.last_counter_cents.is_some() || p.first_offer_cents.is_some() {
            Outcome::Countered
        } else {
            Outcome::Abandoned
        };
        self.close(&mut row, &mut p, outcome).await?;
        row.progress = serde_json::to_string(&p).map_err(anyhow::Error::from)?;
        let read_turn = row.turn;
        let mut tx = self.db.begin().await?;
        if store::save_call(&mut tx, &row, read_turn).await? {
            self.publish_completed(&mut tx, &row, &p).await?;
            tx.commit().await?;
            self.outbox.committed();
        }
        Ok(())
    }

    // ---- projections ----

    pub async fn project(&self, tx: &mut Tx, event: &EventEnvelope) -> anyhow::Result<()> {
        if event.is(events::LOAD_POSTED) {
            let p: events::Posted = serde_json::from_value(event.payload.clone())?;
            let (Some(pickup), Some(delivery)) = (
                p.stops.iter().find(|s| s.kind == "pickup"),
                p.stops.iter().rev().find(|s| s.kind == "delivery"),
            ) else {
                anyhow::bail!("load.posted without a pickup and a delivery");
            };
            store::upsert_load(
                tx,
                &store::LoadRow {
                    load_id: p.id,
                    broker_org_id: p.broker_org_id,
                    reference_key: understand::reference_key(&p.reference),
                    reference: p.reference,
                    origin: pickup.location.label.clone(),
                    destination: delivery.location.label.clone(),
                    equipment: understand::equipment_name(&p.equipment),
                    weight_lbs: i64::from(p.weight_lbs),
                    loaded_miles: p.loaded_miles,
                    pickup_at: pickup.window.start,
                    rate_cents: p.all_in_rate_cents,
                    status: "posted".into(),
                    visibility: p.visibility,
                },
            )
            .await?;
        } else if event.is(events::LOAD_STATUS_CHANGED) {
            let s: events::StatusChanged = serde_json::from_value(event.payload.clone())?;
            store::set_load_status(tx, s.load_id, &s.to, event.occurred_at).await?;
        } else if event.is(events::LOAD_BOOKED) {
            let b: events::Booked = serde_json::from_value(event.payload.clone())?;
            store::set_load_carrier(tx, b.load_id, b.carrier_org_id).await?;
        } else if event.is(events::TRACKING_UPDATED) {
            let t: events::Tracked = serde_json::from_value(event.payload.clone())?;
            store::seen(tx, t.load_id, t.at).await?;
        } else if event.is(events::MATCH_SUGGESTED) {
            let m: events::Suggested = serde_json::from_value(event.payload.clone())?;
            store::suggest(
                tx,
                m.load_id,
                m.carrier_org_id,
                m.broker_org_id,
                m.cost_cents,
            )
            .await?;
        } else if event.is(events::CARRIER_STANDING) {
            let c: events::Standing = serde_json::from_value(event.payload.clone())?;
            store::put_carrier(
                tx,
                &store::CarrierRow {
                    carrier_org_id: c.carrier_org_id,
                    mc_number: c.mc_number.map(|m| m as i64),
                    usdot_number: c.usdot_number as i64,
                    standing: c.standing,
                    checked_at: c.checked_at,
                },
            )
            .await?;
        }
        Ok(())
    }
}
