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

/// Sends every requested email, as consumer group `mailer`, until `shutdown`. The spool
/// (and SMTP with a stable Message-ID) makes a redelivered request harmless, so this
/// consumer needs no inbox table.
pub async fn run_mailer(
    bus: std::sync::Arc<dyn crate::bus::EventBus>,
    mailer: std::sync::Arc<dyn Mailer>,
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
            Ok(message) => mailer.send(&from, &message).await,
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
}
