//! The training-run families: every `psyche_run_*` series of one snapshot's
//! runs. Pure: it sees only decoded runs (see the table in the README).

use std::fmt;
use std::sync::Arc;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use super::account::{self, RunDetail, RunState};
use super::{RunEntry, UnsupportedRun};
use crate::exposition::gauge;

/// `[("program", …), ("run_id", …)]` plus extra labels.
fn labels<'a>(r: &'a RunEntry, extra: &[(&'static str, &'a str)]) -> Vec<(&'static str, &'a str)> {
    let mut l = vec![
        ("program", r.program.as_str()),
        ("run_id", r.run.run_id.as_str()),
    ];
    l.extend_from_slice(extra);
    l
}

/// A per-run gauge with only the run labels.
fn per_run<V: prometheus_client::encoding::EncodeGaugeValue>(
    out: &mut DescriptorEncoder<'_>,
    runs: &[Arc<RunEntry>],
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: impl Fn(&RunEntry) -> Option<V>,
) -> fmt::Result {
    gauge(
        out,
        name,
        help,
        unit,
        runs.iter()
            .filter_map(|r| Some((labels(r, &[]), value(r)?))),
    )
}

/// The configured timeout of each timed phase.
fn phase_timeouts(c: &account::Config) -> [(&'static str, u64); 4] {
    [
        ("warmup", c.warmup_time),
        ("round_train", c.max_round_train_time),
        ("round_witness", c.round_witness_time),
        ("cooldown", c.cooldown_time),
    ]
}

const CLIENT_STATES: [account::ClientState; 4] = [
    account::ClientState::Healthy,
    account::ClientState::Dropped,
    account::ClientState::Withdrawn,
    account::ClientState::Ejected,
];

pub(super) fn encode_runs(runs: &[Arc<RunEntry>], out: &mut DescriptorEncoder<'_>) -> fmt::Result {
    gauge(
        out,
        "psyche_run_info",
        "A training run of the coordinator program (polled every --coordinator.interval); always 1",
        None,
        runs.iter().map(|r| {
            let llm = r.run.model.llm();
            (
                labels(
                    r,
                    &[
                        ("name", r.run.metadata.name.as_str()),
                        ("account", r.account.as_str()),
                        ("layout", r.run.layout.as_str()),
                        (
                            "architecture",
                            llm.map_or("unknown", |m| m.architecture.as_str()),
                        ),
                        ("data_type", llm.map_or("unknown", |m| m.data_type.as_str())),
                        (
                            "client_version",
                            r.run.client_version.as_deref().unwrap_or(""),
                        ),
                    ],
                ),
                1i64,
            )
        }),
    )?;
    gauge(
        out,
        "psyche_run_state",
        "1 for the run's current state, 0 for the others",
        None,
        runs.iter().flat_map(|r| {
            RunState::ALL.iter().map(move |s| {
                (
                    labels(r, &[("state", s.as_str())]),
                    i64::from(*s == r.run.state),
                )
            })
        }),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_step",
        "The step in progress (progress.step; starts at 1, so completed steps = step - 1)",
        None,
        |r| Some(i64::from(r.run.progress.step)),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_total_steps",
        "Configured total steps of the run",
        None,
        |r| Some(i64::from(r.run.config.total_steps)),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_epoch",
        "Current epoch (progress.epoch)",
        None,
        |r| Some(i64::from(r.run.progress.epoch)),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_progress_ratio",
        "Completed steps over total steps (0-1)",
        None,
        |r| Some(r.run.progress_ratio()),
    )?;
    for (name, help, pick) in [
        (
            "psyche_run_epoch_clients",
            "Clients of the current epoch by health (detail tier, every --coordinator.detail-interval)",
            (|d: &RunDetail| d.epoch_clients_by_state)
                as fn(&RunDetail) -> account::ClientStateCounts,
        ),
        (
            "psyche_run_exited_clients",
            "Clients that left the current epoch, by their state (detail tier)",
            |d: &RunDetail| d.exited_clients_by_state,
        ),
    ] {
        gauge(
            out,
            name,
            help,
            None,
            runs.iter().flat_map(|r| {
                let counts = r.run.detail.as_ref().map(pick);
                let unknown = counts
                    .filter(|c| c.unknown > 0)
                    .map(|c| ("unknown", c.unknown));
                counts
                    .into_iter()
                    .flat_map(|c| CLIENT_STATES.iter().map(move |s| (s.as_str(), c.get(*s))))
                    .chain(unknown)
                    .map(move |(state, n)| (labels(r, &[("state", state)]), n))
            }),
        )?;
    }
    per_run(
        out,
        runs,
        "psyche_run_registered_clients",
        "Clients ever registered with the run",
        None,
        |r| Some(r.run.lists.registered_clients as u64),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_pending_clients",
        "Clients waiting to join the next epoch (detail tier)",
        None,
        |r| Some(r.run.detail.as_ref()?.pending_clients),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_min_clients",
        "Clients needed to keep training",
        None,
        |r| Some(i64::from(r.run.config.min_clients)),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_init_min_clients",
        "Clients needed to start an epoch",
        None,
        |r| Some(i64::from(r.run.config.init_min_clients)),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_state_start_timestamp",
        "When the run entered its current state (cluster clock, Unix time)",
        Some(&Unit::Seconds),
        |r| Some(r.run.state_start_timestamp).filter(|t| *t > 0),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_phase_deadline_timestamp",
        "State start plus the current phase's timeout (warmup, round_train, round_witness, cooldown); a deadline long past means nobody is ticking the run",
        Some(&Unit::Seconds),
        |r| r.run.phase_deadline(),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_epoch_start_timestamp",
        "When the current epoch started (Unix time; v1 layout only)",
        Some(&Unit::Seconds),
        |r| r.run.epoch.start_timestamp.filter(|t| *t > 0),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_epoch_time",
        "Configured epoch duration (v1 layout only)",
        Some(&Unit::Seconds),
        |r| r.run.config.epoch_time,
    )?;
    gauge(
        out,
        "psyche_run_phase_timeout",
        "Configured maximum duration of each phase",
        Some(&Unit::Seconds),
        runs.iter().flat_map(|r| {
            phase_timeouts(&r.run.config)
                .into_iter()
                .map(move |(phase, t)| (labels(r, &[("phase", phase)]), t))
        }),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_tokens_per_step",
        "Tokens per step at the current batch size (sequences x sequence length)",
        None,
        |r| Some(r.run.tokens_per_step()),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_tokens_trained",
        "Tokens trained so far",
        None,
        |r| Some(r.run.tokens_trained()),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_total_tokens",
        "Tokens the run will have trained after total_steps, including the batch-size ramp",
        None,
        |r| Some(r.run.tokens_total()),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_witnesses",
        "Witnesses received in the current round",
        None,
        |r| Some(r.run.current_round()?.witnesses_len as u64),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_round_height",
        "Height of the current round within the epoch",
        None,
        |r| Some(i64::from(r.run.current_round()?.height)),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_nonce",
        "Coordinator account nonce (incremented by every state-changing instruction)",
        None,
        |r| Some(r.run.nonce),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_pending_pause",
        "1 when a pause takes effect at the end of the epoch",
        None,
        |r| Some(i64::from(r.run.pending_pause)),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_parameters",
        "Model parameters (run metadata)",
        None,
        |r| Some(r.run.metadata.num_parameters),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_sequence_length",
        "Tokens per sequence (model max_seq_len)",
        None,
        |r| Some(i64::from(r.run.sequence_length())),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_learning_rate",
        "The on-chain lr_schedule evaluated at the run's current step (progress.step) as Psyche's get_lr does (constant, linear, cosine, warmup_stable_decay); absent for a schedule Psyche would reject or cannot evaluate",
        None,
        |r| r.run.learning_rate(),
    )?;
    gauge(
        out,
        "psyche_run_checkpoint_info",
        "The run's checkpoint as recorded on chain (kind hub, p2p, gcs, p2p_gcs, dummy, ephemeral, unknown; for GCS repo is the bucket and revision the prefix); always 1",
        None,
        runs.iter().filter_map(|r| {
            let cp = &r.run.model.llm()?.checkpoint;
            let (repo, revision) = match (cp.hub_repo(), cp.gcs_repo()) {
                (Some(h), _) => (h.repo_id.as_str(), h.revision.as_deref().unwrap_or("")),
                (None, Some(g)) => (g.bucket.as_str(), g.prefix.as_deref().unwrap_or("")),
                (None, None) => ("", ""),
            };
            Some((
                labels(
                    r,
                    &[
                        ("kind", cp.kind_str()),
                        ("repo", repo),
                        ("revision", revision),
                    ],
                ),
                1i64,
            ))
        }),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_rewards_earned_points",
        "Reward points earned by all registered clients (detail tier)",
        None,
        |r| Some(r.run.detail.as_ref()?.earned_sum),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_rewards_slashed_points",
        "Reward points slashed from all registered clients (detail tier)",
        None,
        |r| Some(r.run.detail.as_ref()?.slashed_sum),
    )?;
    per_run(
        out,
        runs,
        "psyche_run_epoch_earning_rate_points",
        "Points shared among the healthy finishers of the current epoch",
        None,
        |r| {
            Some(
                r.run
                    .clients_state
                    .current_epoch_rates
                    .earning_rate_total_shared,
            )
        },
    )
}

/// `psyche_run_unsupported`: runs whose account layout this exporter cannot read.
pub fn encode_unsupported(runs: &[UnsupportedRun], out: &mut DescriptorEncoder<'_>) -> fmt::Result {
    gauge(
        out,
        "psyche_run_unsupported",
        "1 for a run whose CoordinatorAccount has a (size, version) this exporter does not know (a newer coordinator program): it has no other series until the exporter is upgraded",
        None,
        runs.iter().map(|r| {
            (
                [
                    ("program", r.program.clone()),
                    ("run_id", r.run_id.clone()),
                    ("size", r.size.to_string()),
                    (
                        "version",
                        r.version
                            .map_or_else(|| "none".to_owned(), |v| v.to_string()),
                    ),
                ],
                1i64,
            )
        }),
    )
}
