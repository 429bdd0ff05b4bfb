//! Tracking's flows: loads start tracking when booked; positions arrive from the driver's
//! link or a carrier's signed webhook, are checked, kept, and (when sound) moved through
//! the load's geofences under its row lock, with the stop events and a late-risk warning
//! published in the same transaction; broker and carrier read where the truck is, and the
//! shipper through a link.

use std::str::FromStr;

use axum::http::HeaderMap;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use lanerunner_core::{EventEnvelope, OrgId, Role};
use lanerunner_platform::bus::Permanent;
use lanerunner_platform::http::{Caller, Violations};
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::{Db, Tx};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::{self, Fences, Fix, Limits, StopFence, StopKind, TrackState, Transition};
use crate::error::{Result, TrackingError};
use crate::events::{self, LateRisk, StopEvent};
use crate::store::{self, LinkRow, PositionRow, TrackedRow};
mod providers;
pub use providers::{ProviderAccountInput, VehicleInput};

use crate::views::{
    LinkView, NewLinkView, Outcome, PositionView, SharedView, StopView, TrackingView,
};

/// How tracking judges positions and stops.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub fences: Fences,
    pub limits: Limits,
    /// Billed for each hour of detention, in cents.
    pub detention_cents_per_hour: i64,
    /// How long a shipper's link works unless asked otherwise.
    pub share_hours: i64,
    /// How old a signed webhook may be.
    pub webhook_tolerance_secs: i64,
    /// How long positions are kept after tracking ends (then deleted, for privacy).
    pub retention: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            fences: Fences::default(),
            limits: Limits::default(),
            detention_cents_per_hour: 5_000,
            share_hours: 7 * 24,
            webhook_tolerance_secs: 300,
            retention: Duration::days(30),
        }
    }
}

/// The positions stream: every applied position, keyed by load (one truck per load), so a
/// truck's positions stay in order in one partition for whoever reads them (analytics, a
/// replay after a fix to the geofences).
pub const POSITIONS_TOPIC: &str = "tracking.positions";

pub struct Tracking {
    db: Db,
    outbox: OutboxSignal,
    streams: std::sync::Arc<dyn lanerunner_platform::streams::Streams>,
    settings: Settings,
    public_url: String,
    /// Where devices publish directly (MQTT), when one is configured.
    devices: std::sync::OnceLock<std::sync::Arc<dyn crate::devices::DeviceGateway>>,
    /// The telematics providers carriers may connect (Motive).
    providers: Vec<std::sync::Arc<dyn crate::telematics::TelematicsProvider>>,
}

/// A position as a driver or a carrier's system sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    pub lat: f64,
    pub lon: f64,
    /// When it was taken; now when absent (a phone reporting live).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub speed_mph: Option<f64>,
}

/// A driver's check-in without a position fix: at the stop, gone from it, or delivered.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckIn {
    Arrived,
    Departed,
    Delivered,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInInput {
    pub event: CheckIn,
}

/// `POST /v1/tracking/webhooks/{org}`: positions from a carrier's own system.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBatch {
    pub load_id: Uuid,
    pub positions: Vec<PositionInput>,
}

pub const MAX_BATCH: usize = 500;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The driver reports positions and check-ins with it.
    Driver,
    /// The shipper watches the load.
    Share,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Driver => "driver",
            LinkKind::Share => "share",
        }
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The load status event a geofence transition makes, if any: arriving at the first
/// pickup, leaving the last one, arriving at the first delivery.
fn load_event(stops: &[StopFence], t: &Transition) -> Option<&'static str> {
    let first = |k: StopKind| stops.iter().position(|s| s.kind == k);
    let last_pickup = stops.iter().rposition(|s| s.kind == StopKind::Pickup);
    match *t {
        Transition::Arrived { stop, .. } if Some(stop) == first(StopKind::Pickup) => {
            Some("arrive_pickup")
        }
        Transition::Arrived { stop, .. } if Some(stop) == first(StopKind::Delivery) => {
            Some("arrive_delivery")
        }
        Transition::Departed { stop, .. } if Some(stop) == last_pickup => Some("depart_pickup"),
        _ => None,
    }
}

impl Tracking {
    pub fn new(
        db: Db,
        outbox: OutboxSignal,
        streams: std::sync::Arc<dyn lanerunner_platform::streams::Streams>,
        settings: Settings,
        public_url: String,
        providers: Vec<std::sync::Arc<dyn crate::telematics::TelematicsProvider>>,
    ) -> Self {
        Self {
            db,
            outbox,
            streams,
            settings,
            public_url: public_url.trim_end_matches('/').to_owned(),
            devices: std::sync::OnceLock::new(),
            providers,
        }
    }

    /// Connects the device gateway (once, at start-up).
    pub fn set_device_gateway(&self, g: std::sync::Arc<dyn crate::devices::DeviceGateway>) {
        let _ = self.devices.set(g);
    }

    /// The carrier's device account (owners and admins; the password is shown once).
    pub async fn device_credentials(
        &self,
        caller: &Caller,
    ) -> Result<crate::devices::DeviceCredentials> {
        if !caller.role.is_admin() {
            return Err(TrackingError::Forbidden(
                "owners and admins open device accounts",
            ));
        }
        let Some(g) = self.devices.get() else {
            return Err(TrackingError::Conflict {
                kind: "no-device-gateway",
                title: "No device gateway",
                detail: "This deployment takes no positions from devices directly (tracking.mqtt.url is not set): use the driver's link or the signed webhook.".into(),
            });
        };
        g.issue(caller.org.0)
            .await
            .map_err(|e| TrackingError::Internal(e.context("opening the device account")))
    }

    /// A position a carrier's device published (the gateway vouches for the carrier):
    /// applied only to a load that carrier hauls.
    pub async fn device_position(
        &self,
        carrier: Uuid,
        load: Uuid,
        p: &PositionInput,
    ) -> Result<Outcome> {
        let row = store::get_any(&self.db, load).await?;
        if row.as_ref().and_then(|r| r.carrier_org_id) != Some(carrier) {
            metrics::counter!("tracking_positions_total", "outcome" => "not_theirs").increment(1);
            tracing::warn!(carrier = %carrier, load_id = %load, "a device position for a load its carrier does not haul; refused");
            return Err(TrackingError::NotFound("tracked load"));
        }
        self.ingest(load, p, "mqtt").await
    }

    /// `load.booked.v1` starts tracking; delivery or cancellation ends it.
    pub async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> anyhow::Result<()> {
        if event.is(events::LOAD_BOOKED) {
            let b: events::LoadBooked =
                serde_json::from_value(event.payload.clone()).map_err(Permanent::new)?;
            let stops: Vec<StopFence> = b
                .load
                .stops
                .iter()
                .map(|s| StopFence {
                    kind: if s.kind == "delivery" {
                        StopKind::Delivery
                    } else {
                        StopKind::Pickup
                    },
                    label: s.location.label.clone(),
                    lat: s.location.lat,
                    lon: s.location.lon,
                    window_start: s.window.start,
                    window_end: s.window.end,
                    timezone: s.location.timezone.clone(),
                })
                .collect();
            let row = TrackedRow {
                load_id: b.load_id,
                broker_org_id: b.broker_org_id,
                carrier_org_id: b.carrier_org_id,
                reference: b.load.reference,
                state: serde_json::to_string(&TrackState::new(stops.len()))?,
                stops: serde_json::to_string(&stops)?,
                status: "active".into(),
                eta: None,
                delivered_at: None,
                updated_at: event.occurred_at,
                vehicle_provider: None,
                vehicle_ref: None,
            };
            store::track(tx, &row, event.occurred_at).await?;
        } else if event.is(events::LOAD_STATUS_CHANGED) {
            let s: events::StatusChanged =
                serde_json::from_value(event.payload.clone()).map_err(Permanent::new)?;
            let ended = match s.to.as_str() {
                "delivered" => "delivered",
                "cancelled" | "tonu" | "draft" | "posted" => "cancelled",
                _ => return Ok(()),
            };
            if store::lock(tx, s.load_id).await?.is_some() {
                store::end(tx, s.load_id, ended, event.occurred_at).await?;
            }
        }
        Ok(())
    }

    fn party(row: &TrackedRow, caller: &Caller) -> Option<&'static str> {
        if row.broker_org_id == caller.org.0 {
            Some("broker")
        } else if row.carrier_org_id == Some(caller.org.0) {
            Some("carrier")
        } else {
            None
        }
    }

    async fn tracked(&self, caller: &Caller, load: Uuid) -> Result<TrackedRow> {
        store::get(&self.db, caller.org, load)
            .await?
            .ok_or(TrackingError::NotFound("tracked load"))
    }

    /// A link for the load: `driver` (its broker or carrier: the driver reports positions
    /// with it, no account needed) until two days after the last stop's window, or `share`
    /// (its broker: the shipper watches the load) for `hours`.
    pub async fn create_link(
        &self,
        caller: &Caller,
        load: Uuid,
        kind: LinkKind,
        hours: Option<i64>,
    ) -> Result<NewLinkView> {
        if caller.role == Role::Viewer {
            return Err(TrackingError::Forbidden(
                "viewers cannot make tracking links",
            ));
        }
        let row = self.tracked(caller, load).await?;
        let party = Self::party(&row, caller).unwrap_or_default();
        let now = Utc::now();
        let expires_at = match kind {
            LinkKind::Driver => {
                let stops: Vec<StopFence> =
                    serde_json::from_str(&row.stops).map_err(anyhow::Error::from)?;
                let end = stops.iter().map(|s| s.window_end).max().unwrap_or(now);
                end.max(now) + Duration::days(2)
            }
            LinkKind::Share => {
                if party != "broker" {
                    return Err(TrackingError::Forbidden(
                        "the load's broker shares its tracking",
                    ));
                }
                let h = hours.unwrap_or(self.settings.share_hours);
                if !(1..=30 * 24).contains(&h) {
                    let mut v = Violations::default();
                    v.add("hours", "must be 1 to 720");
                    v.into_result(())?;
                }
                now + Duration::hours(h)
            }
        };
        if row.status != "active" && kind == LinkKind::Driver {
            return Err(TrackingError::Conflict {
                kind: "tracking-ended",
                title: "Tracking has ended",
                detail: format!("Load {} is {}.", row.reference, row.status),
            });
        }
        let token = new_token();
        let link = LinkRow {
            id: Uuid::now_v7(),
            load_id: load,
            org_id: caller.org.0,
            kind: kind.as_str().into(),
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        store::put_link(&self.db, &link, &sha256_hex(&token), caller.actor_id()).await?;
        // The console's pages: the driver's phone reports from one, the shipper watches
        // the other (both call the token's API routes).
        let url = match kind {
            LinkKind::Driver => format!("{}/#/driver?t={token}", self.public_url),
            LinkKind::Share => format!("{}/#/track?t={token}", self.public_url),
        };
        Ok(NewLinkView {
            id: link.id,
            kind: link.kind,
            token,
            url,
            expires_at,
        })
    }

    pub async fn links(&self, caller: &Caller, load: Uuid) -> Result<Vec<LinkView>> {
        self.tracked(caller, load).await?;
        Ok(store::links(&self.db, caller.org, load)
            .await?
            .into_iter()
            .map(|l| LinkView {
                id: l.id,
                kind: l.kind,
                created_at: l.created_at,
                expires_at: l.expires_at,
                revoked_at: l.revoked_at,
            })
            .collect())
    }

    pub async fn revoke_link(&self, caller: &Caller, load: Uuid, id: Uuid) -> Result<()> {
        self.tracked(caller, load).await?;
        if !store::revoke(&self.db, caller.org, id, Utc::now()).await? {
            return Err(TrackingError::NotFound("tracking link"));
        }
        Ok(())
    }

    /// The link a token opens, if it still works and is of `kind`.
    async fn link(&self, token: &str, kind: &str) -> Result<LinkRow> {
        let link = store::link_by_token(&self.db, &sha256_hex(token))
            .await?
            .filter(|l| l.kind == kind)
            .ok_or(TrackingError::NotFound("tracking link"))?;
        if link.revoked_at.is_some() {
            return Err(TrackingError::Gone("this tracking link was revoked"));
        }
        if link.expires_at <= Utc::now() {
            return Err(TrackingError::Gone("this tracking link has expired"));
        }
        Ok(link)
    }

    /// A position from the driver's link.
    pub async fn driver_position(&self, token: &str, p: PositionInput) -> Result<Outcome> {
        let link = self.link(token, "driver").await?;
        self.ingest(link.load_id, &p, "driver").await
    }

    /// A driver's check-in: arrived, departed, or delivered (which the load's status needs:
    /// leaving the delivery fence is not delivery).
    pub async fn driver_check_in(&self, token: &str, c: CheckIn) -> Result<Outcome> {
        let link = self.link(token, "driver").await?;
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let row = self.active(&mut tx, link.load_id).await?;
        let stops: Vec<StopFence> =
            serde_json::from_str(&row.stops).map_err(anyhow::Error::from)?;
        let mut state: TrackState =
            serde_json::from_str(&row.state).map_err(anyhow::Error::from)?;
        let transitions = match c {
            CheckIn::Arrived => state.check_in_arrived(stops.len(), now),
            CheckIn::Departed => state.check_in_departed(stops.len(), now),
            CheckIn::Delivered => {
                let at_delivery = state.at_last_stop(stops.len())
                    && stops.last().is_some_and(|s| s.kind == StopKind::Delivery);
                if !at_delivery {
                    return Err(TrackingError::Conflict {
                        kind: "not-at-delivery",
                        title: "Not at the delivery",
                        detail: "Delivery is confirmed at the delivery stop: check in as arrived there first.".into(),
                    });
                }
                Vec::new()
            }
        };
        let mut fired: Vec<String> = Vec::new();
        for t in &transitions {
            if let Some(e) = load_event(&stops, t) {
                fired.push(e.into());
            }
        }
        if matches!(c, CheckIn::Delivered) {
            fired.push("deliver".into());
        }
        for e in &fired {
            self.publish(&mut tx, &row, e, now, "driver").await?;
        }
        store::save(
            &mut tx,
            row.load_id,
            &serde_json::to_string(&state).map_err(anyhow::Error::from)?,
            row.eta.as_deref(),
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox.committed();
        Ok(Outcome {
            outcome: "applied",
            refusal: None,
            detail: None,
            events: fired,
            eta: None,
        })
    }

    async fn active(&self, tx: &mut Tx, load: Uuid) -> Result<TrackedRow> {
        let row = store::lock(tx, load)
            .await?
            .ok_or(TrackingError::NotFound("tracked load"))?;
        if row.status != "active" {
            return Err(TrackingError::Conflict {
                kind: "tracking-ended",
                title: "Tracking has ended",
                detail: format!(
                    "Load {} is {}: positions are no longer taken.",
                    row.reference, row.status
                ),
            });
        }
        Ok(row)
    }

    async fn publish(
        &self,
        tx: &mut Tx,
        row: &TrackedRow,
        event: &str,
        at: DateTime<Utc>,
        source: &str,
    ) -> Result<()> {
        let e = StopEvent {
            load_id: row.load_id,
            broker_org_id: row.broker_org_id,
            event: event.into(),
            at,
            source: source.into(),
        };
        let env = EventEnvelope::new(
            events::STOP_EVENT,
            Some(OrgId(row.broker_org_id)),
            row.load_id,
            &e,
        )
        .map_err(anyhow::Error::from)?;
        outbox::enqueue(tx, &env).await?;
        metrics::counter!("tracking_stop_events_total", "event" => event.to_owned()).increment(1);
        Ok(())
    }

    /// Checks a position, keeps it, and applies it when it is sound, under the load's row
    /// lock: the geofences move, the ETA to the next stop is recomputed, and the stop
    /// events and a late-risk warning (once per stop) go out in the same transaction.
    pub async fn ingest(&self, load: Uuid, p: &PositionInput, source: &str) -> Result<Outcome> {
        let now = Utc::now();
        let fix = Fix {
            lat: p.lat,
            lon: p.lon,
            at: p.at.unwrap_or(now),
            speed_mph: p.speed_mph,
        };
        let mut tx = self.db.begin().await?;
        let row = self.active(&mut tx, load).await?;
        let stops: Vec<StopFence> =
            serde_json::from_str(&row.stops).map_err(anyhow::Error::from)?;
        let mut state: TrackState =
            serde_json::from_str(&row.state).map_err(anyhow::Error::from)?;
        let checked =
            domain::position::check(&fix, state.last.as_ref(), now, &self.settings.limits);
        // Non-finite numbers cannot be stored: such a position is kept at (0, 0) with its
        // reason.
        let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
        let position = PositionRow {
            id: Uuid::now_v7(),
            load_id: load,
            at: fix.at,
            lat: finite(fix.lat),
            lon: finite(fix.lon),
            speed_mph: fix.speed_mph.filter(|s| s.is_finite()),
            source: source.into(),
            received_at: now,
            refusal: checked.as_ref().err().map(|r| r.code().to_owned()),
            detail: checked.as_ref().err().map(domain::Refusal::describe),
        };
        store::put_position(&mut tx, &position).await?;
        if let Err(refusal) = checked {
            tx.commit().await?;
            metrics::counter!("tracking_positions_total", "outcome" => "quarantined").increment(1);
            tracing::info!(load_id = %load, source, reason = refusal.code(), "a position was quarantined");
            return Ok(Outcome {
                outcome: "quarantined",
                refusal: Some(refusal.code().into()),
                detail: Some(refusal.describe()),
                events: Vec::new(),
                eta: None,
            });
        }
        let transitions = state.apply(&stops, &fix, &self.settings.fences);
        let mut fired = Vec::new();
        for t in &transitions {
            if let Some(e) = load_event(&stops, t) {
                self.publish(&mut tx, &row, e, fix.at, source).await?;
                fired.push(e.to_owned());
            }
        }
        let eta = self.eta_of(&stops, &state, now);
        if let Some(e) = &eta {
            let next = state.current;
            if e.late && !state.late_told.contains(&next) {
                state.late_told.push(next);
                let risk = LateRisk {
                    load_id: row.load_id,
                    broker_org_id: row.broker_org_id,
                    carrier_org_id: row.carrier_org_id,
                    reference: row.reference.clone(),
                    stop: stops[next].label.clone(),
                    eta: e.at,
                    window_end: stops[next].window_end,
                };
                let env = EventEnvelope::new(
                    events::LATE_RISK,
                    Some(OrgId(row.broker_org_id)),
                    row.load_id,
                    &risk,
                )
                .map_err(anyhow::Error::from)?;
                outbox::enqueue(&mut tx, &env).await?;
                metrics::counter!("tracking_late_risks_total").increment(1);
            }
        }
        // The live views of both parties follow the truck.
        let update = events::Updated {
            load_id: row.load_id,
            reference: row.reference.clone(),
            lat: fix.lat,
            lon: fix.lon,
            at: fix.at,
            next_stop: stops.get(state.current).map(|s| s.label.clone()),
            inside_fence: state.inside,
            eta: eta.as_ref().map(|e| e.at),
            late: eta.as_ref().is_some_and(|e| e.late),
        };
        for org in std::iter::once(row.broker_org_id).chain(row.carrier_org_id) {
            let env = EventEnvelope::new(events::UPDATED, Some(OrgId(org)), row.load_id, &update)
                .map_err(anyhow::Error::from)?;
            outbox::enqueue(&mut tx, &env).await?;
        }
        let eta_json = eta
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(anyhow::Error::from)?;
        store::save(
            &mut tx,
            load,
            &serde_json::to_string(&state).map_err(anyhow::Error::from)?,
            eta_json.as_deref(),
            now,
        )
        .await?;
        tx.commit().await?;
        self.outbox.committed();
        metrics::counter!("tracking_positions_total", "outcome" => "applied").increment(1);
        // After the commit: the stream carries what was applied. A stream that is down
        // loses no position (the store has it) and is logged.
        let record = serde_json::json!({
            "load_id": load, "lat": fix.lat, "lon": fix.lon, "at": fix.at,
            "speed_mph": fix.speed_mph, "source": source,
        });
        if let Err(e) = self
            .streams
            .publish(
                POSITIONS_TOPIC,
                load.as_bytes(),
                record.to_string().as_bytes(),
            )
            .await
        {
            tracing::warn!(load_id = %load, error = %e, "a position was not appended to the positions stream");
        }
        Ok(Outcome {
            outcome: "applied",
            refusal: None,
            detail: None,
            events: fired,
            eta,
        })
    }

    /// The ETA to the stop being approached (none while at it, or past the last).
    fn eta_of(
        &self,
        stops: &[StopFence],
        state: &TrackState,
        now: DateTime<Utc>,
    ) -> Option<domain::Eta> {
        let last = state.last?;
        if state.inside {
            return None;
        }
        let next = stops.get(state.current)?;
        let tz = chrono_tz::Tz::from_str(&next.timezone).unwrap_or(chrono_tz::UTC);
        Some(domain::eta::eta(
            last.point(),
            last.at,
            now,
            next.point(),
            tz,
            next.window_end,
            state.hours,
        ))
    }

    /// Positions from a carrier's own system, signed with its secret (the Standard
    /// Webhooks scheme: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
    /// HMAC-SHA256 of "{id}.{timestamp}.{body}">`), checked before the body is read. Only
    /// the load's carrier reports its positions.
    pub async fn webhook(
        &self,
        org: Uuid,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Vec<Outcome>> {
        let secret = store::secret(&self.db, org).await?.ok_or_else(|| {
            TrackingError::WebhookRejected("no webhook secret is set for this organization".into())
        })?;
        verify_signature(
            headers,
            body,
            &secret,
            Utc::now(),
            self.settings.webhook_tolerance_secs,
        )
        .map_err(|e| {
            tracing::warn!(org = %org, error = %e, "a tracking webhook was refused");
            TrackingError::WebhookRejected(e)
        })?;
        let batch: WebhookBatch = serde_json::from_slice(body).map_err(|e| {
            TrackingError::WebhookRejected(format!("the body is not a batch of positions: {e}"))
        })?;
        if batch.positions.is_empty() || batch.positions.len() > MAX_BATCH {
            let mut v = Violations::default();
            v.add("positions", format!("must hold 1 to {MAX_BATCH} positions"));
            v.into_result(())?;
        }
        let row = store::get_any(&self.db, batch.load_id)
            .await?
            .filter(|r| r.carrier_org_id == Some(org))
            .ok_or(TrackingError::NotFound("tracked load"))?;
        let mut out = Vec::with_capacity(batch.positions.len());
        for p in &batch.positions {
            out.push(self.ingest(row.load_id, p, "webhook").await?);
        }
        Ok(out)
    }

    /// Makes (or replaces) the organization's webhook secret; shown this once.
    pub async fn rotate_secret(&self, caller: &Caller) -> Result<String> {
        if !caller.role.is_admin() {
            return Err(TrackingError::Forbidden(
                "owners and admins set the webhook secret",
            ));
        }
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode({
                let mut b = [0u8; 24];
                rand::rngs::OsRng.fill_bytes(&mut b);
                b
            })
        );
        store::put_secret(&self.db, caller.org, &secret, Utc::now()).await?;
        Ok(secret)
    }

    pub async fn view(&self, caller: &Caller, load: Uuid) -> Result<TrackingView> {
        let row = self.tracked(caller, load).await?;
        let positions = store::positions(&self.db, load, 50).await?;
        self.view_of(&row, &positions)
    }

    pub async fn positions(
        &self,
        caller: &Caller,
        load: Uuid,
        limit: i64,
    ) -> Result<Vec<PositionView>> {
        self.tracked(caller, load).await?;
        Ok(store::positions(&self.db, load, limit.clamp(1, 500))
            .await?
            .into_iter()
            .map(position_view)
            .collect())
    }

    fn view_of(&self, row: &TrackedRow, positions: &[PositionRow]) -> Result<TrackingView> {
        let stops: Vec<StopFence> =
            serde_json::from_str(&row.stops).map_err(anyhow::Error::from)?;
        let state: TrackState = serde_json::from_str(&row.state).map_err(anyhow::Error::from)?;
        let now = Utc::now();
        let until = row.delivered_at.unwrap_or(now);
        let f = &self.settings.fences;
        Ok(TrackingView {
            load_id: row.load_id,
            reference: row.reference.clone(),
            status: row.status.clone(),
            last_position: positions
                .iter()
                .find(|p| p.refusal.is_none())
                .cloned()
                .map(position_view),
            stops: stops
                .iter()
                .zip(state.visits.iter())
                .map(|(s, v)| {
                    let dwell = domain::geofence::dwell(s, v, until, f);
                    StopView {
                        kind: s.kind,
                        label: s.label.clone(),
                        lat: s.lat,
                        lon: s.lon,
                        window_start: s.window_start,
                        window_end: s.window_end,
                        arrived_at: v.arrived_at,
                        departed_at: v.departed_at,
                        missed: v.missed,
                        detention_cents: dwell.map_or(0, |d| {
                            d.detention_minutes * self.settings.detention_cents_per_hour / 60
                        }),
                        dwell,
                    }
                })
                .collect(),
            next_stop: (state.current < stops.len()).then_some(state.current),
            inside_fence: state.inside,
            eta: row
                .eta
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok()),
            driving_hours: (state.hours.driving_hours * 100.0).round() / 100.0,
            vehicle: row
                .vehicle_provider
                .clone()
                .zip(row.vehicle_ref.clone())
                .map(|(provider, vehicle_id)| crate::views::VehicleView {
                    provider,
                    vehicle_id,
                }),
            updated_at: row.updated_at,
        })
    }

    /// Deletes the positions of loads whose tracking ended more than the retention ago
    /// (and the last position in their state); when each stop was reached is kept. The
    /// loads purged.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize> {
        let due = store::to_purge(&self.db, now - self.settings.retention, 200).await?;
        for load in &due {
            let mut tx = self.db.begin().await?;
            let Some(row) = store::lock(&mut tx, *load).await? else {
                continue;
            };
            let mut state: TrackState =
                serde_json::from_str(&row.state).map_err(anyhow::Error::from)?;
            state.last = None;
            let deleted = store::purge(
                &mut tx,
                *load,
                &serde_json::to_string(&state).map_err(anyhow::Error::from)?,
                now,
            )
            .await?;
            tx.commit().await?;
            metrics::counter!("tracking_positions_purged_total").increment(deleted);
        }
        Ok(due.len())
    }

    /// A carrier's tracking score over its loads delivered in the last `days`: anyone
    /// choosing a carrier may read it, as they read its standing.
    pub async fn score(&self, carrier: Uuid, days: i64) -> Result<domain::score::Score> {
        if !(1..=365).contains(&days) {
            let mut v = Violations::default();
            v.add("days", "must be 1 to 365");
            v.into_result(())?;
        }
        let rows = store::delivered_by(&self.db, carrier, Utc::now() - Duration::days(days), 5_000)
            .await?;
        let parsed: Vec<(Vec<StopFence>, TrackState)> = rows
            .iter()
            .filter_map(|r| {
                Some((
                    serde_json::from_str(&r.stops).ok()?,
                    serde_json::from_str(&r.state).ok()?,
                ))
            })
            .collect();
        Ok(domain::score::score(
            parsed.iter().map(|(s, t)| (s.as_slice(), t)),
        ))
    }

    /// What a share link shows.
    pub async fn shared(&self, token: &str) -> Result<SharedView> {
        let link = self.link(token, "share").await?;
        let row = store::get_any(&self.db, link.load_id)
            .await?
            .ok_or(TrackingError::NotFound("tracked load"))?;
        let positions = store::positions(&self.db, link.load_id, 50).await?;
        let v = self.view_of(&row, &positions)?;
        Ok(SharedView {
            reference: v.reference,
            status: v.status,
            lat: v.last_position.as_ref().map(|p| p.lat),
            lon: v.last_position.as_ref().map(|p| p.lon),
            position_at: v.last_position.as_ref().map(|p| p.at),
            next_stop: v.next_stop.map(|i| v.stops[i].label.clone()),
            late: v.eta.as_ref().is_some_and(|e| e.late),
            eta: v.eta.map(|e| e.at),
            expires_at: link.expires_at,
        })
    }
}

fn position_view(p: PositionRow) -> PositionView {
    PositionView {
        lat: p.lat,
        lon: p.lon,
        at: p.at,
        speed_mph: p.speed_mph,
        source: p.source,
        received_at: p.received_at,
        refusal: p.refusal,
        detail: p.detail,
    }
}

/// The Standard Webhooks signature (<https://www.standardwebhooks.com/>): the secret's
/// bytes (after `whsec_`, base64) key an HMAC-SHA256 of `"{id}.{timestamp}.{body}"`; the
/// header lists `v1,<base64>` signatures separated by spaces; the timestamp must be within
/// the tolerance of now.
pub fn verify_signature(
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> std::result::Result<(), String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("no {name} header"))
    };
    let id = header("webhook-id")?;
    let ts = header("webhook-timestamp")?;
    let sigs = header("webhook-signature")?;
    let t: i64 = ts
        .parse()
        .map_err(|_| "webhook-timestamp is not a number".to_string())?;
    if (now.timestamp() - t).abs() > tolerance_secs {
        return Err(format!(
            "the signature is {} s from now; at most {tolerance_secs} s is accepted",
            now.timestamp() - t
        ));
    }
    let expected = sign(id, t, body, secret);
    let ok = sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| subtle::ConstantTimeEq::ct_eq(s.as_bytes(), expected.as_bytes()).into());
    if ok {
        Ok(())
    } else {
        Err("the signature does not match the body under the organization's secret".into())
    }
}

/// The `webhook-signature` value (without `v1,`) for a body: what a carrier's system sends.
pub fn sign(id: &str, timestamp: i64, body: &[u8], secret: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut m = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    m.update(id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}
