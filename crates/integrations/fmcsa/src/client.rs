//! The QCMobile HTTP client.

use std::time::Duration;

use crate::wire::{Carrier, CarrierAnswer, DocketAnswer};

#[derive(Debug, thiserror::Error)]
pub enum FmcsaError {
    /// FMCSA refused the web key (401/403).
    #[error("FMCSA refused the web key (HTTP {0})")]
    Unauthorized(u16),
    /// FMCSA could not be reached, timed out or answered something other than its JSON.
    /// The message never contains the web key.
    #[error("FMCSA could not be asked: {0}")]
    Unavailable(String),
}

/// A QCMobile client. Clones share one connection pool.
#[derive(Clone)]
pub struct QcMobile {
    http: reqwest::Client,
    base_url: String,
    web_key: String,
}

impl QcMobile {
    pub fn new(base_url: &str, web_key: &str, timeout: Duration) -> Result<Self, FmcsaError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| FmcsaError::Unavailable(e.without_url().to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            web_key: web_key.to_owned(),
        })
    }

    /// The carrier with USDOT number `dot`, or `None` when FMCSA knows no such number.
    pub async fn by_dot(&self, dot: u64) -> Result<Option<Carrier>, FmcsaError> {
        let answer: CarrierAnswer = self.get(&format!("/carriers/{dot}")).await?;
        Ok(answer.content.and_then(|c| c.carrier))
    }

    /// The carrier holding MC docket `mc`, or `None` when FMCSA knows no such docket.
    pub async fn by_docket(&self, mc: u64) -> Result<Option<Carrier>, FmcsaError> {
        let answer: DocketAnswer = self.get(&format!("/carriers/docket-number/{mc}")).await?;
        Ok(answer
            .content
            .unwrap_or_default()
            .into_iter()
            .find_map(|c| c.carrier))
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, FmcsaError> {
        // The key is a query parameter; reqwest errors are stripped of the URL so it is
        // never logged.
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .query(&[("webKey", &self.web_key)])
            .send()
            .await
            .map_err(|e| FmcsaError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(FmcsaError::Unauthorized(status.as_u16()));
        }
        if !status.is_success() {
            return Err(FmcsaError::Unavailable(format!("HTTP {status}")));
        }
        response
            .json::<T>()
            .await
            .map_err(|e| FmcsaError::Unavailable(e.without_url().to_string()))
    }
}
