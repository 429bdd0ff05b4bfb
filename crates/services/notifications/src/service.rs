//! The notifications service's flows: who is told what (in the consumer's transaction),
//! sending the emails and texts that are due, a person's list and preferences, and what
//! comes back by text (STOP, HELP, START, "YES 4821") and from the provider (statuses).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lanerunner_core::{EventEnvelope, OrgId, Role, UserId};
use lanerunner_platform::http::Caller;
use lanerunner_platform::mail::{email_requested, EmailMessage};
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::{Db, Tx};
use rand::Rng;
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

use crate::desk::{Accepted, Acceptor, OfferDesk};
use crate::domain::{self, Audience, Channel, Kind, Mode, Notice, Quiet};
use crate::error::{NotificationsError, Result};
use crate::events::{self, NotificationCreated, NOTIFICATION_CREATED};
use crate::phones::Phones;
use crate::sms::{self, Inbound, SmsError, SmsGateway};
use crate::store::{self, Claimed, DeliveryRow, NotificationRow, Recorded, ReplyCodeRow};
use crate::views::{
    DeliveryView, KindPreference, NotificationView, PreferenceChange, PreferencesView,
};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where people open the console; links in emails and the provider's callbacks.
    pub public_url: String,
    /// How often an idle dispatcher looks for due messages.
    pub poll_every: Duration,
    /// Messages in flight at once, per instance.
    pub concurrency: usize,
    /// Immediate messages per person and hour before the rest waits for the digest.
    pub email_per_hour: u32,
    pub sms_per_hour: u32,
    /// Attempts at a text before it is given up.
    pub max_attempts: i32,
    /// The first retry's delay; each next one doubles it, up to an hour.
    pub retry_base: Duration,
    /// How long the code in a texted offer can take it.
    pub reply_code_ttl: chrono::Duration,
    /// How long texts received are kept whole; `None`: for good.
    pub inbound_text_retention: Option<chrono::Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            poll_every: Duration::from_millis(250),
            concurrency: 32,
            email_per_hour: 20,
            sms_per_hour: 6,
            max_attempts: 8,
            retry_base: Duration::from_secs(10),
            reply_code_ttl: chrono::Duration::hours(24),
            inbound_text_retention: Some(chrono::Duration::days(90)),
        }
    }
}

pub struct Notifications {
    pub(crate) db: Db,
    pub(crate) phones: Phones,
    outbox: OutboxSignal,
    sms: Arc<dyn SmsGateway>,
    desk: Option<Arc<dyn OfferDesk>>,
    settings: Settings,
    wake: Arc<Notify>,
}

/// How long a dispatcher holds a claimed message before another may take it.
const LEASE: Duration = Duration::from_secs(60);

pub const INBOUND_PATH: &str = "/v1/notifications/sms/inbound";
pub const STATUS_PATH: &str = "/v1/notifications/sms/status";
pub const UNSUBSCRIBE_PATH: &str = "/v1/notifications/unsubscribe";

fn person(caller: &Caller) -> Result<(Uuid, Uuid)> {
    let user = caller.user_id().ok_or(NotificationsError::Forbidden(
        "notifications belong to a person: sign in as one (an API key has no inbox)",
    ))?;
    Ok((caller.org.0, user.0))
}

fn quiet_of(start: &Option<String>, end: &Option<String>) -> Option<Quiet> {
    Some(Quiet {
        start: domain::parse_hhmm(start.as_deref()?)?,
        end: domain::parse_hhmm(end.as_deref()?)?,
    })
}

impl Notifications {
    pub fn new(
        db: Db,
        phones: Phones,
        outbox: OutboxSignal,
        sms: Arc<dyn SmsGateway>,
        desk: Option<Arc<dyn OfferDesk>>,
        settings: Settings,
    ) -> Self {
        Self {
            db,
            phones,
            outbox,
            sms,
            desk,
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

    fn url(&self, tail: &str) -> String {
        format!("{}{tail}", self.settings.public_url.trim_end_matches('/'))
    }

    // ---- events ----

    /// One consumed event, in the transaction that records it as processed.
    pub async fn handle(&self, tx: &mut Tx, event: &EventEnvelope) -> anyhow::Result<()> {
        match event.event_type.as_str() {
            events::USER_REGISTERED => {
                let u: events::UserRegistered = serde_json::from_value(event.payload.clone())?;
                let member = store::MemberRow {
                    user_id: u.user_id,
                    org_id: u.org_id,
                    email: u.email,
                    role: u.role,
                    active: true,
                };
                store::upsert_member(tx, &member).await?;
            }
            events::USER_ROLE_CHANGED => {
                let Some(org) = event.org_id else {
                    return Ok(());
                };
                let u: events::UserRoleChanged = serde_json::from_value(event.payload.clone())?;
                store::set_member_role(tx, org.0, u.user_id, &u.to).await?;
            }
            events::USER_DEACTIVATED | events::USER_REACTIVATED => {
                let Some(org) = event.org_id else {
                    return Ok(());
                };
                let u: events::UserActive = serde_json::from_value(event.payload.clone())?;
                let active = event.event_type == events::USER_REACTIVATED;
                store::set_member_active(tx, org.0, u.user_id, active).await?;
            }
            events::USER_ERASED => {
                let Some(org) = event.org_id else {
                    return Ok(());
                };
                let u: events::UserActive = serde_json::from_value(event.payload.clone())?;
                store::erase_member(tx, org.0, u.user_id, Utc::now()).await?;
                tracing::info!(org = %org, user = %u.user_id, "erased member's notification data removed");
            }
            _ => {
                if let Some(notice) = domain::notice(event) {
                    self.notify(tx, event, &notice).await?;
                }
            }
        }
        Ok(())
    }

    /// The notice for each person of the event's organization who wants it, and the email
    /// and text for it, due now, after their quiet hours, or with their next digest.
    async fn notify(&self, tx: &mut Tx, event: &EventEnvelope, n: &Notice) -> anyhow::Result<()> {
        let Some(org) = event.org_id else {
            return Ok(());
        };
        let only = match n.audience {
            Audience::Everyone => None,
            Audience::User(u) => Some(u),
        };
        let now = Utc::now();
        let mut queued = 0u64;
        for r in store::recipients(tx, org.0, only).await? {
            let chosen: HashMap<(String, String), String> = store::preferences_in(tx, r.user_id)
                .await?
                .into_iter()
                .map(|(k, c, m)| ((k, c), m))
                .collect();
            let mode = |c: Channel| {
                chosen
                    .get(&(n.kind.as_str().to_owned(), c.as_str().to_owned()))
                    .and_then(|m| Mode::parse(m))
                    .unwrap_or(domain::default_mode(n.kind, c))
            };
            let in_app = mode(Channel::InApp) != Mode::Off;
            let email = mode(Channel::Email);
            let text = if r.phone.is_some() {
                mode(Channel::Sms)
            } else {
                Mode::Off
            };
            if !in_app && email == Mode::Off && text == Mode::Off {
                continue;
            }
            let row = NotificationRow {
                id: Uuid::now_v7(),
                org_id: org.0,
                user_id: r.user_id,
                kind: n.kind.as_str().into(),
                title: n.title.clone(),
                body: n.body.clone(),
                link: n.link.clone(),
                event_id: event.id,
                dedupe_key: n.dedupe_key.clone(),
                in_app,
                created_at: now,
                read_at: None,
            };
            if !store::insert_notification(tx, &row).await? {
                metrics::counter!("notifications_deduplicated_total").increment(1);
                continue;
            }
            if in_app {
                let created = NotificationCreated {
                    notification_id: row.id,
                    user_id: row.user_id,
                    kind: &row.kind,
                    title: &row.title,
                    body: &row.body,
                    link: &row.link,
                    created_at: row.created_at,
                    to_users: [row.user_id],
                };
                let ev = EventEnvelope::new(NOTIFICATION_CREATED, Some(org), row.id, &created)?;
                outbox::enqueue(tx, &ev).await?;
            }
            let tz = r
                .time_zone
                .as_deref()
                .and_then(|t| t.parse().ok())
                .unwrap_or(domain::Settings::default().time_zone);
            let quiet = quiet_of(&r.quiet_start, &r.quiet_end);
            let digest_every = chrono::Duration::minutes(i64::from(
                r.digest_minutes.unwrap_or(domain::DEFAULT_DIGEST_MINUTES),
            ));
            for (channel, mut mode) in [(Channel::Email, email), (Channel::Sms, text)] {
                if mode == Mode::Off {
                    continue;
                }
                let per_hour = match channel {
                    Channel::Sms => self.settings.sms_per_hour,
                    _ => self.settings.email_per_hour,
                };
                if mode == Mode::Immediate {
                    let recent = store::immediate_since(
                        tx,
                        r.user_id,
                        channel.as_str(),
                        now - chrono::Duration::hours(1),
                        per_hour,
                    )
                    .await?;
                    if domain::flooding(recent, per_hour) {
                        mode = Mode::Digest;
                        metrics::counter!("notifications_flood_digested_total", "channel" => channel.as_str()).increment(1);
                    }
                }
                let due = match mode {
                    Mode::Digest => match store::digest_due(tx, r.user_id, channel.as_str()).await?
                    {
                        Some(ms) => DateTime::from_timestamp_millis(ms).unwrap_or(now),
                        None => now + digest_every,
                    },
                    _ => now,
                };
                let due = domain::release_at(due, tz, quiet);
                let reply_code = match (channel, mode, n.takeable, r.phone.as_deref()) {
                    (Channel::Sms, Mode::Immediate, Some(t), Some(phone)) => {
                        let index = self
                            .phones
                            .index_of(r.user_id, phone, r.phone_index.as_deref())
                            .await?;
                        Some(
                            self.reply_code(tx, &index, org.0, r.user_id, t, now)
                                .await?,
                        )
                    }
                    _ => None,
                };
                let delivery = DeliveryRow {
                    id: Uuid::now_v7(),
                    org_id: org.0,
                    user_id: r.user_id,
                    notification_id: row.id,
                    channel: channel.as_str().into(),
                    mode: mode.as_str().into(),
                    status: "pending".into(),
                    due_ms: due.timestamp_millis(),
                    attempts: 0,
                    last_error: None,
                    provider_ref: None,
                    reply_code,
                    created_at: now,
                    sent_at: None,
                };
                store::insert_delivery(tx, &delivery).await?;
                queued += 1;
            }
        }
        if queued > 0 {
            // Before the commit: the dispatcher looks again shortly after a wake that
            // found nothing, by when this transaction has committed.
            self.wake.notify_one();
            metrics::counter!("notifications_queued_total").increment(queued);
        }
        Ok(())
    }

    /// A fresh four-digit code for the number of `phone_index` that takes offer `t`.
    async fn reply_code(
        &self,
        tx: &mut Tx,
        phone_index: &str,
        org: Uuid,
        user: Uuid,
        t: domain::Takeable,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        for _ in 0..32 {
            let code = format!("{:04}", rand::thread_rng().gen_range(1000..10_000));
            let row = ReplyCodeRow {
                phone_index: phone_index.to_owned(),
                code: code.clone(),
                org_id: org,
                user_id: user,
                negotiation_id: t.negotiation_id,
                offer_seq: t.offer_seq,
                total_cents: t.total_cents,
                expires_at: now + self.settings.reply_code_ttl,
                used_at: None,
            };
            if store::insert_reply_code(tx, &row).await? {
                return Ok(code);
            }
        }
        anyhow::bail!("no free reply code for a number with thousands of live offers")
    }

    // ---- sending ----

    /// Leases due messages and sends each on its own task, as many as `permits` allow;
    /// how many it leased.
    pub async fn dispatch(self: &Arc<Self>, permits: &Arc<Semaphore>) -> Result<usize> {
        let free = permits.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let now = Utc::now().timestamp_millis();
        let token = Uuid::now_v7();
        let until = now + LEASE.as_millis() as i64;
        let claimed = store::claim(&self.db, now, until, token, free as i64).await?;
        let n = claimed.len();
        for c in claimed {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let me = self.clone();
            tokio::spawn(async move {
                let id = c.id;
                if let Err(e) = me.deliver(c, token, now).await {
                    tracing::warn!(delivery_id = %id, error = %e, "notification delivery failed; its lease will lapse and it is tried again");
                }
                drop(permit);
            });
        }
        Ok(n)
    }

    /// Sends one claimed message (or the digest it opens) and records the outcome.
    async fn deliver(&self, c: Claimed, token: Uuid, claimed_ms: i64) -> Result<()> {
        let now = Utc::now();
        if !c.active {
            return self
                .settle(
                    &[c.id],
                    token,
                    "skipped",
                    Some("the person was deactivated"),
                    None,
                    None,
                )
                .await;
        }
        let channel = Channel::parse(&c.channel).unwrap_or(Channel::Email);
        let batch = if c.mode == Mode::Digest.as_str() {
            let until = now.timestamp_millis() + LEASE.as_millis() as i64;
            let gathered = store::gather_digest(
                &self.db,
                c.user_id,
                &c.channel,
                now.timestamp_millis(),
                until,
                token,
            )
            .await?;
            if gathered.is_empty() {
                vec![c.clone()]
            } else {
                gathered
            }
        } else {
            vec![c.clone()]
        };
        let ids: Vec<Uuid> = batch.iter().map(|b| b.id).collect();
        let digest_id = (c.mode == Mode::Digest.as_str()).then(Uuid::now_v7);
        match channel {
            Channel::Email | Channel::InApp => self.email(&c, &batch, &ids, token, digest_id).await,
            Channel::Sms => {
                self.text(&c, &batch, &ids, token, digest_id, claimed_ms)
                    .await
            }
        }
    }

    async fn email(
        &self,
        c: &Claimed,
        batch: &[Claimed],
        ids: &[Uuid],
        token: Uuid,
        digest_id: Option<Uuid>,
    ) -> Result<()> {
        let footer = format!(
            "\n\nChange what you are told, and how: {}",
            self.url("/#/notifications/settings")
        );
        let (subject, text) = if batch.len() > 1 || digest_id.is_some() {
            let items: Vec<(String, String)> = batch
                .iter()
                .map(|b| {
                    (
                        b.title.clone(),
                        format!("{} {}", b.body, self.url(&format!("/{}", b.link))),
                    )
                })
                .collect();
            domain::digest_text(&items)
        } else {
            (
                c.title.clone(),
                format!(
                    "{}\n\nOpen it: {}",
                    c.body,
                    self.url(&format!("/{}", c.link))
                ),
            )
        };
        // The message id is the delivery's (or the digest's): the mailer sends an id once.
        let mut message = EmailMessage::new(&c.email, subject, text + &footer);
        message.id = digest_id.unwrap_or(c.id);
        let scope = if digest_id.is_some() {
            "digest"
        } else {
            c.kind.as_str()
        };
        let fresh = {
            let mut rng = rand::thread_rng();
            format!("{:032x}{:032x}", rng.gen::<u128>(), rng.gen::<u128>())
        };
        let link = store::unsubscribe_token(&self.db, c.org_id, c.user_id, scope, &fresh).await?;
        message.unsubscribe_url = Some(self.url(&format!("{UNSUBSCRIBE_PATH}?token={link}")));
        let mut tx = self.db.begin().await?;
        outbox::enqueue(&mut tx, &email_requested(Some(OrgId(c.org_id)), &message)).await?;
        let reference = message.id.to_string();
        let mut held = 0;
        for id in ids {
            let r = Recorded {
                status: "sent",
                due_ms: Utc::now().timestamp_millis(),
                last_error: None,
                provider_ref: Some(&reference),
                digest_id,
                sent_at: Some(Utc::now()),
            };
            if store::record(&mut tx, *id, token, &r).await? {
                held += 1;
            }
        }
        if held == 0 {
            // Every lease lapsed and another dispatcher has these: it sends them.
            return Ok(());
        }
        tx.commit().await?;
        self.outbox.committed();
        metrics::counter!("notifications_sent_total", "channel" => "email").increment(held);
        Ok(())
    }

    async fn text(
        &self,
        c: &Claimed,
        batch: &[Claimed],
        ids: &[Uuid],
        token: Uuid,
        digest_id: Option<Uuid>,
        claimed_ms: i64,
    ) -> Result<()> {
        let Some(stored) = c.phone.as_deref() else {
            return self
                .settle(
                    ids,
                    token,
                    "skipped",
                    Some("no verified mobile number"),
                    None,
                    None,
                )
                .await;
        };
        let phone = self.phones.open(c.user_id, stored).await?;
        let phone_index = self
            .phones
            .index_of(c.user_id, stored, c.phone_index.as_deref())
            .await?;
        if store::consent(&self.db, &phone_index)
            .await?
            .is_some_and(|(out, _, _)| out)
        {
            metrics::counter!("notifications_skipped_total", "reason" => "opted_out").increment(1);
            return self
                .settle(
                    ids,
                    token,
                    "skipped",
                    Some("the number replied STOP"),
                    None,
                    None,
                )
                .await;
        }
        let body = if batch.len() > 1 || digest_id.is_some() {
            let mut s = format!("LaneRunner: {} updates.", batch.len());
            for b in batch.iter().take(5) {
                s += &format!(" {}.", b.title);
            }
            if batch.len() > 5 {
                s += " More in the app.";
            }
            s
        } else {
            domain::sms_text(&c.title, &c.body, c.reply_code.as_deref())
        };
        let callback = self.url(STATUS_PATH);
        // An earlier attempt may have been taken by the provider without our hearing so: ask
        // it before sending again (its API takes no idempotency key).
        let sent = match c.tried_before(claimed_ms) {
            Some(first_ms) => {
                let since = DateTime::from_timestamp_millis(first_ms).unwrap_or_else(Utc::now);
                match self.sms.sent_since(&phone, &body, since).await {
                    Ok(Some(sid)) => {
                        metrics::counter!("notifications_resend_avoided_total").increment(1);
                        Ok(sid)
                    }
                    Ok(None) => self.sms.send(&phone, &body, Some(&callback)).await,
                    Err(e) => Err(e),
                }
            }
            None => self.sms.send(&phone, &body, Some(&callback)).await,
        };
        match sent {
            Ok(sid) => {
                metrics::counter!("notifications_sent_total", "channel" => "sms")
                    .increment(ids.len() as u64);
                self.settle(ids, token, "sent", None, Some(&sid), digest_id)
                    .await
            }
            Err(SmsError::OptedOut) => {
                store::set_consent(&self.db, &phone_index, true, "provider", Utc::now()).await?;
                self.settle(
                    ids,
                    token,
                    "skipped",
                    Some("the number replied STOP"),
                    None,
                    None,
                )
                .await
            }
            Err(SmsError::Permanent(why)) => {
                self.settle(ids, token, "failed", Some(&why), None, None)
                    .await
            }
            Err(SmsError::Transient(why)) if c.attempts + 1 >= self.settings.max_attempts => {
                self.settle(ids, token, "failed", Some(&why), None, None)
                    .await
            }
            Err(SmsError::Transient(why)) => {
                let wait = self
                    .settings
                    .retry_base
                    .saturating_mul(1 << c.attempts.clamp(0, 16))
                    .min(Duration::from_secs(3600));
                let due = Utc::now().timestamp_millis() + wait.as_millis() as i64;
                let mut tx = self.db.begin().await?;
                for id in ids {
                    let r = Recorded {
                        status: "pending",
                        due_ms: due,
                        last_error: Some(&why),
                        provider_ref: None,
                        digest_id: None,
                        sent_at: None,
                    };
                    store::record(&mut tx, *id, token, &r).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }

    async fn settle(
        &self,
        ids: &[Uuid],
        token: Uuid,
        status: &str,
        error: Option<&str>,
        provider_ref: Option<&str>,
        digest_id: Option<Uuid>,
    ) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        for id in ids {
            let r = Recorded {
                status,
                due_ms: now.timestamp_millis(),
                last_error: error,
                provider_ref,
                digest_id,
                sent_at: (status == "sent").then_some(now),
            };
            store::record(&mut tx, *id, token, &r).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- a person's list ----

    pub async fn list(
        &self,
        caller: &Caller,
        unread_only: bool,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<NotificationView>> {
        let (org, user) = person(caller)?;
        Ok(
            store::notifications(&self.db, org, user, unread_only, before, limit)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        )
    }

    pub async fn unread(&self, caller: &Caller) -> Result<i64> {
        let (org, user) = person(caller)?;
        Ok(store::unread_count(&self.db, org, user).await?)
    }

    pub async fn mark_read(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let (org, user) = person(caller)?;
        store::mark_read(&self.db, org, user, id, Utc::now())
            .await?
            .ok_or(NotificationsError::NotFound("notification"))?;
        Ok(())
    }

    pub async fn mark_all_read(&self, caller: &Caller) -> Result<u64> {
        let (org, user) = person(caller)?;
        Ok(store::mark_all_read(&self.db, org, user, Utc::now()).await?)
    }

    pub async fn deliveries(
        &self,
        caller: &Caller,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>> {
        let (org, user) = person(caller)?;
        Ok(store::deliveries(&self.db, org, user, before, limit)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    // ---- preferences ----

    async fn settings_row(&self, org: Uuid, user: Uuid) -> Result<store::SettingsRow> {
        Ok(match store::settings(&self.db, org, user).await? {
            Some(s) => s,
            None => {
                let d = domain::Settings::default();
                store::SettingsRow {
                    user_id: user,
                    org_id: org,
                    time_zone: d.time_zone.name().into(),
                    quiet_start: None,
                    quiet_end: None,
                    digest_minutes: d.digest_minutes,
                    phone: None,
                    phone_index: None,
                    phone_verified_at: None,
                    pending_phone: None,
                    pending_phone_index: None,
                    updated_at: Utc::now(),
                }
            }
        })
    }

    pub async fn preferences(&self, caller: &Caller) -> Result<PreferencesView> {
        let (org, user) = person(caller)?;
        let s = self.settings_row(org, user).await?;
        let chosen: HashMap<(String, String), String> = store::preferences(&self.db, org, user)
            .await?
            .into_iter()
            .map(|(k, c, m)| ((k, c), m))
            .collect();
        let mode = |k: Kind, c: Channel| {
            chosen
                .get(&(k.as_str().to_owned(), c.as_str().to_owned()))
                .and_then(|m| Mode::parse(m))
                .unwrap_or(domain::default_mode(k, c))
        };
        let (phone, sms_opted_out) =
            match s.phone.as_deref().filter(|_| s.phone_verified_at.is_some()) {
                Some(stored) => {
                    let index = self
                        .phones
                        .index_of(user, stored, s.phone_index.as_deref())
                        .await?;
                    let out = store::consent(&self.db, &index)
                        .await?
                        .is_some_and(|(out, _, _)| out);
                    (Some(self.phones.open(user, stored).await?), out)
                }
                None => (None, false),
            };
        let pending_phone = self
            .phones
            .open_some(user, s.pending_phone.as_deref())
            .await?;
        Ok(PreferencesView {
            time_zone: s.time_zone,
            quiet_start: s.quiet_start,
            quiet_end: s.quiet_end,
            digest_minutes: s.digest_minutes,
            phone,
            pending_phone,
            sms_opted_out,
            kinds: Kind::ALL
                .into_iter()
                .map(|k| KindPreference {
                    kind: k,
                    label: k.label().into(),
                    in_app: mode(k, Channel::InApp),
                    email: mode(k, Channel::Email),
                    sms: mode(k, Channel::Sms),
                })
                .collect(),
        })
    }

    pub async fn put_preferences(
        &self,
        caller: &Caller,
        changes: Vec<PreferenceChange>,
    ) -> Result<PreferencesView> {
        let (org, user) = person(caller)?;
        let mut v = lanerunner_platform::http::Violations::default();
        let mut checked = Vec::with_capacity(changes.len());
        if changes.len() > Kind::ALL.len() * Channel::ALL.len() {
            v.add("preferences", "at most one change per kind and channel");
        }
        for (i, c) in changes.iter().enumerate() {
            let kind = Kind::parse(&c.kind);
            let channel = Channel::parse(&c.channel);
            let mode = Mode::parse(&c.mode);
            if kind.is_none() {
                v.add(
                    &format!("preferences[{i}].kind"),
                    "one of search_alert, match, offer, booked, late_risk, paperwork, invoice",
                );
            }
            if channel.is_none() {
                v.add(
                    &format!("preferences[{i}].channel"),
                    "one of in_app, email, sms",
                );
            }
            match (mode, channel) {
                (None, _) => v.add(
                    &format!("preferences[{i}].mode"),
                    "one of off, immediate, digest",
                ),
                (Some(m), Some(ch)) if !domain::allowed(ch, m) => v.add(
                    &format!("preferences[{i}].mode"),
                    "the in-app list shows notices as they come (off or immediate)",
                ),
                _ => {}
            }
            if let (Some(k), Some(ch), Some(m)) = (kind, channel, mode) {
                checked.push((k, ch, m));
            }
        }
        v.into_result(())?;
        let mut tx = self.db.begin().await?;
        for (k, ch, m) in checked {
            store::put_preference(&mut tx, org, user, k.as_str(), ch.as_str(), m.as_str()).await?;
        }
        tx.commit().await?;
        self.preferences(caller).await
    }

    pub async fn put_settings(
        &self,
        caller: &Caller,
        input: domain::SettingsInput,
    ) -> Result<PreferencesView> {
        let (org, user) = person(caller)?;
        let checked = input.validate()?;
        let mut s = self.settings_row(org, user).await?;
        s.time_zone = checked.time_zone.name().into();
        s.quiet_start = checked.quiet.map(|q| q.start.format("%H:%M").to_string());
        s.quiet_end = checked.quiet.map(|q| q.end.format("%H:%M").to_string());
        s.digest_minutes = checked.digest_minutes;
        s.updated_at = Utc::now();
        store::put_settings(&self.db, &s).await?;
        self.preferences(caller).await
    }

    /// An email's one-click unsubscribe (RFC 8058): that kind of news (or, from a digest,
    /// everything gathered in digests) stops coming by email. The kinds turned off.
    pub async fn unsubscribe(&self, token: &str) -> Result<Vec<Kind>> {
        let (org, user, scope) = store::unsubscribe_of(&self.db, token)
            .await?
            .ok_or(NotificationsError::NotFound("unsubscribe link"))?;
        let kinds: Vec<Kind> = if scope == "digest" {
            let chosen: HashMap<String, String> = store::preferences(&self.db, org, user)
                .await?
                .into_iter()
                .filter(|(_, c, _)| c == Channel::Email.as_str())
                .map(|(k, _, m)| (k, m))
                .collect();
            Kind::ALL
                .into_iter()
                .filter(|k| {
                    chosen
                        .get(k.as_str())
                        .and_then(|m| Mode::parse(m))
                        .unwrap_or(domain::default_mode(*k, Channel::Email))
                        == Mode::Digest
                })
                .collect()
        } else {
            Kind::parse(&scope).into_iter().collect()
        };
        let mut tx = self.db.begin().await?;
        for k in &kinds {
            store::put_preference(
                &mut tx,
                org,
                user,
                k.as_str(),
                Channel::Email.as_str(),
                Mode::Off.as_str(),
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(user_id = %user, scope, "unsubscribed from email by its link");
        Ok(kinds)
    }

    // ---- phone verification ----

    pub async fn start_phone(&self, caller: &Caller, raw: &str) -> Result<PreferencesView> {
        let (org, user) = person(caller)?;
        let phone = lanerunner_core::phone::normalize(raw).ok_or_else(|| {
            NotificationsError::invalid(
                "phone",
                "a mobile number in E.164 (+14155550100) or ten North American digits",
            )
        })?;
        match self.sms.start_verification(&phone).await {
            Ok(()) => {}
            Err(SmsError::Transient(why)) => return Err(NotificationsError::Unavailable(why)),
            Err(e) => return Err(NotificationsError::invalid("phone", e.to_string())),
        }
        let mut s = self.settings_row(org, user).await?;
        let (sealed, index) = self.phones.seal(user, &phone).await?;
        s.pending_phone = Some(sealed);
        s.pending_phone_index = Some(index);
        s.updated_at = Utc::now();
        store::put_settings(&self.db, &s).await?;
        self.preferences(caller).await
    }

    pub async fn confirm_phone(&self, caller: &Caller, code: &str) -> Result<PreferencesView> {
        let (org, user) = person(caller)?;
        let mut s = self.settings_row(org, user).await?;
        let Some(stored) = s.pending_phone.clone() else {
            return Err(NotificationsError::Conflict {
                kind: "no-verification-pending",
                title: "No phone number is waiting for a code",
                detail: "send the number first (PUT /v1/notifications/phone)".into(),
            });
        };
        let code = code.trim();
        if code.is_empty() || code.len() > 10 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(NotificationsError::invalid(
                "code",
                "the digits of the code we texted",
            ));
        }
        let pending = self.phones.open(user, &stored).await?;
        match self.sms.check_verification(&pending, code).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(NotificationsError::invalid(
                    "code",
                    "that is not the code we texted (or it expired: ask for a new one)",
                ))
            }
            Err(SmsError::Transient(why)) => return Err(NotificationsError::Unavailable(why)),
            Err(e) => return Err(NotificationsError::invalid("code", e.to_string())),
        }
        // Sealed for the same use, so the sealed number moves over as it is.
        s.phone = s.pending_phone.take();
        s.phone_index = s.pending_phone_index.take();
        s.phone_verified_at = Some(Utc::now());
        s.updated_at = Utc::now();
        store::put_settings(&self.db, &s).await?;
        tracing::info!(user_id = %user, "mobile number verified");
        self.preferences(caller).await
    }

    pub async fn remove_phone(&self, caller: &Caller) -> Result<PreferencesView> {
        let (org, user) = person(caller)?;
        let mut s = self.settings_row(org, user).await?;
        s.phone = None;
        s.phone_index = None;
        s.phone_verified_at = None;
        s.pending_phone = None;
        s.pending_phone_index = None;
        s.updated_at = Utc::now();
        store::put_settings(&self.db, &s).await?;
        self.preferences(caller).await
    }

    // ---- what the provider sends ----

    fn check_signed(
        &self,
        urls: &[String],
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Result<()> {
        let Some(sig) = signature else {
            return Err(NotificationsError::Unsigned);
        };
        if urls.iter().any(|u| self.sms.signed(u, params, sig)) {
            Ok(())
        } else {
            metrics::counter!("notifications_inbound_rejected_total").increment(1);
            Err(NotificationsError::Unsigned)
        }
    }

    /// A message's status from the provider (`MessageSid`, `MessageStatus`, `ErrorCode`).
    pub async fn sms_status(
        &self,
        urls: &[String],
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Result<()> {
        self.check_signed(urls, params, signature)?;
        let field = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let Some(sid) = field("MessageSid") else {
            return Err(NotificationsError::invalid("MessageSid", "required"));
        };
        let error = field("ErrorCode").filter(|e| !e.is_empty());
        match field("MessageStatus").unwrap_or_default() {
            "delivered" => {
                store::provider_status(&self.db, sid, "delivered", None).await?;
            }
            "undelivered" | "failed" => {
                let why = format!(
                    "the carrier network did not deliver it (error {})",
                    error.unwrap_or("unknown")
                );
                store::provider_status(&self.db, sid, "failed", Some(&why)).await?;
                if error == Some("21610") {
                    if let Some(to) = field("To") {
                        let index = self.phones.index(to).await?;
                        store::set_consent(&self.db, &index, true, "provider", Utc::now()).await?;
                    }
                }
            }
            // queued, sending, sent: nothing to record beyond `sent`.
            _ => {}
        }
        Ok(())
    }

    /// A text someone sent to our number; the TwiML that answers it.
    pub async fn sms_inbound(
        &self,
        urls: &[String],
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Result<String> {
        self.check_signed(urls, params, signature)?;
        let field = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (Some(sid), Some(from)) = (field("MessageSid"), field("From")) else {
            return Err(NotificationsError::invalid(
                "MessageSid",
                "MessageSid and From are required",
            ));
        };
        // A text is kept (until its retention ends): a card number in it keeps only its
        // last four digits, as in chat (PCI). A form body, so the gateway's check of JSON
        // bodies never saw it.
        let body = lanerunner_core::pan::mask(field("Body").unwrap_or_default());
        let body = body.as_ref();
        let now = Utc::now();
        // From here on the number is only matched: by its index.
        let from = self.phones.index(from).await?;
        let from = from.as_str();
        if !store::insert_inbound(&self.db, sid, from, body, now).await? {
            // Twilio retried a request we answered: the same answer, nothing done twice.
            let said = store::inbound_outcome(&self.db, sid).await?;
            let said = said.filter(|s| !s.is_empty() && s != "received");
            return Ok(sms::twiml_reply(said.as_deref()));
        }
        // The masked form's last four digits are not a code the carrier typed.
        let words = lanerunner_core::pan::without_masked(body);
        let reply: Option<String> = match sms::read_inbound(&words) {
            Inbound::Stop => {
                store::set_consent(&self.db, from, true, "STOP", now).await?;
                tracing::info!("a number opted out of texts (STOP)");
                // The provider confirms an opt-out itself and sends nothing after it.
                None
            }
            Inbound::Start => {
                store::set_consent(&self.db, from, false, "START", now).await?;
                Some(sms::STARTED_TEXT.into())
            }
            Inbound::Help => Some(sms::HELP_TEXT.into()),
            Inbound::Accept(code) => Some(self.accept_by_text(from, &code).await?),
            Inbound::Other => Some(sms::UNKNOWN_TEXT.into()),
        };
        store::set_inbound_outcome(&self.db, sid, reply.as_deref().unwrap_or("")).await?;
        Ok(sms::twiml_reply(reply.as_deref()))
    }

    /// Takes the offer of reply code `code` texted to the number of `phone_index`.
    async fn accept_by_text(&self, phone_index: &str, code: &str) -> Result<String> {
        let Some(r) = store::take_reply_code(&self.db, phone_index, code, Utc::now()).await? else {
            return Ok(format!(
                "LaneRunner: {code} is not a live offer code for this number (it expired, was used, or was sent to another number)."
            ));
        };
        let member = store::member(&self.db, r.org_id, r.user_id).await?;
        let Some(member) = member.filter(|m| m.active) else {
            return Ok("LaneRunner: this number's account can no longer accept offers.".into());
        };
        let Some(desk) = &self.desk else {
            store::release_reply_code(&self.db, phone_index, code).await?;
            return Ok(
                "LaneRunner: offers cannot be accepted by text right now; open the app to accept."
                    .into(),
            );
        };
        let who = Acceptor {
            org: OrgId(r.org_id),
            user: UserId(r.user_id),
            role: member.role.parse::<Role>().unwrap_or(Role::Viewer),
        };
        match desk.accept(who, r.negotiation_id, r.offer_seq).await {
            Ok(Accepted::Booked { total_cents }) => {
                metrics::counter!("notifications_accepted_by_text_total").increment(1);
                Ok(format!(
                    "LaneRunner: booked at {}. The rate confirmation is in the app.",
                    domain::dollars(total_cents)
                ))
            }
            Ok(Accepted::Refused(why)) => {
                Ok(format!("LaneRunner: offer {code} was not accepted: {why}"))
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "accepting an offer by text failed; the code is given back");
                store::release_reply_code(&self.db, phone_index, code).await?;
                Ok(format!(
                    "LaneRunner: we could not accept offer {code} just now. Reply YES {code} again in a minute."
                ))
            }
        }
    }
}
