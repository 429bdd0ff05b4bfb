//! Twilio Verify (<https://www.twilio.com/docs/verify/api>): `POST
//! /v2/Services/{ServiceSid}/Verifications` (`To`, `Channel=sms`) sends a one-time code;
//! `POST /v2/Services/{ServiceSid}/VerificationCheck` (`To`, `Code`) answers `approved` when
//! it matches. Form-encoded, HTTP basic auth with the account SID and auth token, on
//! `verify.twilio.com`.

use std::time::Duration;

use serde::Deserialize;

use crate::messages::{http_client, read};
use crate::TwilioError;

/// A verification, as much of it as LaneRunner reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Verification {
    pub sid: String,
    /// `pending`, `approved`, `canceled`, `max_attempts_reached`, `expired`.
    pub status: String,
    pub to: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub valid: bool,
}

impl Verification {
    pub fn approved(&self) -> bool {
        self.status == "approved"
    }
}

pub struct VerifyClient {
    http: reqwest::Client,
    base_url: String,
    service_sid: String,
    account_sid: String,
    auth_token: String,
}

impl VerifyClient {
    /// `base_url`: `https://verify.twilio.com`, or a stand-in's.
    pub fn new(
        base_url: &str,
        service_sid: &str,
        account_sid: &str,
        auth_token: &str,
        timeout: Duration,
    ) -> Result<Self, TwilioError> {
        Ok(Self {
            http: http_client(timeout)?,
            base_url: base_url.trim_end_matches('/').to_owned(),
            service_sid: service_sid.to_owned(),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
        })
    }

    fn post(&self, tail: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http
            .post(format!(
                "{}/v2/Services/{}/{tail}",
                self.base_url, self.service_sid
            ))
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(form)
    }

    /// Sends a code to `to` (E.164) by SMS.
    pub async fn start(&self, to: &str) -> Result<Verification, TwilioError> {
        read(self.post("Verifications", &[("To", to), ("Channel", "sms")])).await
    }

    /// Checks `code` against the pending verification of `to`. Twilio answers 404 (20404)
    /// when none is pending (never started, already approved, expired, or too many tries).
    pub async fn check(&self, to: &str, code: &str) -> Result<Verification, TwilioError> {
        read(self.post("VerificationCheck", &[("To", to), ("Code", code)])).await
    }
}
