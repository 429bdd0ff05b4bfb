//! The seam to customers' endpoints: one HTTP POST with a deadline. The binary provides
//! the real client (which also refuses private addresses unless the operator allows them);
//! tests and benchmarks provide receivers of their own on loopback.

use std::time::Duration;

use async_trait::async_trait;

/// One delivery attempt's request.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub url: String,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`, and the sender's own.
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub timeout: Duration,
}

/// The receiver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The start of its body, for the delivery log.
    pub excerpt: String,
}

/// Why there was no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    /// The URL points where deliveries may not go (a private or loopback address).
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Other(String),
}

#[async_trait]
pub trait Sender: Send + Sync + 'static {
    async fn post(&self, request: Outgoing) -> Result<Answer, SendError>;
}

/// How much of a receiver's answer the log keeps.
pub const EXCERPT_CHARS: usize = 500;

pub fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS).collect()
}
