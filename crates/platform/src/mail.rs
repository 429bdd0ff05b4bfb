//! The email seam. Embedded default: each message is written as an RFC 5322 file in the
//! spool directory (`<data_dir>/mail/`), where an operator or a test can read it. At scale,
//! [`SmtpMailer`] sends it over SMTP (`lettre`: SMTPS or STARTTLS, authentication) as
//! text and HTML alternatives, with the sending organization's name and reply address and a
//! one-click `List-Unsubscribe` when the message has one.
//!
//! Services do not call the mailer inline: they put an [`EMAIL_REQUESTED`] command in their
//! outbox, in the transaction that made the token the email carries, and the mailer
//! consumer sends it, so a committed invitation is never left without its email.

use std::path::PathBuf;

use async_trait::async_trait;
use lanerunner_core::{EventEnvelope, EventType};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const EMAIL_REQUESTED: EventType = EventType::new("email.send_requested", 1);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// Stable id: sending the same message twice writes or sends it once.
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The organization the mail is sent for, shown as the sender ("Acme Freight via
    /// LaneRunner"); the address stays `email.from`, so the domain's SPF and DKIM hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
    /// Where replies go: the organization's own address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// A link that stops this kind of mail for the recipient in one request (RFC 8058):
    /// sent as `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_url: Option<String>,
}

impl EmailMessage {
    /// A message with no sender identity or unsubscribe link.
    pub fn new(to: impl Into<String>, subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: Uuid::now_v7(),
            to: to.into(),
            subject: subject.into(),
            text: text.into(),
            sender_name: None,
            reply_to: None,
            unsubscribe_url: None,
        }
    }
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, from: &str, message: &EmailMessage) -> anyhow::Result<()>;
}

pub struct SpoolMailer {
    dir: PathBuf,
}

impl SpoolMailer {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path_of(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.eml"))
    }
}

#[async_trait]
impl Mailer for SpoolMailer {
    async fn send(&self, from: &str, message: &EmailMessage) -> anyhow::Result<()> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self.path_of(message.id);
        if tokio::fs::try_exists(&path).await? {
            return Ok(());
        }
        let mut extra = String::new();
        if let Some(r) = &message.reply_to {
            extra += &format!("Reply-To: {}\r\n", header_safe(r));
        }
        if let Some(u) = &message.unsubscribe_url {
            extra += &format!(
                "List-Unsubscribe: <{}>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
                header_safe(u)
            );
        }
        let from = match &message.sender_name {
            Some(name) => format!("{} via {}", header_safe(name), header_safe(from)),
            None => from.to_owned(),
        };
        let body = format!(
            "Message-ID: <{id}@lanerunner>\r\nDate: {date}\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n",
            id = message.id,
            date = chrono::Utc::now().to_rfc2822(),
            to = header_safe(&message.to),
            subject = header_safe(&message.subject),
            text = message.text.replace('\n', "\r\n"),
        );
        // Write then rename, so a reader never sees half a message.
        let tmp = self.dir.join(format!(".{}.tmp", message.id));
        tokio::fs::write(&tmp, body).await?;
        tokio::fs::rename(&tmp, &path).await?;
        tracing::info!(message_id = %message.id, path = %path.display(), "email spooled");
        Ok(())
    }
}

/// Header values must not carry line breaks (header injection).
fn header_safe(value: &str) -> String {
    value.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// The event that asks the mailer to send `message`.
pub fn email_requested(
    org: Option<lanerunner_core::OrgId>,
    message: &EmailMessage,
) -> EventEnvelope {
    EventEnvelope::new(EMAIL_REQUESTED, org, message.id, message).expect("email message serialises")
}

/// How long a sent message's id is remembered: longer than any redelivery or dead-letter
/// replay is expected to take.
const SENT_MEMORY: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// Sends every requested email, as consumer group `mailer`, until `shutdown`, up to
/// `concurrency` at once (each settled on its own: acknowledgements need not come in order).
///
/// A request can arrive twice: the relay republishes what it could not mark, and a
/// delivery whose acknowledgement was lost (the broker went away, the instance died) is
/// redelivered, possibly to another instance with its own spool. The id of every sent
/// message is therefore remembered in the shared cache (Redis with many instances), and a
/// request whose message was already sent is acknowledged without sending. If the cache
/// cannot be read the mail is sent anyway: a rare duplicate is better than a lost
/// verification or reset mail. Within one spool the message id also names the file, so
/// a repeat there is harmless regardless.
pub async fn run_mailer(
    bus: std::sync::Arc<dyn crate::bus::EventBus>,
    mailer: std::sync::Arc<dyn Mailer>,
    sent: std::sync::Arc<dyn crate::cache::Cache>,
    from: String,
    concurrency: usize,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let topic = EMAIL_REQUESTED.topic();
    let mut sub = bus.subscribe("mailer", &[topic.as_str()]).await?;
    let concurrency = concurrency.max(1);
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
    let from = std::sync::Arc::new(from);
    loop {
        let delivery = tokio::select! {
            d = sub.next() => match d { Some(d) => d, None => break },
            _ = shutdown.cancelled() => break,
        };
        let permit = permits.clone().acquire_owned().await?;
        let (mailer, sent, from) = (mailer.clone(), sent.clone(), from.clone());
        tokio::spawn(async move {
            settle_email(delivery, mailer.as_ref(), sent.as_ref(), &from).await;
            drop(permit);
        });
    }
    // Let the emails in flight finish before the mailer stops.
    let _ = permits.acquire_many(concurrency as u32).await;
    Ok(())
}

/// Sends one requested email and settles its delivery.
async fn settle_email(
    delivery: crate::bus::Delivery,
    mailer: &dyn Mailer,
    sent: &dyn crate::cache::Cache,
    from: &str,
) {
    crate::bus::record_lag("mailer", &delivery.event);
    let outcome = match serde_json::from_value::<EmailMessage>(delivery.event.payload.clone()) {
        Ok(message) => send_once(mailer, sent, from, &message).await,
        Err(e) => Err(crate::bus::Permanent::new(anyhow::anyhow!(
            "malformed email request: {e}"
        ))),
    };
    match outcome {
        Ok(()) => delivery.ack().await,
        // The server refused the message for good (no such mailbox, a malformed
        // address): retrying cannot help, so it goes to the dead letters at once.
        Err(e) if crate::bus::is_permanent(&e) => {
            tracing::warn!(event_id = %delivery.event.id, error = %format!("{e:#}"), "email refused for good; dead-lettered");
            delivery.dead_letter(format!("{e:#}")).await
        }
        Err(e) => {
            tracing::warn!(event_id = %delivery.event.id, error = %format!("{e:#}"), "email not sent; will retry");
            delivery.nack(format!("{e:#}")).await
        }
    }
}

/// Sends `message` unless the cache remembers it as sent; remembers it afterwards.
async fn send_once(
    mailer: &dyn Mailer,
    sent: &dyn crate::cache::Cache,
    from: &str,
    message: &EmailMessage,
) -> anyhow::Result<()> {
    let key = format!("mail.sent.{}", message.id);
    match sent.get(&key).await {
        Ok(Some(_)) => {
            tracing::info!(message_id = %message.id, "email already sent; repeat request dropped");
            return Ok(());
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(message_id = %message.id, error = %e, "cannot tell whether the email was sent; sending")
        }
    }
    mailer.send(from, message).await?;
    if let Err(e) = sent.set(&key, b"1", SENT_MEMORY).await {
        tracing::warn!(message_id = %message.id, error = %e, "email sent but not remembered as sent");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spooled_message_is_written_once_without_header_injection() {
        let dir = std::env::temp_dir().join(format!("lr-spool-{}", Uuid::now_v7()));
        let mailer = SpoolMailer::new(dir.clone());
        let msg = EmailMessage::new(
            "a@example.com\r\nBcc: evil@example.com",
            "Hi",
            "line1\nline2",
        );
        mailer.send("LR <lr@x>", &msg).await.unwrap();
        let first = std::fs::read_to_string(mailer.path_of(msg.id)).unwrap();
        assert!(first.contains("To: a@example.comBcc: evil@example.com\r\n"));
        assert!(!first.contains("\r\nBcc:"));
        mailer.send("LR <lr@x>", &msg).await.unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Two instances, each with its own spool, sharing one cache: a request redelivered to
    /// the second after the first sent it is not sent again; another message is.
    #[tokio::test]
    async fn a_message_sent_by_one_instance_is_not_sent_again_by_another() {
        let base = std::env::temp_dir().join(format!("lr-spools-{}", Uuid::now_v7()));
        let (a, b) = (
            SpoolMailer::new(base.join("a")),
            SpoolMailer::new(base.join("b")),
        );
        let shared = crate::cache::InMemoryCache::new();
        let message = |to: &str| EmailMessage::new(to, "Verify", "token");
        let first = message("one@example.com");
        send_once(&a, &shared, "lr@x", &first).await.unwrap();
        send_once(&b, &shared, "lr@x", &first).await.unwrap();
        assert!(a.path_of(first.id).exists());
        assert!(!b.path_of(first.id).exists(), "sent twice");
        let second = message("two@example.com");
        send_once(&b, &shared, "lr@x", &second).await.unwrap();
        assert!(b.path_of(second.id).exists());
        std::fs::remove_dir_all(base).unwrap();
    }
}

/// Sends over SMTP with `lettre`. `url` is lettre's: `smtps://user:pass@host:465` (TLS),
/// `smtp://user:pass@host:587?tls=required` (STARTTLS, refusing a server without it), or
/// plain `smtp://host:port` for a relay on the same machine.
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    timeout: std::time::Duration,
}

impl SmtpMailer {
    /// `connections`: how many SMTP connections are kept open and reused (one per email
    /// the mailer sends at once; opening one per email costs a TCP and TLS handshake and
    /// the server's greeting each time).
    pub fn new(url: &str, timeout: std::time::Duration, connections: u32) -> anyhow::Result<Self> {
        let pool = lettre::transport::smtp::PoolConfig::new().max_size(connections.max(1));
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)?
            .timeout(Some(timeout))
            .pool_config(pool)
            .build();
        Ok(Self { transport, timeout })
    }
}

/// The message as sent over SMTP: text and HTML alternatives (the HTML made from the text
/// by [`html_body`]), the organization's name before the platform's address, its reply
/// address, and the one-click unsubscribe headers. An address that cannot be read is an
/// error that retrying cannot cure.
pub fn smtp_message(from: &str, m: &EmailMessage) -> anyhow::Result<lettre::Message> {
    use lettre::message::header::{HeaderName, HeaderValue};
    use lettre::message::{Mailbox, MultiPart};
    let platform: Mailbox = from
        .parse()
        .map_err(|e| anyhow::anyhow!("email.from {from:?} is not an address: {e}"))?;
    let sender = match &m.sender_name {
        Some(name) => Mailbox::new(
            Some(format!(
                "{} via {}",
                header_safe(name),
                platform.name.as_deref().unwrap_or("LaneRunner")
            )),
            platform.email.clone(),
        ),
        None => platform,
    };
    let to: Mailbox =
        m.to.parse()
            .map_err(|e| anyhow::anyhow!("the recipient {:?} is not an address: {e}", m.to))?;
    let mut builder = lettre::Message::builder()
        .message_id(Some(format!("<{}@lanerunner>", m.id)))
        .from(sender)
        .to(to)
        .subject(header_safe(&m.subject));
    if let Some(r) = &m.reply_to {
        let reply: Mailbox = r
            .parse()
            .map_err(|e| anyhow::anyhow!("the reply address {r:?} is not an address: {e}"))?;
        builder = builder.reply_to(reply);
    }
    if let Some(u) = &m.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}>", header_safe(u)),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    Ok(builder.multipart(MultiPart::alternative_plain_html(
        m.text.clone(),
        html_body(&m.subject, &m.text, m.unsubscribe_url.as_deref()),
    ))?)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML alternative of a text email: the subject as its heading, each paragraph of the
/// text (escaped; lines kept) with its `http(s)` links made clickable, and the unsubscribe
/// link at the foot. One layout for every mail, so the text stays the one template each
/// service writes.
pub fn html_body(subject: &str, text: &str, unsubscribe: Option<&str>) -> String {
    let linked = |line: &str| -> String {
        line.split(' ')
            .map(|word| {
                if word.starts_with("https://") || word.starts_with("http://") {
                    let href = escape_html(word);
                    format!("<a href=\"{href}\">{href}</a>")
                } else {
                    escape_html(word)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let paragraphs: String = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            format!(
                "<p>{}</p>\n",
                p.lines().map(linked).collect::<Vec<_>>().join("<br>\n")
            )
        })
        .collect();
    let foot = unsubscribe
        .map(|u| {
            let u = escape_html(u);
            format!("<p style=\"color:#666;font-size:12px\">Do not want these? <a href=\"{u}\">Unsubscribe</a>.</p>\n")
        })
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body style=\"font-family:system-ui,sans-serif;max-width:40em;margin:auto;color:#1a1a1a\">\n<h1 style=\"font-size:20px\">{title}</h1>\n{paragraphs}{foot}</body></html>\n",
        title = escape_html(subject)
    )
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, from: &str, message: &EmailMessage) -> anyhow::Result<()> {
        use lettre::AsyncTransport;
        let email = smtp_message(from, message).map_err(crate::bus::Permanent::new)?;
        // lettre's timeout bounds each read and write; this bounds the whole conversation,
        // so a server that trickles its answers cannot hold the mailer either.
        let sent = tokio::time::timeout(self.timeout, self.transport.send(email))
            .await
            .map_err(|_| anyhow::anyhow!("SMTP: no answer within {:?}", self.timeout))?;
        match sent {
            Ok(_) => {
                tracing::info!(message_id = %message.id, "email sent over SMTP");
                Ok(())
            }
            // A 5xx answer (no such mailbox, refused): sending again cannot help.
            Err(e) if e.is_permanent() => Err(crate::bus::Permanent::new(anyhow::anyhow!(
                "the SMTP server refused the message: {e}"
            ))),
            // A 4xx answer, a timeout, a connection that failed: try again later.
            Err(e) => Err(anyhow::anyhow!("SMTP: {e}")),
        }
    }
}

#[cfg(test)]
mod smtp_tests {
    use super::*;

    #[test]
    fn the_smtp_message_carries_both_parts_the_identity_and_unsubscribe() {
        let mut m = EmailMessage::new(
            "Dana <dana@example.com>",
            "Load WH-1 booked",
            "Booked at $2,100.\n\nOpen it: https://lr.example.com/#/load/1?a=1&b=2",
        );
        m.sender_name = Some("Acme Freight".into());
        m.reply_to = Some("dispatch@acme.example".into());
        m.unsubscribe_url = Some("https://lr.example.com/v1/unsubscribe?t=abc".into());
        let raw = String::from_utf8(
            smtp_message("LaneRunner <no-reply@lanerunner.example>", &m)
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(
            raw.contains("From: \"Acme Freight via LaneRunner\" <no-reply@lanerunner.example>"),
            "{raw}"
        );
        assert!(raw.contains("Reply-To: dispatch@acme.example"), "{raw}");
        assert!(raw.contains("List-Unsubscribe: <https://lr.example.com/v1/unsubscribe?t=abc>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains(&format!("Message-ID: <{}@lanerunner>", m.id)));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));

        let html = html_body(
            &m.subject,
            "<b>x</b> & y\n\nsee https://a.example/?q=1&r=2",
            m.unsubscribe_url.as_deref(),
        );
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt; &amp; y"));
        assert!(html.contains("<a href=\"https://a.example/?q=1&amp;r=2\">"));
        assert!(html.contains("Unsubscribe</a>"));
    }

    #[test]
    fn unreadable_addresses_are_refused_before_sending() {
        let m = EmailMessage::new("not an address", "s", "t");
        assert!(smtp_message("LaneRunner <no-reply@x.example>", &m).is_err());
        let mut m = EmailMessage::new("a@x.example", "s", "t");
        m.reply_to = Some("nope".into());
        assert!(smtp_message("LaneRunner <no-reply@x.example>", &m).is_err());
    }
}
