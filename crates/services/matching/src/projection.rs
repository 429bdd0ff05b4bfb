//! Turning the loads service's events into projection changes, and the consumer that
//! applies them to the tables (and to this instance's in-memory board).

use std::sync::Weak;

use anyhow::Context;
use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::{EventHandler, Permanent};
use lanerunner_platform::service::EventListener;
use lanerunner_platform::Tx;
use uuid::Uuid;

use crate::domain::{LoadChange, TruckChange};
use crate::events::{
    LoadTerms, LoadUpdated, StatusChanged, TruckPosting, TruckRemoved, LOAD_POSTED,
    LOAD_STATUS_CHANGED, LOAD_UPDATED, TRUCK_POSTED, TRUCK_REMOVED,
};
use crate::service::Matching;

/// One event, read.
#[derive(Debug, Clone)]
pub enum Incoming {
    Load {
        id: Uuid,
        broker_org: Uuid,
        change: LoadChange,
    },
    Truck {
        id: Uuid,
        carrier_org: Uuid,
        change: TruckChange,
    },
}

/// Reads an event the projection follows; `Ok(None)` for any other topic. A malformed
/// payload is an error marked [`Permanent`]: no retry can make it parse, so the consumer
/// dead-letters it at once.
pub fn parse(event: &EventEnvelope) -> anyhow::Result<Option<Incoming>> {
    let org = || {
        event.org_id.map(|o| o.0).with_context(|| {
            format!(
                "{} event {} has no organization",
                event.event_type, event.id
            )
        })
    };
    let payload = || event.payload.clone();
    Ok(Some(if event.is(LOAD_POSTED) {
        let terms: LoadTerms = serde_json::from_value(payload()).context("load.posted payload")?;
        Incoming::Load {
            id: terms.id,
            broker_org: org()?,
            change: LoadChange::Posted(terms),
        }
    } else if event.is(LOAD_UPDATED) {
        let u: LoadUpdated = serde_json::from_value(payload()).context("load.updated payload")?;
        Incoming::Load {
            id: u.load.id,
            broker_org: org()?,
            change: LoadChange::Updated {
                version: u.version,
                status: u.status,
                terms: u.load,
            },
        }
    } else if event.is(LOAD_STATUS_CHANGED) {
        let s: StatusChanged =
            serde_json::from_value(payload()).context("load.status_changed payload")?;
        Incoming::Load {
            id: s.load_id,
            broker_org: org()?,
            change: LoadChange::StatusChanged {
                version: s.version,
                to: s.to,
            },
        }
    } else if event.is(TRUCK_POSTED) {
        let p: TruckPosting = serde_json::from_value(payload()).context("truck.posted payload")?;
        Incoming::Truck {
            id: p.id,
            carrier_org: p.carrier_org_id,
            change: TruckChange::Posted(p),
        }
    } else if event.is(TRUCK_REMOVED) {
        let r: TruckRemoved = serde_json::from_value(payload()).context("truck.removed payload")?;
        Incoming::Truck {
            id: r.truck_id,
            carrier_org: org()?,
            change: TruckChange::Removed,
        }
    } else {
        return Ok(None);
    }))
}

/// The consumer group `matching.projection`: one instance handles each event, writes the
/// tables, publishes suggestions for new loads and trucks, and updates its own board.
pub struct ProjectionConsumer(pub Weak<Matching>);

#[async_trait]
impl EventHandler for ProjectionConsumer {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(matching) = self.0.upgrade() else {
            anyhow::bail!("the matching service is shutting down");
        };
        let Some(incoming) = parse(event).map_err(Permanent::new)? else {
            return Ok(());
        };
        matching.project(tx, event, incoming).await
    }
}

/// The listener `matching.board`: every instance hears every event and applies it to its
/// board, so each instance's matches are current whichever instance consumed the event.
pub struct BoardListener(pub Weak<Matching>);

#[async_trait]
impl EventListener for BoardListener {
    async fn on_event(&self, event: &EventEnvelope) -> anyhow::Result<()> {
        let (Some(matching), Some(incoming)) = (self.0.upgrade(), parse(event)?) else {
            return Ok(());
        };
        matching.apply_to_board(incoming);
        Ok(())
    }

    async fn on_subscribed(&self) -> anyhow::Result<()> {
        if let Some(matching) = self.0.upgrade() {
            matching.resync().await?;
        }
        Ok(())
    }
}
