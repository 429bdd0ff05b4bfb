//! Distributed tracing with OpenTelemetry: `tracing` spans exported over OTLP/HTTP (JSON) by
//! a batch processor on its own thread, and the W3C trace context (`traceparent`) read and
//! written wherever work crosses a process.
//!
//! One trace follows a request through everything it causes:
//!
//! - HTTP: the server span of a request takes the caller's `traceparent` as its parent.
//! - Outbox: an event written while handling the request carries the request span's context
//!   in its envelope (`http::middleware::capture_trace`, `outbox::enqueue`).
//! - Bus and streams: the envelope travels as is on RabbitMQ (which also gets a
//!   `traceparent` header, for tools that read AMQP headers) and on the Kafka audit stream.
//! - Consumers: handling an event opens a consumer span whose parent is the envelope's
//!   context, and what the handler writes to its outbox carries the consumer span's.
//!
//! With no exporter configured, nothing here records anything: the spans have no
//! OpenTelemetry context, and an incoming `traceparent` is passed on unchanged, as before.

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::config::TracingConfig;

/// The header (and envelope field) that carries the W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// The tracer provider, kept so [`Exporter::shutdown`] can flush the last spans at exit.
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// Sends what is still queued and stops the export thread. Call once, at exit.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "the last spans could not be exported");
        }
    }
}

/// The traces URL for `endpoint`: a collector's base address gets OTLP's `/v1/traces`.
pub fn traces_url(endpoint: &str) -> String {
    match url::Url::parse(endpoint) {
        Ok(u) if u.path() == "/" || u.path().is_empty() => {
            format!("{}/v1/traces", endpoint.trim_end_matches('/'))
        }
        _ => endpoint.to_string(),
    }
}

/// Builds the exporter for `config`, or `None` when tracing is off. `services` are the
/// services this process runs, recorded on every span's resource.
pub fn exporter(config: &TracingConfig, services: &[&str]) -> anyhow::Result<Option<Exporter>> {
    let Some(endpoint) = &config.otlp_endpoint else {
        return Ok(None);
    };
    let spans = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(traces_url(endpoint))
        .with_timeout(Duration::from_millis(config.export_timeout_ms))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", instance_id()),
            KeyValue::new("lanerunner.services", services.join(",")),
        ])
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(spans)
        // A caller's decision stands; new traces are recorded at the configured ratio.
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sample_ratio,
        ))))
        .with_resource(resource)
        .build();
    Ok(Some(Exporter { provider }))
}

impl Exporter {
    /// The `tracing` layer that turns spans into OpenTelemetry spans for this exporter.
    pub fn layer<S>(
        &self,
    ) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("lanerunner"))
            // No source file, line or thread name on every span: they grow each export and
            // say nothing a trace needs (which log lines become span events is `init`'s
            // filter).
            .with_location(false)
            .with_threads(false)
    }
}

/// The pod's name in Kubernetes (`HOSTNAME`), else a fresh id: what tells two replicas'
/// spans apart.
fn instance_id() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// Makes the remote context in `traceparent` (a caller's, or an event's) the parent of
/// `span`. A missing or malformed value leaves the span a root: a bad header from a client
/// costs the link, never the request.
pub fn set_remote_parent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(value) = traceparent else { return };
    let carrier = HashMap::from([(TRACEPARENT.to_string(), value.to_string())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// Renames `span`'s OpenTelemetry span (a request's, once routing knows its route).
/// Recording `otel.name` does not do it: the layer applies names only before the span's
/// context exists, and the context is made as soon as the request starts.
pub fn rename(span: &tracing::Span, name: String) {
    let context = span.context();
    let otel_span = context.span();
    if otel_span.span_context().is_valid() {
        otel_span.update_name(name);
    }
}

/// The W3C `traceparent` naming `span` as the parent of what it causes, or `None` when the
/// span has no OpenTelemetry context (tracing is off, or the span was filtered out).
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[test]
    fn a_collector_address_gets_the_traces_path_and_a_full_url_is_kept() {
        assert_eq!(
            traces_url("http://otel-collector:4318"),
            "http://otel-collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://otel-collector:4318/"),
            "http://otel-collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://traces.example.com/otlp/v1/traces"),
            "https://traces.example.com/otlp/v1/traces"
        );
    }

    /// With a tracer installed, a span under a remote parent keeps the parent's trace id and
    /// hands on its own span id; a malformed parent makes a new root; without a tracer there
    /// is no context to hand on.
    #[test]
    fn a_span_continues_the_callers_trace_and_names_itself_as_the_next_parent() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            let span = tracing::info_span!("request");
            set_remote_parent(&span, Some(caller));
            rename(&span, "GET /v1/loads/{id}".into());
            let next = traceparent_of(&span).expect("a context");
            let parts: Vec<&str> = next.split('-').collect();
            assert_eq!(parts.len(), 4, "{next}");
            assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736");
            assert_ne!(parts[2], "00f067aa0ba902b7", "its own span id");
            assert_eq!(parts[3], "01", "sampled, as the caller asked");

            for bad in ["", "00-zz-00f067aa0ba902b7-01", "garbage"] {
                let span = tracing::info_span!("request");
                set_remote_parent(&span, Some(bad));
                let root = traceparent_of(&span).expect("a new root");
                assert!(!root.contains("4bf92f3577b34da6a3ce929d0e0e4736"), "{root}");
            }
        });
        let untraced = tracing::info_span!("request");
        assert_eq!(traceparent_of(&untraced), None);
    }
}
