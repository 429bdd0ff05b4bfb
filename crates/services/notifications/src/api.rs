//! The notifications service's HTTP API. A person reads and changes their own list and
//! preferences (`notifications:read|write`; an API key has no inbox). The SMS provider's
//! webhooks (inbound texts, delivery statuses) carry no credential: they are accepted only
//! with the provider's signature over the URL and parameters.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{NotificationsRead, NotificationsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{Kind, SettingsInput};
use crate::service::Notifications;
use crate::views::{
    DeliveryView, MarkedView, NotificationView, PhoneCode, PhoneInput, PreferencesInput,
    PreferencesView, UnreadView,
};

pub type AppState = Arc<Notifications>;

pub fn routes(notifications: Arc<Notifications>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unread))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(get_preferences, put_preferences))
        .routes(routes!(put_settings))
        .routes(routes!(start_phone, remove_phone))
        .routes(routes!(confirm_phone))
        .routes(routes!(deliveries))
        .routes(routes!(sms_inbound))
        .routes(routes!(sms_status))
        .routes(routes!(unsubscribe_page, unsubscribe))
        .with_state(notifications)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListFilter {
    /// Only what you have not read.
    #[serde(default)]
    pub unread: Option<bool>,
}

/// Your notifications, newest first.
#[utoipa::path(get, path = "/v1/notifications", tag = "notifications", security(("bearer" = [])), params(PageQuery, ListFilter),
    responses((status = 200, body = Page<NotificationView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Authorized<NotificationsRead>,
    Query(q): Query<PageQuery>,
    Query(f): Query<ListFilter>,
) -> Result<Json<Page<NotificationView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = s
        .list(
            &caller,
            f.unread.unwrap_or(false),
            cursor.after,
            i64::from(cursor.limit) + 1,
        )
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |r| r.id)))
}

/// How many of your notifications are unread.
#[utoipa::path(get, path = "/v1/notifications/unread-count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadView), (status = 403, body = Problem)))]
pub async fn unread(
    State(s): State<AppState>,
    caller: Authorized<NotificationsRead>,
) -> Result<Json<UnreadView>, Problem> {
    Ok(Json(UnreadView {
        unread: s.unread(&caller).await?,
    }))
}

/// Marks one of your notifications read (again: no change).
#[utoipa::path(post, path = "/v1/notifications/{id}/read", tag = "notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn mark_read(
    State(s): State<AppState>,
    caller: Authorized<NotificationsWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    s.mark_read(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks all your notifications read.
#[utoipa::path(post, path = "/v1/notifications/read-all", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = MarkedView), (status = 403, body = Problem)))]
pub async fn mark_all_read(
    State(s): State<AppState>,
    caller: Authorized<NotificationsWrite>,
) -> Result<Json<MarkedView>, Problem> {
    Ok(Json(MarkedView {
        marked: s.mark_all_read(&caller).await?,
    }))
}

/// What you are told, on which channel; your quiet hours, digest interval and number.
#[utoipa::path(get, path = "/v1/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = PreferencesView), (status = 403, body = Problem)))]
pub async fn get_preferences(
    State(s): State<AppState>,
    caller: Authorized<NotificationsRead>,
) -> Result<Json<PreferencesView>, Problem> {
    Ok(Json(s.preferences(&caller).await?))
}

/// Changes how some kinds of news reach some channels (`off`, `immediate`, `digest`); the
/// rest stay as they are.
#[utoipa::path(put, path = "/v1/notifications/preferences", tag = "notifications", security(("bearer" = [])),
    request_body = PreferencesInput,
    responses((status = 200, body = PreferencesView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_preferences(
    State(s): State<AppState>,
    caller: Authorized<NotificationsWrite>,
    ApiJson(input): ApiJson<PreferencesInput>,
) -> Result<Json<PreferencesView>, Problem> {
    Ok(Json(s.put_preferences(&caller, input.preferences).await?))
}

/// Your time zone, quiet hours and digest interval.
#[utoipa::path(put, path = "/v1/notifications/settings", tag = "notifications", security(("bearer" = [])),
    request_body = SettingsInput,
    responses((status = 200, body = PreferencesView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_settings(
    State(s): State<AppState>,
    caller: Authorized<NotificationsWrite>,
    ApiJson(input): ApiJson<SettingsInput>,
) -> Result<Json<PreferencesView>, Problem> {
    Ok(Json(s.put_settings(&caller, input).await?))
}

/// Texts a verification code to a mobile number; texts go there once it is confirmed.
#[utoipa::path(put, path = "/v1/notifications/phone", tag = "notifications", security(("bearer" = [])),
    request_body = PhoneInput,
    responses((status = 200, body = PreferencesView), (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn start_phone(
    State(s): State<AppState>,
    caller: Authorized<NotificationsWrite>,
    ApiJson(input): ApiJson<PhoneInput>,
) -> Result<Json<PreferencesView>, Problem> {
    Ok(Json(s.start_phone(&caller, &input.phone).await?))
}

/// Stops texting you: forgets your number.
#[utoipa::path(delete, path = "/v1/notifications/phone", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = PreferencesView), (status = 403, body = Problem)))]
pub async fn remove_phone(
    State(s): State<AppState>,
    caller: Authorized<NotificationsWrite>,
) -> Result<Json<PreferencesView>, Problem> {
    Ok(Json(s.remove_phone(&caller).await?))
}

/// Confirms the number with the code texted to it.
#[utoipa::path(post, path = "/v1/notifications/phone/verify", tag = "notifications", security(("bearer" = [])),
    request_body = PhoneCode,
    responses((status = 200, body = PreferencesView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn confirm_phone(
    State(s): State<AppState>,
    caller: Authorized<NotificationsWrite>,
    ApiJson(input): ApiJson<PhoneCode>,
) -> Result<Json<PreferencesView>, Problem> {
    Ok(Json(s.confirm_phone(&caller, &input.code).await?))
}

/// The emails and texts sent (or waiting) for your notifications, newest first.
#[utoipa::path(get, path = "/v1/notifications/deliveries", tag = "notifications", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<DeliveryView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn deliveries(
    State(s): State<AppState>,
    caller: Authorized<NotificationsRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<DeliveryView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = s
        .deliveries(&caller, cursor.after, i64::from(cursor.limit) + 1)
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |r| r.id)))
}

fn form(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn signature(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
}

/// Twilio's messaging webhook: a text to our number. Answers TwiML (a reply, or nothing).
/// STOP/START/HELP are recorded for the number; "YES 4821" takes the offer sent with that
/// code. `403 webhook-rejected` without a valid `X-Twilio-Signature`; a retried request
/// (same `MessageSid`) gets the same answer and changes nothing.
#[utoipa::path(post, path = "/v1/notifications/sms/inbound", tag = "notifications",
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML", content_type = "text/xml"), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn sms_inbound(
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let urls = lanerunner_platform::http::signed_urls(&s.settings().public_url, &headers, &uri);
    let twiml = s
        .sms_inbound(&urls, &form(&body), signature(&headers))
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], twiml).into_response())
}

/// Twilio's status callback for a text we sent (`MessageSid`, `MessageStatus`,
/// `ErrorCode`). `403 webhook-rejected` without a valid signature.
#[utoipa::path(post, path = "/v1/notifications/sms/status", tag = "notifications",
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn sms_status(
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    let urls = lanerunner_platform::http::signed_urls(&s.settings().public_url, &headers, &uri);
    s.sms_status(&urls, &form(&body), signature(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// The token in the email's link.
    pub token: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Unsubscribed {
    /// The kinds of news no longer sent by email.
    pub email_off: Vec<Kind>,
}

/// The page an email's unsubscribe link opens: a button that confirms (a link that was
/// merely opened, by a person or a mail scanner, changes nothing).
#[utoipa::path(get, path = "/v1/notifications/unsubscribe", tag = "notifications", params(UnsubscribeQuery),
    responses((status = 200, description = "An HTML page with the confirming button", content_type = "text/html")))]
pub async fn unsubscribe_page(Query(q): Query<UnsubscribeQuery>) -> Response {
    let token = crate::sms::xml_escape(&q.token);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribe · LaneRunner</title></head>\
         <body><main><h1>Stop these emails?</h1><form method=\"post\" action=\"?token={token}\">\
         <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Unsubscribe</button></form>\
         <p>You can change what you are told, and how, in LaneRunner's notification settings.</p></main></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// One-click unsubscribe (RFC 8058: `List-Unsubscribe=One-Click`, posted by the mail
/// client): that kind of news, or everything gathered in digests, stops coming by email.
/// `404` for a token that is not one.
#[utoipa::path(post, path = "/v1/notifications/unsubscribe", tag = "notifications", params(UnsubscribeQuery),
    responses((status = 200, body = Unsubscribed), (status = 404, body = Problem)))]
pub async fn unsubscribe(
    State(s): State<AppState>,
    Query(q): Query<UnsubscribeQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let kinds = s.unsubscribe(&q.token).await?;
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        let html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribed · LaneRunner</title></head>\
                    <body><main><h1>Unsubscribed</h1><p>Those emails will not come again.</p></main></body></html>";
        return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response());
    }
    Ok(Json(Unsubscribed { email_off: kinds }).into_response())
}
