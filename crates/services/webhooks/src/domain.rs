//! The rules of outgoing webhooks, free of I/O: which events a customer can subscribe to,
//! what a valid endpoint is, what a message's body is, and when a failed delivery is tried
//! again.

use std::time::Duration;

use lanerunner_core::EventEnvelope;
use lanerunner_platform::http::{Invalid, Violations};
use serde::{Deserialize, Serialize};

/// The events a customer's system can subscribe to, each with what it tells. Only these
/// leave LaneRunner: internal commands (an email to send, a token in it) never do. Each is
/// delivered to the organization the event belongs to, whose own data its payload is.
pub const CATALOG: &[(&str, &str)] = &[
    (
        "load.posted.v1",
        "A load was posted (to the board or privately).",
    ),
    ("load.updated.v1", "A posted load's details changed."),
    (
        "load.booked.v1",
        "A load was booked with a carrier at an agreed rate.",
    ),
    (
        "load.status_changed.v1",
        "A load moved between statuses (covered, in transit, delivered, cancelled…).",
    ),
    ("truck.posted.v1", "A truck was posted as available."),
    ("truck.removed.v1", "A truck posting was taken down."),
    ("search.alert.v1", "A new load matches a saved search."),
    (
        "match.suggested.v1",
        "The matching service suggests a truck for a load, or a load for a truck.",
    ),
    (
        "negotiation.updated.v1",
        "An offer, counter-offer, acceptance or withdrawal on a load.",
    ),
    (
        "negotiation.agreed.v1",
        "A negotiation ended in an agreed rate.",
    ),
    (
        "chat.message.v1",
        "A chat message was posted in one of the organization's conversations.",
    ),
    (
        "tracking.updated.v1",
        "A tracked load's position and ETA changed.",
    ),
    (
        "tracking.stop_event.v1",
        "A truck arrived at or departed from a stop.",
    ),
    (
        "tracking.late_risk.v1",
        "A load is at risk of arriving late.",
    ),
    ("documents.signed.v1", "A rate confirmation was signed."),
    (
        "documents.checklist_completed.v1",
        "A load's paperwork is complete: it can be invoiced.",
    ),
    ("payments.invoice_issued.v1", "An invoice was issued."),
    (
        "voice.call_completed.v1",
        "The AI agent finished a call about a load: outcome, agreed rate, sentiment, summary, and a check call's answers.",
    ),
];

/// The message an endpoint's test button sends; not a domain event.
pub const TEST_EVENT: &str = "webhook.test.v1";

pub fn in_catalog(event_type: &str) -> bool {
    CATALOG.iter().any(|(t, _)| *t == event_type)
}

pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// What a customer sends to create or replace an endpoint.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// Where deliveries are POSTed: an `https` URL (`http` for loopback and private
    /// addresses where the operator allows them).
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Event types from the catalog (`GET /v1/webhooks/event-types`); empty or absent for
    /// every event in it.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// A disabled endpoint is sent nothing, and events while it is disabled are not queued
    /// for it.
    #[serde(default)]
    pub disabled: bool,
}

/// A checked endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    pub url: String,
    pub description: Option<String>,
    /// Sorted, without repeats; empty = every event in the catalog.
    pub event_types: Vec<String>,
    pub disabled: bool,
}

impl EndpointInput {
    pub fn validate(self) -> Result<EndpointSpec, Invalid> {
        let mut v = Violations::default();
        let url = self.url.trim().to_owned();
        if url.chars().count() > MAX_URL_CHARS {
            v.add("url", format!("at most {MAX_URL_CHARS} characters"));
        } else if let Err(why) = check_url(&url) {
            v.add("url", why);
        }
        let description = self
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            v.add(
                "description",
                format!("at most {MAX_DESCRIPTION_CHARS} characters"),
            );
        }
        let mut event_types = self.event_types;
        for (i, t) in event_types.iter().enumerate() {
            if !in_catalog(t) {
                v.add(
                    &format!("event_types[{i}]"),
                    format!("\"{t}\" is not an event type one can subscribe to (see GET /v1/webhooks/event-types)"),
                );
            }
        }
        event_types.sort();
        event_types.dedup();
        v.into_result(EndpointSpec {
            url,
            description,
            event_types,
            disabled: self.disabled,
        })
    }
}

/// An endpoint URL: absolute `http(s)`, a host, no credentials, no fragment. Where it
/// points (a private address) is the sender's check, at the moment it connects.
fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("must be an http or https URL".into());
    }
    if url.host().is_none() {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials; verify our signature instead".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    Ok(())
}

/// Whether an endpoint subscribed to `event_types` wants `event_type`.
pub fn wants(event_types: &[String], event_type: &str) -> bool {
    event_type == TEST_EVENT
        || event_types.is_empty()
        || event_types.iter().any(|t| t == event_type)
}

/// The body every delivery of an event carries, in the Standard Webhooks shape: the type,
/// when it happened, and the event's payload as `data`.
pub fn body(event: &EventEnvelope) -> String {
    serde_json::json!({
        "type": event.event_type,
        "timestamp": event.occurred_at,
        "data": event.payload,
    })
    .to_string()
}

/// The `webhook-id` of an event's message: the same on every attempt and every endpoint,
/// so a receiver deduplicates by it.
pub fn message_id(event_id: uuid::Uuid) -> String {
    format!("msg_{}", event_id.simple())
}

/// When a failed delivery is tried again: exponential backoff from `base`, doubling to at
/// most `cap`, each delay spread by ±`jitter` so endpoints that failed together do not
/// retry together; after `max_attempts` attempts the delivery is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 5 s, 10 s, 20 s … capped at 5 hours, 15 attempts: about 21 hours of retrying, close
    /// to Svix's schedule (immediately, then 5 s up to 10 hours; about 28 hours).
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(5 * 3600),
            max_attempts: 15,
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1 = the first), or `None` when
    /// that was the last one. `unit` is a random number in `[0, 1)`.
    pub fn next_delay(&self, attempts: u32, unit: f64) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << doublings).min(self.cap);
        let spread = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        Some(raw.mul_f64(spread.max(0.0)))
    }
}

/// Whether a receiver's answer acknowledges the delivery: any 2xx, as Svix and the
/// specification have it. Everything else, and no answer, is tried again.
pub fn acknowledged(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The states of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver acknowledged it.
    Delivered,
    /// Every attempt failed; it waits for a replay.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "dead" => Some(DeliveryStatus::Dead),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, types: &[&str]) -> EndpointInput {
        EndpointInput {
            url: url.into(),
            description: Some("  TMS  ".into()),
            event_types: types.iter().map(|t| t.to_string()).collect(),
            disabled: false,
        }
    }

    #[test]
    fn endpoints_are_checked_and_tidied() {
        let spec = input(
            " https://tms.example.com/hooks ",
            &["load.booked.v1", "load.posted.v1", "load.booked.v1"],
        )
        .validate()
        .unwrap();
        assert_eq!(spec.url, "https://tms.example.com/hooks");
        assert_eq!(spec.description.as_deref(), Some("TMS"));
        assert_eq!(spec.event_types, ["load.booked.v1", "load.posted.v1"]);

        let bad = |url: &str, types: &[&str]| input(url, types).validate().unwrap_err().0;
        assert_eq!(bad("ftp://x.example.com/", &[])[0].field, "url");
        assert_eq!(bad("not a url", &[])[0].field, "url");
        assert_eq!(bad("https://user:pw@x.example.com/", &[])[0].field, "url");
        assert_eq!(bad("https://x.example.com/#frag", &[])[0].field, "url");
        // Internal commands are not in the catalog, so no one can subscribe to them.
        let errs = bad(
            "https://x.example.com/",
            &["email.send_requested.v1", "load.booked.v1", "nope"],
        );
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].field, "event_types[0]");
        assert_eq!(errs[1].field, "event_types[2]");
    }

    #[test]
    fn an_empty_filter_wants_everything_and_tests_always_pass() {
        assert!(wants(&[], "load.booked.v1"));
        let only = vec!["load.booked.v1".to_string()];
        assert!(wants(&only, "load.booked.v1"));
        assert!(!wants(&only, "load.posted.v1"));
        assert!(wants(&only, TEST_EVENT));
    }

    #[test]
    fn backoff_doubles_to_the_cap_then_gives_up() {
        let p = RetryPolicy {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(60),
            max_attempts: 6,
            jitter: 0.0,
        };
        let delays: Vec<_> = (1..=6).map(|n| p.next_delay(n, 0.5)).collect();
        assert_eq!(
            delays,
            [5, 10, 20, 40, 60]
                .map(|s| Some(Duration::from_secs(s)))
                .into_iter()
                .chain([None])
                .collect::<Vec<_>>()
        );
        let j = RetryPolicy { jitter: 0.2, ..p };
        assert_eq!(j.next_delay(1, 0.0), Some(Duration::from_secs(4)));
        assert_eq!(j.next_delay(1, 1.0), Some(Duration::from_secs(6)));
        // A huge attempt count cannot overflow.
        assert_eq!(
            RetryPolicy {
                max_attempts: u32::MAX,
                ..p
            }
            .next_delay(100, 0.5),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn only_2xx_acknowledges() {
        assert!(acknowledged(200) && acknowledged(204) && acknowledged(299));
        assert!(
            !acknowledged(301) && !acknowledged(410) && !acknowledged(500) && !acknowledged(199)
        );
    }

    #[test]
    fn bodies_follow_the_standard_webhooks_shape() {
        let e = EventEnvelope::new(
            lanerunner_core::EventType::new("load.booked", 1),
            None,
            uuid::Uuid::now_v7(),
            &serde_json::json!({"rate_cents": 180000}),
        )
        .unwrap();
        let b: serde_json::Value = serde_json::from_str(&body(&e)).unwrap();
        assert_eq!(b["type"], "load.booked.v1");
        assert_eq!(b["data"]["rate_cents"], 180000);
        assert!(b["timestamp"]
            .as_str()
            .unwrap()
            .starts_with(&e.occurred_at.format("%Y-%m-%d").to_string()));
        assert_eq!(message_id(e.id).len(), 4 + 32);
    }
}
