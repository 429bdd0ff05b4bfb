//! `GET /v1/realtime`: the WebSocket. Authenticated like any API call (`Authorization:
//! Bearer`, or `?access_token=` for browsers, which cannot set headers on a WebSocket);
//! the caller hears only its own organization's messages.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::Response;
use lanerunner_core::{Access, OrgId, Resource, UserId};
use lanerunner_platform::http::{enrolled_caller, AuthenticatorHandle, Caller, Problem};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use lanerunner_platform::fanout::{Fanout, Push};

/// Keeps idle connections (and the proxies between) alive, and finds dead peers.
const PING_EVERY: Duration = Duration::from_secs(25);

/// How often an open socket's credential is checked again. A socket closes within this of
/// its token expiring, its session being signed out or revoked, its member being
/// deactivated or having their role changed, or its API key being revoked — on whichever
/// instance that happened, since the check asks the identity service as a new request would.
const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// WebSocket close code for "policy violation" (RFC 6455 §7.4.1): the credential no longer
/// holds.
const CLOSE_POLICY: u16 = 1008;

pub fn routes(fanout: Arc<dyn Fanout>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(connect))
        .with_state(fanout)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectParams {
    /// An access token, for clients that cannot send `Authorization` on a WebSocket.
    access_token: Option<String>,
}

/// The caller of a WebSocket request: from `Authorization`, else from `?access_token=`;
/// with the credential and the authenticator, to check it again while the socket is open.
struct SocketCaller {
    caller: Caller,
    recheck: Recheck,
}

#[derive(Clone)]
struct Recheck {
    credential: String,
    client: std::net::IpAddr,
    auth: AuthenticatorHandle,
}

impl Recheck {
    /// Whether the credential still authenticates as a caller that may hear the feed.
    async fn still_valid(&self) -> bool {
        match self
            .auth
            .0
            .authenticate(&self.credential, self.client)
            .await
        {
            Ok(c) => !c.mfa_enrollment_pending && hears_anything(&c),
            Err(_) => false,
        }
    }
}

/// The resources whose events a caller may hear: the read scope of each.
fn hears_anything(caller: &Caller) -> bool {
    crate::feed::FEED
        .iter()
        .any(|(_, r)| caller.allows(*r, Access::Read))
}

impl<S: Send + Sync> FromRequestParts<S> for SocketCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            let Query(p) = Query::<ConnectParams>::from_request_parts(parts, state)
                .await
                .map_err(|_| Problem::unauthenticated("malformed query"))?;
            if let Some(token) = p.access_token {
                let value = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| Problem::unauthenticated("malformed access_token"))?;
                parts.headers.insert(AUTHORIZATION, value);
            }
        }
        let caller = enrolled_caller(parts, state).await?;
        let credential = lanerunner_platform::http::caller::bearer(parts)?.to_owned();
        use lanerunner_platform::http::client_addr::ClientAddr;
        let ClientAddr(client) = match ClientAddr::from_request_parts(parts, state).await {
            Ok(addr) => addr,
            Err(never) => match never {},
        };
        let auth = parts
            .extensions
            .get::<AuthenticatorHandle>()
            .cloned()
            .ok_or_else(|| {
                Problem::unavailable("authentication is not configured in this process")
            })?;
        if !hears_anything(&caller) {
            return Err(Problem::forbidden(
                "this credential holds no read scope of what the feed delivers (loads:read, trucks:read or matching:read)",
            ));
        }
        Ok(SocketCaller {
            caller,
            recheck: Recheck {
                credential,
                client,
                auth,
            },
        })
    }
}

/// Upgrade to a WebSocket that receives `{type, id, aggregate_id, occurred_at, payload}` text
/// messages for the caller's organization: `load.posted.v1`, `load.updated.v1`,
/// `load.status_changed.v1`, `truck.posted.v1`, `truck.removed.v1`, `search.alert.v1`,
/// `match.suggested.v1`. The first message is `{"type": "ready"}`; a client too slow to keep
/// up gets `{"type": "lagged", "missed": n}` and should re-read what it shows from the API.
/// Delivery is at most once per connection (a message may repeat after a redelivery: `id`
/// identifies it).
#[utoipa::path(get, path = "/v1/realtime", tag = "realtime", security(("bearer" = [])), params(ConnectParams),
    responses((status = 101, description = "Switching to the WebSocket protocol"), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn connect(
    State(fanout): State<Arc<dyn Fanout>>,
    SocketCaller { caller, recheck }: SocketCaller,
    ws: WebSocketUpgrade,
) -> Response {
    // Subscribe before the upgrade completes, so the client misses nothing after `ready`.
    let feed = fanout.local();
    let hears: Vec<Resource> = crate::feed::FEED
        .iter()
        .map(|(_, r)| *r)
        .filter(|r| caller.allows(*r, Access::Read))
        .collect();
    let org = caller.org;
    let user = caller.user_id();
    ws.on_upgrade(move |socket| session(socket, feed, org, user, hears, recheck))
}

/// Whether a socket that may hear `hears`, signed in as `user`, is sent `message`: by its
/// `type`, and, for a message addressed to some people only (a direct conversation's
/// message carries `payload.to_users`), only when `user` is one of them.
fn delivers(hears: &[Resource], user: Option<UserId>, message: &serde_json::Value) -> bool {
    let heard = message["type"]
        .as_str()
        .and_then(crate::feed::resource_of)
        .is_some_and(|r| hears.contains(&r));
    heard
        && match message["payload"]["to_users"].as_array() {
            None => true,
            Some(to) => {
                user.is_some_and(|u| to.iter().any(|t| t.as_str() == Some(&u.0.to_string())))
            }
        }
}

async fn session(
    mut socket: WebSocket,
    mut feed: tokio::sync::broadcast::Receiver<Arc<Push>>,
    org: OrgId,
    user: Option<UserId>,
    hears: Vec<Resource>,
    recheck: Recheck,
) {
    metrics::gauge!("realtime_connections").increment(1.0);
    let ready = json!({ "type": "ready" }).to_string();
    if socket.send(Message::Text(ready.into())).await.is_ok() {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut recheck_tick = tokio::time::interval(RECHECK_EVERY);
        recheck_tick.tick().await;
        loop {
            tokio::select! {
                received = feed.recv() => {
                    let text = match received {
                        Ok(push) if push.org_id.is_none_or(|o| o == org) && delivers(&hears, user, &push.message) => push.message.to_string(),
                        Ok(_) => continue,
                        Err(RecvError::Lagged(missed)) => json!({ "type": "lagged", "missed": missed }).to_string(),
                        Err(RecvError::Closed) => break,
                    };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    // Clients have nothing to say; pongs and pings are answered by axum.
                    Some(Ok(_)) => {}
                },
                _ = ping.tick() => {
                    if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                        break;
                    }
                }
                _ = recheck_tick.tick() => {
                    if !recheck.still_valid().await {
                        metrics::counter!("realtime_closed_revoked_total").increment(1);
                        let _ = socket.send(Message::Close(Some(axum::extract::ws::CloseFrame {
                            code: CLOSE_POLICY,
                            reason: "the credential is no longer valid: expired, signed out or revoked".into(),
                        }))).await;
                        break;
                    }
                }
            }
        }
    }
    metrics::gauge!("realtime_connections").decrement(1.0);
}
