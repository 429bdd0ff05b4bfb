//! The event envelope every service publishes and consumes.
//!
//! The envelope is the contract between services: consumers depend on `event_type` and
//! `version` (`identity.user_registered.v1`), never on the publisher's tables. Ids are UUIDv7
//! so consumers can deduplicate by id and order by it when the bus reorders.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::OrgId;

/// The W3C trace context of the request that caused an event, so a trace follows the event
/// across services and buses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TraceContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A versioned event type name: `<service>.<what_happened>.v<version>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType {
    /// `identity.user_registered`
    pub name: &'static str,
    pub version: u32,
}

impl EventType {
    pub const fn new(name: &'static str, version: u32) -> Self {
        Self { name, version }
    }

    /// The topic the event travels on; also its routing key on a topic exchange.
    pub fn topic(&self) -> String {
        format!("{}.v{}", self.name, self.version)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub id: Uuid,
    /// `identity.user_registered.v1`
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u32,
    /// The tenant the event belongs to; `None` only for platform-wide events.
    pub org_id: Option<OrgId>,
    /// The entity whose history this event is part of; events of one aggregate keep order.
    pub aggregate_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub trace: TraceContext,
    pub payload: serde_json::Value,
}

impl EventEnvelope {
    pub fn new<P: Serialize>(
        kind: EventType,
        org_id: Option<OrgId>,
        aggregate_id: Uuid,
        payload: &P,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: Uuid::now_v7(),
            event_type: kind.topic(),
            version: kind.version,
            org_id,
            aggregate_id,
            occurred_at: Utc::now(),
            trace: TraceContext::default(),
            payload: serde_json::to_value(payload)?,
        })
    }

    pub fn with_trace(mut self, trace: TraceContext) -> Self {
        self.trace = trace;
        self
    }

    pub fn is(&self, kind: EventType) -> bool {
        self.event_type == kind.topic()
    }
}

/// Does a topic match a subscription pattern? Patterns follow AMQP topic-exchange rules on
/// dot-separated words: `*` matches exactly one word, `#` matches zero or more.
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    fn go(p: &[&str], t: &[&str]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(&"#"), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(&"*"), Some(_)) => go(&p[1..], &t[1..]),
            (Some(pw), Some(tw)) if pw == tw => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let t: Vec<&str> = topic.split('.').collect();
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTERED: EventType = EventType::new("identity.user_registered", 1);

    #[test]
    fn envelope_names_type_with_version() {
        let e =
            EventEnvelope::new(REGISTERED, None, Uuid::now_v7(), &serde_json::json!({})).unwrap();
        assert_eq!(e.event_type, "identity.user_registered.v1");
        assert!(e.is(REGISTERED));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "identity.user_registered.v1");
    }

    #[test]
    fn topic_patterns_follow_amqp_rules() {
        assert!(topic_matches("#", "identity.user_registered.v1"));
        assert!(topic_matches("identity.#", "identity.user_registered.v1"));
        assert!(topic_matches(
            "identity.*.v1",
            "identity.user_registered.v1"
        ));
        assert!(!topic_matches("identity.*", "identity.user_registered.v1"));
        assert!(!topic_matches("loads.#", "identity.user_registered.v1"));
        assert!(topic_matches(
            "identity.user_registered.v1",
            "identity.user_registered.v1"
        ));
        assert!(topic_matches("identity.#.v1", "identity.v1"));
    }
}
