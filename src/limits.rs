//! What every upstream answer is held to, in one place: how many bytes a body may
//! have, and how long to leave an upstream alone after it said "too many requests".
//!
//! - **Bodies** are read chunk by chunk into a buffer that stops at a per-request cap
//!   ([`read_capped`]); a body past it (an endless or huge answer) is dropped with the
//!   connection and is a `too_large` error, so memory is bounded by the cap, not by
//!   what an upstream sends.
//! - **Rate limits**: a 429's `Retry-After` (seconds or an HTTP date) and the Hub's
//!   `RateLimit: "api";r=<left>;t=<seconds>` give the wait ([`wait_after_429`]), with
//!   saturating arithmetic and capped at [`MAX_WAIT`]; a [`Backoff`] remembers it, and
//!   the poller skips a collector's poll while its backoff is active (no request, no
//!   further error counted, the last snapshot kept until max age).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{CollectError, error_chain};

/// The longest wait an upstream can impose: a broken header must not silence an
/// upstream for days.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// When an upstream told us to come back, shared by the code that learns it (the
/// transport) and the code that honours it (the poller, a per-endpoint probe).
#[derive(Debug, Default)]
pub struct Backoff {
    until: Mutex<Option<Instant>>,
}

impl Backoff {
    /// Whether requests should wait, and until when.
    pub fn active(&self) -> Option<Instant> {
        let until = *self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.filter(|u| *u > Instant::now())
    }

    /// Wait `wait` (at most [`MAX_WAIT`]) from now.
    pub fn set(&self, wait: Duration) {
        let now = Instant::now();
        let until = now.checked_add(wait.min(MAX_WAIT)).unwrap_or(now);
        *self.until.lock().unwrap_or_else(|e| e.into_inner()) = Some(until);
    }
}

/// `RateLimit: "api";r=<remaining>;t=<seconds to reset>` (the Hub's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    /// Requests left in the window.
    pub remaining: Option<u64>,
    /// Seconds until the window resets.
    pub reset: Option<u64>,
}

impl RateLimit {
    /// Parse the header's value; `None` when it says nothing we read.
    pub fn parse(text: &str) -> Option<RateLimit> {
        let mut out = RateLimit::default();
        for part in text.split(';').map(str::trim) {
            if let Some(r) = part.strip_prefix("r=") {
                out.remaining = r.trim().parse().ok();
            } else if let Some(t) = part.strip_prefix("t=") {
                out.reset = t.trim().parse().ok();
            }
        }
        (out != RateLimit::default()).then_some(out)
    }
}

/// How long to leave an upstream alone after a 429: until the window resets (plus a
/// second) when `RateLimit` says nothing is left, else `Retry-After`, else the reset,
/// else `default`; at least a second, at most [`MAX_WAIT`]. `None` only when nothing
/// was said and there is no default.
pub fn wait_after_429(
    limit: Option<RateLimit>,
    retry_after: Option<Duration>,
    default: Option<Duration>,
) -> Option<Duration> {
    let reset = limit
        .and_then(|l| l.reset)
        .map(|t| Duration::from_secs(t.saturating_add(1)));
    let exhausted = limit.is_some_and(|l| l.remaining == Some(0));
    let wait = match (exhausted, reset, retry_after) {
        (true, Some(r), _) | (_, _, Some(r)) | (_, Some(r), None) => Some(r),
        _ => default,
    };
    wait.map(|w| w.max(Duration::from_secs(1)).min(MAX_WAIT))
}

/// Read `response`'s body, at most `cap` bytes: a longer body (by its
/// `Content-Length` or as it streams) is a `too_large` error and the rest is not
/// read. A body cut short (a reset) is an `http` error.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>, CollectError> {
    let too_large = || CollectError::TooLarge {
        what: what.to_owned(),
        limit: cap,
    };
    let declared = response.content_length().unwrap_or(0);
    if declared > cap as u64 {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared as usize);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len().saturating_add(chunk.len()) > cap {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => {
                return Err(CollectError::Timeout {
                    what: what.to_owned(),
                });
            }
            Err(e) => {
                return Err(CollectError::Http {
                    what: what.to_owned(),
                    message: format!("body cut short: {}", error_chain(&e.without_url())),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_saturating_and_capped() {
        let limit = |r, t| {
            Some(RateLimit {
                remaining: Some(r),
                reset: Some(t),
            })
        };
        let s = Duration::from_secs;
        assert_eq!(wait_after_429(limit(0, 41), None, None), Some(s(42)));
        assert_eq!(
            wait_after_429(limit(0, u64::MAX), None, None),
            Some(MAX_WAIT)
        );
        assert_eq!(wait_after_429(limit(3, 41), Some(s(7)), None), Some(s(7)));
        assert_eq!(wait_after_429(None, Some(s(0)), None), Some(s(1)));
        assert_eq!(wait_after_429(None, Some(s(1 << 40)), None), Some(MAX_WAIT));
        assert_eq!(wait_after_429(None, None, Some(s(60))), Some(s(60)));
        assert_eq!(wait_after_429(None, None, None), None);
        assert_eq!(
            RateLimit::parse("\"api\";r=0;t=18446744073709551615"),
            limit(0, u64::MAX)
        );
        assert_eq!(RateLimit::parse("garbage"), None);
    }

    #[test]
    fn backoff_is_capped_and_never_panics() {
        let b = Backoff::default();
        assert!(b.active().is_none());
        b.set(Duration::MAX);
        let until = b.active().expect("active");
        assert!(until <= Instant::now() + MAX_WAIT);
    }
}
