//! The webhooks service's flows: endpoints and their secrets, turning events into
//! deliveries, sending them, and the delivery log with its replays.
//!
//! Delivery is at least once. An event becomes one message and one delivery per
//! subscribed endpoint in the consumer's transaction, so an accepted event is never lost; a
//! dispatcher leases due deliveries, POSTs each signed, and records the outcome while it
//! still holds the lease. A receiver deduplicates by `webhook-id`; the only way it hears an
//! acknowledged message twice is a crash (or a lost database) between its answer and the
//! record of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lanerunner_core::{EventEnvelope, OrgId};
use lanerunner_platform::http::Caller;
use lanerunner_platform::{Db, Tx};
use rand::Rng;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use crate::domain::{self, DeliveryStatus, EndpointInput, RetryPolicy, TEST_EVENT};
use crate::error::{Result, WebhooksError};
use crate::sender::{Outgoing, SendError, Sender};
use crate::signature::{self, Secret};
use crate::store::{self, Claimed, DeliveryRow, EndpointRow, MessageRow};
use crate::views::{
    AttemptView, CreatedEndpoint, DeliveryCounts, DeliveryDetail, DeliveryView, EndpointView,
    EventTypeView, RecoverView, SecretView,
};

#[derive(Debug, Clone)]
pub struct Settings {
    pub retry: RetryPolicy,
    /// How long a receiver has to answer (Svix: 15 s).
    pub timeout: Duration,
    /// Deliveries in flight at once, per instance.
    pub concurrency: usize,
    /// How often an idle dispatcher looks for due deliveries.
    pub poll_every: Duration,
    /// How long settled deliveries stay in the log.
    pub retention: chrono::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(15),
            concurrency: 64,
            poll_every: Duration::from_millis(250),
            retention: chrono::Duration::days(30),
        }
    }
}

/// The overlap a rotation gives when none is asked for, and the longest it may give.
const DEFAULT_OVERLAP_HOURS: i64 = 24;
const MAX_OVERLAP_HOURS: i64 = 168;

pub struct Webhooks {
    db: Db,
    sender: Arc<dyn Sender>,
    settings: Settings,
    wake: Arc<Notify>,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Webhooks {
    pub fn new(db: Db, sender: Arc<dyn Sender>, settings: Settings) -> Self {
        Self {
            db,
            sender,
            settings,
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    // ---- events ----

    /// One consumed event, in the transaction that records it as processed: a message and
    /// a delivery for each of its organization's enabled endpoints that want it.
    pub async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> anyhow::Result<()> {
        let Some(org) = event.org_id else {
            return Ok(());
        };
        if !domain::in_catalog(&event.event_type) {
            return Ok(());
        }
        let wanted: Vec<Uuid> = store::enabled_endpoints(tx, org.0)
            .await?
            .into_iter()
            .filter(|(_, types)| domain::wants(&parse_types(types), &event.event_type))
            .map(|(id, _)| id)
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let message = MessageRow {
            id: event.id,
            org_id: org.0,
            event_type: event.event_type.clone(),
            aggregate_id: event.aggregate_id,
            occurred_at: event.occurred_at,
            body: domain::body(event),
        };
        self.queue(tx, &message, &wanted).await?;
        Ok(())
    }

    async fn queue(
        &self,
        tx: &mut Tx,
        message: &MessageRow,
        endpoints: &[Uuid],
    ) -> Result<Vec<DeliveryRow>> {
        store::insert_message(tx, message).await?;
        let now = Utc::now();
        let mut queued = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let row = DeliveryRow {
                id: Uuid::now_v7(),
                org_id: message.org_id,
                endpoint_id: *endpoint,
                message_id: message.id,
                aggregate_id: message.aggregate_id,
                event_type: message.event_type.clone(),
                status: DeliveryStatus::Pending.as_str().into(),
                attempts: 0,
                next_attempt_ms: now.timestamp_millis(),
                last_status: None,
                last_error: None,
                created_at: now,
                delivered_at: None,
            };
            if store::insert_delivery(tx, &row).await? {
                queued.push(row);
            }
        }
        // Before the commit: the dispatcher looks again shortly after a wake that found
        // nothing, by when this transaction has committed.
        self.wake.notify_one();
        metrics::counter!("webhooks_queued_total").increment(queued.len() as u64);
        Ok(queued)
    }

    // ---- endpoints ----

    pub fn event_types(&self) -> Vec<EventTypeView> {
        domain::CATALOG
            .iter()
            .map(|(t, d)| EventTypeView {
                event_type: (*t).into(),
                description: (*d).into(),
            })
            .collect()
    }

    pub async fn create(&self, caller: &Caller, input: EndpointInput) -> Result<CreatedEndpoint> {
        let spec = input.validate()?;
        let now = Utc::now();
        let secret = Secret::generate().expose();
        let row = EndpointRow {
            id: Uuid::now_v7(),
            org_id: caller.org.0,
            url: spec.url,
            description: spec.description,
            event_types: serde_json::to_string(&spec.event_types).map_err(anyhow::Error::from)?,
            disabled: spec.disabled,
            secret: secret.clone(),
            previous_secret: None,
            previous_expires_at: None,
            created_by: caller.actor_id(),
            created_at: now,
            updated_at: now,
        };
        store::insert_endpoint(&self.db, &row).await?;
        tracing::info!(org_id = %row.org_id, endpoint_id = %row.id, "webhook endpoint created");
        Ok(CreatedEndpoint {
            endpoint: EndpointView::new(&row, DeliveryCounts::default(), now),
            secret,
        })
    }

    pub async fn endpoints(
        &self,
        caller: &Caller,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<EndpointView>> {
        let rows = store::endpoints(&self.db, caller.org, after, limit).await?;
        let mut counts = self.counts(caller.org, None).await?;
        let now = Utc::now();
        Ok(rows
            .iter()
            .map(|r| EndpointView::new(r, counts.remove(&r.id).unwrap_or_default(), now))
            .collect())
    }

    async fn counts(
        &self,
        org: OrgId,
        endpoint: Option<Uuid>,
    ) -> Result<HashMap<Uuid, DeliveryCounts>> {
        let mut by_endpoint: HashMap<Uuid, DeliveryCounts> = HashMap::new();
        for (endpoint, status, n) in store::status_counts(&self.db, org, endpoint).await? {
            let c = by_endpoint.entry(endpoint).or_default();
            match DeliveryStatus::parse(&status) {
                Some(DeliveryStatus::Pending) => c.pending = n,
                Some(DeliveryStatus::Delivered) => c.delivered = n,
                Some(DeliveryStatus::Dead) => c.dead = n,
                None => {}
            }
        }
        Ok(by_endpoint)
    }

    async fn endpoint_row(&self, org: OrgId, id: Uuid) -> Result<EndpointRow> {
        store::endpoint(&self.db, org, id)
            .await?
            .ok_or(WebhooksError::NotFound("webhook endpoint"))
    }

    pub async fn endpoint(&self, caller: &Caller, id: Uuid) -> Result<EndpointView> {
        let row = self.endpoint_row(caller.org, id).await?;
        let counts = self
            .counts(caller.org, Some(id))
            .await?
            .remove(&id)
            .unwrap_or_default();
        Ok(EndpointView::new(&row, counts, Utc::now()))
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: Uuid,
        input: EndpointInput,
    ) -> Result<EndpointView> {
        let spec = input.validate()?;
        let types = serde_json::to_string(&spec.event_types).map_err(anyhow::Error::from)?;
        if !store::update_endpoint(
            &self.db,
            caller.org,
            id,
            &spec.url,
            spec.description.as_deref(),
            &types,
            spec.disabled,
            Utc::now(),
        )
        .await?
        {
            return Err(WebhooksError::NotFound("webhook endpoint"));
        }
        // Re-enabled: what waited for it may go now.
        self.wake.notify_one();
        self.endpoint(caller, id).await
    }

    pub async fn delete(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let mut tx = self.db.begin().await?;
        if !store::delete_endpoint(&mut tx, caller.org, id).await? {
            return Err(WebhooksError::NotFound("webhook endpoint"));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn secret(&self, caller: &Caller, id: Uuid) -> Result<SecretView> {
        let row = self.endpoint_row(caller.org, id).await?;
        Ok(SecretView {
            secret: row.secret,
            previous_secret_expires_at: row.previous_expires_at.filter(|t| *t > Utc::now()),
        })
    }

    /// A new secret. The old one keeps signing beside it for `overlap_hours`, so the
    /// receiver can move to the new one without refusing a single delivery.
    pub async fn rotate(
        &self,
        caller: &Caller,
        id: Uuid,
        overlap_hours: Option<i64>,
    ) -> Result<SecretView> {
        let hours = overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
        if !(0..=MAX_OVERLAP_HOURS).contains(&hours) {
            return Err(WebhooksError::Invalid(vec![
                lanerunner_platform::http::FieldError {
                    field: "overlap_hours".into(),
                    message: format!("between 0 and {MAX_OVERLAP_HOURS}"),
                },
            ]));
        }
        let row = self.endpoint_row(caller.org, id).await?;
        let new = Secret::generate().expose();
        let expires = Utc::now() + chrono::Duration::hours(hours);
        if !store::rotate_secret(&self.db, caller.org, id, &row.secret, &new, expires).await? {
            return Err(WebhooksError::conflict(
                "secret-rotated-meanwhile",
                "The secret was rotated meanwhile",
                "another rotation of this endpoint's secret finished first; read the secret again",
            ));
        }
        tracing::info!(org_id = %caller.org, endpoint_id = %id, overlap_hours = hours, "webhook secret rotated");
        Ok(SecretView {
            secret: new,
            previous_secret_expires_at: (hours > 0).then_some(expires),
        })
    }

    /// Sends the endpoint a `webhook.test.v1` message, through the same queue as any.
    pub async fn test(&self, caller: &Caller, id: Uuid) -> Result<DeliveryView> {
        let row = self.endpoint_row(caller.org, id).await?;
        if row.disabled {
            return Err(WebhooksError::conflict(
                "endpoint-disabled",
                "The endpoint is disabled",
                "enable the endpoint to send it anything, a test included",
            ));
        }
        let now = Utc::now();
        let message_id = Uuid::now_v7();
        let message = MessageRow {
            id: message_id,
            org_id: caller.org.0,
            event_type: TEST_EVENT.into(),
            aggregate_id: id,
            occurred_at: now,
            body: serde_json::json!({
                "type": TEST_EVENT,
                "timestamp": now,
                "data": {"endpoint_id": id, "message": "A test delivery from LaneRunner."},
            })
            .to_string(),
        };
        let mut tx = self.db.begin().await?;
        let queued = self.queue(&mut tx, &message, &[id]).await?;
        tx.commit().await?;
        self.wake.notify_one();
        let row = queued
            .first()
            .ok_or_else(|| anyhow::anyhow!("the test message was not queued"))?;
        Ok(DeliveryView::from(row))
    }

    // ---- the delivery log ----

    pub async fn deliveries(
        &self,
        caller: &Caller,
        endpoint: Uuid,
        status: Option<DeliveryStatus>,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>> {
        self.endpoint_row(caller.org, endpoint).await?;
        let rows = store::deliveries(
            &self.db,
            caller.org,
            endpoint,
            status.map(DeliveryStatus::as_str),
            before,
            limit,
        )
        .await?;
        Ok(rows.iter().map(DeliveryView::from).collect())
    }

    pub async fn delivery(&self, caller: &Caller, id: Uuid) -> Result<DeliveryDetail> {
        let row = store::delivery(&self.db, caller.org, id)
            .await?
            .ok_or(WebhooksError::NotFound("webhook delivery"))?;
        let message = store::message(&self.db, caller.org, row.message_id)
            .await?
            .ok_or(WebhooksError::NotFound("webhook message"))?;
        let attempts = store::attempts(&self.db, caller.org, id).await?;
        Ok(DeliveryDetail {
            delivery: DeliveryView::from(&row),
            payload: serde_json::from_str(&message.body).unwrap_or(serde_json::Value::Null),
            attempts_log: attempts.iter().map(AttemptView::from).collect(),
        })
    }

    /// Sends a delivery again now, whatever became of it (dead-lettered, or delivered and
    /// wanted again), with the same `webhook-id`.
    pub async fn replay(&self, caller: &Caller, id: Uuid) -> Result<DeliveryView> {
        store::delivery(&self.db, caller.org, id)
            .await?
            .ok_or(WebhooksError::NotFound("webhook delivery"))?;
        if !store::replay(&self.db, caller.org, id, now_ms()).await? {
            return Err(WebhooksError::conflict(
                "delivery-in-flight",
                "The delivery is being attempted",
                "an attempt at this delivery is under way; replay it once it is recorded",
            ));
        }
        self.wake.notify_one();
        let row = store::delivery(&self.db, caller.org, id)
            .await?
            .ok_or(WebhooksError::NotFound("webhook delivery"))?;
        Ok(DeliveryView::from(&row))
    }

    /// Replays every dead-lettered delivery of the endpoint since a moment (after an outage
    /// on the receiver's side).
    pub async fn recover(
        &self,
        caller: &Caller,
        endpoint: Uuid,
        since: DateTime<Utc>,
    ) -> Result<RecoverView> {
        self.endpoint_row(caller.org, endpoint).await?;
        let replayed = store::recover(&self.db, caller.org, endpoint, since, now_ms()).await?;
        self.wake.notify_one();
        Ok(RecoverView { replayed })
    }

    // ---- dispatching ----

    /// Leases as many due deliveries as `permits` allows and sends each on a task of its
    /// own that holds a permit; returns how many were leased.
    pub async fn dispatch(self: &Arc<Self>, permits: &Arc<Semaphore>) -> Result<usize> {
        let free = permits.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let now = now_ms();
        let lease = now + (self.settings.timeout + Duration::from_secs(30)).as_millis() as i64;
        let token = Uuid::now_v7();
        let claimed = store::claim(&self.db, now, lease, token, free as i64).await?;
        let n = claimed.len();
        for c in claimed {
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .map_err(anyhow::Error::from)?;
            let me = self.clone();
            tokio::spawn(async move {
                me.attempt(c, token).await;
                drop(permit);
                me.wake.notify_one();
            });
        }
        Ok(n)
    }

    /// One attempt at a leased delivery, and its record.
    async fn attempt(&self, c: Claimed, token: Uuid) {
        let started_at = Utc::now();
        let started = Instant::now();
        let result = match self.request(&c, started_at) {
            Ok(request) => self.sender.post(request).await,
            Err(e) => Err(SendError::Other(e)),
        };
        let duration_ms = started.elapsed().as_millis() as i64;
        let attempts = (c.attempts + 1).max(1) as u32;
        let now = Utc::now();
        let (status_code, response, error) = match &result {
            Ok(a) => (
                Some(i32::from(a.status)),
                Some(a.excerpt.clone()),
                (!domain::acknowledged(a.status)).then(|| format!("HTTP {}", a.status)),
            ),
            Err(e) => (None, None, Some(e.to_string())),
        };
        let (status, next) = if error.is_none() {
            (DeliveryStatus::Delivered, now.timestamp_millis())
        } else {
            let unit = rand::thread_rng().gen::<f64>();
            match self.settings.retry.next_delay(attempts, unit) {
                Some(d) => (
                    DeliveryStatus::Pending,
                    now.timestamp_millis() + d.as_millis() as i64,
                ),
                None => (DeliveryStatus::Dead, now.timestamp_millis()),
            }
        };
        metrics::counter!("webhooks_attempts_total", "result" => if error.is_none() { "delivered" } else { "failed" }).increment(1);
        metrics::histogram!("webhooks_attempt_seconds").record(duration_ms as f64 / 1000.0);
        if status == DeliveryStatus::Dead {
            metrics::counter!("webhooks_dead_lettered_total").increment(1);
            tracing::warn!(delivery_id = %c.id, attempts, error = error.as_deref().unwrap_or(""), "webhook delivery dead-lettered after its last attempt");
        }
        let recorded = store::Recorded {
            status: status.as_str(),
            next_attempt_ms: next,
            last_status: status_code,
            last_error: error.as_deref(),
            delivered_at: (status == DeliveryStatus::Delivered).then_some(now),
        };
        let attempt = store::AttemptRow {
            id: Uuid::now_v7(),
            delivery_id: c.id,
            attempted_at: started_at,
            trigger_kind: if c.replayed { "replay" } else { "scheduled" }.into(),
            status_code,
            error: error.clone(),
            response,
            duration_ms,
        };
        if let Err(e) = self.record(&c, token, &recorded, &attempt).await {
            // The lease runs out and the delivery is sent again: at least once.
            tracing::warn!(delivery_id = %c.id, error = %e, "recording a webhook attempt failed; it will be sent again");
        }
    }

    fn request(&self, c: &Claimed, now: DateTime<Utc>) -> Result<Outgoing, String> {
        let current = Secret::parse(&c.secret)
            .map_err(|e| format!("the endpoint's secret is unreadable: {e}"))?;
        let previous = match (&c.previous_secret, c.previous_expires_at) {
            (Some(p), Some(until)) if until > now => Secret::parse(p).ok(),
            _ => None,
        };
        let mut secrets = vec![&current];
        secrets.extend(previous.as_ref());
        let id = domain::message_id(c.message_id);
        let timestamp = now.timestamp();
        let signature = signature::signature_header(&secrets, &id, timestamp, c.body.as_bytes());
        Ok(Outgoing {
            url: c.url.clone(),
            headers: vec![
                ("webhook-id", id),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
                ("content-type", "application/json".into()),
            ],
            body: c.body.clone(),
            timeout: self.settings.timeout,
        })
    }

    async fn record(
        &self,
        c: &Claimed,
        token: Uuid,
        recorded: &store::Recorded<'_>,
        attempt: &store::AttemptRow,
    ) -> Result<()> {
        let mut tx = self.db.begin().await?;
        if store::record(&mut tx, c.id, token, recorded).await? {
            store::insert_attempt(&mut tx, c.org_id, attempt).await?;
        } else {
            tracing::warn!(delivery_id = %c.id, "a webhook attempt finished after its lease ran out; another dispatcher has it");
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets settled deliveries past the retention.
    pub async fn purge(&self) -> Result<u64> {
        Ok(store::purge(&self.db, Utc::now() - self.settings.retention).await?)
    }
}

fn parse_types(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}
