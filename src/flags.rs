//! Value parsers and checks shared by every group of flags: durations (at most
//! [`MAX_DURATION`], so no sum or multiple of them can overflow), RPC URLs that
//! never echo their value, regular expressions, one-line secret files read
//! with a bound, the interval/timeout rule and the default max age.
//!
//! Leaf module: it knows no collector and no view, so both the collectors (which
//! own their flags) and [`crate::cli`] (which assembles them) can use it.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use crate::rpc::RpcUrl;

/// The longest duration any flag accepts: 365 days. Durations are added to
/// instants and multiplied (max age = 3 × interval); with this bound none of
/// that can overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The max age a collector uses: the flag, else three intervals.
pub fn max_age(flag: Option<Duration>, interval: Duration) -> Duration {
    flag.unwrap_or(interval.saturating_mul(3))
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

/// A duration such as `500ms`, `15s`, `5m`, at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d =
        humantime::parse_duration(s).map_err(|e| format!("{e} (expected e.g. 500ms, 15s, 5m)"))?;
    if d > MAX_DURATION {
        return Err("longer than the longest duration accepted, 365 days".into());
    }
    Ok(d)
}

/// The largest secret file [`read_secret_line`] reads.
pub const MAX_SECRET_FILE: u64 = 4096;

/// The one line of a small secret file (a token): at most [`MAX_SECRET_FILE`]
/// bytes are read, whatever the file is (`/dev/zero` included); the file must
/// hold exactly one non-empty line of visible ASCII (surrounding spaces and one
/// trailing newline allowed). `what` names the file in errors (`token file`);
/// no error ever shows the content.
pub fn read_secret_line(path: &Path, what: &str) -> Result<String, String> {
    let name = path.display();
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read {what} {name}: {e}"))?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(format!(
            "{what} {name} is larger than {MAX_SECRET_FILE} bytes: not a token"
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{what} {name} is not UTF-8 text"))?;
    let line = text
        .strip_suffix('\n')
        .map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t));
    if line.contains(['\n', '\r']) {
        return Err(format!(
            "{what} {name} must hold exactly one line (the token), it holds more"
        ));
    }
    let line = line.trim();
    if line.is_empty() {
        return Err(format!("{what} {name} is empty"));
    }
    if !line.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!(
            "{what} {name}: the token holds spaces, control or non-ASCII characters"
        ));
    }
    Ok(line.to_owned())
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
        assert_eq!(max_age(None, Duration::MAX), Duration::MAX);
    }

    #[test]
    fn durations_are_bounded() {
        assert_eq!(parse_duration("365d"), Ok(MAX_DURATION));
        for long in ["366d", "2000000000000000h", "9000000000000000000s"] {
            let err = parse_duration(long).unwrap_err();
            assert!(err.contains("365 days"), "{long}: {err}");
        }
        // Whatever two flags hold, 3 × one of them plus another fits.
        let instant = std::time::Instant::now();
        assert!(
            instant
                .checked_add(MAX_DURATION * 3 + MAX_DURATION)
                .is_some()
        );
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn secret_files_hold_one_short_line() {
        let dir = std::env::temp_dir().join(format!("secret-line-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, content: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, content).unwrap();
            p
        };
        for (content, want) in [
            (&b"hf_SECRET"[..], "hf_SECRET"),
            (b"hf_SECRET\n", "hf_SECRET"),
            (b"hf_SECRET\r\n", "hf_SECRET"),
            (b"  hf_SECRET  \n", "hf_SECRET"),
        ] {
            let p = write("ok", content);
            assert_eq!(read_secret_line(&p, "token file").unwrap(), want);
        }
        for (content, says) in [
            (&b""[..], "is empty"),
            (b"\n", "is empty"),
            (b"hf_SECRET\nsecond\n", "exactly one line"),
            (b"hf_SECRET\n\n", "exactly one line"),
            (b"hf_SEC\rRET", "exactly one line"),
            (b"hf_SEC RET", "spaces"),
            (b"hf_SEC\x1bRET", "control"),
            (b"\xff\xfe", "not UTF-8"),
        ] {
            let p = write("bad", content);
            let err = read_secret_line(&p, "token file").unwrap_err();
            assert!(err.contains(says), "{content:?}: {err}");
            assert!(!err.contains("SEC"), "the error shows the secret: {err}");
        }
        let big = write("big", &vec![b'a'; 5000]);
        assert!(
            read_secret_line(&big, "token file")
                .unwrap_err()
                .contains("larger than 4096 bytes")
        );
        // An endless file is read only up to the bound.
        let err = read_secret_line(Path::new("/dev/zero"), "token file").unwrap_err();
        assert!(err.contains("larger than 4096 bytes"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn regexes_match_whole_values() {
        let r = parse_anchored_regex("run-[0-9]+").unwrap();
        assert!(r.is_match("run-12"));
        assert!(!r.is_match("my-run-12"));
        assert!(parse_anchored_regex("(").is_err());
    }
}
