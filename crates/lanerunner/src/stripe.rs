//! The payment service's processor as configured (`payments.processor`): Stripe, or none
//! (invoices settled by hand). Stripe's objects are read into the payment service's facts
//! here, so the service never names Stripe.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::HeaderMap;
use chrono::{DateTime, TimeZone, Utc};
use lanerunner_payments::processor::{
    Fact, Intent, IntentRequest, Manual, OnboardingLink, PayeeAccount, PayeeStatus,
    PaymentProcessor, ProcessorError, ProcessorEvent, TransferRequest, WebhookRejected,
};
use lanerunner_payments::reconcile::{BalanceHistory, Fee, Movement, MovementKind};
use lanerunner_platform::config::{PaymentProcessorKind, PaymentsConfig};
use lanerunner_stripe::webhook::{self, Event};
use lanerunner_stripe::{Account, BalanceTransaction, NewPaymentIntent, Stripe, StripeError};
use serde_json::Value;

pub fn processor(c: &PaymentsConfig) -> anyhow::Result<Arc<dyn PaymentProcessor>> {
    Ok(match c.processor {
        PaymentProcessorKind::Manual => Arc::new(Manual),
        PaymentProcessorKind::Stripe => Arc::new(StripeProcessor {
            api: Stripe::new(
                &c.stripe.api_base,
                c.stripe.secret_key.as_deref().unwrap_or_default(),
                Duration::from_millis(c.stripe.timeout_ms),
            )?,
            secrets: c.stripe.webhook_secrets.clone(),
            tolerance_secs: c.stripe.webhook_tolerance_secs,
            payment_method_types: c.stripe.payment_method_types.clone(),
            connect_country: c.stripe.connect_country.clone(),
        }),
    })
}

pub struct StripeProcessor {
    api: Stripe,
    secrets: Vec<String>,
    tolerance_secs: i64,
    /// `card`, `us_bank_account` (ACH debit).
    payment_method_types: Vec<String>,
    connect_country: String,
}

/// Stripe's refusals (4xx other than 429) are final; the rest may pass on a retry.
fn processor_error(e: StripeError) -> ProcessorError {
    match e {
        StripeError::Api { status, .. } if status < 500 && status != 429 => {
            ProcessorError::Refused(e.to_string())
        }
        other => ProcessorError::Unavailable(other.to_string()),
    }
}

fn payee(a: &Account) -> PayeeAccount {
    PayeeAccount {
        id: a.id.clone(),
        status: payee_status(
            a.takes_transfers() && a.payouts_enabled,
            a.details_submitted,
        ),
        currently_due: a
            .requirements
            .as_ref()
            .map(|r| r.currently_due.clone())
            .unwrap_or_default(),
    }
}

fn payee_status(ready: bool, details_submitted: bool) -> PayeeStatus {
    match (ready, details_submitted) {
        (true, _) => PayeeStatus::Ready,
        (false, true) => PayeeStatus::Restricted,
        (false, false) => PayeeStatus::Onboarding,
    }
}

#[async_trait]
impl PaymentProcessor for StripeProcessor {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn open(&self, req: &IntentRequest<'_>) -> Result<Option<Intent>, ProcessorError> {
        let currency = req.currency.to_lowercase();
        let invoice_id = req.invoice_id.to_string();
        let types: Vec<&str> = self
            .payment_method_types
            .iter()
            .map(String::as_str)
            .collect();
        let intent = self
            .api
            .create_payment_intent(
                &NewPaymentIntent {
                    amount: req.amount_cents,
                    currency: &currency,
                    payment_method_types: &types,
                    metadata: &[
                        ("invoice_id", &invoice_id),
                        ("invoice_number", req.invoice_number),
                    ],
                },
                &req.idempotency_key,
            )
            .await
            .map_err(processor_error)?;
        Ok(Some(Intent {
            id: intent.id,
            client_secret: intent.client_secret,
        }))
    }

    async fn balance_history(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<BalanceHistory, ProcessorError> {
        // Newest first: page back until the window's start has passed.
        let (from, to) = (from.timestamp(), to.timestamp());
        let mut out = BalanceHistory::default();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .api
                .balance_transactions(after.as_deref(), 100)
                .await
                .map_err(|e| ProcessorError::Unavailable(e.to_string()))?;
            let mut older = false;
            for t in &page.data {
                if t.created < from {
                    older = true;
                } else if t.created < to {
                    out.movements.extend(movement(t));
                    out.fees.extend(fee(t));
                }
            }
            match page.data.last() {
                Some(last) if page.has_more && !older => after = Some(last.id.clone()),
                _ => break,
            }
        }
        Ok(out)
    }

    fn read_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ProcessorEvent, WebhookRejected> {
        let header = headers
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok());
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        let event = webhook::verify(body, header, &secrets, now.timestamp(), self.tolerance_secs)
            .map_err(|e| WebhookRejected(e.to_string()))?;
        Ok(ProcessorEvent {
            created: Utc.timestamp_opt(event.created, 0).single().unwrap_or(now),
            fact: fact(&event),
            id: event.id,
            kind: event.kind,
        })
    }

    async fn open_payee_account(
        &self,
        org: uuid::Uuid,
        idempotency_key: &str,
    ) -> Result<PayeeAccount, ProcessorError> {
        let org = org.to_string();
        // The carrier gives Stripe its own contact details during onboarding.
        self.api
            .create_account(&self.connect_country, &[("org_id", &org)], idempotency_key)
            .await
            .map(|a| payee(&a))
            .map_err(processor_error)
    }

    async fn payee_account(&self, id: &str) -> Result<PayeeAccount, ProcessorError> {
        self.api
            .account(id)
            .await
            .map(|a| payee(&a))
            .map_err(processor_error)
    }

    async fn onboarding_link(
        &self,
        id: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<OnboardingLink, ProcessorError> {
        let link = self
            .api
            .account_link(id, refresh_url, return_url)
            .await
            .map_err(processor_error)?;
        Ok(OnboardingLink {
            url: link.url,
            expires_at: Utc
                .timestamp_opt(link.expires_at, 0)
                .single()
                .unwrap_or_else(Utc::now),
        })
    }

    async fn transfer(&self, req: &TransferRequest<'_>) -> Result<String, ProcessorError> {
        let payout = req.payout_id.to_string();
        self.api
            .create_transfer(
                req.amount_cents,
                &req.currency.to_lowercase(),
                req.account_id,
                // Stripe groups the load's money movements under its reference.
                req.reference,
                &[("payout_id", &payout), ("load", req.reference)],
                &req.idempotency_key,
            )
            .await
            .map(|t| t.id)
            .map_err(processor_error)
    }

    async fn pay_out(&self, req: &TransferRequest<'_>) -> Result<String, ProcessorError> {
        let payout = req.payout_id.to_string();
        self.api
            .create_payout(
                req.account_id,
                req.amount_cents,
                &req.currency.to_lowercase(),
                &[("payout_id", &payout), ("load", req.reference)],
                &req.idempotency_key,
            )
            .await
            .map(|p| p.id)
            .map_err(processor_error)
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(String::from)
}

/// The charge a PaymentIntent's payment made: `latest_charge` (an id, or the charge when
/// expanded), or the first of the older `charges` list.
fn charge_of(pi: &Value) -> Option<String> {
    match pi.get("latest_charge") {
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Object(c)) => c.get("id").and_then(Value::as_str).map(String::from),
        _ => pi
            .pointer("/charges/data/0/id")
            .and_then(Value::as_str)
            .map(String::from),
    }
}

/// What a Stripe event says, in the payment service's terms; anything unreadable or not
/// acted on is `Other`.
fn fact(e: &Event) -> Fact {
    let o = &e.data.object;
    let amount = |key: &str| o.get(key).and_then(Value::as_i64);
    let currency = text(o, "currency").unwrap_or_else(|| "usd".into());
    match e.kind.as_str() {
        "payment_intent.succeeded" => match (
            text(o, "id"),
            amount("amount_received").or(amount("amount")),
        ) {
            (Some(intent_id), Some(amount_cents)) => Fact::PaymentSucceeded {
                charge_id: charge_of(o),
                intent_id,
                amount_cents,
                currency,
            },
            _ => Fact::Other,
        },
        "payment_intent.payment_failed" => match text(o, "id") {
            Some(intent_id) => Fact::PaymentFailed {
                intent_id,
                reason: o
                    .get("last_payment_error")
                    .and_then(|err| text(err, "message")),
            },
            None => Fact::Other,
        },
        // A refund on its own, or a charge listing its refunds: each applied once by id.
        "refund.created" | "refund.updated" | "charge.refund.updated" => {
            match (text(o, "payment_intent"), text(o, "id"), amount("amount")) {
                (Some(intent_id), Some(id), Some(cents))
                    if text(o, "status").as_deref() != Some("failed") =>
                {
                    Fact::Refunded {
                        intent_id,
                        refunds: vec![(id, cents)],
                        currency,
                    }
                }
                _ => Fact::Other,
            }
        }
        "charge.refunded" => {
            let refunds: Vec<(String, i64)> = o
                .pointer("/refunds/data")
                .and_then(Value::as_array)
                .map(|rs| {
                    rs.iter()
                        .filter(|r| text(r, "status").as_deref() != Some("failed"))
                        .filter_map(|r| Some((text(r, "id")?, r.get("amount")?.as_i64()?)))
                        .collect()
                })
                .unwrap_or_default();
            match text(o, "payment_intent") {
                Some(intent_id) if !refunds.is_empty() => Fact::Refunded {
                    intent_id,
                    refunds,
                    currency,
                },
                _ => Fact::Other,
            }
        }
        "account.updated" => match text(o, "id") {
            Some(account_id) => {
                let transfers = o.pointer("/capabilities/transfers").and_then(Value::as_str);
                let flag = |k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
                Fact::AccountUpdated {
                    account_id,
                    status: payee_status(
                        transfers == Some("active") && flag("payouts_enabled"),
                        flag("details_submitted"),
                    ),
                    currently_due: o
                        .pointer("/requirements/currently_due")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            }
            None => Fact::Other,
        },
        "payout.paid" => match text(o, "id") {
            Some(payout_id) => Fact::PayoutPaid {
                account_id: e.account.clone(),
                payout_id,
            },
            None => Fact::Other,
        },
        "payout.failed" => match text(o, "id") {
            Some(payout_id) => Fact::PayoutFailed {
                account_id: e.account.clone(),
                payout_id,
                reason: text(o, "failure_message").or_else(|| text(o, "failure_code")),
            },
            None => Fact::Other,
        },
        "charge.dispute.created" => {
            match (text(o, "payment_intent"), text(o, "id"), amount("amount")) {
                (Some(intent_id), Some(dispute_id), Some(amount_cents)) => Fact::DisputeOpened {
                    intent_id,
                    dispute_id,
                    amount_cents,
                    currency,
                },
                _ => Fact::Other,
            }
        }
        _ => Fact::Other,
    }
}

/// A balance transaction as a reconciliation movement: charges, refunds, dispute
/// withdrawals and carrier transfers; the platform's own payouts and fees are not.
fn movement(t: &BalanceTransaction) -> Option<Movement> {
    let source = t.source.clone()?;
    let kind = match t.kind.as_str() {
        "charge" | "payment" => MovementKind::Charge,
        "refund" | "payment_refund" => MovementKind::Refund,
        "transfer" => MovementKind::Transfer,
        "adjustment" if source.starts_with("dp_") || source.starts_with("du_") => {
            MovementKind::Dispute
        }
        _ => return None,
    };
    Some(Movement {
        object_id: source,
        kind,
        currency: t.currency.to_uppercase(),
        amount_cents: t.amount,
    })
}

/// Stripe's fee on a charge, from its balance transaction.
fn fee(t: &BalanceTransaction) -> Option<Fee> {
    if t.fee <= 0 || !matches!(t.kind.as_str(), "charge" | "payment") {
        return None;
    }
    Some(Fee {
        object_id: t.source.clone()?,
        transaction_id: t.id.clone(),
        currency: t.currency.to_uppercase(),
        fee_cents: t.fee,
        at: Utc.timestamp_opt(t.created, 0).single()?,
    })
}
