//! Value parsers and checks shared by every group of flags: durations, RPC URLs
//! that never echo their value, regular expressions, the interval/timeout rule
//! and the default max age.
//!
//! Leaf module: it knows no collector and no view, so both the collectors (which
//! own their flags) and [`crate::cli`] (which assembles them) can use it.

use std::time::Duration;

use crate::rpc::RpcUrl;

/// The max age a collector uses: the flag, else three intervals.
pub fn max_age(flag: Option<Duration>, interval: Duration) -> Duration {
    flag.unwrap_or(interval * 3)
}

/// `--{prefix}.interval` must be positive and `--{prefix}.timeout` shorter.
pub fn check_timing(prefix: &str, interval: Duration, timeout: Duration) -> Result<(), String> {
    if interval.is_zero() {
        return Err(format!("--{prefix}.interval must be more than zero"));
    }
    if timeout.is_zero() || timeout >= interval {
        return Err(format!(
            "--{prefix}.timeout ({}) must be more than zero and shorter than --{prefix}.interval ({})",
            humantime::format_duration(timeout),
            humantime::format_duration(interval)
        ));
    }
    Ok(())
}

/// Parses an [`RpcUrl`] without ever echoing the value: clap's own errors
/// quote the input, and an RPC URL may carry an API key.
#[derive(Debug, Clone, Copy)]
pub struct RpcUrlParser;

impl clap::builder::TypedValueParser for RpcUrlParser {
    type Value = RpcUrl;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<RpcUrl, clap::Error> {
        let name = arg.map_or_else(|| "URL".to_owned(), |a| format!("--{}", a.get_id()));
        let fail = |why: &str| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{name}' (value not shown, it may hold a key): {why}\n"),
            )
        };
        let text = value.to_str().ok_or_else(|| fail("not UTF-8"))?;
        text.parse().map_err(|e: String| fail(&e))
    }
}

/// A duration such as `500ms`, `15s`, `5m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. 500ms, 15s, 5m)"))
}

/// A regular expression matched against the whole value, as Prometheus does.
pub fn parse_anchored_regex(s: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{s})$"))
        .map_err(|e| format!("not a valid regular expression: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_rules_name_the_flags() {
        let s = Duration::from_secs;
        assert!(check_timing("x", s(10), s(5)).is_ok());
        assert_eq!(
            check_timing("x", s(0), s(0)).unwrap_err(),
            "--x.interval must be more than zero"
        );
        let err = check_timing("x", s(10), s(10)).unwrap_err();
        assert!(err.contains("--x.timeout (10s)"), "{err}");
        assert_eq!(max_age(None, s(7)), s(21));
        assert_eq!(max_age(Some(s(1)), s(7)), s(1));
    }

    #[test]
    fn regexes_match_whole_values() {
        let r = parse_anchored_regex("run-[0-9]+").unwrap();
        assert!(r.is_match("run-12"));
        assert!(!r.is_match("my-run-12"));
        assert!(parse_anchored_regex("(").is_err());
    }
}
