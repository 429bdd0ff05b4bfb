//! The voice service's HTTP API. A broker manages its lines and reads its calls
//! (`voice:read|write`); the telephony provider's webhooks carry no credential and are
//! accepted only with the provider's signature over the URL and parameters.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{VoiceRead, VoiceWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::VoiceError;
use crate::service::{Calls, Heard};
use crate::twiml::{self, Next, Reply};
use crate::views::{
    AgentTurnView, CallView, CheckCallInput, DispatchInput, DispatchView, LineInput, LineView,
    OutreachInput, OutreachView, SayInput, SimulatedCallInput,
};
use crate::CallId;

pub type AppState = Arc<Calls>;

pub fn routes(calls: Arc<Calls>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_lines))
        .routes(routes!(put_line, delete_line))
        .routes(routes!(list_calls))
        .routes(routes!(get_call))
        .routes(routes!(simulate))
        .routes(routes!(say))
        .routes(routes!(get_dispatch, put_dispatch, delete_dispatch))
        .routes(routes!(reach_out))
        .routes(routes!(check_call))
        .routes(routes!(twilio_inbound))
        .routes(routes!(twilio_answer))
        .routes(routes!(twilio_turn))
        .routes(routes!(twilio_status))
        .with_state(calls)
}

/// Your organization's lines: the numbers on which the agent answers carriers.
#[utoipa::path(get, path = "/v1/voice/lines", tag = "voice", security(("bearer" = [])),
    responses((status = 200, body = Vec<LineView>), (status = 403, body = Problem)))]
pub async fn list_lines(
    State(s): State<AppState>,
    caller: Authorized<VoiceRead>,
) -> Result<Json<Vec<LineView>>, Problem> {
    Ok(Json(s.lines(&caller).await?))
}

/// Adds or changes a line. `409 line-taken` when the number is another organization's.
#[utoipa::path(put, path = "/v1/voice/lines/{phone_number}", tag = "voice", security(("bearer" = [])),
    params(("phone_number" = String, Path, description = "E.164, like +14155550100")),
    request_body = LineInput,
    responses((status = 200, body = LineView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_line(
    State(s): State<AppState>,
    caller: Authorized<VoiceWrite>,
    Path(number): Path<String>,
    ApiJson(input): ApiJson<LineInput>,
) -> Result<Json<LineView>, Problem> {
    Ok(Json(s.put_line(&caller, &number, input).await?))
}

#[utoipa::path(delete, path = "/v1/voice/lines/{phone_number}", tag = "voice", security(("bearer" = [])),
    params(("phone_number" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_line(
    State(s): State<AppState>,
    caller: Authorized<VoiceWrite>,
    Path(number): Path<String>,
) -> Result<StatusCode, Problem> {
    s.delete_line(&caller, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallFilter {
    /// Only calls about this load.
    pub load_id: Option<Uuid>,
    /// Only calls from this carrier organization.
    pub carrier_org_id: Option<Uuid>,
}

/// Your calls, newest first, with each one's outcome, sentiment and summary.
#[utoipa::path(get, path = "/v1/voice/calls", tag = "voice", security(("bearer" = [])), params(PageQuery, CallFilter),
    responses((status = 200, body = Page<CallView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_calls(
    State(s): State<AppState>,
    caller: Authorized<VoiceRead>,
    Query(q): Query<PageQuery>,
    Query(f): Query<CallFilter>,
) -> Result<Json<Page<CallView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = s
        .calls(
            caller.org,
            f.load_id,
            f.carrier_org_id,
            cursor.after.map(CallId),
            i64::from(cursor.limit) + 1,
        )
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |c| c.id)))
}

/// One call with its transcript.
#[utoipa::path(get, path = "/v1/voice/calls/{id}", tag = "voice", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CallView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_call(
    State(s): State<AppState>,
    caller: Authorized<VoiceRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<CallView>, Problem> {
    Ok(Json(s.call(caller.org, CallId(id)).await?))
}

/// Starts a simulated call on one of your lines: the agent's greeting. `409 no-line`
/// without a line.
#[utoipa::path(post, path = "/v1/voice/calls/simulated", tag = "voice", security(("bearer" = [])),
    request_body = SimulatedCallInput,
    responses((status = 201, body = AgentTurnView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn simulate(
    State(s): State<AppState>,
    caller: Authorized<VoiceWrite>,
    ApiJson(input): ApiJson<SimulatedCallInput>,
) -> Result<(StatusCode, Json<AgentTurnView>), Problem> {
    Ok((StatusCode::CREATED, Json(s.simulate(&caller, input).await?)))
}

/// The caller's words (or keys) on a simulated call, and the agent's answer.
#[utoipa::path(post, path = "/v1/voice/calls/{id}/say", tag = "voice", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = SayInput,
    responses((status = 200, body = AgentTurnView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn say(
    State(s): State<AppState>,
    caller: Authorized<VoiceWrite>,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<SayInput>,
) -> Result<Json<AgentTurnView>, Problem> {
    Ok(Json(s.say(&caller, CallId(id), input).await?))
}

// ---- outreach ----

/// Your carrier organization's dispatch number for automated calls about loads.
#[utoipa::path(get, path = "/v1/voice/dispatch", tag = "voice", security(("bearer" = [])),
    responses((status = 200, body = DispatchView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_dispatch(
    State(s): State<AppState>,
    caller: Authorized<VoiceRead>,
) -> Result<Json<DispatchView>, Problem> {
    Ok(Json(s.dispatch(caller.org).await?))
}

/// Sets the number LaneRunner's agent may call about loads that fit your trucks; giving it
/// is your consent to those automated calls. Carriers only.
#[utoipa::path(put, path = "/v1/voice/dispatch", tag = "voice", security(("bearer" = [])),
    request_body = DispatchInput,
    responses((status = 200, body = DispatchView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_dispatch(
    State(s): State<AppState>,
    caller: Authorized<VoiceWrite>,
    ApiJson(input): ApiJson<DispatchInput>,
) -> Result<Json<DispatchView>, Problem> {
    Ok(Json(s.put_dispatch(&caller, input).await?))
}

/// Removes the number and withdraws the consent: no more outreach calls.
#[utoipa::path(delete, path = "/v1/voice/dispatch", tag = "voice", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_dispatch(
    State(s): State<AppState>,
    caller: Authorized<VoiceWrite>,
) -> Result<StatusCode, Problem> {
    s.delete_dispatch(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Calls the load's best-matched carriers now (those with a dispatch number, cleared by
/// your vetting, not called about it before): the agent pitches the load and negotiates
/// within its policy once they answer. `409 load-not-open`, `409 no-line`,
/// `409 no-carriers`.
#[utoipa::path(post, path = "/v1/voice/loads/{load_id}/outreach", tag = "voice", security(("bearer" = [])),
    params(("load_id" = Uuid, Path)),
    request_body = OutreachInput,
    responses((status = 202, body = OutreachView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reach_out(
    State(s): State<AppState>,
    caller: Authorized<VoiceWrite>,
    Path(load_id): Path<Uuid>,
    ApiJson(input): ApiJson<OutreachInput>,
) -> Result<(StatusCode, Json<OutreachView>), Problem> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.reach_out(&caller, load_id, input).await?),
    ))
}

/// A check call now to the carrier hauling a load on the road: where is the truck, when
/// will it deliver, anything wrong. `409 load-not-moving`, `409 no-dispatch-number`,
/// `409 no-line`.
#[utoipa::path(post, path = "/v1/voice/loads/{load_id}/check-call", tag = "voice", security(("bearer" = [])),
    params(("load_id" = Uuid, Path)),
    request_body = CheckCallInput,
    responses((status = 202, body = CallView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn check_call(
    State(s): State<AppState>,
    caller: Authorized<VoiceWrite>,
    Path(load_id): Path<Uuid>,
    ApiJson(input): ApiJson<CheckCallInput>,
) -> Result<(StatusCode, Json<CallView>), Problem> {
    Ok((
        StatusCode::ACCEPTED,
        Json(s.check_call(&caller, load_id, input).await?),
    ))
}

// ---- Twilio ----

/// The form, checked against the signature before anything in it is read.
fn signed_form(
    s: &Calls,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &Bytes,
) -> Result<Vec<(String, String)>, VoiceError> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok());
    s.check_signed(
        &lanerunner_platform::http::signed_urls(&s.settings().public_url, headers, uri),
        &params,
        signature,
    )?;
    Ok(params)
}

fn field<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(params: &'a [(String, String)], name: &'static str) -> Result<&'a str, VoiceError> {
    field(params, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| VoiceError::invalid(name, "is required"))
}

fn twiml_response(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}

/// Twilio's voice webhook for a call to one of the lines: the agent's greeting as TwiML.
/// `403 webhook-rejected` without a valid `X-Twilio-Signature`; a retried request (same
/// `CallSid`) gets the same greeting.
#[utoipa::path(post, path = "/v1/voice/twilio/inbound", tag = "voice",
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML", content_type = "text/xml"), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn twilio_inbound(
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let params = signed_form(&s, &headers, &uri, &body)?;
    let sid = required(&params, "CallSid")?;
    let from = field(&params, "From").unwrap_or_default();
    let to = required(&params, "To")?;
    let xml = match s.start("twilio", sid, from, to).await? {
        Some(a) => twiml::render(&a.reply, &s.turn_url(a.call, a.next_turn)),
        None => twiml::render(
            &Reply {
                say: crate::script::NOT_IN_SERVICE.into(),
                next: Next::HangUp,
            },
            "",
        ),
    };
    Ok(twiml_response(xml))
}

/// Twilio's webhook when an outreach call is answered (`CallSid`, and `AnsweredBy` with
/// machine detection): the agent's opening as TwiML. `403 webhook-rejected` without a valid
/// signature; a retried request gets the same opening.
#[utoipa::path(post, path = "/v1/voice/twilio/calls/{id}/answer", tag = "voice",
    params(("id" = Uuid, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML", content_type = "text/xml"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn twilio_answer(
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, Problem> {
    let params = signed_form(&s, &headers, &uri, &body)?;
    let sid = required(&params, "CallSid")?;
    let a = s
        .answer_outbound(CallId(id), sid, field(&params, "AnsweredBy"))
        .await?;
    Ok(twiml_response(twiml::render(
        &a.reply,
        &s.turn_url(a.call, a.next_turn),
    )))
}

/// What `<Gather>` heard on turn `turn` of a call (`SpeechResult`, `Digits`), or nothing
/// when the caller stayed silent: the agent's next TwiML. A retried request for a turn
/// already answered gets the same answer.
#[utoipa::path(post, path = "/v1/voice/twilio/calls/{id}/turns/{turn}", tag = "voice",
    params(("id" = Uuid, Path), ("turn" = i64, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "TwiML", content_type = "text/xml"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn twilio_turn(
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path((id, turn)): Path<(Uuid, i64)>,
    body: Bytes,
) -> Result<Response, Problem> {
    let params = signed_form(&s, &headers, &uri, &body)?;
    let sid = required(&params, "CallSid")?;
    // What a caller says or keys in is kept (the transcript, a check-in's answers): a card
    // number in it keeps only its last four digits, as in chat (PCI). A form body, so the
    // gateway's check of JSON bodies never saw it.
    let masked = |name| field(&params, name).map(|t| lanerunner_core::pan::mask(t).into_owned());
    let heard = Heard {
        speech: masked("SpeechResult"),
        digits: masked("Digits"),
    };
    let a = s.answer_twilio(CallId(id), sid, turn, heard).await?;
    Ok(twiml_response(twiml::render(
        &a.reply,
        &s.turn_url(a.call, a.next_turn),
    )))
}

/// Twilio's call status callback (`CallSid`, `CallStatus`): a call the caller hung up is
/// closed and debriefed. `403 webhook-rejected` without a valid signature.
#[utoipa::path(post, path = "/v1/voice/twilio/status", tag = "voice",
    request_body(content = String, content_type = "application/x-www-form-urlencoded"),
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn twilio_status(
    State(s): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    let params = signed_form(&s, &headers, &uri, &body)?;
    let sid = required(&params, "CallSid")?;
    let status = required(&params, "CallStatus")?;
    s.status(sid, status).await?;
    Ok(StatusCode::NO_CONTENT)
}
