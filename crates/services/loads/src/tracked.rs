//! A load's status from where its truck is: the consumer group `loads.tracked` takes
//! `tracking.stop_event.v1` (the pickup's geofence entered or left, the delivery's entered,
//! delivery confirmed by the driver) and moves the load along its lifecycle, in the
//! transaction that records the event as processed, with the same history and events as a
//! broker's own change. Steps the truck skipped (no dispatch recorded before it reached
//! the pickup, a departure whose arrival was missed) are taken on the way; a load already
//! there or beyond, or off the road (cancelled), is left as it is.

use std::sync::Weak;

use async_trait::async_trait;
use lanerunner_core::{EventEnvelope, LoadId, OrgId};
use lanerunner_platform::bus::{EventHandler, Permanent};
use lanerunner_platform::Tx;

use crate::domain::{LoadEvent, LoadStatus};
use crate::events::StopEvent;
use crate::lifecycle::Actor;
use crate::service::Loads;
use crate::store;

pub const GROUP: &str = "loads.tracked";

/// The road from covered to delivered, each step with the event that takes it.
const ROAD: [(LoadStatus, LoadEvent); 5] = [
    (LoadStatus::Covered, LoadEvent::Dispatch),
    (LoadStatus::Dispatched, LoadEvent::ArrivePickup),
    (LoadStatus::AtPickup, LoadEvent::DepartPickup),
    (LoadStatus::InTransit, LoadEvent::ArriveDelivery),
    (LoadStatus::AtDelivery, LoadEvent::Deliver),
];

/// The events that take a load from `from` through `target`; empty when it is there,
/// beyond, or off the road.
pub fn steps(from: LoadStatus, target: LoadEvent) -> Vec<LoadEvent> {
    let Some(start) = ROAD.iter().position(|(s, _)| *s == from) else {
        return Vec::new();
    };
    let Some(end) = ROAD.iter().position(|(_, e)| *e == target) else {
        return Vec::new();
    };
    if end < start {
        return Vec::new();
    }
    ROAD[start..=end].iter().map(|(_, e)| *e).collect()
}

pub struct TrackedLoads(pub Weak<Loads>);

#[async_trait]
impl EventHandler for TrackedLoads {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(loads) = self.0.upgrade() else {
            anyhow::bail!("the loads service is shutting down");
        };
        let e: StopEvent = serde_json::from_value(event.payload.clone()).map_err(Permanent::new)?;
        let Some(target) = LoadEvent::ALL
            .iter()
            .copied()
            .find(|x| x.as_str() == e.event)
        else {
            return Err(
                Permanent::new(anyhow::anyhow!("an unknown stop event {}", e.event)).into(),
            );
        };
        let (org, id) = (OrgId(e.broker_org_id), LoadId(e.load_id));
        let Some(mut row) = store::get_load_tx(tx, org, id).await? else {
            tracing::warn!(load_id = %e.load_id, "a stop event for a load its broker does not have");
            return Ok(());
        };
        let path = steps(row.status, target);
        if path.is_empty() {
            tracing::info!(load_id = %e.load_id, status = row.status.as_str(), event = %e.event, "a stop event for a load already there or off the road; left as it is");
            return Ok(());
        }
        let reason = format!(
            "reported by tracking ({}) at {}",
            e.source,
            e.at.to_rfc3339()
        );
        for step in path {
            row = loads
                .transition(tx, row, step, Actor::SYSTEM, Some(&reason), None)
                .await
                .map_err(|err| anyhow::anyhow!(err))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_on_the_way_are_taken_and_nothing_goes_back() {
        use LoadEvent as E;
        use LoadStatus as S;
        assert_eq!(
            steps(S::Covered, E::ArrivePickup),
            [E::Dispatch, E::ArrivePickup]
        );
        assert_eq!(
            steps(S::AtPickup, E::ArriveDelivery),
            [E::DepartPickup, E::ArriveDelivery]
        );
        assert_eq!(steps(S::AtDelivery, E::Deliver), [E::Deliver]);
        assert!(steps(S::InTransit, E::ArrivePickup).is_empty());
        assert!(steps(
            S::Cancelled {
                truck_ordered_not_used: false
            },
            E::ArrivePickup
        )
        .is_empty());
        assert!(steps(S::Delivered, E::Deliver).is_empty());
    }
}
