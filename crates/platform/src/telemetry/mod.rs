//! Logging, to stderr so commands keep stdout for their results: human-readable in a
//! terminal, one JSON object per line with `LANERUNNER_LOG_FORMAT=json`, or in the Elastic
//! Common Schema with `LANERUNNER_LOG_FORMAT=ecs` (`ecs.rs`: what Filebeat, Vector and
//! Elasticsearch ingest as is, with the request's trace and span ids). Every line passes through
//! [`MaskCards`] first: a card number that reached a log message (pasted into a field an
//! error quotes) is masked to its last four digits before it is written (PCI DSS 3.4).
//! Spans go to an OpenTelemetry collector when `tracing.otlp_endpoint` is set (`otel.rs`).

use std::io::Write;

use tracing::Level;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{LogConfig, LogFormat, TracingConfig};

pub mod ecs;
pub mod otel;

/// Installs the global subscriber: the log lines of `log`, and when `tracing` names an OTLP
/// receiver, the span exporter (returned, to flush at exit). `RUST_LOG`, when set,
/// overrides the configured log level; it does not change what is exported. `services` are
/// the services this process runs.
pub fn init(
    log: &LogConfig,
    tracing: &TracingConfig,
    services: &[&str],
) -> anyhow::Result<Option<otel::Exporter>> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    let exporter = otel::exporter(tracing, services)?;
    // Spans at info and above, with the warnings and errors logged inside them as span
    // events; the rest of the log stays in the log pipeline.
    let exported = filter_fn(|meta| {
        if meta.is_span() {
            *meta.level() <= Level::INFO
        } else {
            *meta.level() <= Level::WARN
        }
    });
    let registry = tracing_subscriber::registry()
        .with(exporter.as_ref().map(|e| e.layer().with_filter(exported)));
    let result = match log.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(MaskCards(std::io::stderr))
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Ecs => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(MaskCards(std::io::stderr))
                    .event_format(ecs::EcsFormat::default())
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Human => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(MaskCards(std::io::stderr))
                    .with_target(false)
                    .with_filter(filter),
            )
            .try_init(),
    };
    // Already initialised (tests start many apps in one process): keep the first, and
    // export nothing from this caller.
    match result {
        Ok(()) => Ok(exporter),
        Err(_) => {
            if let Some(e) = exporter {
                e.shutdown();
            }
            Ok(None)
        }
    }
}

/// A log writer that masks card numbers in what passes through it. The formatter writes
/// each event as one buffer, so a number is never split across two writes.
#[derive(Clone, Copy)]
pub struct MaskCards<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for MaskCards<M> {
    type Writer = Masked<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        Masked(self.0.make_writer())
    }
}

pub struct Masked<W>(W);

impl<W: Write> Write for Masked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self
                .0
                .write_all(lanerunner_core::pan::mask(text).as_bytes())
                .map(|()| buf.len()),
            Err(_) => self.0.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log sink the tests read back.
    #[derive(Clone, Default)]
    pub(super) struct Buffer(pub(super) Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_card_number_in_a_log_line_is_masked_in_both_formats() {
        for json in [false, true] {
            let out = Buffer::default();
            let sink = out.clone();
            let writer = MaskCards(move || sink.clone());
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false);
            let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = if json {
                Box::new(tracing_subscriber::registry().with(layer.json()))
            } else {
                Box::new(tracing_subscriber::registry().with(layer))
            };
            tracing::subscriber::with_default(subscriber, || {
                tracing::warn!(
                    note = "pay 4111 1111 1111 1111",
                    "refused: 5555-5555-5555-4444 in {}",
                    "chat"
                );
            });
            let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            assert!(
                text.contains("[card ••••1111]") && text.contains("[card ••••4444]"),
                "{text}"
            );
            assert!(
                !text.contains("4111 1111") && !text.contains("5555-5555"),
                "{text}"
            );
        }
    }
}
