//! The one error type collectors return, and the fixed `kind` word that is the
//! only part of an error ever allowed into a metric label.
//!
//! Why an enum and not `anyhow`: every failure must map to a bounded label value
//! (`psyche_exporter_collector_poll_errors_total{kind}`), and the mapping belongs
//! next to the variants so a new failure mode cannot forget to pick a kind. The
//! messages go to logs and the landing page only; they never contain an RPC URL
//! (reqwest errors are stripped of theirs before they get here).

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

/// Why one upstream request, or a whole poll, failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CollectError {
    /// No answer within the deadline.
    #[error("{what}: no answer in time")]
    Timeout {
        /// What was being fetched, or which deadline passed.
        what: String,
    },
    /// The request never got an HTTP response (DNS, connect, TLS, reset).
    #[error("{what}: request failed: {message}")]
    Http {
        /// What was being fetched (an RPC method, an API path template).
        what: String,
        /// The transport error, without any URL.
        message: String,
    },
    /// A non-success HTTP status other than 429.
    #[error("{what}: HTTP status {status}")]
    Status {
        /// What was being fetched.
        what: String,
        /// The HTTP status code.
        status: u16,
    },
    /// HTTP 429, or a JSON-RPC error saying the same.
    #[error("{what}: rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// What was being fetched.
        what: String,
        /// How long the upstream asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The response arrived but could not be understood (malformed JSON, a
    /// foreign or truncated account, an unexpected shape).
    #[error("{what}: cannot decode: {message}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// Why it could not be decoded.
        message: String,
    },
    /// The JSON-RPC server answered with an error object.
    #[error("{method}: JSON-RPC error {code}: {message}")]
    Rpc {
        /// The JSON-RPC method.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// The server's message.
        message: String,
    },
    /// An account or object the configuration names does not exist upstream.
    #[error("{what}: not found")]
    Missing {
        /// What was looked for.
        what: String,
    },
    /// A response body longer than its cap: dropped unread, with its connection.
    #[error("{what}: response larger than {limit} bytes; not read")]
    TooLarge {
        /// What was being fetched.
        what: String,
        /// The cap.
        limit: usize,
    },
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
    fn rate_limited_message_names_the_wait() {
        let e = CollectError::RateLimited {
            what: "getHealth".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(e.to_string(), "getHealth: rate limited, retry after 7s");
    }
}
