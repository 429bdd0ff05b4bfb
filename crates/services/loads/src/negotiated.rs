//! Covering a load at a rate agreed in the negotiation service: the consumer group
//! `loads.negotiated` takes `negotiation.agreed.v1` and covers the load for that carrier at
//! that total, in the transaction that records the event as processed (so once), with
//! the same history record and events as a broker's own cover.
//!
//! The negotiation service lets one agreement per load stand, but the broker may have
//! covered, unposted or cancelled the load in the moment before it arrived: then the load
//! is left as it is and the conflict is logged for the broker's desk.

use std::sync::Weak;

use async_trait::async_trait;
use lanerunner_core::{EventEnvelope, LoadId, OrgId};
use lanerunner_platform::bus::{EventHandler, Permanent};
use lanerunner_platform::Tx;

use crate::domain::{Booking, LoadEvent, LoadStatus};
use crate::events::NegotiationAgreed;
use crate::lifecycle::{stored_now, Actor};
use crate::service::Loads;
use crate::store;

pub const GROUP: &str = "loads.negotiated";

pub struct NegotiatedBookings(pub Weak<Loads>);

#[async_trait]
impl EventHandler for NegotiatedBookings {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(loads) = self.0.upgrade() else {
            anyhow::bail!("the loads service is shutting down");
        };
        let agreed: NegotiationAgreed =
            serde_json::from_value(event.payload.clone()).map_err(Permanent::new)?;
        let (org, id) = (OrgId(agreed.broker_org_id), LoadId(agreed.load_id));
        let Some(row) = store::get_load_tx(tx, org, id).await? else {
            return Err(Permanent::new(anyhow::anyhow!(
                "negotiation {} agreed on load {} that its broker does not have",
                agreed.negotiation_id,
                agreed.load_id
            ))
            .into());
        };
        if row.status != LoadStatus::Posted {
            tracing::warn!(load_id = %agreed.load_id, negotiation_id = %agreed.negotiation_id, status = row.status.as_str(), "a rate was agreed on a load that is no longer posted; the load is left as it is");
            return Ok(());
        }
        let booking = Booking {
            carrier_org_id: Some(OrgId(agreed.carrier_org_id)),
            rate_cents: Some(agreed.total_cents),
            booked_at: stored_now(),
        };
        let reason = format!("rate agreed in negotiation {}", agreed.negotiation_id);
        loads
            .transition(
                tx,
                row,
                LoadEvent::Cover,
                Actor::SYSTEM,
                Some(&reason),
                Some(booking),
            )
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        Ok(())
    }
}
