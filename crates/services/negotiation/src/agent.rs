//! The broker's agent: a policy per load (start, target, maximum, what needs a person's
//! approval), and the consumer group `negotiation.agent` that answers every carrier offer
//! on a load with a policy, within it, through the same protocol and compare-and-set as a
//! person's move. Its reasons are kept with each move; a move past the approval threshold
//! is not made but asked for, and the broker makes it (or another) by hand.

use chrono::Utc;
use lanerunner_core::tenancy::{OrgKind, Role};
use lanerunner_core::{EventEnvelope, OrgId};
use lanerunner_negotiation::agent::{self as strategy, Context, Decision, Policy};
use lanerunner_negotiation::protocol::{Move, Status};
use lanerunner_negotiation::Side;
use lanerunner_platform::http::Caller;
use lanerunner_platform::Tx;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{NegotiationError, Result, Violations};
use crate::events::Updated;
use crate::service::Negotiations;
use crate::store::{self, CarrierPolicyRow, NewMessage, PolicyRow};

/// `PUT /v1/negotiations/policies/{load_id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PolicyRequest {
    /// Where the agent opens.
    pub start_cents: i64,
    /// What it aims for before reaching past it as the pickup nears.
    pub target_cents: Option<i64>,
    /// Never above this.
    pub max_cents: i64,
    /// Offers or acceptances above this wait for a person.
    pub approval_above_cents: Option<i64>,
    /// How reluctantly it concedes: below 1 holds firm longer (default 0.4), 0.05–5.
    pub concession: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub load_id: Uuid,
    pub start_cents: i64,
    pub target_cents: Option<i64>,
    pub max_cents: i64,
    pub approval_above_cents: Option<i64>,
    pub concession: f64,
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<PolicyRow> for PolicyView {
    fn from(p: PolicyRow) -> Self {
        PolicyView {
            load_id: p.load_id,
            start_cents: p.start_cents,
            target_cents: p.target_cents,
            max_cents: p.max_cents,
            approval_above_cents: p.approval_above_cents,
            concession: p.concession,
            updated_at: p.updated_at,
        }
    }
}

fn policy_of(p: &PolicyRow) -> Policy {
    Policy {
        side: Side::Broker,
        aspiration_cents: p.start_cents,
        reservation_cents: p.max_cents,
        target_cents: p.target_cents,
        approval_beyond_cents: p.approval_above_cents,
        concession: p.concession,
    }
}

/// `PUT /v1/negotiations/carrier-policy`: how the carrier's agent answers brokers.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CarrierPolicyRequest {
    /// Where the agent opens its counters, per loaded mile.
    pub desired_rpm_cents: i64,
    /// Never below this per loaded mile.
    pub min_rpm_cents: i64,
    /// Acceptances or offers below this total wait for a person.
    pub approval_below_cents: Option<i64>,
    /// How reluctantly it concedes (default 0.4), 0.05–5.
    pub concession: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CarrierPolicyView {
    pub desired_rpm_cents: i64,
    pub min_rpm_cents: i64,
    pub approval_below_cents: Option<i64>,
    pub concession: f64,
    pub updated_at: chrono::DateTime<Utc>,
}

impl From<CarrierPolicyRow> for CarrierPolicyView {
    fn from(p: CarrierPolicyRow) -> Self {
        CarrierPolicyView {
            desired_rpm_cents: p.desired_rpm_cents,
            min_rpm_cents: p.min_rpm_cents,
            approval_below_cents: p.approval_below_cents,
            concession: p.concession,
            updated_at: p.updated_at,
        }
    }
}

/// The carrier's policy on a load of `miles` loaded miles, in all-in cents.
fn carrier_policy_of(p: &CarrierPolicyRow, miles: f64) -> Policy {
    let total = |rpm: i64| ((rpm as f64 * miles) / 100.0).round() as i64 * 100;
    Policy {
        side: Side::Carrier,
        aspiration_cents: total(p.desired_rpm_cents),
        reservation_cents: total(p.min_rpm_cents),
        target_cents: None,
        approval_beyond_cents: p.approval_below_cents,
        concession: p.concession,
    }
}

/// The consumer group that runs the agents.
pub const GROUP: &str = "negotiation.agent";

impl Negotiations {
    fn check_broker(caller: &Caller) -> Result<()> {
        if caller.org_kind != OrgKind::Broker && caller.org_kind != OrgKind::Shipper {
            return Err(NegotiationError::Forbidden(
                "only the load's broker sets its agent",
            ));
        }
        if caller.role == Role::Viewer {
            return Err(NegotiationError::Forbidden("a viewer cannot set an agent"));
        }
        Ok(())
    }

    pub async fn put_policy(
        &self,
        caller: &Caller,
        load_id: Uuid,
        req: PolicyRequest,
    ) -> Result<PolicyView> {
        Self::check_broker(caller)?;
        let load = store::load(&self.db, load_id)
            .await?
            .filter(|l| l.broker_org_id == caller.org)
            .ok_or(NegotiationError::NotFound("load"))?;
        let row = PolicyRow {
            load_id: load.load_id,
            broker_org_id: caller.org,
            start_cents: req.start_cents,
            target_cents: req.target_cents,
            max_cents: req.max_cents,
            approval_above_cents: req.approval_above_cents,
            concession: req.concession.unwrap_or(0.4),
            updated_by: caller.user_id(),
            updated_at: Utc::now(),
        };
        let mut v = Violations::default();
        for (field, value) in [
            ("start_cents", Some(row.start_cents)),
            ("target_cents", row.target_cents),
            ("max_cents", Some(row.max_cents)),
            ("approval_above_cents", row.approval_above_cents),
        ] {
            if value.is_some_and(|c| {
                !(1..=lanerunner_negotiation::protocol::MAX_RATE_CENTS).contains(&c)
            }) {
                v.add(field, "must be between 1 cent and $100,000");
            }
        }
        v.into_result(())?;
        if let Err(e) = policy_of(&row).check() {
            let field = match e {
                strategy::PolicyError::TargetOutside => "target_cents",
                strategy::PolicyError::Concession => "concession",
                _ => "max_cents",
            };
            let mut v = Violations::default();
            v.add(field, e.to_string());
            v.into_result(())?;
        }
        store::put_policy(&self.db, &row).await?;
        Ok(row.into())
    }

    pub async fn policy(&self, caller: &Caller, load_id: Uuid) -> Result<PolicyView> {
        Ok(store::policy(&self.db, caller.org, load_id)
            .await?
            .ok_or(NegotiationError::NotFound("agent policy"))?
            .into())
    }

    pub async fn delete_policy(&self, caller: &Caller, load_id: Uuid) -> Result<()> {
        Self::check_broker(caller)?;
        if store::delete_policy(&self.db, caller.org, load_id).await? {
            Ok(())
        } else {
            Err(NegotiationError::NotFound("agent policy"))
        }
    }

    pub async fn put_carrier_policy(
        &self,
        caller: &Caller,
        req: CarrierPolicyRequest,
    ) -> Result<CarrierPolicyView> {
        if caller.org_kind != OrgKind::Carrier {
            return Err(NegotiationError::Forbidden(
                "only carriers set a carrier's agent",
            ));
        }
        if caller.role == Role::Viewer {
            return Err(NegotiationError::Forbidden("a viewer cannot set an agent"));
        }
        let mut v = Violations::default();
        for (field, value) in [
            ("desired_rpm_cents", Some(req.desired_rpm_cents)),
            ("min_rpm_cents", Some(req.min_rpm_cents)),
        ] {
            if value.is_some_and(|c| !(25..=5_000).contains(&c)) {
                v.add(field, "must be between 25 cents and $50 a mile");
            }
        }
        if req.min_rpm_cents > req.desired_rpm_cents {
            v.add("min_rpm_cents", "must not be above the desired rate");
        }
        if req
            .approval_below_cents
            .is_some_and(|c| !(1..=lanerunner_negotiation::protocol::MAX_RATE_CENTS).contains(&c))
        {
            v.add(
                "approval_below_cents",
                "must be between 1 cent and $100,000",
            );
        }
        if req.concession.is_some_and(|c| !(0.05..=5.0).contains(&c)) {
            v.add("concession", "must be between 0.05 and 5");
        }
        v.into_result(())?;
        let row = CarrierPolicyRow {
            carrier_org_id: caller.org,
            desired_rpm_cents: req.desired_rpm_cents,
            min_rpm_cents: req.min_rpm_cents,
            approval_below_cents: req.approval_below_cents,
            concession: req.concession.unwrap_or(0.4),
            updated_by: caller.user_id(),
            updated_at: Utc::now(),
        };
        store::put_carrier_policy(&self.db, &row).await?;
        Ok(row.into())
    }

    pub async fn carrier_policy(&self, caller: &Caller) -> Result<CarrierPolicyView> {
        Ok(store::carrier_policy(&self.db, caller.org)
            .await?
            .ok_or(NegotiationError::NotFound("carrier agent policy"))?
            .into())
    }

    pub async fn delete_carrier_policy(&self, caller: &Caller) -> Result<()> {
        if caller.org_kind != OrgKind::Carrier || caller.role == Role::Viewer {
            return Err(NegotiationError::Forbidden(
                "only a carrier's members take its agent off",
            ));
        }
        if store::delete_carrier_policy(&self.db, caller.org).await? {
            Ok(())
        } else {
            Err(NegotiationError::NotFound("carrier agent policy"))
        }
    }

    /// The agent's answer to `event` (a `negotiation.updated.v1`), in the consumer's
    /// transaction: only when the broker has a policy on the load and it is the broker's
    /// turn. Each update reaches both parties' feeds; the broker's copy is the one acted on.
    pub(crate) async fn agent_turn(
        &self,
        tx: &mut Tx,
        event: &EventEnvelope,
    ) -> anyhow::Result<()> {
        let update: Updated = serde_json::from_value(event.payload.clone())?;
        // Only an offer is answered, by the other side's agent: the agents' own approval
        // requests and closings publish updates too, and answering those would loop.
        let mover = match update.event["offer"]["by"].as_str() {
            Some("carrier") if update.event["event"] == "offered" => Side::Broker,
            Some("broker") if update.event["event"] == "offered" => Side::Carrier,
            _ => return Ok(()),
        };
        let mover_org = match mover {
            Side::Broker => update.broker_org_id,
            Side::Carrier => update.carrier_org_id,
        };
        // Each update reaches both parties' feeds; the mover's copy is the one acted on.
        if event.org_id != Some(OrgId(mover_org)) || update.status != Status::Open.as_str() {
            return Ok(());
        }
        self.agent_answers(tx, update.negotiation_id.into(), mover)
            .await
    }

    /// `mover`'s agent answers the standing offer of negotiation `id`, in `tx`, when that
    /// party has a policy and it is its turn (otherwise nothing happens). A phone call asks
    /// for the answer at once, in the turn that carried the caller's offer; the consumer's
    /// later run then finds it is no longer the agent's turn.
    pub(crate) async fn agent_answers(
        &self,
        tx: &mut Tx,
        id: crate::NegotiationId,
        mover: Side,
    ) -> anyhow::Result<()> {
        let Some(mut row) = store::negotiation_in(tx, id).await? else {
            return Ok(());
        };
        let Some(load) = store::load_in(tx, row.load_id).await? else {
            return Ok(());
        };
        let policy = match mover {
            Side::Broker => store::policy_in(tx, row.broker_org_id, row.load_id)
                .await?
                .map(|p| policy_of(&p)),
            Side::Carrier => store::carrier_policy_in(tx, row.carrier_org_id)
                .await?
                .map(|p| carrier_policy_of(&p, load.loaded_miles)),
        };
        let Some(policy) = policy.filter(|p| p.check().is_ok()) else {
            return Ok(());
        };
        let state = row.state.0.clone();
        if state.turn() != Some(mover) {
            return Ok(());
        }
        let rivals = store::open_on_load(tx, row.load_id, Some(row.id))
            .await?
            .len() as u32;
        let ctx = Context {
            market: self.market.market(&load).await,
            pickup_at: load.pickup_at,
            rivals,
            // The guardrail: a broker's agent never deals with a carrier it blocked, or one
            // its vetting policy refuses.
            counterparty_allowed: crate::vetting::Clearance(
                store::clearance_in(tx, row.broker_org_id, row.carrier_org_id).await?,
            )
            .check(load.is_private())
            .is_ok(),
        };
        let now = Utc::now();
        let decision = strategy::decide(&policy, &state, &ctx, now);
        let (mv, reason) = match decision {
            Decision::Offer { rate_cents, reason } => (
                Move::Offer {
                    rate_cents,
                    accessorials: vec![],
                    expires_at: None,
                },
                reason,
            ),
            Decision::Accept { reason, .. } => (Move::Accept, reason),
            Decision::Reject { reason } => (Move::Reject, reason),
            Decision::Wait { .. } => return Ok(()),
            Decision::Approve { proposal, reason } => {
                // Nothing moves; the party is asked. The version still steps, so the
                // request is ordered with the moves (and its message numbered) like them.
                let read_version = row.version;
                row.version += 1;
                row.updated_at = now;
                if !store::update(tx, &row, read_version).await? {
                    return Ok(());
                }
                let asked = serde_json::json!({
                    "event": "approval_requested",
                    "proposal": *proposal,
                    "agent_reason": reason,
                });
                self.say(
                    tx,
                    &row,
                    &NewMessage {
                        negotiation: row.id,
                        side: mover.as_str(),
                        author: None,
                        event: asked,
                        text: None,
                        at: now,
                    },
                )
                .await?;
                return Ok(());
            }
        };
        let read_version = row.version;
        let mut next = state;
        let happened = next.apply(mover, mv, now)?;
        let agreed = next.status == Status::Agreed;
        row.status = next.status.as_str().to_string();
        row.state = Json(next);
        row.version += 1;
        row.updated_at = now;
        if agreed && load.status != "posted" {
            return Ok(());
        }
        if !store::update(tx, &row, read_version).await? {
            return Ok(()); // a person moved first; the agent answers what comes next
        }
        self.record_as_agent(tx, &row, mover, &happened, &reason, now)
            .await?;
        if agreed {
            self.close_others(tx, &row, now).await?;
        }
        Ok(())
    }
}
