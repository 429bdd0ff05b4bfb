//! The chat service (`chat`): conversations about a load between its broker and each
//! carrier talking about it, and direct conversations inside an organization. Messages go
//! over REST and live over the realtime socket (`chat.message.v1`, `chat.read.v1`); each
//! person has a read mark, which gives unread counts and read receipts; negotiation moves
//! on the load appear in its conversation as structured messages.
//!
//! Layout: `events.rs` what it consumes and publishes, `store.rs` its SQL, `service.rs` the
//! flows, `views.rs` what clients see, `api.rs` the thin handlers. The consumer group
//! `chat.projection` keeps the loads it may talk about and turns `negotiation.updated.v1`
//! into messages, once each (keyed by negotiation and message number).
//!
//! Who sees what: a load conversation, both organizations (a viewer reads but does not
//! write); a direct conversation, its members only, and only in their organization. Every
//! query carries the caller's organization (and user), so another's conversation is not
//! found.

pub mod api;
pub mod error;
pub mod events;
mod service;
mod store;
pub mod views;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{ConsumerSource, ConsumerSpec, Service, ServiceContext};
use lanerunner_platform::Tx;
use utoipa_axum::router::OpenApiRouter;

pub use service::{Chat, MAX_MEMBERS, MAX_TEXT_CHARS};

pub const SERVICE: &str = "chat";

lanerunner_core::id_type!(
    /// A conversation: about a load with one carrier, or direct inside an organization.
    ConversationId
);

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct ChatService {
    chat: Arc<Chat>,
}

impl ChatService {
    pub async fn start(ctx: ServiceContext) -> anyhow::Result<Self> {
        Ok(Self {
            chat: Arc::new(Chat::new(&ctx)),
        })
    }

    pub fn chat(&self) -> &Arc<Chat> {
        &self.chat
    }
}

impl Service for ChatService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.chat.clone())
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "chat.projection".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(Projection(Arc::downgrade(&self.chat))),
            source: ConsumerSource::Bus,
        }]
    }

    fn personal_data(&self) -> Option<Arc<dyn lanerunner_platform::personal_data::PersonalData>> {
        Some(Arc::new(WrittenExport(self.chat.db.clone())))
    }
}

/// For a person's export: the messages they wrote (what others wrote to them is the
/// others'; the conversations stay the organizations' records after an erasure, under the
/// author's id alone).
struct WrittenExport(lanerunner_platform::Db);

#[async_trait]
impl lanerunner_platform::personal_data::PersonalData for WrittenExport {
    async fn export(
        &self,
        org: uuid::Uuid,
        user: uuid::Uuid,
    ) -> anyhow::Result<Option<serde_json::Value>> {
        let messages = store::written_by(&self.0, org, user).await?;
        if messages.is_empty() {
            return Ok(None);
        }
        Ok(Some(serde_json::json!({ "messages_written": messages })))
    }
}

struct Projection(Weak<Chat>);

#[async_trait]
impl EventHandler for Projection {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(c) = self.0.upgrade() else {
            anyhow::bail!("the chat service is shutting down");
        };
        c.project(tx, event).await
    }
}
