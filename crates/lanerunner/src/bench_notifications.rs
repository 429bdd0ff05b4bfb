//! `lanerunner bench notifications`: late-arrival risks (`tracking.late_risk.v1`, each on
//! its own load) published on the bus as the outbox relay would, spread evenly over
//! `recipients` brokerages, each with one member who has a verified mobile number and a TMS
//! with a webhook endpoint (one person sent every event would measure their flood check,
//! not the fan-out). Each event fans out through the member's preferences to four channels: the in-app list, an email
//! over SMTP to a real server on loopback (aiosmtpd, `scripts/smtp-sink.py`), a text to the
//! Twilio stand-in (which posts its signed status callbacks back), and a signed webhook to
//! a receiver on loopback.
//!
//! Counted at the receivers: every message arrived, none twice; deliveries per second and
//! the time from an event to its arrival (p50, p99) per channel.
//!
//! The peer: the same three outside messages sent inline per event by a sender with no
//! store, no preferences and no retries (64 events at a time) — the channels' own ceiling
//! on this machine, and what a notifier that keeps nothing would do.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use futures::StreamExt;
use lanerunner_core::{EventEnvelope, EventType, OrgId};
use lanerunner_twilio::testing::TwilioStandIn;
use serde_json::json;

use crate::testing::{Backend, TestApp};
use crate::webhook_receiver::Receiver;

pub struct NotificationsBench {
    pub events: usize,
    /// Brokerages (one member each) the events are spread over.
    pub recipients: usize,
    pub backend: Backend,
}

const LATE_RISK: EventType = EventType::new("tracking.late_risk", 1);
const ACCOUNT: &str = "AC00000000000000000000000000bench";
const TOKEN: &str = "bench-auth-token";
/// The `i`-th recipient's mobile number.
fn phone(i: usize) -> String {
    format!("+1415555{:04}", 1000 + i % 9000)
}
const SMTP_USER: &str = "lanerunner";
const SMTP_PASSWORD: &str = "bench-pass";

/// The SMTP server on loopback: each accepted message a file named by the nanosecond it
/// arrived.
struct Sink {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Sink {
    async fn start() -> anyhow::Result<Sink> {
        let port = free_port()?;
        let dir =
            std::env::temp_dir().join(format!("lr-bench-smtp-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(&dir)
            .arg(port.to_string())
            .args([SMTP_USER, SMTP_PASSWORD])
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("python3 runs the SMTP sink (pip install aiosmtpd): {e}")
            })?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(Sink { child, dir, port });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the SMTP sink never listened on {port}")
    }

    fn url(&self) -> String {
        format!("smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// `(arrived, subject)` of every message so far.
    fn messages(&self) -> Vec<(SystemTime, String)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| {
                let ns: u64 = p.file_stem()?.to_str()?.parse().ok()?;
                let raw = std::fs::read_to_string(&p).ok()?;
                let subject = raw
                    .lines()
                    .find_map(|l| l.strip_prefix("Subject: "))?
                    .trim()
                    .to_owned();
                Some((SystemTime::UNIX_EPOCH + Duration::from_nanos(ns), subject))
            })
            .collect()
    }

    fn count(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .count()
            })
            .unwrap_or(0)
    }

    fn clear(&self) {
        if let Ok(d) = std::fs::read_dir(&self.dir) {
            for e in d.filter_map(Result::ok) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

use crate::bench_webhooks::percentile;

/// The reference a late-risk notice names ("Load B12 may be late").
fn reference_in(text: &str) -> Option<&str> {
    text.split("Load ").nth(1)?.split(" may be late").next()
}

/// `n` events, the `i`-th for organization `i % orgs.len()`.
fn events(orgs: &[OrgId], n: usize) -> Vec<EventEnvelope> {
    let now = Utc::now();
    (0..n)
        .map(|i| {
            let org = orgs[i % orgs.len()];
            let load = uuid::Uuid::now_v7();
            EventEnvelope::new(
                LATE_RISK,
                Some(org),
                load,
                &json!({"load_id": load, "broker_org_id": org, "carrier_org_id": null, "reference": format!("B{i}"),
                        "stop": "Atlanta, GA", "eta": now + chrono::Duration::hours(3), "window_end": now + chrono::Duration::hours(2)}),
            )
            .expect("a JSON payload")
        })
        .collect()
}

/// One channel's arrivals: how many of the wanted arrived, how many more than once, and
/// the latencies from each event to its first arrival.
#[derive(Default)]
struct Channel {
    arrived: usize,
    repeats: usize,
    p50_ms: f64,
    p99_ms: f64,
}

fn channel(
    wanted: &HashMap<String, chrono::DateTime<Utc>>,
    arrivals: Vec<(String, SystemTime)>,
) -> Channel {
    let mut first: HashMap<String, SystemTime> = HashMap::new();
    let mut repeats = 0;
    for (key, at) in arrivals {
        if !wanted.contains_key(&key) {
            continue;
        }
        match first.get(&key) {
            Some(_) => repeats += 1,
            None => {
                first.insert(key, at);
            }
        }
    }
    let mut ms: Vec<f64> = first
        .iter()
        .map(|(k, at)| {
            let at: chrono::DateTime<Utc> = (*at).into();
            (at - wanted[k]).num_microseconds().unwrap_or(0) as f64 / 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    Channel {
        arrived: first.len(),
        repeats,
        p50_ms: percentile(&ms, 0.5),
        p99_ms: percentile(&ms, 0.99),
    }
}

pub async fn bench(opts: NotificationsBench) -> anyhow::Result<String> {
    let twilio = TwilioStandIn::start(ACCOUNT, TOKEN).await?;
    let sink = Sink::start().await?;
    let receiver = Receiver::start().await?;
    let smtp = sink.url();
    let app = TestApp::spawn_with_twilio(opts.backend, &twilio.base_url, ACCOUNT, TOKEN, |c| {
        c.email.smtp_url = Some(smtp);
        // A freight desk's hour can bring this many: no digest here.
        let per_person = (opts.events / opts.recipients.max(1) + 1) as u32;
        c.notifications.email_per_hour = per_person;
        c.notifications.sms_per_hour = per_person;
        // Every brokerage signs up from this one address.
        c.auth.max_account_flows_per_address = u64::MAX;
        c.notifications.concurrency = 64;
        c.notifications.poll_ms = 100;
        c.webhooks.concurrency = 64;
        c.database.max_connections = 16;
    })
    .await;
    let mut members = Vec::with_capacity(opts.recipients);
    let mut secrets = Vec::with_capacity(opts.recipients);
    for i in 0..opts.recipients.max(1) {
        let broker = app
            .signup(&format!("bench-notify-{i}@example.com"), "broker")
            .await;
        // The member's number, verified through Verify as a person would.
        app.put_json(
            "/v1/notifications/phone",
            &json!({"phone": phone(i)}),
            Some(&broker.access),
        )
        .await
        .error_for_status()?;
        let code = twilio
            .verification_code(&phone(i))
            .ok_or_else(|| anyhow::anyhow!("no verification code was sent"))?;
        app.post_json(
            "/v1/notifications/phone/verify",
            &json!({"code": code}),
            Some(&broker.access),
        )
        .await
        .error_for_status()?;
        secrets.push(crate::bench_webhooks::late_risk_endpoint(&app, &broker, &receiver).await?);
        members.push(broker);
    }
    receiver.hold(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
    let orgs: Vec<OrgId> = members
        .iter()
        .map(|m| m.org_id.parse().map(OrgId))
        .collect::<Result<_, _>>()?;
    let phones: std::collections::HashSet<String> = (0..members.len()).map(phone).collect();
    // The sign-up's own mail (the verification email) is not part of the run.
    tokio::time::sleep(Duration::from_secs(1)).await;
    sink.clear();

    let all = events(&orgs, opts.events);
    let wanted: HashMap<String, chrono::DateTime<Utc>> = all
        .iter()
        .map(|e| {
            (
                e.payload["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e.occurred_at,
            )
        })
        .collect();
    let by_message: HashMap<String, String> = all
        .iter()
        .map(|e| {
            (
                lanerunner_webhooks::domain::message_id(e.id),
                e.payload["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let bus = app.app().bus();
    let started = Instant::now();
    for batch in all.chunks(500) {
        let (published, error) = bus.publish_batch(batch).await;
        anyhow::ensure!(published == batch.len(), "publishing failed: {error:?}");
    }
    let n = opts.events;
    let texts = |twilio: &TwilioStandIn| {
        twilio
            .sent()
            .into_iter()
            .filter(|s| phones.contains(&s.to) && s.body.contains("may be late"))
            .count()
    };
    let deadline = Duration::from_secs(3600);
    loop {
        let acked = receiver.acknowledged().len();
        if (sink.count() >= n && texts(&twilio) >= n && acked >= n) || started.elapsed() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let took = started.elapsed();
    // Anything sent twice has time to arrive before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let email = channel(
        &wanted,
        sink.messages()
            .into_iter()
            .filter_map(|(at, subject)| Some((reference_in(&subject)?.to_owned(), at)))
            .collect(),
    );
    let sms = channel(
        &wanted,
        twilio
            .sent()
            .into_iter()
            .filter(|s| phones.contains(&s.to))
            .filter_map(|s| Some((reference_in(&s.body)?.to_owned(), s.at)))
            .collect(),
    );
    let hooks = channel(
        &wanted,
        receiver
            .received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .filter_map(|r| {
                Some((
                    by_message.get(&r.id)?.clone(),
                    SystemTime::from(r.received_at),
                ))
            })
            .collect(),
    );
    let mut in_app = 0;
    for m in &members {
        let unread: serde_json::Value = app
            .get("/v1/notifications/unread-count", Some(&m.access))
            .await
            .json()
            .await?;
        in_app += unread["unread"].as_u64().unwrap_or(0) as usize;
    }
    let delivered = email.arrived + sms.arrived + hooks.arrived + in_app;

    let store = match opts.backend {
        Backend::Sqlite => "SQLite",
        _ => "PostgreSQL",
    };
    let mut out = format!(
        "\n### Notifications: {n} events over {} brokerages of one member each (in the app, email over SMTP, a text, a webhook each), store {store}\n\n\
         All four channels took {:.1} s: {:.0} deliveries/s ({delivered} of {}).\n\n\
         | channel | arrived | more than once | p50 event→arrival | p99 event→arrival |\n|---|---:|---:|---:|---:|\n",
        members.len(),
        took.as_secs_f64(),
        delivered as f64 / took.as_secs_f64(),
        4 * n,
    );
    out += &format!("| in the app (unread notices) | {in_app}/{n} | — | — | — |\n");
    for (name, c) in [
        ("email (SMTP, aiosmtpd)", &email),
        ("text (Twilio stand-in)", &sms),
        ("webhook (signed)", &hooks),
    ] {
        out += &format!(
            "| {name} | {}/{n} | {} | {:.0} ms | {:.0} ms |\n",
            c.arrived, c.repeats, c.p50_ms, c.p99_ms
        );
    }
    drop(app);

    // The peer: inline, nothing kept, no retries.
    sink.clear();
    twilio.clear();
    receiver.clear();
    receiver.accept_unsigned(true);
    let mailer =
        lanerunner_platform::mail::SmtpMailer::new(&sink.url(), Duration::from_secs(10), 64)?;
    let sms_client = lanerunner_twilio::MessagesClient::new(
        &twilio.base_url,
        ACCOUNT,
        TOKEN,
        Duration::from_secs(10),
    )?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let peer_events = events(&orgs, n);
    let peer_started = Instant::now();
    let recipients = members.len();
    let sends = peer_events.iter().enumerate().map(|(i, e)| {
        let (mailer, sms_client, http, receiver) = (&mailer, &sms_client, &http, &receiver);
        async move {
            let reference = e.payload["reference"].as_str().unwrap_or_default();
            let title = format!("Load {reference} may be late");
            use lanerunner_platform::mail::Mailer as _;
            let mail = lanerunner_platform::mail::EmailMessage::new(
                "bench-notify@example.com",
                &title,
                "ETA after the window.",
            );
            let _ = mailer
                .send("LaneRunner <noreply@lanerunner.test>", &mail)
                .await;
            let _ = sms_client
                .send(&lanerunner_twilio::SendSms {
                    to: phone(i % recipients),
                    from: Some("+15005550006".into()),
                    body: format!("LaneRunner: {title}."),
                    ..Default::default()
                })
                .await;
            let _ = http
                .post(&receiver.url)
                .header("webhook-id", lanerunner_webhooks::domain::message_id(e.id))
                .body(lanerunner_webhooks::domain::body(e))
                .send()
                .await;
        }
    });
    futures::stream::iter(sends)
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    let peer_took = peer_started.elapsed();
    let peer_total = sink.count() + texts(&twilio) + receiver.acknowledged().len();
    receiver.accept_unsigned(false);
    out += &format!(
        "\nPeer (the same email, text and webhook per event sent inline, 64 events at a time, nothing stored, no preferences, no retries): {:.1} s, {:.0} deliveries/s ({peer_total} of {}).\n",
        peer_took.as_secs_f64(),
        peer_total as f64 / peer_took.as_secs_f64(),
        3 * n
    );
    Ok(out)
}
