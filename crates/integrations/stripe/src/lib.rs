//! Stripe's API as LaneRunner uses it (<https://docs.stripe.com/api>): PaymentIntents opened
//! for invoices, the balance history the daily reconciliation reads, and Connect for
//! paying carriers (Express accounts onboarded through account links, transfers from the
//! platform's balance, payouts from a connected account to its bank).
//!
//! - [`Stripe`]: form-encoded requests authenticated by the secret key, each
//!   payment-creating call with an `Idempotency-Key` (Stripe replays the first answer for
//!   a repeated key, so a retried request never charges twice), and Stripe's error object
//!   read into [`StripeError`].
//! - [`webhook`]: the `Stripe-Signature` scheme, checked before a webhook's body is read as
//!   anything.
//!
//! Card and bank details never pass through here: the client collects them with Stripe's
//! own Elements or Checkout and confirms the PaymentIntent with its client secret.

pub mod webhook;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with its error object (a card declined, a bad parameter...).
    #[error("Stripe refused the request ({status}): {message}")]
    Api {
        status: u16,
        kind: String,
        code: Option<String>,
        message: String,
    },
    /// Stripe could not be reached or answered with something unreadable.
    #[error("Stripe could not be reached: {0}")]
    Transport(String),
}

#[derive(Debug, Clone, Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Debug, Clone, Deserialize)]
struct ErrorObject {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// A PaymentIntent, the fields LaneRunner reads.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BalanceTransaction {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub fee: i64,
    pub net: i64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub source: Option<String>,
    pub created: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// What a new PaymentIntent asks for. The invoice is named in its metadata (shown in
/// Stripe's dashboard and on every event); receipts are LaneRunner's own to send.
#[derive(Debug, Clone)]
pub struct NewPaymentIntent<'a> {
    pub amount: i64,
    /// Lowercase ISO code (`usd`).
    pub currency: &'a str,
    /// `card`, `us_bank_account` (ACH).
    pub payment_method_types: &'a [&'a str],
    pub metadata: &'a [(&'a str, &'a str)],
}

pub struct Stripe {
    http: reqwest::Client,
    base: String,
    secret_key: String,
}

impl Stripe {
    /// `base`: `https://api.stripe.com` (or a stand-in such as localstripe on loopback).
    pub fn new(base: &str, secret_key: &str, timeout: Duration) -> Result<Self, StripeError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| StripeError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
        })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        self.send_as(None, method, path, form, idempotency_key)
            .await
    }

    /// A request made on a connected account's behalf (the `Stripe-Account` header) when
    /// `account` is given, else on the platform's.
    async fn send_as<T: DeserializeOwned>(
        &self,
        account: Option<&str>,
        method: reqwest::Method,
        path: &str,
        form: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.secret_key);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        if let Some(account) = account {
            req = req.header("Stripe-Account", account);
        }
        if method == reqwest::Method::GET {
            req = req.query(form);
        } else {
            req = req.form(form);
        }
        let res = req
            .send()
            .await
            .map_err(|e| StripeError::Transport(e.to_string()))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| StripeError::Transport(e.to_string()))?;
        if !status.is_success() {
            let err = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| b.error)
                .ok();
            return Err(StripeError::Api {
                status: status.as_u16(),
                kind: err.as_ref().map(|e| e.kind.clone()).unwrap_or_default(),
                code: err.as_ref().and_then(|e| e.code.clone()),
                message: err
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect()),
            });
        }
        serde_json::from_slice(&body).map_err(|e| {
            StripeError::Transport(format!("an answer that is not the expected object: {e}"))
        })
    }

    pub async fn create_payment_intent(
        &self,
        p: &NewPaymentIntent<'_>,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let mut form = vec![
            ("amount".to_owned(), p.amount.to_string()),
            ("currency".to_owned(), p.currency.to_owned()),
        ];
        for (i, t) in p.payment_method_types.iter().enumerate() {
            form.push((format!("payment_method_types[{i}]"), (*t).to_owned()));
        }
        for (k, v) in p.metadata {
            form.push((format!("metadata[{k}]"), (*v).to_owned()));
        }
        self.send(
            reqwest::Method::POST,
            "/v1/payment_intents",
            &form,
            Some(idempotency_key),
        )
        .await
    }

    /// A page of the account's balance transactions, newest first.
    pub async fn balance_transactions(
        &self,
        starting_after: Option<&str>,
        limit: u32,
    ) -> Result<List<BalanceTransaction>, StripeError> {
        let mut form = vec![("limit".to_owned(), limit.to_string())];
        if let Some(s) = starting_after {
            form.push(("starting_after".to_owned(), s.to_owned()));
        }
        self.send(reqwest::Method::GET, "/v1/balance/history", &form, None)
            .await
    }
}

/// A connected account, the fields LaneRunner reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub id: String,
    #[serde(default)]
    pub details_submitted: bool,
    #[serde(default)]
    pub payouts_enabled: bool,
    #[serde(default)]
    pub capabilities: std::collections::HashMap<String, String>,
    #[serde(default)]
    pub requirements: Option<Requirements>,
}

impl Account {
    /// Whether transfers to it will be accepted.
    pub fn takes_transfers(&self) -> bool {
        self.capabilities.get("transfers").map(String::as_str) == Some("active")
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Requirements {
    #[serde(default)]
    pub currently_due: Vec<String>,
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountLink {
    pub url: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Transfer {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub destination: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Payout {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub arrival_date: Option<i64>,
}

impl Stripe {
    /// An Express account for a carrier, able to receive transfers, whose payouts LaneRunner
    /// makes itself (a manual schedule: each load's payout is its own, on its own terms).
    pub async fn create_account(
        &self,
        country: &str,
        metadata: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<Account, StripeError> {
        let mut form = vec![
            ("type".to_owned(), "express".to_owned()),
            ("country".to_owned(), country.to_owned()),
            (
                "capabilities[transfers][requested]".to_owned(),
                "true".to_owned(),
            ),
            (
                "settings[payouts][schedule][interval]".to_owned(),
                "manual".to_owned(),
            ),
        ];
        for (k, v) in metadata {
            form.push((format!("metadata[{k}]"), (*v).to_owned()));
        }
        self.send(
            reqwest::Method::POST,
            "/v1/accounts",
            &form,
            Some(idempotency_key),
        )
        .await
    }

    pub async fn account(&self, id: &str) -> Result<Account, StripeError> {
        self.send(
            reqwest::Method::GET,
            &format!("/v1/accounts/{id}"),
            &[],
            None,
        )
        .await
    }

    /// A single-use link to Stripe's hosted onboarding; `refresh_url` is where an expired
    /// or used link lands (ask for a new one), `return_url` where a finished one does.
    pub async fn account_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<AccountLink, StripeError> {
        let form = [
            ("account".to_owned(), account.to_owned()),
            ("refresh_url".to_owned(), refresh_url.to_owned()),
            ("return_url".to_owned(), return_url.to_owned()),
            ("type".to_owned(), "account_onboarding".to_owned()),
        ];
        self.send(reqwest::Method::POST, "/v1/account_links", &form, None)
            .await
    }

    /// Moves money from the platform's balance to a connected account.
    pub async fn create_transfer(
        &self,
        amount: i64,
        currency: &str,
        destination: &str,
        transfer_group: &str,
        metadata: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<Transfer, StripeError> {
        let mut form = vec![
            ("amount".to_owned(), amount.to_string()),
            ("currency".to_owned(), currency.to_owned()),
            ("destination".to_owned(), destination.to_owned()),
            ("transfer_group".to_owned(), transfer_group.to_owned()),
        ];
        for (k, v) in metadata {
            form.push((format!("metadata[{k}]"), (*v).to_owned()));
        }
        self.send(
            reqwest::Method::POST,
            "/v1/transfers",
            &form,
            Some(idempotency_key),
        )
        .await
    }

    /// Pays a connected account's balance out to its bank.
    pub async fn create_payout(
        &self,
        account: &str,
        amount: i64,
        currency: &str,
        metadata: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<Payout, StripeError> {
        let mut form = vec![
            ("amount".to_owned(), amount.to_string()),
            ("currency".to_owned(), currency.to_owned()),
        ];
        for (k, v) in metadata {
            form.push((format!("metadata[{k}]"), (*v).to_owned()));
        }
        self.send_as(
            Some(account),
            reqwest::Method::POST,
            "/v1/payouts",
            &form,
            Some(idempotency_key),
        )
        .await
    }
}
