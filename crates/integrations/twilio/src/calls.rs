//! Twilio's Calls API (<https://www.twilio.com/docs/voice/api/call-resource>): `POST
//! /2010-04-01/Accounts/{AccountSid}/Calls.json` places an outbound call from one of the
//! account's numbers; once it is answered Twilio fetches TwiML from `Url` (signed, like
//! every webhook), and posts the call's progress to `StatusCallback`. Form-encoded, HTTP
//! basic auth, the Call resource as JSON or Twilio's error object.

use std::time::Duration;

use serde::Deserialize;

use crate::messages::{read, AccountApi};
use crate::TwilioError;

/// A call to place.
#[derive(Debug, Clone, Default)]
pub struct PlaceCall {
    /// E.164.
    pub to: String,
    /// One of the account's numbers (E.164).
    pub from: String,
    /// Where Twilio asks for the call's TwiML once it is answered (POST).
    pub url: String,
    /// Where Twilio posts `initiated`, `ringing`, `answered` and `completed` (POST).
    pub status_callback: Option<String>,
    /// Answering-machine detection: Twilio adds `AnsweredBy` (`human`, `machine_start`, …)
    /// to the `Url` request.
    pub detect_machine: bool,
    /// Seconds to let it ring before giving up (Twilio: 5–600, default 60).
    pub timeout_secs: Option<u32>,
}

/// The Call resource, as much of it as LaneRunner reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Call {
    pub sid: String,
    /// `queued`, `ringing`, `in-progress`, `completed`, `busy`, `failed`, `no-answer`, …
    pub status: String,
    pub to: String,
    pub from: String,
}

pub struct CallsClient(AccountApi);

impl CallsClient {
    /// `base_url`: `https://api.twilio.com`, or a stand-in's.
    pub fn new(
        base_url: &str,
        account_sid: &str,
        auth_token: &str,
        timeout: Duration,
    ) -> Result<Self, TwilioError> {
        AccountApi::new(base_url, account_sid, auth_token, timeout).map(Self)
    }

    pub async fn place(&self, call: &PlaceCall) -> Result<Call, TwilioError> {
        let timeout = call.timeout_secs.map(|t| t.to_string());
        let mut form: Vec<(&str, &str)> = vec![
            ("To", &call.to),
            ("From", &call.from),
            ("Url", &call.url),
            ("Method", "POST"),
        ];
        if let Some(cb) = &call.status_callback {
            form.push(("StatusCallback", cb));
            form.push(("StatusCallbackMethod", "POST"));
            for event in ["initiated", "ringing", "answered", "completed"] {
                form.push(("StatusCallbackEvent", event));
            }
        }
        if call.detect_machine {
            form.push(("MachineDetection", "Enable"));
        }
        if let Some(t) = &timeout {
            form.push(("Timeout", t));
        }
        read(self.0.post("Calls.json", &form)).await
    }
}
