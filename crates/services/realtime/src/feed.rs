//! Which domain events reach sockets, and in what shape.

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_core::{EventEnvelope, Resource};
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::Tx;
use serde_json::json;

use lanerunner_platform::fanout::{Fanout, Push};

/// Events a client of the event's organization is told about, each with the resource whose
/// read scope a socket must hold to hear it.
pub const FEED: &[(&str, Resource)] = &[
    ("load.posted.v1", Resource::Loads),
    ("load.updated.v1", Resource::Loads),
    ("load.status_changed.v1", Resource::Loads),
    ("truck.posted.v1", Resource::Trucks),
    ("truck.removed.v1", Resource::Trucks),
    ("search.alert.v1", Resource::Loads),
    ("match.suggested.v1", Resource::Matching),
    ("negotiation.updated.v1", Resource::Negotiations),
    ("carrier.standing.v1", Resource::Carriers),
    ("chat.message.v1", Resource::Chat),
    ("chat.read.v1", Resource::Chat),
    ("tracking.updated.v1", Resource::Tracking),
    ("tracking.stop_event.v1", Resource::Tracking),
    ("tracking.late_risk.v1", Resource::Tracking),
    // Addressed to one person (`payload.to_users`).
    ("notification.created.v1", Resource::Notifications),
    (BOARD_REMOVED, Resource::Loads),
];

/// Not a bus event but the board's news made from one: a public load left `posted`
/// (booked, covered, cancelled, unposted or expired), so every board showing it drops it.
pub const BOARD_REMOVED: &str = "board.load_removed";

/// The resource an event delivered to sockets belongs to; `None` for anything not in
/// [`FEED`] (never delivered).
pub fn resource_of(event_type: &str) -> Option<Resource> {
    FEED.iter().find(|(t, _)| *t == event_type).map(|(_, r)| *r)
}

/// The socket message for an event: its type, identity, time and payload (payloads of
/// these events are already what their organization may see).
pub fn message(event: &EventEnvelope) -> serde_json::Value {
    json!({
        "type": event.event_type,
        "id": event.id,
        "aggregate_id": event.aggregate_id,
        "occurred_at": event.occurred_at,
        "payload": event.payload,
    })
}

/// The `realtime.fanout` consumer: publishes each event to its organization's channel.
pub struct ToFanout(pub Arc<dyn Fanout>);

#[async_trait]
impl EventHandler for ToFanout {
    async fn handle(&self, event: &EventEnvelope, _tx: &mut Tx) -> anyhow::Result<()> {
        // Events without an organization concern no socket.
        let Some(org) = event.org_id else {
            return Ok(());
        };
        // A public load's posting is the board's news: every organization's sockets that
        // read loads hear it (its payload is the public view carriers search).
        let public_posting =
            event.event_type == "load.posted.v1" && event.payload["visibility"] == "public";
        let push = Push {
            org_id: (!public_posting).then_some(org),
            message: message(event),
        };
        self.0.publish(&push).await?;
        metrics::counter!("realtime_pushed_total", "backend" => self.0.backend()).increment(1);
        if let Some(removed) = board_removal(event) {
            self.0.publish(&removed).await?;
            metrics::counter!("realtime_pushed_total", "backend" => self.0.backend()).increment(1);
        }
        Ok(())
    }
}

/// For every organization, when a public load leaves the board: only its id and new status
/// (the status change itself, with its actor and reason, stays the broker's).
fn board_removal(event: &EventEnvelope) -> Option<Push> {
    let p = &event.payload;
    let left_board = event.event_type == "load.status_changed.v1"
        && p["from"] == "posted"
        && p["to"] != "posted"
        && p["visibility"] == "public";
    left_board.then(|| Push {
        org_id: None,
        message: json!({
            "type": BOARD_REMOVED,
            "id": event.id,
            "aggregate_id": event.aggregate_id,
            "occurred_at": event.occurred_at,
            "payload": { "load_id": p["load_id"], "status": p["to"] },
        }),
    })
}
