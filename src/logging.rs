//! Log output: logfmt (the Prometheus ecosystem's default) or JSON lines.
//!
//! Dependencies log at `warn` and above only: their debug output can print
//! request URLs, and RPC URLs may hold API keys.

use std::fmt;
use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{LogArgs, LogFormat, LogLevel};

/// Install the global subscriber, writing to stderr. Safe to call twice (the
/// second call is ignored), which tests rely on.
pub fn init(args: &LogArgs) {
    let level = match args.level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    };
    let filter = EnvFilter::new(format!("warn,psyche_exporter={level}"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // When stderr goes away (a restarted journald, a closed pipe) the
        // default reports the failed write with `eprintln!`, which panics on
        // the same broken stderr and kills the exporter. Drop the line instead.
        .log_internal_errors(false);
    let _ = match args.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Logfmt => builder.event_format(Logfmt).try_init(),
    };
}

/// `ts=2026-11-24T16:00:00.000Z level=info collector=solana msg="…"`.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let ts = humantime::format_rfc3339_millis(std::time::SystemTime::now());
        write!(
            writer,
            "ts={ts} level={}",
            meta.level().as_str().to_lowercase()
        )?;
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        if let Some(msg) = &visitor.message {
            write!(writer, " msg={}", quote(msg))?;
        }
        for (k, v) in &visitor.fields {
            write!(writer, " {k}={}", quote(v))?;
        }
        if !meta.target().starts_with("psyche_exporter") {
            write!(writer, " target={}", quote(meta.target()))?;
        }
        writeln!(writer)
    }
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}

impl Fields {
    fn push(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = Some(value);
        } else {
            self.fields.push((field.name(), value));
        }
    }
}

/// A logfmt value: bare when safe, else double-quoted with escapes; control
/// characters are escaped (`\r`, `\t`, `\u{1b}`), so no value can end a line
/// or drive a terminal.
fn quote(v: &str) -> String {
    let bare = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=' && c != '\\');
    if bare {
        return v.to_owned();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn logfmt_quotes_only_when_needed() {
        assert_eq!(super::quote("solana"), "solana");
        assert_eq!(super::quote("a b"), "\"a b\"");
        assert_eq!(super::quote("x=\"1\""), "\"x=\\\"1\\\"\"");
        assert_eq!(super::quote(""), "\"\"");
        assert_eq!(super::quote("a\rb\u{1b}[0m\t"), "\"a\\rb\\u{1b}[0m\\t\"");
    }
}
