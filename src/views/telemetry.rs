//! A run's training telemetry as the answers show it: the newest witnessed step's means,
//! the ETA and the recent loss trend (`run`), loss and tokens/s (`runs`), and the loss
//! history the landing page draws. All of it is self-reported by the run's witnesses.

use serde::Serialize;

use crate::collectors::coordinator::RunEntry;
use crate::collectors::eta::eta_seconds;
use crate::collectors::telemetry::RunTelemetry;

use super::Inputs;
use super::text::{Pairs, ago, dash, opt};

/// Steps of loss trend in the `run` answer.
pub const LOSS_TREND_STEPS: usize = 50;

/// One eval's mean score.
#[derive(Debug, Clone, Serialize)]
pub struct EvalScore {
    /// Eval name, as the witnesses send it.
    pub name: String,
    /// Mean score over the reports that carry it.
    pub score: f64,
}

/// One step of the loss trend.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LossPoint {
    /// The step.
    pub step: u32,
    /// Mean finite loss of its reports.
    pub loss: f64,
}

/// A run's telemetry, from the witnesses' reports (self-reported, not checked on chain).
#[derive(Debug, Clone, Serialize)]
pub struct TelemetryView {
    /// Newest step with at least one witness report.
    pub step: u32,
    /// Reports of that step averaged.
    pub reports: u32,
    /// Of those, reports with a finite loss.
    pub finite_loss_reports: u32,
    /// Block time of the newest report of that step.
    pub report_timestamp: Option<i64>,
    /// `generated_at` − `report_timestamp`.
    pub report_age_seconds: Option<i64>,
    /// Mean finite loss.
    pub loss: Option<f64>,
    /// Mean tokens per second.
    pub tokens_per_second: Option<f64>,
    /// Mean bandwidth, bytes per second.
    pub bandwidth_bytes_per_second: Option<f64>,
    /// Mean score per eval name, sorted by name.
    pub evals: Vec<EvalScore>,
    /// Seconds to the run's total tokens at the current speed.
    pub eta_seconds: Option<f64>,
    /// Mean loss of the newest steps read (at most 50, oldest first; steps without
    /// a finite loss left out).
    pub loss_trend: Vec<LossPoint>,
}

/// The telemetry the answer's snapshot holds for `entry`.
pub fn find<'a>(inputs: &'a Inputs, entry: &RunEntry) -> Option<&'a RunTelemetry> {
    inputs
        .telemetry
        .as_deref()?
        .run(&entry.program, &entry.run.run_id)
}

/// Per-step mean losses of every step read for `entry`, oldest first.
pub fn loss_history(t: &RunTelemetry) -> Vec<LossPoint> {
    t.history
        .iter()
        .filter_map(|h| {
            Some(LossPoint {
                step: h.step,
                loss: h.loss?,
            })
        })
        .collect()
}

/// The `run` answer's telemetry of `entry`.
pub fn view(t: &RunTelemetry, entry: &RunEntry, now: i64) -> TelemetryView {
    let mut trend = loss_history(t);
    let skip = trend.len().saturating_sub(LOSS_TREND_STEPS);
    trend.drain(..skip);
    let l = &t.latest;
    TelemetryView {
        step: l.step,
        reports: l.reports,
        finite_loss_reports: l.finite_loss_reports,
        report_timestamp: l.timestamp,
        report_age_seconds: l.timestamp.map(|ts| now - ts),
        loss: l.loss,
        tokens_per_second: l.tokens_per_second,
        bandwidth_bytes_per_second: l.bandwidth_bytes_per_second,
        evals: l
            .evals
            .iter()
            .map(|(name, score)| EvalScore {
                name: name.clone(),
                score: *score,
            })
            .collect(),
        eta_seconds: eta_seconds(entry, t),
        loss_trend: trend,
    }
}

/// A number of tokens, bytes or seconds per second, short: `52.3k`.
pub fn rate(v: f64) -> String {
    let (div, unit) = match v.abs() {
        a if a >= 1e9 => (1e9, "G"),
        a if a >= 1e6 => (1e6, "M"),
        a if a >= 1e3 => (1e3, "k"),
        _ => (1.0, ""),
    };
    format!("{:.1}{unit}", v / div)
}

/// Eight-level block characters for `values`, scaled between their min and max.
pub fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    values
        .iter()
        .map(|v| {
            let level = if hi > lo {
                ((v - lo) / (hi - lo) * 7.0).round() as usize
            } else {
                3
            };
            BARS[level.min(7)]
        })
        .collect()
}

/// The `telemetry` lines of the `run` text answer.
pub fn table(t: Option<&TelemetryView>, now: i64, kv: &mut Pairs) {
    kv.head("telemetry (self-reported by witnesses)");
    let Some(t) = t else {
        kv.add("telemetry", "none read");
        return;
    };
    kv.add(
        "witnessed step",
        format!(
            "{} ({} reports{})",
            t.step,
            t.reports,
            t.report_timestamp
                .map(|ts| format!(", {} ago", ago(now - ts)))
                .unwrap_or_default()
        ),
    );
    kv.add("loss", opt(t.loss.map(|l| format!("{l:.4}"))));
    kv.add("tokens/s", t.tokens_per_second.map_or_else(dash, rate));
    kv.add(
        "bandwidth",
        t.bandwidth_bytes_per_second
            .map_or_else(dash, |b| format!("{}B/s", rate(b))),
    );
    if !t.evals.is_empty() {
        let evals: Vec<String> = t
            .evals
            .iter()
            .map(|e| format!("{} {:.4}", e.name, e.score))
            .collect();
        kv.add("evals", evals.join(", "));
    }
    kv.add(
        "eta",
        t.eta_seconds
            .map_or_else(dash, |s| ago(s.min(i64::MAX as f64) as i64)),
    );
    if let (Some(first), Some(last)) = (t.loss_trend.first(), t.loss_trend.last()) {
        let losses: Vec<f64> = t.loss_trend.iter().map(|p| p.loss).collect();
        kv.add(
            "loss trend",
            format!(
                "{} {:.4} → {:.4} over steps {}–{}",
                sparkline(&losses),
                first.loss,
                last.loss,
                first.step,
                last.step
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_between_min_and_max() {
        assert_eq!(sparkline(&[3.0, 2.0, 1.0]), "█▅▁");
        assert_eq!(sparkline(&[1.0, 1.0]), "▄▄");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn rates_are_short() {
        assert_eq!(rate(52_345.0), "52.3k");
        assert_eq!(rate(12.0), "12.0");
        assert_eq!(rate(1.5e7), "15.0M");
    }
}
