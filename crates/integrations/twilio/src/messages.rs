//! Twilio's Messages API (<https://www.twilio.com/docs/messaging/api/message-resource>):
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, HTTP basic auth
//! with the account SID and auth token; the answer is the Message resource as JSON, or
//! Twilio's error object (`code`, `message`, `more_info`, `status`).

use std::time::Duration;

use serde::Deserialize;

/// An SMS to send.
#[derive(Debug, Clone, Default)]
pub struct SendSms {
    /// E.164: `+14155550100`.
    pub to: String,
    /// The sending number, unless a messaging service picks it.
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
    /// Where Twilio posts the message's status as it changes (signed).
    pub status_callback: Option<String>,
}

/// The Message resource, as much of it as LaneRunner reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    pub sid: String,
    /// `queued`, `sending`, `sent`, `delivered`, `undelivered`, `failed`, …
    pub status: String,
    pub to: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub error_message: Option<String>,
    /// RFC 2822, as Twilio writes it: `Thu, 24 Aug 2023 05:01:45 +0000`.
    #[serde(default)]
    pub date_created: Option<String>,
}

impl Message {
    /// When Twilio created it, when it says so in a form it uses.
    pub fn created_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let at = chrono::DateTime::parse_from_rfc2822(self.date_created.as_deref()?).ok()?;
        Some(at.with_timezone(&chrono::Utc))
    }
}

/// A page of the Message list (`GET …/Messages.json`), newest first.
#[derive(Debug, Clone, Deserialize)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    #[serde(default)]
    pub next_page_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// Twilio answered with its error object.
    #[error("Twilio refused ({status}, code {code:?}): {message}")]
    Api {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// No answer, or one that is not Twilio's.
    #[error("Twilio could not be reached: {0}")]
    Transport(String),
}

/// Twilio's codes for a message that can never be sent as asked: an invalid or unreachable
/// number (21211, 21614), a recipient who replied STOP (21610), a body too long (21617).
const PERMANENT_CODES: [i64; 4] = [21211, 21610, 21614, 21617];

impl TwilioError {
    /// Whether sending the same request again cannot succeed.
    pub fn is_permanent(&self) -> bool {
        match self {
            TwilioError::Api { status, code, .. } => {
                code.is_some_and(|c| PERMANENT_CODES.contains(&c))
                    || *status == 400
                    || *status == 404
            }
            TwilioError::Transport(_) => false,
        }
    }

    pub fn code(&self) -> Option<i64> {
        match self {
            TwilioError::Api { code, .. } => *code,
            TwilioError::Transport(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, TwilioError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| TwilioError::Transport(e.to_string()))
}

/// The account's REST API (`/2010-04-01/Accounts/{AccountSid}/…`, HTTP basic auth with the
/// account SID and auth token), shared by the Messages and Calls clients.
pub(crate) struct AccountApi {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: String,
}

impl AccountApi {
    /// `base_url`: `https://api.twilio.com`, or a stand-in's.
    pub(crate) fn new(
        base_url: &str,
        account_sid: &str,
        auth_token: &str,
        timeout: Duration,
    ) -> Result<Self, TwilioError> {
        Ok(Self {
            http: http_client(timeout)?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
        })
    }

    fn url(&self, tail: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{tail}",
            self.base_url, self.account_sid
        )
    }

    pub(crate) fn post(&self, tail: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(tail))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(form)
    }

    pub(crate) fn get(&self, tail: &str) -> reqwest::RequestBuilder {
        self.get_path(&format!("/2010-04-01/Accounts/{}/{tail}", self.account_sid))
    }

    /// A path Twilio gave (a list's `next_page_uri`), on the same host.
    pub(crate) fn get_path(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base_url))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
    }
}

pub struct MessagesClient(AccountApi);

impl MessagesClient {
    /// `base_url`: `https://api.twilio.com`, or a stand-in's.
    pub fn new(
        base_url: &str,
        account_sid: &str,
        auth_token: &str,
        timeout: Duration,
    ) -> Result<Self, TwilioError> {
        AccountApi::new(base_url, account_sid, auth_token, timeout).map(Self)
    }

    pub async fn send(&self, sms: &SendSms) -> Result<Message, TwilioError> {
        let mut form: Vec<(&str, &str)> = vec![("To", &sms.to), ("Body", &sms.body)];
        if let Some(f) = &sms.from {
            form.push(("From", f));
        }
        if let Some(m) = &sms.messaging_service_sid {
            form.push(("MessagingServiceSid", m));
        }
        if let Some(c) = &sms.status_callback {
            form.push(("StatusCallback", c));
        }
        read(self.0.post("Messages.json", &form)).await
    }

    pub async fn fetch(&self, sid: &str) -> Result<Message, TwilioError> {
        read(self.0.get(&format!("Messages/{sid}.json"))).await
    }

    /// The messages to `to` created at or after `since`, newest first, read page by page
    /// (`page_size` each, at most 1,000) until a page reaches back past `since` or
    /// `max_pages` were read: how a sender whose answer was lost finds out whether Twilio
    /// took the message, since the Messages API takes no idempotency key. (Its `DateSent`
    /// filter is by day and skips messages not yet sent, so it cannot narrow this.)
    pub async fn sent_to_since(
        &self,
        to: &str,
        since: chrono::DateTime<chrono::Utc>,
        page_size: u32,
        max_pages: usize,
    ) -> Result<Vec<Message>, TwilioError> {
        let size = page_size.clamp(1, 1000).to_string();
        let mut request = self
            .0
            .get("Messages.json")
            .query(&[("To", to), ("PageSize", size.as_str())]);
        let mut found = Vec::new();
        for _ in 0..max_pages {
            let page: MessagePage = read(request).await?;
            let reached_back = page
                .messages
                .last()
                .is_none_or(|m| m.created_at().is_some_and(|at| at < since));
            found.extend(
                page.messages
                    .into_iter()
                    .filter(|m| m.created_at().is_some_and(|at| at >= since)),
            );
            match page.next_page_uri {
                Some(next) if !reached_back => request = self.0.get_path(&next),
                _ => break,
            }
        }
        Ok(found)
    }
}

/// Sends `request` and reads Twilio's answer: the resource, or its error object.
pub(crate) async fn read<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<T, TwilioError> {
    let response = request
        .send()
        .await
        .map_err(|e| TwilioError::Transport(e.to_string()))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .map_err(|e| TwilioError::Transport(e.to_string()))?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text)
            .map_err(|e| TwilioError::Transport(format!("an answer Twilio would not give: {e}")));
    }
    let error: ApiError = serde_json::from_str(&text).unwrap_or(ApiError {
        code: None,
        message: None,
    });
    Err(TwilioError::Api {
        status,
        code: error.code,
        message: error.message.unwrap_or(text),
    })
}
