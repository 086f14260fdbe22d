//! The on-chain ↔ Hub cross-check: each run's checkpoint (from the coordinator
//! snapshot) joined with its repo's commits (from the HuggingFace snapshot).
//!
//! Not a poller of its own: a [`Join`] that reads both slots when scraped and emits only
//! while both snapshots are fresh, encoding the join once per pair of snapshots (the
//! first scrape after either collector publishes pays for it; later scrapes share the
//! bytes). Started only when both collectors are.
//!
//! | metric | labels |
//! |---|---|
//! | `psyche_run_checkpoint_timestamp_seconds` | program, run_id |
//! | `psyche_run_checkpoint_step` | program, run_id |
//! | `psyche_run_checkpoint_lag_steps` | program, run_id |
//! | `psyche_run_checkpoint_verified` | program, run_id |
//!
//! Which commit is the run's checkpoint: the one whose sha the chain records; when the
//! chain names no revision (or names the branch `main`), the head of `main`. Only Hub
//! and P2P checkpoints take part; GCS, dummy and ephemeral ones have no series here.

use std::fmt;
use std::sync::Arc;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;

use crate::collectors::coordinator::account::Checkpoint;
use crate::collectors::coordinator::{Coordinator, CoordinatorSnapshot};
use crate::collectors::huggingface::{HuggingFace, HuggingFaceSnapshot, RepoState};
use crate::collectors::spec::{Context, Join, Pair};
use crate::exposition::{Body, Format, Gzipped, gauge};
use crate::poller::Slot;

/// One run's checkpoint, checked against the Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCheckpoint {
    /// Coordinator program.
    pub program: String,
    /// Run id.
    pub run_id: String,
    /// Commit time of the checkpoint commit.
    pub timestamp: Option<i64>,
    /// N of its `step <N>` title.
    pub step: Option<u64>,
    /// The run's step minus `step`.
    pub lag_steps: Option<i64>,
    /// Whether the on-chain revision exists in the repo; `None` when unknown.
    pub verified: Option<bool>,
}

/// Join every run with a Hub or P2P checkpoint to the repo it names. Runs whose
/// repo the Hub snapshot does not hold are left out.
pub fn join(runs: &CoordinatorSnapshot, hub: &HuggingFaceSnapshot) -> Vec<RunCheckpoint> {
    runs.runs
        .iter()
        .filter_map(|entry| {
            let (Checkpoint::Hub(named) | Checkpoint::P2P(named)) =
                &entry.run.model.llm()?.checkpoint
            else {
                return None;
            };
            let repo = hub.repo(&named.repo_id)?;
            let revision = named
                .revision
                .as_deref()
                .filter(|r| !r.is_empty() && *r != "main");
            let (commit, verified) = match &repo.state {
                RepoState::Unauthorized | RepoState::NotFound => (None, Some(false)),
                RepoState::Ok(model) => match (&model.history, revision) {
                    (Some(h), Some(rev)) => {
                        let c = h.find(rev);
                        (c, Some(c.is_some()))
                    }
                    (Some(h), None) => (h.newest(), Some(true)),
                    // Commits unreadable: only the head sha can confirm a revision.
                    (None, Some(rev)) => (
                        None,
                        model
                            .sha
                            .as_deref()
                            .is_some_and(|s| s.eq_ignore_ascii_case(rev))
                            .then_some(true),
                    ),
                    (None, None) => (None, Some(true)),
                },
            };
            let step = commit.and_then(|c| c.step);
            Some(RunCheckpoint {
                program: entry.program.clone(),
                run_id: entry.run.run_id.clone(),
                timestamp: commit.and_then(|c| c.timestamp),
                step,
                // A lag beyond i64 (a Hub title naming a step above 2^63) has no
                // value rather than a clamped one.
                lag_steps: step.and_then(|s| {
                    i64::try_from(i128::from(entry.run.progress.step) - i128::from(s)).ok()
                }),
                verified,
            })
        })
        .collect()
}

/// Encode the join.
pub fn encode(joined: &[RunCheckpoint], out: &mut DescriptorEncoder<'_>) -> fmt::Result {
    let labels = |c: &RunCheckpoint| [("program", c.program.clone()), ("run_id", c.run_id.clone())];
    gauge(
        out,
        "psyche_run_checkpoint_timestamp",
        "Hub commit time of the run's on-chain checkpoint revision, or of the head of main when the chain names none (Unix time; polled every --hf.interval)",
        Some(&Unit::Seconds),
        joined
            .iter()
            .filter_map(|c| Some((labels(c), c.timestamp?))),
    )?;
    gauge(
        out,
        "psyche_run_checkpoint_step",
        "N of the 'step N' title of that commit (polled every --hf.interval)",
        None,
        joined.iter().filter_map(|c| Some((labels(c), c.step?))),
    )?;
    gauge(
        out,
        "psyche_run_checkpoint_lag_steps",
        "psyche_run_step minus psyche_run_checkpoint_step: steps trained since the checkpoint (polled every --hf.interval)",
        None,
        joined
            .iter()
            .filter_map(|c| Some((labels(c), c.lag_steps?))),
    )?;
    gauge(
        out,
        "psyche_run_checkpoint_verified",
        "1 when the run's on-chain Hub revision exists in the repo (or, with no revision, the repo exists), 0 when it does not or the repo answers 401/404 (polled every --hf.interval)",
        None,
        joined
            .iter()
            .filter_map(|c| Some((labels(c), i64::from(c.verified?)))),
    )
}

/// The join over both slots, encoded once per pair of snapshots.
pub struct Checkpoints(Pair<Coordinator, HuggingFace>);

impl Checkpoints {
    /// A join of these two slots.
    pub fn new(runs: Arc<Slot<Coordinator>>, hub: Arc<Slot<HuggingFace>>) -> Self {
        Checkpoints(Pair::new(runs, hub, |runs, hub, out| {
            encode(&join(runs, hub), out)
        }))
    }
}

impl Join for Checkpoints {
    /// Only when both the runs and the Hub are started.
    fn start(ctx: &Context) -> Option<Self> {
        Some(Checkpoints::new(ctx.slot()?, ctx.slot()?))
    }

    fn body(&self, format: Format) -> Option<Body> {
        self.0.body(format)
    }

    fn gzip_body(&self, format: Format) -> Option<Arc<Gzipped>> {
        self.0.gzip_body(format)
    }
}

impl fmt::Debug for Checkpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Checkpoints")
    }
}
