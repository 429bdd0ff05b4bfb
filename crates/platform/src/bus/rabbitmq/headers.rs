//! The AMQP properties of a published event and the headers read back from a delivery
//! (attempt count, dead-letter reason, the W3C `traceparent`).

use super::*;

pub(super) fn properties(
    event: &EventEnvelope,
    attempt: u32,
    reason: Option<&str>,
) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(ATTEMPT_HEADER.into(), AMQPValue::LongUInt(attempt));
    if let Some(reason) = reason {
        headers.insert(
            REASON_HEADER.into(),
            AMQPValue::LongString(LongString::from(reason)),
        );
    }
    // The envelope carries the trace context; the header repeats it for tools that read
    // AMQP headers (W3C's trace context for AMQP).
    if let Some(traceparent) = &event.trace.traceparent {
        headers.insert(
            crate::telemetry::otel::TRACEPARENT.into(),
            AMQPValue::LongString(LongString::from(traceparent.as_str())),
        );
    }
    BasicProperties::default()
        .with_message_id(ShortString::from(event.id.to_string()))
        .with_content_type("application/json".into())
        .with_type(ShortString::from(event.event_type.clone()))
        .with_delivery_mode(2)
        .with_headers(headers)
}

pub(super) fn header_u32(props: &BasicProperties, name: &str) -> Option<u32> {
    let value = props.headers().as_ref()?.inner().get(name)?;
    match value {
        AMQPValue::LongUInt(n) => Some(*n),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::ShortUInt(n) => Some(u32::from(*n)),
        AMQPValue::ShortInt(n) => u32::try_from(*n).ok(),
        AMQPValue::ShortShortUInt(n) => Some(u32::from(*n)),
        AMQPValue::ShortShortInt(n) => u32::try_from(*n).ok(),
        _ => None,
    }
}

pub(super) fn header_string(props: &BasicProperties, name: &str) -> Option<String> {
    let value = props.headers().as_ref()?.inner().get(name)?;
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}
