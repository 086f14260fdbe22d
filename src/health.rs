//! The one encoder of the exporter's own families, for every collector at once:
//! two collectors emitting the same family would make the exposition invalid,
//! and the metrics crate does not check family-name uniqueness. It also encodes
//! the standard `process_*` families, read from `/proc/self` on every scrape
//! (Linux only: elsewhere they are absent, never zero).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::exposition::{counter, gauge};
use crate::poller::Watched;

/// The exporter's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision it was built from: `PSYCHE_EXPORTER_REVISION` at build
/// time (the Docker build passes its `REVISION` argument there), else `git
/// rev-parse --short=12 HEAD`, else `unknown` (see build.rs).
pub const REVISION: &str = env!("PSYCHE_EXPORTER_REVISION");
/// What `--version` prints after the name: version and revision.
pub const VERSION_AND_REVISION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("PSYCHE_EXPORTER_REVISION"),
    ")"
);

/// Encodes `psyche_exporter_*` for every enabled collector.
#[derive(Debug)]
pub struct Health {
    watched: Vec<Arc<dyn Watched>>,
}

impl Health {
    /// An encoder over these collectors.
    pub fn new(watched: Vec<Arc<dyn Watched>>) -> Self {
        Health { watched }
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
}

impl prometheus_client::collector::Collector for Health {
    fn encode(&self, mut out: DescriptorEncoder) -> fmt::Result {
        let out = &mut out;
        out.encode_descriptor(
            "psyche_exporter_build",
            "Version and git revision of the running exporter",
            None,
            MetricType::Info,
        )?
        .encode_info(&[("version", VERSION), ("revision", REVISION)])?;

        let statuses: Vec<_> = self.watched.iter().map(|w| w.status()).collect();
        let label = |name: &'static str| [("collector", name)];
        gauge(
            out,
            "psyche_exporter_collector_up",
            "1 when the collector's latest poll succeeded completely, 0 when it or a part of it failed",
            None,
            statuses
                .iter()
                .filter(|s| s.last_attempt.is_some())
                .map(|s| (label(s.name), i64::from(s.up()))),
        )?;
        gauge(
            out,
            "psyche_exporter_collector_last_success_timestamp",
            "When the collector last published a snapshot (Unix time)",
            Some(&Unit::Seconds),
            statuses
                .iter()
                .filter_map(|s| Some((label(s.name), unix_seconds(s.last_success?)))),
        )?;
        gauge(
            out,
            "psyche_exporter_collector_poll_duration",
            "How long the collector's latest poll took",
            Some(&Unit::Seconds),
            statuses.iter().filter_map(|s| {
                Some((
                    label(s.name),
                    s.last_attempt.as_ref()?.duration.as_secs_f64(),
                ))
            }),
        )?;
        gauge(
            out,
            "psyche_exporter_collector_interval",
            "The collector's poll interval; alert rules compare data age with it",
            Some(&Unit::Seconds),
            statuses
                .iter()
                .map(|s| (label(s.name), s.interval.as_secs_f64())),
        )?;
        gauge(
            out,
            "psyche_exporter_collector_serving",
            "1 while the collector's last good snapshot is younger than its max age and its data is served",
            None,
            statuses
                .iter()
                .filter(|s| s.last_attempt.is_some())
                .map(|s| (label(s.name), i64::from(s.fresh))),
        )?;
        counter(
            out,
            "psyche_exporter_collector_poll_errors",
            "Failed upstream requests and polls, by fixed error kind",
            None,
            self.watched.iter().flat_map(|w| {
                let name = w.stats().name();
                w.stats()
                    .errors()
                    .into_iter()
                    .map(move |(kind, n)| ([("collector", name), ("kind", kind)], n))
            }),
        )?;
        counter(
            out,
            "psyche_exporter_upstream_requests",
            "Upstream requests made, by collector and method",
            None,
            self.watched.iter().flat_map(|w| {
                let name = w.stats().name();
                w.stats().requests().into_iter().map(move |(method, n)| {
                    ([("collector", name.to_owned()), ("method", method)], n)
                })
            }),
        )?;
        counter(
            out,
            "psyche_exporter_upstream",
            "Response body bytes received from upstreams",
            Some(&Unit::Bytes),
            self.watched
                .iter()
                .map(|w| (label(w.stats().name()), w.stats().bytes())),
        )?;
        if let Some(p) = process::read() {
            process::encode(out, &p)?;
        }
        Ok(())
    }
}

/// The Prometheus client libraries' `process_*` families, from `/proc/self`:
/// a few small reads per scrape.
mod process {
    use std::fmt;

    use prometheus_client::encoding::DescriptorEncoder;
    use prometheus_client::registry::Unit;

    use crate::exposition::{counter, gauge};

    /// One reading of the process' figures; a figure that cannot be read is
    /// left out.
    #[derive(Debug, Default, PartialEq)]
    pub struct Process {
        pub cpu_seconds: Option<f64>,
        pub resident_bytes: Option<u64>,
        pub virtual_bytes: Option<u64>,
        pub open_fds: Option<u64>,
        pub max_fds: Option<u64>,
        pub start_time_seconds: Option<f64>,
    }

    /// Clock ticks per second of `/proc`'s times: USER_HZ is 100 on every
    /// Linux architecture (client_golang's procfs assumes the same).
    const USER_HZ: f64 = 100.0;

    /// The fields of `/proc/<pid>/stat` after the command name (which may
    /// contain spaces and parentheses): index 0 is field 3, `state`.
    fn stat_fields(stat: &str) -> Option<Vec<&str>> {
        let rest = &stat[stat.rfind(')')? + 1..];
        Some(rest.split_whitespace().collect())
    }

    /// Parse `/proc/self/stat`, `/proc/self/status`, `/proc/self/limits`, the
    /// count of `/proc/self/fd` and `/proc/stat`'s `btime`.
    pub fn parse(
        stat: &str,
        status: &str,
        limits: &str,
        open_fds: Option<u64>,
        proc_stat: &str,
    ) -> Process {
        let fields = stat_fields(stat).unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        let btime = proc_stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<u64>().ok());
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|v| v * 1024)
        };
        let max_fds = limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok());
        Process {
            cpu_seconds: field(14)
                .zip(field(15))
                .map(|(u, s)| (u + s) as f64 / USER_HZ),
            resident_bytes: kib("VmRSS:"),
            virtual_bytes: field(23),
            open_fds,
            max_fds,
            start_time_seconds: btime
                .zip(field(22))
                .map(|(b, ticks)| b as f64 + ticks as f64 / USER_HZ),
        }
    }

    #[cfg(target_os = "linux")]
    pub fn read() -> Option<Process> {
        use std::sync::OnceLock;
        // The boot time never changes: read /proc/stat once.
        static PROC_STAT_BTIME: OnceLock<String> = OnceLock::new();
        let btime = PROC_STAT_BTIME.get_or_init(|| {
            std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("btime "))
                        .map(str::to_owned)
                })
                .unwrap_or_default()
        });
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64);
        Some(parse(&stat, &status, &limits, fds, btime))
    }

    #[cfg(not(target_os = "linux"))]
    pub fn read() -> Option<Process> {
        None
    }

    /// No labels.
    type Bare = [(&'static str, &'static str); 0];

    fn one<V>(v: Option<V>) -> impl Iterator<Item = (Bare, V)> {
        v.into_iter().map(|v| ([], v))
    }

    pub fn encode(out: &mut DescriptorEncoder<'_>, p: &Process) -> fmt::Result {
        counter(
            out,
            "process_cpu",
            "Total user and system CPU time spent in seconds",
            Some(&Unit::Seconds),
            one(p.cpu_seconds),
        )?;
        gauge(
            out,
            "process_resident_memory",
            "Resident memory size in bytes",
            Some(&Unit::Bytes),
            one(p.resident_bytes.map(|v| v as i64)),
        )?;
        gauge(
            out,
            "process_virtual_memory",
            "Virtual memory size in bytes",
            Some(&Unit::Bytes),
            one(p.virtual_bytes.map(|v| v as i64)),
        )?;
        gauge(
            out,
            "process_open_fds",
            "Number of open file descriptors",
            None,
            one(p.open_fds.map(|v| v as i64)),
        )?;
        gauge(
            out,
            "process_max_fds",
            "Maximum number of open file descriptors",
            None,
            one(p.max_fds.map(|v| v as i64)),
        )?;
        gauge(
            out,
            "process_start_time",
            "Start time of the process since unix epoch in seconds",
            Some(&Unit::Seconds),
            one(p.start_time_seconds),
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_proc_files() {
            let stat = "4242 (psyche (exp) r) S 1 4242 4242 0 -1 4194560 2000 0 0 0 \
                        150 75 0 0 20 0 9 0 12345 104857600 2560 18446744073709551615";
            let status = "Name:\tpsyche-exporter\nVmSize:\t  102400 kB\nVmRSS:\t   10240 kB\n";
            let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                          Max open files            1024                 524288               files\n";
            let p = parse(
                stat,
                status,
                limits,
                Some(12),
                "cpu 1 2 3\nbtime 1700000000\n",
            );
            assert_eq!(
                p,
                Process {
                    cpu_seconds: Some(2.25),
                    resident_bytes: Some(10240 * 1024),
                    virtual_bytes: Some(104_857_600),
                    open_fds: Some(12),
                    max_fds: Some(1024),
                    start_time_seconds: Some(1_700_000_123.45),
                }
            );
        }

        #[test]
        fn unreadable_figures_are_absent() {
            let p = parse("garbage", "", "", None, "");
            assert_eq!(p, Process::default());
        }

        #[cfg(target_os = "linux")]
        #[test]
        fn reads_this_process() {
            let p = read().unwrap();
            assert!(p.resident_bytes.unwrap() > 0);
            assert!(p.open_fds.unwrap() > 2);
            assert!(p.max_fds.unwrap() >= p.open_fds.unwrap());
            let start = p.start_time_seconds.unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            assert!(start > 1.0e9 && start <= now + 1.0, "{start} vs {now}");
        }
    }
}
