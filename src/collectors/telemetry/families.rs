//! Every family of the telemetry collector, from its snapshot only.

use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::{RunTelemetry, TelemetrySnapshot};
use crate::exposition::{counter, gauge};

const NO_LABELS: [(&str, &str); 0] = [];

const SELF_REPORTED: &str = "self-reported by the run's witnesses, not checked on chain";

/// Encode a snapshot.
pub fn encode(s: &TelemetrySnapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let labels = |r: &RunTelemetry| [("program", r.program.clone()), ("run_id", r.run_id.clone())];
    gauge(
        out,
        "psyche_run_witness_step",
        "Newest step with at least one confirmed witness report (witness transactions, polled every --telemetry.interval)",
        None,
        s.runs.iter().map(|r| (labels(r), i64::from(r.latest.step))),
    )?;
    gauge(
        out,
        "psyche_run_witness_reports",
        "Witness reports of that step read and averaged",
        None,
        s.runs
            .iter()
            .map(|r| (labels(r), i64::from(r.latest.reports))),
    )?;
    gauge(
        out,
        "psyche_run_witness_finite_loss_reports",
        "Witness reports of that step with a finite loss (a witness without a loss reports +inf)",
        None,
        s.runs
            .iter()
            .map(|r| (labels(r), i64::from(r.latest.finite_loss_reports))),
    )?;
    gauge(
        out,
        "psyche_run_witness_timestamp",
        "Block time of the newest witness report of that step (Unix time)",
        Some(&Unit::Seconds),
        s.runs
            .iter()
            .filter_map(|r| Some((labels(r), r.latest.timestamp?))),
    )?;
    gauge(
        out,
        "psyche_run_loss",
        &format!(
            "Mean training loss over the finite losses the witnesses reported for that step ({SELF_REPORTED})"
        ),
        None,
        s.runs
            .iter()
            .filter_map(|r| Some((labels(r), r.latest.loss?))),
    )?;
    gauge(
        out,
        "psyche_run_tokens_per_second",
        &format!(
            "Mean of the witnesses' training throughput estimates for that step, tokens per second ({SELF_REPORTED})"
        ),
        None,
        s.runs
            .iter()
            .filter_map(|r| Some((labels(r), r.latest.tokens_per_second?))),
    )?;
    gauge(
        out,
        "psyche_run_bandwidth_bytes_per_second",
        &format!("Mean of the witnesses' bandwidth for that step ({SELF_REPORTED})"),
        None,
        s.runs
            .iter()
            .filter_map(|r| Some((labels(r), r.latest.bandwidth_bytes_per_second?))),
    )?;
    gauge(
        out,
        "psyche_run_eval_score",
        &format!(
            "Mean evaluation score per eval name over the reports of that step that carry it ({SELF_REPORTED})"
        ),
        None,
        s.runs.iter().flat_map(|r| {
            r.latest.evals.iter().map(|(name, score)| {
                (
                    [
                        ("program", r.program.clone()),
                        ("run_id", r.run_id.clone()),
                        ("eval", name.clone()),
                    ],
                    *score,
                )
            })
        }),
    )?;
    counter(
        out,
        "psyche_exporter_telemetry_signatures",
        "Transaction signatures of active runs by what became of them: witness (a report read), other (no witness report of that run), failed (err set; never counted), malformed (decode error), unsupported_version (-32015), not_found (null twice), dropped (listed, never fetched: older than the newest witnessed step, or over the backlog cap)",
        None,
        s.signatures.iter().map(|(o, n)| ([("outcome", *o)], *n)),
    )?;
    gauge(
        out,
        "psyche_exporter_telemetry_pending_signatures",
        "Signatures of active runs listed and not fetched yet (the getTransaction backlog)",
        None,
        [(NO_LABELS, s.pending)],
    )?;
    counter(
        out,
        "psyche_exporter_telemetry_evals_dropped",
        "Eval values dropped because their run already has 32 distinct eval names",
        None,
        [(NO_LABELS, s.evals_dropped)],
    )
}
