//! A stand-in for Twilio on loopback, for tests: the Messages API (basic auth checked,
//! numbers validated, STOPped recipients refused with Twilio's codes), status callbacks
//! posted signed as Twilio posts them (`queued` → `sent` → `delivered`, or `undelivered`
//! with error 30003 for numbers ending in 0000), and inbound messages posted signed to a
//! webhook URL; Twilio Verify (a six-digit code per number, five checks at most, then
//! 60202); the Message list (`To`, `PageSize`, newest first); a knob that keeps the
//! answers to the next sends back for a while, as a saturated or cut-off Twilio would, so
//! a sender's timeout fires after the message was taken; and the Calls API (calls recorded as placed; the test then plays the callee,
//! posting signed webhooks to the call's `Url` as Twilio would).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::signature::{expected_signature, SIGNATURE_HEADER};

/// A message the stand-in accepted.
#[derive(Debug, Clone)]
pub struct Sent {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
    /// When the stand-in accepted it.
    pub at: std::time::SystemTime,
}

/// A call the stand-in was asked to place.
#[derive(Debug, Clone)]
pub struct Placed {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub url: String,
    pub status_callback: Option<String>,
    pub machine_detection: bool,
}

struct Inner {
    account_sid: String,
    auth_token: String,
    sent: Mutex<Vec<Sent>>,
    opted_out: Mutex<HashSet<String>>,
    /// Pending Verify codes by number, with the checks tried so far.
    verifications: Mutex<HashMap<String, (String, u32)>>,
    placed: Mutex<Vec<Placed>>,
    /// Sends still to be answered late, and how late.
    stalled: Mutex<(u32, std::time::Duration)>,
    http: reqwest::Client,
}

pub struct TwilioStandIn {
    pub base_url: String,
    inner: Arc<Inner>,
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        Json(json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()})),
    )
        .into_response()
}

fn e164(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or("");
    (2..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

impl TwilioStandIn {
    pub async fn start(account_sid: &str, auth_token: &str) -> std::io::Result<TwilioStandIn> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            sent: Mutex::new(Vec::new()),
            opted_out: Mutex::new(HashSet::new()),
            verifications: Mutex::new(HashMap::new()),
            placed: Mutex::new(Vec::new()),
            stalled: Mutex::new((0, std::time::Duration::ZERO)),
            http: reqwest::Client::new(),
        });
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create).get(list),
            )
            .route("/2010-04-01/Accounts/{account}/Messages/{sid}", get(fetch))
            .route(
                "/2010-04-01/Accounts/{account}/Calls.json",
                post(place_call),
            )
            .route(
                "/v2/Services/{service}/Verifications",
                post(start_verification),
            )
            .route(
                "/v2/Services/{service}/VerificationCheck",
                post(check_verification),
            )
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(TwilioStandIn {
            base_url: format!("http://{addr}"),
            inner,
        })
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.inner.sent.lock().unwrap().clone()
    }

    /// The next `sends` messages are taken (and their callbacks posted) but answered only
    /// after `delay`: a sender whose timeout is shorter never learns they were sent.
    pub fn stall_answers(&self, sends: u32, delay: std::time::Duration) {
        *self.inner.stalled.lock().unwrap() = (sends, delay);
    }

    /// Forgets the messages sent so far.
    pub fn clear(&self) {
        self.inner.sent.lock().unwrap().clear();
    }

    /// The code Verify sent to `number`, while one is pending.
    pub fn verification_code(&self, number: &str) -> Option<String> {
        self.inner
            .verifications
            .lock()
            .unwrap()
            .get(number)
            .map(|(code, _)| code.clone())
    }

    /// The calls placed so far.
    pub fn placed(&self) -> Vec<Placed> {
        self.inner.placed.lock().unwrap().clone()
    }

    /// The recipient replied STOP: Twilio refuses to message them (21610).
    pub fn opt_out(&self, number: &str) {
        self.inner.opted_out.lock().unwrap().insert(number.into());
    }

    /// Posts `params` to `url` signed as Twilio signs: the answer's status and body.
    pub async fn post_signed(
        &self,
        url: &str,
        params: &[(&str, &str)],
    ) -> reqwest::Result<(u16, String)> {
        post_signed(&self.inner, url, params).await
    }

    /// An SMS from `from` to `to` arriving at the webhook `url`, as Twilio posts it.
    pub async fn inbound_sms(
        &self,
        url: &str,
        from: &str,
        to: &str,
        body: &str,
    ) -> reqwest::Result<(u16, String)> {
        let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
        let account = self.inner.account_sid.clone();
        self.post_signed(
            url,
            &[
                ("MessageSid", &sid),
                ("SmsSid", &sid),
                ("AccountSid", &account),
                ("From", from),
                ("To", to),
                ("Body", body),
                ("NumMedia", "0"),
            ],
        )
        .await
    }
}

async fn post_signed(
    inner: &Inner,
    url: &str,
    params: &[(&str, &str)],
) -> reqwest::Result<(u16, String)> {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = expected_signature(&inner.auth_token, url, &owned);
    let response = inner
        .http
        .post(url)
        .header(SIGNATURE_HEADER, signature)
        .form(&owned)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

fn authorised(inner: &Inner, account: &str, headers: &HeaderMap) -> bool {
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", inner.account_sid, inner.auth_token));
    account == inner.account_sid
        && headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Basic {expected}"))
}

fn resource(s: &Sent, status: &str) -> Value {
    let created: chrono::DateTime<chrono::Utc> = s.at.into();
    json!({"sid": s.sid, "status": status, "to": s.to, "from": s.from, "body": s.body, "error_code": null, "error_message": null, "num_segments": "1", "direction": "outbound-api",
           "date_created": created.format("%a, %d %b %Y %H:%M:%S +0000").to_string()})
}

/// `GET …/Messages.json`: the account's messages, newest first, filtered by `To`, one page
/// of `PageSize` (Twilio's default 50) at `Page`, with the next page's URI while there is
/// one.
async fn list(
    State(inner): State<Arc<Inner>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if !authorised(&inner, &account, &headers) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let size = query
        .get("PageSize")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let page = query
        .get("Page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0);
    let to = query.get("To");
    let matching: Vec<Value> = inner
        .sent
        .lock()
        .unwrap()
        .iter()
        .rev()
        .filter(|s| to.is_none_or(|to| &s.to == to))
        .skip(page * size)
        .take(size + 1)
        .map(|s| resource(s, "delivered"))
        .collect();
    let more = matching.len() > size;
    let messages = &matching[..matching.len().min(size)];
    let uri = format!("/2010-04-01/Accounts/{account}/Messages.json");
    let filter = to
        .map(|t| format!("&To={}", t.replace('+', "%2B")))
        .unwrap_or_default();
    let next = more.then(|| format!("{uri}?PageSize={size}&Page={}{filter}", page + 1));
    Json(json!({"messages": messages, "next_page_uri": next, "page": page, "page_size": size, "uri": uri}))
        .into_response()
}

async fn create(
    State(inner): State<Arc<Inner>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !authorised(&inner, &account, &headers) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let to = field("To").unwrap_or_default();
    if !e164(&to) {
        return error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    if inner.opted_out.lock().unwrap().contains(&to) {
        return error(
            StatusCode::BAD_REQUEST,
            21610,
            "Attempt to send to unsubscribed recipient",
        );
    }
    let Some(body) = field("Body").filter(|b| !b.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    };
    if body.chars().count() > 1600 {
        return error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let from = field("From")
        .or(field("MessagingServiceSid"))
        .unwrap_or_default();
    let sent = Sent {
        sid: format!("SM{}", uuid::Uuid::new_v4().simple()),
        to: to.clone(),
        from,
        body,
        status_callback: field("StatusCallback"),
        at: std::time::SystemTime::now(),
    };
    inner.sent.lock().unwrap().push(sent.clone());
    if let Some(callback) = sent.status_callback.clone() {
        let (inner, sent) = (inner.clone(), sent.clone());
        tokio::spawn(async move {
            let last = if sent.to.ends_with("0000") {
                "undelivered"
            } else {
                "delivered"
            };
            for status in ["sent", last] {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let mut params = vec![
                    ("MessageSid", sent.sid.as_str()),
                    ("SmsSid", sent.sid.as_str()),
                    ("AccountSid", inner.account_sid.as_str()),
                    ("From", sent.from.as_str()),
                    ("To", sent.to.as_str()),
                    ("MessageStatus", status),
                    ("SmsStatus", status),
                ];
                if status == "undelivered" {
                    params.push(("ErrorCode", "30003"));
                }
                let _ = post_signed(&inner, &callback, &params).await;
            }
        });
    }
    let late = {
        let mut stalled = inner.stalled.lock().unwrap();
        (stalled.0 > 0).then(|| {
            stalled.0 -= 1;
            stalled.1
        })
    };
    if let Some(delay) = late {
        tokio::time::sleep(delay).await;
    }
    (StatusCode::CREATED, Json(resource(&sent, "queued"))).into_response()
}

async fn fetch(
    State(inner): State<Arc<Inner>>,
    Path((account, sid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&inner, &account, &headers) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let sid = sid.trim_end_matches(".json");
    match inner.sent.lock().unwrap().iter().find(|s| s.sid == sid) {
        Some(s) => Json(resource(s, "delivered")).into_response(),
        None => error(StatusCode::NOT_FOUND, 20404, &format!("The requested resource /2010-04-01/Accounts/{account}/Messages/{sid}.json was not found")),
    }
}

fn basic_auth_ok(inner: &Inner, headers: &HeaderMap) -> bool {
    let account = inner.account_sid.clone();
    authorised(inner, &account, headers)
}

fn verification(service: &str, to: &str, status: &str) -> Value {
    json!({"sid": format!("VE{}", uuid::Uuid::new_v4().simple()), "service_sid": service, "to": to, "channel": "sms",
           "status": status, "valid": status == "approved"})
}

async fn start_verification(
    State(inner): State<Arc<Inner>>,
    Path(service): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !basic_auth_ok(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let to = field("To").unwrap_or_default();
    if !e164(&to) {
        return error(StatusCode::BAD_REQUEST, 60200, "Invalid parameter `To`");
    }
    if field("Channel").as_deref() != Some("sms") {
        return error(
            StatusCode::BAD_REQUEST,
            60200,
            "Invalid parameter `Channel`",
        );
    }
    let n = u32::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..4].try_into().unwrap());
    let code = format!("{:06}", n % 1_000_000);
    inner
        .verifications
        .lock()
        .unwrap()
        .insert(to.clone(), (code, 0));
    (
        StatusCode::CREATED,
        Json(verification(&service, &to, "pending")),
    )
        .into_response()
}

async fn check_verification(
    State(inner): State<Arc<Inner>>,
    Path(service): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !basic_auth_ok(&inner, &headers) {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let to = field("To").unwrap_or_default();
    let given = field("Code").unwrap_or_default();
    let mut pending = inner.verifications.lock().unwrap();
    let Some((code, tries)) = pending.get_mut(&to) else {
        return error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    };
    *tries += 1;
    if *code == given {
        pending.remove(&to);
        return Json(verification(&service, &to, "approved")).into_response();
    }
    if *tries >= 5 {
        pending.remove(&to);
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            60202,
            "Max check attempts reached",
        );
    }
    Json(verification(&service, &to, "pending")).into_response()
}

async fn place_call(
    State(inner): State<Arc<Inner>>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if !basic_auth_ok(&inner, &headers) || account != inner.account_sid {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let to = field("To").unwrap_or_default();
    let from = field("From").unwrap_or_default();
    if !e164(&to) {
        return error(StatusCode::BAD_REQUEST, 21211, "Invalid 'To' Phone Number");
    }
    if !e164(&from) {
        return error(
            StatusCode::BAD_REQUEST,
            21212,
            "Invalid 'From' Phone Number",
        );
    }
    let Some(url) = field("Url").filter(|u| u.starts_with("http")) else {
        return error(StatusCode::BAD_REQUEST, 21205, "Url is not a valid URL");
    };
    let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
    inner.placed.lock().unwrap().push(Placed {
        sid: sid.clone(),
        to: to.clone(),
        from: from.clone(),
        url,
        status_callback: field("StatusCallback"),
        machine_detection: field("MachineDetection").as_deref() == Some("Enable"),
    });
    (
        StatusCode::CREATED,
        Json(json!({"sid": sid, "account_sid": account, "to": to, "from": from, "status": "queued", "direction": "outbound-api"})),
    )
        .into_response()
}
