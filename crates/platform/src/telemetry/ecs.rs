//! Log lines in the Elastic Common Schema (ECS 8.11, the `ecs-logging` conventions):
//! `@timestamp`, `log.level` and `message` first, then `ecs.version`, `service.name`,
//! `log.logger`, `log.origin.*`, the W3C trace of the request or event being handled as
//! `trace.id` / `span.id` (so Kibana links a line to its trace in any OpenTelemetry
//! backend), `http.request.id`, `error.message` for an `error` field, and every other field
//! of the event under the `lanerunner.` namespace (ECS reserves the top level).

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub const ECS_VERSION: &str = "8.11.0";

#[derive(Debug, Clone)]
pub struct EcsFormat {
    service: String,
}

impl Default for EcsFormat {
    fn default() -> Self {
        Self {
            service: "lanerunner".into(),
        }
    }
}

/// The event's fields, as JSON values.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    rest: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        match field.name() {
            "message" => {
                self.message = Some(match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
            }
            // `log` crate records forwarded by tracing-log carry these; ECS has its own.
            name if name.starts_with("log.") => {}
            "error" => {
                self.rest.insert("error.message".into(), value);
            }
            name => {
                self.rest.insert(format!("lanerunner.{name}"), value);
            }
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
}

/// `00-<trace id>-<parent span id>-<flags>` → the two ids, when well formed.
pub fn trace_ids(traceparent: &str) -> Option<(&str, &str)> {
    let mut parts = traceparent.trim().split('-');
    let (_version, trace, span, _flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(trace, 32) && hex(span, 16) && trace != "0".repeat(32)).then_some((trace, span))
}

impl<S, N> FormatEvent<S, N> for EcsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);

        let mut line = Map::new();
        line.insert("ecs.version".into(), ECS_VERSION.into());
        line.insert("service.name".into(), self.service.clone().into());
        line.insert("log.logger".into(), meta.target().into());
        if let Some(file) = meta.file() {
            line.insert("log.origin.file.name".into(), file.into());
        }
        if let Some(n) = meta.line() {
            line.insert("log.origin.file.line".into(), n.into());
        }
        if let Some(trace) = crate::http::middleware::current_trace() {
            if let Some((trace_id, span_id)) = trace.traceparent.as_deref().and_then(trace_ids) {
                line.insert("trace.id".into(), trace_id.into());
                line.insert("span.id".into(), span_id.into());
            }
            if let Some(id) = trace.request_id {
                line.insert("http.request.id".into(), id.into());
            }
        }
        if let Some(scope) = ctx.event_scope() {
            let spans: Vec<Value> = scope.from_root().map(|s| s.name().into()).collect();
            if !spans.is_empty() {
                line.insert("lanerunner.spans".into(), spans.into());
            }
        }
        line.extend(fields.rest);

        // ecs-logging: `@timestamp`, `log.level` and `message` lead every line (serde_json
        // writes a map's keys sorted, which is that order), then the rest.
        let head = serde_json::json!({
            "@timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "log.level": meta.level().as_str().to_ascii_lowercase(),
            "message": fields.message.unwrap_or_default(),
        });
        let head = serde_json::to_string(&head).map_err(|_| std::fmt::Error)?;
        let rest = serde_json::to_string(&Value::Object(line)).map_err(|_| std::fmt::Error)?;
        writer.write_str(&head[..head.len() - 1])?;
        writer.write_char(',')?;
        writer.write_str(&rest[1..])?;
        writer.write_char('\n')
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::http::middleware::in_trace;
    use crate::telemetry::tests::Buffer;

    #[test]
    fn trace_ids_come_from_a_well_formed_traceparent_only() {
        assert_eq!(
            trace_ids("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some(("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"))
        );
        for bad in [
            "",
            "00-xyz-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736",
        ] {
            assert_eq!(trace_ids(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_line_is_ecs_with_the_trace_of_the_work_it_belongs_to() {
        let out = Buffer::default();
        let sink = out.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .event_format(EcsFormat::default());
        let subscriber = tracing_subscriber::registry().with(layer);
        let _guard = tracing::subscriber::set_default(subscriber);
        let trace = lanerunner_core::TraceContext {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            request_id: Some("req-1".into()),
        };
        in_trace(trace, async {
            let span = tracing::info_span!("consume", group = "mailer");
            let _entered = span.enter();
            tracing::warn!(
                load_id = 42,
                error = "the store is gone",
                "could not post the load"
            );
        })
        .await;
        tracing::info!("outside any trace");

        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("{\"@timestamp\":"), "{}", lines[0]);
        let first: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["log.level"], "warn");
        assert_eq!(first["message"], "could not post the load");
        assert_eq!(first["ecs.version"], ECS_VERSION);
        assert_eq!(first["trace.id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(first["span.id"], "00f067aa0ba902b7");
        assert_eq!(first["http.request.id"], "req-1");
        assert_eq!(first["error.message"], "the store is gone");
        assert_eq!(first["lanerunner.load_id"], 42);
        assert_eq!(first["lanerunner.spans"], serde_json::json!(["consume"]));
        let second: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["log.level"], "info");
        assert!(second.get("trace.id").is_none(), "{second}");
        let keys: Vec<&str> = lines[0].split("\":").take(3).collect();
        assert!(
            keys[1].ends_with("\"log.level") && keys[2].ends_with("\"message"),
            "{}",
            lines[0]
        );
    }
}
