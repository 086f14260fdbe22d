//! The one encoder of the exporter's own families, for every collector at once:
//! two collectors emitting the same family would make the exposition invalid,
//! and the metrics crate does not check family-name uniqueness.

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
/// The git revision it was built from (`unknown` outside a git checkout).
pub const REVISION: &str = env!("PSYCHE_EXPORTER_REVISION");

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
        )
    }
}
