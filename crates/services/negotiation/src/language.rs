//! A second reader for messages the offer parser cannot read: a language model behind a
//! seam (`LanguageModel`), off by default. Its reading is taken only when it is grounded in
//! the text (`parse::grounded`: every amount it names is one the writer wrote); anything
//! else is asked back, as the parser would.

use async_trait::async_trait;
use lanerunner_negotiation::parse::Intent;

#[async_trait]
pub trait LanguageModel: Send + Sync + 'static {
    /// What `text` says, or why it could not be read (the service then asks back).
    async fn read(&self, text: &str) -> Result<Intent, String>;
}
