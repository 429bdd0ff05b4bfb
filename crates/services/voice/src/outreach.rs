//! Outreach: the agent calls the best-matched carriers of an urgent load, as a broker's
//! dispatcher would, and negotiates on the call exactly as on an inbound one.
//!
//! Whom it calls: the carriers matching suggested for the load (`match.suggested.v1`, best
//! cost first) that gave a dispatch number — their consent to automated calls about loads
//! (`PUT /v1/voice/dispatch`) — whose authority is not failed and whom the broker's vetting
//! clears, each called at most once per load (a unique index, so two requests racing place
//! one call). The call is placed through the provider (Twilio's Calls API); when someone
//! answers, the provider asks the answer webhook what to say, and the agent opens with the
//! load and the question. An answering machine gets a short message. From then on the
//! turns are an inbound call's, at the deal stage.

use chrono::Utc;
use lanerunner_core::tenancy::{OrgKind, Role};
use lanerunner_core::{phone, OrgId};
use lanerunner_platform::http::Caller;
use uuid::Uuid;

use crate::debrief::Outcome;
use crate::desk::Dial;
use crate::error::{Result, VoiceError};
use crate::script;
use crate::service::{
    broker_writer, facts, hang_up, listen, Answered, Calls, Progress, Stage, DEAL_HINTS,
};
use crate::store::{self, CallRow, TurnRow};
use crate::views::{
    CallView, DispatchInput, DispatchView, OutreachInput, OutreachView, SkippedCarrier,
};
use crate::CallId;

/// Carriers called per request unless asked otherwise, and at most.
const DEFAULT_CARRIERS: u32 = 3;
const MAX_CARRIERS: u32 = 10;

fn carrier_writer(caller: &Caller) -> Result<()> {
    if caller.org_kind != OrgKind::Carrier {
        return Err(VoiceError::Forbidden(
            "a dispatch number is a carrier's, for calls about loads",
        ));
    }
    if caller.role == Role::Viewer {
        return Err(VoiceError::Forbidden(
            "a viewer cannot change the dispatch number",
        ));
    }
    Ok(())
}

impl Calls {
    // ---- a carrier's dispatch number ----

    pub async fn put_dispatch(
        &self,
        caller: &Caller,
        input: DispatchInput,
    ) -> Result<DispatchView> {
        carrier_writer(caller)?;
        let number = phone::normalize(&input.phone).ok_or_else(|| {
            VoiceError::invalid("phone", "must be a phone number, like +14155550100")
        })?;
        let row = store::DispatchRow {
            carrier_org_id: caller.org.0,
            phone: number,
            consented_by: caller.actor_id(),
            consented_at: Utc::now(),
        };
        let stored = store::DispatchRow {
            phone: self.numbers.seal_dispatch(caller.org, &row.phone).await?,
            ..row.clone()
        };
        store::put_dispatch(&self.db, caller.org, &stored).await?;
        Ok(row.into())
    }

    pub async fn dispatch(&self, org: OrgId) -> Result<DispatchView> {
        let row = store::dispatch(&self.db, org)
            .await?
            .ok_or(VoiceError::NotFound("dispatch number"))?;
        Ok(self.numbers.open_dispatch(row).await?.into())
    }

    /// Withdraws the consent: no more outreach calls.
    pub async fn delete_dispatch(&self, caller: &Caller) -> Result<()> {
        carrier_writer(caller)?;
        if store::delete_dispatch(&self.db, caller.org).await? {
            Ok(())
        } else {
            Err(VoiceError::NotFound("dispatch number"))
        }
    }

    // ---- calling the matched carriers ----

    pub fn answer_url(&self, call: CallId) -> String {
        format!(
            "{}/v1/voice/twilio/calls/{}/answer",
            self.settings().public_url.trim_end_matches('/'),
            call.0
        )
    }

    fn status_url(&self) -> String {
        format!(
            "{}{}",
            self.settings().public_url.trim_end_matches('/'),
            crate::STATUS_PATH
        )
    }

    /// Calls up to `input.carriers` of the load's best-matched carriers not called about it
    /// yet. `409 load-not-open` unless the load is posted; `409 no-carriers` when no matched
    /// carrier with a dispatch number is left to call.
    pub async fn reach_out(
        &self,
        caller: &Caller,
        load_id: Uuid,
        input: OutreachInput,
    ) -> Result<OutreachView> {
        broker_writer(caller)?;
        let wanted = input.carriers.unwrap_or(DEFAULT_CARRIERS);
        if !(1..=MAX_CARRIERS).contains(&wanted) {
            return Err(VoiceError::invalid(
                "carriers",
                format!("must be 1 to {MAX_CARRIERS}"),
            ));
        }
        let org = caller.org;
        let load = store::load(&self.db, org, load_id)
            .await?
            .ok_or(VoiceError::NotFound("load"))?;
        if load.status != "posted" {
            return Err(VoiceError::Conflict {
                kind: "load-not-open",
                title: "The load is not open",
                detail: format!("load {} is {}, not posted", load.reference, load.status),
            });
        }
        let line = self.line_to_use(org, input.line.as_deref()).await?;
        let candidates =
            store::outreach_candidates(&self.db, org, load_id, i64::from(MAX_CARRIERS) * 5).await?;
        let (mut calls, mut skipped) = (Vec::new(), Vec::new());
        for c in candidates {
            if calls.len() as u32 >= wanted {
                break;
            }
            let c = self.numbers.open_candidate(c).await?;
            let skip = |reason: String| SkippedCarrier {
                carrier_org_id: c.carrier_org_id,
                reason,
            };
            match c.standing.as_deref() {
                None => {
                    skipped.push(skip("its authority has not been checked".into()));
                    continue;
                }
                Some("failed") => {
                    skipped.push(skip("its operating authority is not active".into()));
                    continue;
                }
                Some(_) => {}
            }
            if let Err(why) = self.desk.clearance(org, OrgId(c.carrier_org_id)).await? {
                skipped.push(skip(why));
                continue;
            }
            let progress = Progress {
                stage: Stage::Deal,
                company: line.company_name.clone(),
                transfer_number: line.transfer_number.clone(),
                reference: Some(load.reference.clone()),
                loaded_miles: load.loaded_miles,
                ..Default::default()
            };
            let id = CallId::new();
            let row = CallRow {
                id,
                org_id: org.0,
                // Until the provider names the call.
                call_sid: format!("pending-{}", id.0),
                channel: self.telephony.channel().into(),
                from_number: line.phone_number.clone(),
                to_number: c.phone.clone(),
                progress: serde_json::to_string(&progress).map_err(anyhow::Error::from)?,
                turn: 0,
                status: "ringing".into(),
                outcome: None,
                mc_number: c.mc_number,
                carrier_org_id: Some(c.carrier_org_id),
                load_id: Some(load_id),
                negotiation_id: None,
                agreed_cents: None,
                sentiment: None,
                summary: None,
                started_at: Utc::now(),
                ended_at: None,
                direction: "outbound".into(),
                transcript_purged_at: None,
            };
            let Some(row) = self.place(row).await? else {
                // Another request called this carrier about this load a moment ago.
                continue;
            };
            calls.push(CallView::new(row, None));
        }
        if calls.is_empty() && skipped.is_empty() {
            return Err(VoiceError::Conflict {
                kind: "no-carriers",
                title: "No carrier to call",
                detail: format!(
                    "no carrier matched to load {} with a dispatch number is left to call",
                    load.reference
                ),
            });
        }
        tracing::info!(load = %load_id, placed = calls.len(), skipped = skipped.len(), "outreach");
        Ok(OutreachView {
            load_id,
            calls,
            skipped,
        })
    }

    /// Records `row` (ringing) and dials it; `None` when a call like it is already
    /// recorded (the unique index on outreach calls). A call the provider refuses is closed
    /// as `failed`.
    pub(crate) async fn place(&self, mut row: CallRow) -> Result<Option<CallRow>> {
        let id = row.id;
        let stored = self.numbers.sealed_call(&row).await?;
        let mut tx = self.db.begin().await?;
        if !store::insert_call(&mut tx, &stored).await? {
            return Ok(None);
        }
        tx.commit().await?;
        let dial = Dial {
            from: row.from_number.clone(),
            to: row.to_number.clone(),
            answer_url: self.answer_url(id),
            status_url: self.status_url(),
        };
        match self.telephony.dial(&dial).await {
            Ok(sid) => {
                let mut tx = self.db.begin().await?;
                row.call_sid = sid;
                if store::save_call(&mut tx, &row, 0).await? {
                    tx.commit().await?;
                } else {
                    // Answered already (the provider was faster than this write); the
                    // answer webhook recorded the provider's id itself.
                    drop(tx);
                    row = self.call_system(id).await?.unwrap_or(row);
                }
            }
            Err(e) => {
                tracing::warn!(call = %id.0, error = %e, "a call could not be placed");
                let mut p: Progress =
                    serde_json::from_str(&row.progress).map_err(anyhow::Error::from)?;
                self.close(&mut row, &mut p, Outcome::NoAnswer).await?;
                row.status = "failed".into();
                row.summary = Some(format!("The call could not be placed: {e}."));
                row.progress = serde_json::to_string(&p).map_err(anyhow::Error::from)?;
                let mut tx = self.db.begin().await?;
                if store::save_call(&mut tx, &row, 0).await? {
                    self.publish_completed(&mut tx, &row, &p).await?;
                    tx.commit().await?;
                    self.outbox.committed();
                }
            }
        }
        Ok(Some(row))
    }

    /// The provider's answer webhook for an outreach call (`AnsweredBy` when it detected
    /// a machine): the agent's opening. A retried request gets the same opening.
    pub async fn answer_outbound(
        &self,
        call: CallId,
        sid: &str,
        answered_by: Option<&str>,
    ) -> Result<Answered> {
        let row = self
            .call_system(call)
            .await?
            .filter(|c| {
                c.direction != "inbound"
                    && c.channel == "twilio"
                    && (c.call_sid == sid || c.call_sid.starts_with("pending-"))
            })
            .ok_or(VoiceError::NotFound("call"))?;
        if row.status != "ringing" {
            if store::turn(&self.db, row.id, 0).await?.is_some() {
                return self.replay(&row, 0).await;
            }
            // Closed before anyone answered (the status callback came first).
            return Ok(Answered {
                call: row.id,
                next_turn: 0,
                reply: hang_up("This call has ended. Goodbye."),
            });
        }
        let mut row = row;
        row.call_sid = sid.to_owned();
        let machine = answered_by.is_some_and(|a| a.starts_with("machine") || a == "fax");
        self.pick_up(row, machine).await
    }

    /// Someone (or a machine) answered an outreach call: turn 0 is the agent's opening.
    pub(crate) async fn pick_up(&self, mut row: CallRow, machine: bool) -> Result<Answered> {
        let mut p: Progress = serde_json::from_str(&row.progress).map_err(anyhow::Error::from)?;
        let load = match row.load_id {
            Some(l) => store::load(&self.db, OrgId(row.org_id), l).await?,
            None => None,
        }
        .ok_or(VoiceError::NotFound("load"))?;
        let notice = store::line_called(&self.db, &row.from_number)
            .await?
            .map(|l| l.recording_notice)
            .unwrap_or(true);
        let checking = row.direction == "check_call";
        let reply = if machine && checking {
            hang_up(format!(
                "Hi, this is the automated load desk for {}, checking on load {}. Please call us with the truck's location. Goodbye.",
                p.company, load.reference
            ))
        } else if machine {
            hang_up(script::voicemail(&p.company, &load.reference))
        } else if checking {
            listen(
                script::check_call(&p.company, notice, &load.reference, &load.destination),
                "",
            )
        } else if load.status != "posted" {
            hang_up(format!(
                "Hi, this is the automated load desk for {}. We called about load {}, but it has just been covered. Sorry to bother you. Goodbye.",
                p.company, load.reference
            ))
        } else {
            listen(
                script::outreach(&p.company, notice, &facts(&load)),
                DEAL_HINTS,
            )
        };
        let now = Utc::now();
        row.turn = 1;
        row.status = "in_progress".into();
        let ended = !matches!(reply.next, crate::twiml::Next::Listen { .. });
        if ended {
            let outcome = if machine {
                Outcome::NoAnswer
            } else {
                Outcome::NoLoad
            };
            self.close(&mut row, &mut p, outcome).await?;
        }
        row.progress = serde_json::to_string(&p).map_err(anyhow::Error::from)?;
        let mut tx = self.db.begin().await?;
        if !store::save_call(&mut tx, &row, 0).await? {
            drop(tx);
            return self.replay(&row, 0).await;
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
        if ended {
            self.publish_completed(&mut tx, &row, &p).await?;
        }
        tx.commit().await?;
        if ended {
            self.outbox.committed();
        }
        Ok(Answered {
            call: row.id,
            next_turn: 1,
            reply,
        })
    }
}
