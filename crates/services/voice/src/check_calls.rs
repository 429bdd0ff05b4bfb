//! Check calls: a load on the road that has sent no position for a while (no ELD, no app,
//! a tracking link nobody opened) gets a call to its carrier's dispatch number, as a
//! broker's track-and-trace desk would make: where is the truck, when will it deliver,
//! anything wrong. The answers, in the driver's words, go on the call's debrief and in
//! `voice.call_completed.v1` (`check_in`), beside the load for the broker.
//!
//! The sweep runs every `voice.check_sweep_secs` on every instance; a load's next check
//! call is claimed by compare-and-set on the load, so instances sweeping at once place one
//! call. A broker can also place one at once (`POST /v1/voice/loads/{id}/check-call`).

use std::sync::Weak;
use std::time::Duration;

use chrono::Utc;
use lanerunner_core::OrgId;
use lanerunner_platform::http::Caller;
use uuid::Uuid;

use crate::error::{Result, VoiceError};
use crate::service::{broker_writer, Calls, Progress, Stage};
use crate::store::{self, CallRow, LineRow, LoadRow, OnTheRoad};
use crate::views::{CallView, CheckCallInput};
use crate::CallId;

/// Loads looked at per sweep.
const SWEEP_BATCH: i64 = 50;

impl Calls {
    /// A broker's check call on a load on the road, placed now. `409 load-not-moving`,
    /// `409 no-dispatch-number` (the carrier gave none), `409 no-line`.
    pub async fn check_call(
        &self,
        caller: &Caller,
        load_id: Uuid,
        input: CheckCallInput,
    ) -> Result<CallView> {
        broker_writer(caller)?;
        let org = caller.org;
        let load = store::load(&self.db, org, load_id)
            .await?
            .ok_or(VoiceError::NotFound("load"))?;
        let road = store::on_the_road(&self.db, org, load_id).await?;
        let Some(road) = self.numbers.open_some_road(road).await? else {
            return Err(if store::MOVING.contains(&load.status.as_str()) {
                VoiceError::Conflict {
                    kind: "no-dispatch-number",
                    title: "The carrier gave no number to call",
                    detail: "the carrier hauling this load has not given a dispatch number for automated calls".into(),
                }
            } else {
                VoiceError::Conflict {
                    kind: "load-not-moving",
                    title: "The load is not on the road",
                    detail: format!("load {} is {}", load.reference, load.status),
                }
            });
        };
        let line = self.line_to_use(org, input.line.as_deref()).await?;
        let now = Utc::now();
        // Recorded as the latest check call, so the sweep does not call again right after.
        store::claim_check_call(&self.db, load_id, now, now).await?;
        let row = self
            .place_check_call(&road, &load, &line)
            .await?
            .ok_or(VoiceError::NotFound("load"))?;
        Ok(CallView::new(row, None))
    }

    /// Places the check calls that are due: loads on the road with no position for
    /// `after`. The number placed.
    pub async fn sweep_check_calls(&self, after: Duration) -> Result<usize> {
        let now = Utc::now();
        let before = now - chrono::Duration::from_std(after).map_err(anyhow::Error::from)?;
        let mut placed = 0;
        for road in store::due_check_calls(&self.db, before, SWEEP_BATCH).await? {
            let road = self.numbers.open_on_the_road(road).await?;
            let broker = OrgId(road.broker_org_id);
            let (Some(load), Some(line)) = (
                store::load(&self.db, broker, road.load_id).await?,
                store::first_line(&self.db, broker).await?,
            ) else {
                continue;
            };
            if !store::claim_check_call(&self.db, road.load_id, before, now).await? {
                continue;
            }
            if self.place_check_call(&road, &load, &line).await?.is_some() {
                placed += 1;
            }
        }
        if placed > 0 {
            tracing::info!(placed, "check calls placed");
        }
        Ok(placed)
    }

    async fn place_check_call(
        &self,
        road: &OnTheRoad,
        load: &LoadRow,
        line: &LineRow,
    ) -> Result<Option<CallRow>> {
        let progress = Progress {
            stage: Stage::CheckWhere,
            company: line.company_name.clone(),
            transfer_number: line.transfer_number.clone(),
            reference: Some(load.reference.clone()),
            loaded_miles: load.loaded_miles,
            destination: Some(load.destination.clone()),
            ..Default::default()
        };
        let id = CallId::new();
        let row = CallRow {
            id,
            org_id: road.broker_org_id,
            call_sid: format!("pending-{}", id.0),
            channel: self.telephony.channel().into(),
            from_number: line.phone_number.clone(),
            to_number: road.phone.clone(),
            progress: serde_json::to_string(&progress).map_err(anyhow::Error::from)?,
            turn: 0,
            status: "ringing".into(),
            outcome: None,
            mc_number: road.mc_number,
            carrier_org_id: Some(road.carrier_org_id),
            load_id: Some(road.load_id),
            negotiation_id: None,
            agreed_cents: None,
            sentiment: None,
            summary: None,
            started_at: Utc::now(),
            ended_at: None,
            direction: "check_call".into(),
            transcript_purged_at: None,
        };
        self.place(row).await
    }
}

/// Sweeps for due check calls every `every` while the service runs.
pub(crate) async fn sweeper(calls: Weak<Calls>, after: Duration, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(c) = calls.upgrade() else {
            return;
        };
        if let Err(e) = c.sweep_check_calls(after).await {
            tracing::warn!(error = %e, "the check-call sweep failed; the next one tries again");
        }
    }
}
