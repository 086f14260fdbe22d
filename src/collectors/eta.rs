//! When a run will finish, at its current speed: the tokens it has left (coordinator
//! snapshot) over the witnesses' mean tokens per second (telemetry snapshot).
//!
//! A [`Join`] like the checkpoint one: it polls nothing, emits only while both snapshots
//! are fresh, and is encoded once per pair of snapshots.
//!
//! | metric | labels |
//! |---|---|
//! | `psyche_run_eta_seconds` | program, run_id |
//!
//! `psyche_run_eta_seconds` = (`psyche_run_total_tokens` − `psyche_run_tokens_trained`) /
//! `psyche_run_tokens_per_second`, for runs whose tokens per second is above 0. The speed
//! is self-reported by the witnesses, so the estimate is only as good as their reports.

use std::fmt;
use std::sync::Arc;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use crate::collectors::coordinator::{Coordinator, CoordinatorSnapshot, RunEntry};
use crate::collectors::spec::{Context, Join, Pair};
use crate::collectors::telemetry::{RunTelemetry, Telemetry, TelemetrySnapshot};
use crate::exposition::{Body, Format, Gzipped, gauge};
use crate::poller::Slot;

/// Seconds until `entry` has trained its total tokens at the speed `telemetry` reports;
/// none when the speed is unknown or not above 0.
pub fn eta_seconds(entry: &RunEntry, telemetry: &RunTelemetry) -> Option<f64> {
    let speed = telemetry
        .latest
        .tokens_per_second
        .filter(|s| s.is_finite() && *s > 0.0)?;
    let left = entry
        .run
        .tokens_total()
        .saturating_sub(entry.run.tokens_trained());
    Some(left as f64 / speed)
}

/// Every run with both a state and a speed: (program, run id, seconds).
pub fn join(
    runs: &CoordinatorSnapshot,
    telemetry: &TelemetrySnapshot,
) -> Vec<(String, String, f64)> {
    runs.runs
        .iter()
        .filter_map(|entry| {
            let t = telemetry.run(&entry.program, &entry.run.run_id)?;
            Some((
                entry.program.clone(),
                entry.run.run_id.clone(),
                eta_seconds(entry, t)?,
            ))
        })
        .collect()
}

fn encode(
    runs: &CoordinatorSnapshot,
    telemetry: &TelemetrySnapshot,
    out: &mut DescriptorEncoder<'_>,
) -> fmt::Result {
    gauge(
        out,
        "psyche_run_eta",
        "Seconds until total_tokens at the witnesses' current mean tokens per second: (psyche_run_total_tokens - psyche_run_tokens_trained) / psyche_run_tokens_per_second (self-reported speed)",
        Some(&Unit::Seconds),
        join(runs, telemetry)
            .into_iter()
            .map(|(program, run_id, eta)| ([("program", program), ("run_id", run_id)], eta)),
    )
}

/// The join over the runs and the telemetry.
pub struct Eta(Pair<Coordinator, Telemetry>);

impl Eta {
    /// A join of these two slots.
    pub fn new(runs: Arc<Slot<Coordinator>>, telemetry: Arc<Slot<Telemetry>>) -> Self {
        Eta(Pair::new(runs, telemetry, encode))
    }
}

impl Join for Eta {
    /// Only when both the runs and the telemetry are started.
    fn start(ctx: &Context) -> Option<Self> {
        Some(Eta::new(ctx.slot()?, ctx.slot()?))
    }

    fn body(&self, format: Format) -> Option<Body> {
        self.0.body(format)
    }

    fn gzip_body(&self, format: Format) -> Option<Arc<Gzipped>> {
        self.0.gzip_body(format)
    }
}

impl fmt::Debug for Eta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Eta")
    }
}
