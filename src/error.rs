//! The one error type collectors return, and the fixed `kind` word that is the
//! only part of an error ever allowed into a metric label.
//!
//! Why an enum and not `anyhow`: every failure must map to a bounded label value
//! (`psyche_exporter_collector_poll_errors_total{kind}`), and the mapping belongs
//! next to the variants so a new failure mode cannot forget to pick a kind. The
//! messages go to logs and the landing page only; they never contain an RPC URL
//! (reqwest errors are stripped of theirs before they get here).
//!
//! Upstream text (a JSON-RPC error message, a decode error quoting a value) is
//! hostile until shown otherwise: the `Display` of [`CollectError`] passes every
//! text field through [`sanitize`] (control characters escaped, at most
//! [`MAX_TEXT_CHARS`] characters), and every log line, page and JSON answer
//! shows errors through it.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

/// Every `kind` label value, in the order the health encoder emits them.
pub const KINDS: [&str; 8] = [
    "timeout",
    "http",
    "status",
    "rate_limited",
    "decode",
    "rpc",
    "missing",
    "too_large",
];

/// Why one upstream request, or a whole poll, failed. Its `Display` is
/// sanitised (see the module doc).
#[derive(Debug, Clone)]
pub enum CollectError {
    /// No answer within the deadline.
    Timeout {
        /// What was being fetched, or which deadline passed.
        what: String,
    },
    /// The request never got an HTTP response (DNS, connect, TLS, reset).
    Http {
        /// What was being fetched (an RPC method, an API path template).
        what: String,
        /// The transport error, without any URL.
        message: String,
    },
    /// A non-success HTTP status other than 429.
    Status {
        /// What was being fetched.
        what: String,
        /// The HTTP status code.
        status: u16,
    },
    /// HTTP 429, or a JSON-RPC error saying the same.
    RateLimited {
        /// What was being fetched.
        what: String,
        /// How long the upstream asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The response arrived but could not be understood (malformed JSON, a
    /// foreign or truncated account, an unexpected shape).
    Decode {
        /// What was being decoded.
        what: String,
        /// Why it could not be decoded.
        message: String,
    },
    /// The JSON-RPC server answered with an error object.
    Rpc {
        /// The JSON-RPC method.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The server's message.
        message: String,
    },
    /// An account or object the configuration names does not exist upstream.
    Missing {
        /// What was looked for.
        what: String,
    },
    /// A response body longer than its cap: dropped unread, with its connection.
    TooLarge {
        /// What was being fetched.
        what: String,
        /// The cap.
        limit: usize,
    },
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = |text: &str| sanitize(text).into_owned();
        match self {
            CollectError::Timeout { what } => write!(f, "{}: no answer in time", s(what)),
            CollectError::Http { what, message } => {
                write!(f, "{}: request failed: {}", s(what), s(message))
            }
            CollectError::Status { what, status } => {
                write!(f, "{}: HTTP status {status}", s(what))
            }
            CollectError::RateLimited { what, retry_after } => {
                write!(f, "{}: rate limited", s(what))?;
                match retry_after {
                    Some(d) => write!(f, ", retry after {}s", d.as_secs()),
                    None => Ok(()),
                }
            }
            CollectError::Decode { what, message } => {
                write!(f, "{}: cannot decode: {}", s(what), s(message))
            }
            CollectError::Rpc {
                method,
                code,
                message,
            } => write!(f, "{}: JSON-RPC error {code}: {}", s(method), s(message)),
            CollectError::Missing { what } => write!(f, "{}: not found", s(what)),
            CollectError::TooLarge { what, limit } => {
                write!(
                    f,
                    "{}: response larger than {limit} bytes; not read",
                    s(what)
                )
            }
        }
    }
}

impl std::error::Error for CollectError {}

/// The most characters of one upstream text [`sanitize`] keeps.
pub const MAX_TEXT_CHARS: usize = 200;

/// Upstream text made safe to show in a log line or a page: control
/// characters (`\r`, `\n`, ESC, C1…) and bidirectional overrides escaped
/// (`\r`, `\n`, `\t`, `\u{1b}`), at most [`MAX_TEXT_CHARS`] characters of the
/// result, then `…`. Borrowed when there is nothing to change; reads only as
/// much of `text` as it keeps.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || is_bidi_control(c);
    if !text.chars().take(MAX_TEXT_CHARS + 1).any(unsafe_char)
        && text.chars().nth(MAX_TEXT_CHARS).is_none()
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(MAX_TEXT_CHARS + 8);
    let mut kept = 0;
    for c in text.chars() {
        let escaped: Cow<'_, str> = match c {
            '\r' => "\\r".into(),
            '\n' => "\\n".into(),
            '\t' => "\\t".into(),
            c if unsafe_char(c) => format!("\\u{{{:x}}}", u32::from(c)).into(),
            c => c.encode_utf8(&mut [0; 4]).to_owned().into(),
        };
        let n = escaped.chars().count();
        if kept + n > MAX_TEXT_CHARS {
            out.push('…');
            return Cow::Owned(out);
        }
        out.push_str(&escaped);
        kept += n;
    }
    Cow::Owned(out)
}

/// Unicode's bidirectional embedding, override and isolate controls, which can
/// make a line display in another order than it reads.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl CollectError {
    /// The fixed label value for this error; one of [`KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            CollectError::Timeout { .. } => "timeout",
            CollectError::Http { .. } => "http",
            CollectError::Status { .. } => "status",
            CollectError::RateLimited { .. } => "rate_limited",
            CollectError::Decode { .. } => "decode",
            CollectError::Rpc { .. } => "rpc",
            CollectError::Missing { .. } => "missing",
            CollectError::TooLarge { .. } => "too_large",
        }
    }

    /// Map a reqwest error, dropping the URL it carries (it may hold an API key).
    pub fn from_reqwest(what: impl Into<String>, err: reqwest::Error) -> Self {
        let what = what.into();
        let err = err.without_url();
        if err.is_timeout() {
            return CollectError::Timeout { what };
        }
        if let Some(status) = err.status() {
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                return CollectError::RateLimited {
                    what,
                    retry_after: None,
                };
            }
            return CollectError::Status {
                what,
                status: status.as_u16(),
            };
        }
        if err.is_decode() {
            return CollectError::Decode {
                what,
                message: error_chain(&err),
            };
        }
        CollectError::Http {
            what,
            message: error_chain(&err),
        }
    }
}

/// An error and its sources on one line, `a: b: c`, skipping a source whose
/// text the outer message already repeats.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The wait a `Retry-After` header asks for, in either of its forms: seconds
/// (`120`) or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`, measured from
/// `now`; a date already past asks for no wait). `None` when absent or neither.
pub fn retry_after(
    value: Option<&reqwest::header::HeaderValue>,
    now: SystemTime,
) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        use reqwest::header::HeaderValue;
        let now = httpdate::parse_http_date("Mon, 30 Nov 2026 05:00:00 GMT").unwrap();
        let read = |v: &str| retry_after(Some(&HeaderValue::from_str(v).unwrap()), now);
        assert_eq!(read("120"), Some(Duration::from_secs(120)));
        assert_eq!(read(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            read("Mon, 30 Nov 2026 05:01:30 GMT"),
            Some(Duration::from_secs(90))
        );
        assert_eq!(read("Mon, 30 Nov 2026 04:59:00 GMT"), Some(Duration::ZERO));
        assert_eq!(read("soon"), None);
        assert_eq!(read("-5"), None);
        assert_eq!(retry_after(None, now), None);
    }

    #[test]
    fn every_variant_has_a_listed_kind() {
        let all = [
            CollectError::Timeout { what: "a".into() },
            CollectError::Http {
                what: "a".into(),
                message: "b".into(),
            },
            CollectError::Status {
                what: "a".into(),
                status: 500,
            },
            CollectError::RateLimited {
                what: "a".into(),
                retry_after: None,
            },
            CollectError::Decode {
                what: "a".into(),
                message: "b".into(),
            },
            CollectError::Rpc {
                method: "a".into(),
                code: -1,
                message: "b".into(),
            },
            CollectError::Missing { what: "a".into() },
            CollectError::TooLarge {
                what: "a".into(),
                limit: 1,
            },
        ];
        let kinds: Vec<_> = all.iter().map(CollectError::kind).collect();
        assert_eq!(kinds, KINDS);
    }

    #[test]
    fn upstream_text_is_escaped_and_capped() {
        assert!(matches!(
            sanitize("plain text"),
            Cow::Borrowed("plain text")
        ));
        assert_eq!(
            sanitize("a\rb\nc\td\u{1b}[31me\u{7f}\u{9b}\u{202e}f"),
            "a\\rb\\nc\\td\\u{1b}[31me\\u{7f}\\u{9b}\\u{202e}f"
        );
        let long = "é".repeat(200_000);
        let capped = sanitize(&long);
        assert_eq!(capped.chars().count(), MAX_TEXT_CHARS + 1);
        assert!(capped.ends_with('…'));
        assert_eq!(sanitize(&"x".repeat(MAX_TEXT_CHARS)).len(), MAX_TEXT_CHARS);
        // An escape is never cut in half.
        let escapes = "\u{1b}".repeat(100);
        let capped = sanitize(&escapes);
        assert!(capped.chars().count() <= MAX_TEXT_CHARS + 1);
        assert!(
            capped.trim_end_matches('…').ends_with("\\u{1b}"),
            "{capped}"
        );

        let e = CollectError::Rpc {
            method: "getHealth".into(),
            code: -32005,
            message: format!("bad\r\u{1b}[2Jnode{}", "!".repeat(200_000)),
        };
        let shown = e.to_string();
        assert!(shown.starts_with("getHealth: JSON-RPC error -32005: bad\\r\\u{1b}[2Jnode!!"));
        assert!(shown.ends_with('…'));
        assert!(shown.chars().count() < 300, "{}", shown.len());
        assert!(!shown.contains(['\r', '\u{1b}']));
    }

    #[test]
    fn rate_limited_message_names_the_wait() {
        let e = CollectError::RateLimited {
            what: "getHealth".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(e.to_string(), "getHealth: rate limited, retry after 7s");
    }
}
