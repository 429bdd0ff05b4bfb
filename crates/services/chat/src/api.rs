//! The chat service's HTTP API: thin handlers that parse, authorise and call one function
//! of [`Chat`]. A conversation you are not in is not found.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use lanerunner_platform::http::scope::{ChatRead, ChatWrite};
use lanerunner_platform::http::{ApiJson, Authorized, MaskedJson, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::service::Chat;
use crate::views::{
    ConversationView, MessagePage, MessageView, NewConversation, NewMessage, ReadMark, ReceiptView,
};

pub type AppState = Arc<Chat>;

pub fn routes(chat: Arc<Chat>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(start, list))
        .routes(routes!(get_conversation))
        .routes(routes!(post_message, list_messages))
        .routes(routes!(mark_read))
        .with_state(chat)
}

/// Starts a conversation: about a load (a carrier about a public posted load, or the
/// load's broker with a carrier), or direct with members of your organization. A load
/// conversation that exists is returned (200) rather than made twice.
#[utoipa::path(post, path = "/v1/chat/conversations", tag = "chat", security(("bearer" = [])),
    request_body = NewConversation,
    responses((status = 201, body = ConversationView), (status = 200, body = ConversationView),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn start(
    State(c): State<AppState>,
    caller: Authorized<ChatWrite>,
    ApiJson(body): ApiJson<NewConversation>,
) -> Result<(StatusCode, Json<ConversationView>), Problem> {
    let (view, created) = c.start(&caller, body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only the conversations about this load.
    pub load_id: Option<Uuid>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// Your conversations, most recently active first, each with your unread count.
#[utoipa::path(get, path = "/v1/chat/conversations", tag = "chat", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = Vec<ConversationView>), (status = 422, body = Problem)))]
pub async fn list(
    State(c): State<AppState>,
    caller: Authorized<ChatRead>,
    Query(q): Query<ListParams>,
) -> Result<Json<Vec<ConversationView>>, Problem> {
    Ok(Json(
        c.list(&caller, q.load_id, q.limit.unwrap_or(50)).await?,
    ))
}

/// One conversation, with its read receipts.
#[utoipa::path(get, path = "/v1/chat/conversations/{id}", tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    responses((status = 200, body = ConversationView), (status = 404, body = Problem)))]
pub async fn get_conversation(
    State(c): State<AppState>,
    caller: Authorized<ChatRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<ConversationView>, Problem> {
    Ok(Json(c.get(&caller, id.into()).await?))
}

/// Writes in a conversation. Participants' sockets hear it as `chat.message.v1`. (Offers
/// are moves in the load's negotiation, `POST /v1/negotiations/{id}/moves`; they appear
/// here as `negotiation` messages.)
#[utoipa::path(post, path = "/v1/chat/conversations/{id}/messages", tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = NewMessage,
    responses((status = 201, body = MessageView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn post_message(
    State(c): State<AppState>,
    caller: Authorized<ChatWrite>,
    Path(id): Path<Uuid>,
    // What people write to each other: a card number is masked, the message kept.
    MaskedJson(body): MaskedJson<NewMessage>,
) -> Result<(StatusCode, Json<MessageView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(c.post(&caller, id.into(), body).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Messages before this number (from `next_before`); the newest when absent.
    pub before: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

/// A page of the conversation's history, newest first.
#[utoipa::path(get, path = "/v1/chat/conversations/{id}/messages", tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), PageParams),
    responses((status = 200, body = MessagePage), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_messages(
    State(c): State<AppState>,
    caller: Authorized<ChatRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<PageParams>,
) -> Result<Json<MessagePage>, Problem> {
    Ok(Json(
        c.messages(&caller, id.into(), q.before, q.limit.unwrap_or(50))
            .await?,
    ))
}

/// Marks the conversation read up to a message (never backwards). Participants' sockets
/// hear the receipt as `chat.read.v1`.
#[utoipa::path(post, path = "/v1/chat/conversations/{id}/read", tag = "chat", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = ReadMark,
    responses((status = 200, body = ReceiptView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn mark_read(
    State(c): State<AppState>,
    caller: Authorized<ChatRead>,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<ReadMark>,
) -> Result<Json<ReceiptView>, Problem> {
    Ok(Json(c.read(&caller, id.into(), body).await?))
}
