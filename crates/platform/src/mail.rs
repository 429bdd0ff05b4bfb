//! The email seam. Embedded default: each message is written as an RFC 5322 file in the
//! spool directory (`<data_dir>/mail/`), where an operator or a test can read it; SMTP comes
//! with the notification issue behind the same trait.
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
        let body = format!(
            "Message-ID: <{id}@lanerunner>\r\nDate: {date}\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n",
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

/// Sends every requested email, as consumer group `mailer`, until `shutdown`.
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
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let topic = EMAIL_REQUESTED.topic();
    let mut sub = bus.subscribe("mailer", &[topic.as_str()]).await?;
    loop {
        let delivery = tokio::select! {
            d = sub.next() => match d { Some(d) => d, None => return Ok(()) },
            _ = shutdown.cancelled() => return Ok(()),
        };
        crate::bus::record_lag("mailer", &delivery.event);
        let outcome = match serde_json::from_value::<EmailMessage>(delivery.event.payload.clone()) {
            Ok(message) => send_once(mailer.as_ref(), sent.as_ref(), &from, &message).await,
            Err(e) => Err(anyhow::anyhow!("malformed email request: {e}")),
        };
        match outcome {
            Ok(()) => delivery.ack().await,
            Err(e) => {
                tracing::warn!(event_id = %delivery.event.id, error = %e, "email not sent");
                delivery.nack(e.to_string()).await
            }
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
        let msg = EmailMessage {
            id: Uuid::now_v7(),
            to: "a@example.com\r\nBcc: evil@example.com".into(),
            subject: "Hi".into(),
            text: "line1\nline2".into(),
        };
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
        let message = |to: &str| EmailMessage {
            id: Uuid::now_v7(),
            to: to.into(),
            subject: "Verify".into(),
            text: "token".into(),
        };
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
