//! The two line formats of the original's winston transports.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// `ds.app @ 2020-09-08T19:09:23.123Z info: <message>`
pub struct ConsoleLine;

/// `{"level":"info","message":"…","timestamp":"2020-09-08T19:09:23.123Z"}`, plus the fields of the spans the event
/// happened in (a sync's or a job's `child_id`, a job's `attempt`), so that one child's lines can be filtered. The
/// layer must record span fields as JSON (`JsonFields`).
pub struct JsonLine;

impl<S, N> FormatEvent<S, N> for ConsoleLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let (level, message) = level_and_message(event);
        writeln!(writer, "ds.app @ {} {level}: {message}", timestamp())
    }
}

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let (level, message) = level_and_message(event);
        let mut line = serde_json::json!({"level": level, "message": message, "timestamp": timestamp()});
        for span in ctx.event_scope().into_iter().flat_map(|scope| scope.from_root()) {
            let extensions = span.extensions();
            let Some(fields) = extensions.get::<FormattedFields<N>>() else { continue };
            if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(fields.as_str()) {
                for (name, value) in fields {
                    line[name] = value;
                }
            }
        }
        writeln!(writer, "{line}")
    }
}

fn timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn level_and_message(event: &Event<'_>) -> (&'static str, String) {
    let level = match *event.metadata().level() {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "silly",
    };
    let mut visitor = MessageVisitor::default();
    event.record(&mut visitor);
    (level, visitor.message)
}

/// Collects the message first, then any other field as ` key=value`.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
            if !self.fields.is_empty() {
                let fields = std::mem::take(&mut self.fields);
                self.message.push_str(&fields);
            }
        } else if self.message.is_empty() {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        } else {
            let _ = write!(self.message, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::format::JsonFields;
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn json_lines_carry_the_fields_of_their_spans_and_keep_the_message() {
        let buffer = Buffer::default();
        let layer = tracing_subscriber::fmt::layer()
            .event_format(JsonLine)
            .fmt_fields(JsonFields::new())
            .with_writer(buffer.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let job = tracing::error_span!("job", child_id = "5a62be07de34500146d9c544", attempt = 2);
            let _entered = job.enter();
            tracing::warn!("Fitbit data sync job taken over");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "Fitbit data sync job taken over");
        assert_eq!(line["level"], "warn");
        assert_eq!(line["child_id"], "5a62be07de34500146d9c544");
        assert_eq!(line["attempt"], 2);
    }
}
