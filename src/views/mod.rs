//! Answers for people and agents: the view model behind the one-shot CLI commands
//! (`runs`, `run`, `checkpoints`, `pool`, `network`, `contribute`), the JSON views
//! under `/api/v1/` and the landing page.
//!
//! Every view is a pure function of the same snapshots `/metrics` encodes (read from
//! the typed slots in [`Collectors`]) and of `now`, so the CLI and the HTTP handlers
//! print byte-identical JSON for the same snapshots. The JSON schema is
//! `schema/api-v1.json`: every field is always present (`null` when unknown) and new
//! fields mean a schema change, which a test guards.
//!
//! This file is the framework every answer shares ([`View`], [`Source`], [`Inputs`],
//! [`Answer`], [`Tabular`]) and the pieces several answers are built from (run
//! summaries, pool rows); each answer has its own file, and `text.rs` holds the
//! text-table helpers. The answers read no clock and no environment: `now` is passed
//! in ([`unix_now`] is the system clock, for callers that want it).

mod checkpoints;
mod contribute;
mod network;
mod pool;
mod run;
mod runs;
pub mod telemetry;
pub(crate) mod text;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::collectors::Collectors;
use crate::collectors::checkpoints::{self as joins, RunCheckpoint};
use crate::collectors::coordinator::Coordinator;
use crate::collectors::coordinator::account::{Run, RunState};
use crate::collectors::coordinator::{CoordinatorSnapshot, RunEntry};
use crate::collectors::huggingface::HuggingFace;
use crate::collectors::huggingface::HuggingFaceSnapshot;
use crate::collectors::pool::MiningPool;
use crate::collectors::solana::SolanaRpc;
use crate::collectors::solana::SolanaSnapshot;
use crate::collectors::telemetry::{RunTelemetry, Telemetry, TelemetrySnapshot};
use crate::collectors::treasurer::Treasurer;
use crate::poller::{Collector, Slot, Status};

pub use crate::collectors::pool::PoolSnapshot;
pub use checkpoints::{
    CHECKPOINTS_PER_REPO, CheckpointCommit, CheckpointsData, CommitFiles, FileView,
    RepoCheckpoints, checkpoints,
};
pub use contribute::{ContributeData, Section, UnderpopulatedRun, WaitingRun, contribute};
pub use network::{ActiveModel, EndpointView, NetworkData, PoolFunding, network};
pub use pool::{PoolView, pool, pool_view};
pub use run::{
    CLOSEST_RUNS, CheckpointView, ClientCounts, ClientsView, ConfigView, DataView, ModelView,
    PhaseView, ProgressView, RewardsView, RunData, RunDetails, Tagged, TreasuryView, WitnessesView,
    closest_run_ids, no_such_run, run,
};
pub use runs::{LATEST_MODELS, ModelSummary, RunsData, runs};
pub use text::{ago, si};

/// The `api_version` of every answer; bumped only for incompatible changes.
pub const API_VERSION: &str = "v1";
/// Where Psyche documents how to join runs and fund the pool.
pub const DOCS: &str = "https://docs.psyche.network";
/// Psyche's source code.
pub const GITHUB: &str = "https://github.com/PsycheFoundation/psyche";
/// The Nous Research forum.
pub const FORUM: &str = "https://forum.nousresearch.com";

/// A link.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// What it is.
    pub title: &'static str,
    /// Where.
    pub url: &'static str,
}

/// The Psyche ecosystem's key links (`network` and `contribute` list them).
pub const KEY_LINKS: [Link; 5] = [
    Link {
        title: "Dashboard",
        url: "https://psyche.network",
    },
    Link {
        title: "Documentation",
        url: DOCS,
    },
    Link {
        title: "GitHub",
        url: GITHUB,
    },
    Link {
        title: "Forum",
        url: FORUM,
    },
    Link {
        title: "HuggingFace",
        url: "https://huggingface.co/PsycheFoundation",
    },
];

/// Unix seconds now, by the system clock: the `now` of the HTTP answers.
pub fn unix_now() -> i64 {
    unix(SystemTime::now())
}

/// Unix seconds of `t` (0 before the epoch).
pub fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The six questions, each answered from a fixed set of collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Every run.
    Runs,
    /// One run.
    Run,
    /// Checkpoint commits per repo.
    Checkpoints,
    /// The mining pool.
    Pool,
    /// RPC endpoints and the network overview.
    Network,
    /// Where compute and funds are needed.
    Contribute,
}

impl View {
    /// The `kind` of its answer.
    pub fn kind(self) -> &'static str {
        match self {
            View::Runs => "runs",
            View::Run => "run",
            View::Checkpoints => "checkpoints",
            View::Pool => "pool",
            View::Network => "network",
            View::Contribute => "contribute",
        }
    }

    /// The collectors it reads, the one it cannot answer without first.
    pub fn needs(self) -> &'static [&'static str] {
        const RUNS: &str = Coordinator::NAME;
        const HUB: &str = HuggingFace::NAME;
        const TELEMETRY: &str = Telemetry::NAME;
        match self {
            View::Runs => &[RUNS, HUB, TELEMETRY],
            View::Run => &[RUNS, HUB, Treasurer::NAME, TELEMETRY],
            View::Checkpoints => &[HUB, RUNS],
            View::Pool => &[MiningPool::NAME],
            View::Network => &[SolanaRpc::NAME, RUNS, MiningPool::NAME, TELEMETRY],
            View::Contribute => &[RUNS, MiningPool::NAME],
        }
    }
}

/// How one collector a view reads is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Collector name.
    pub collector: &'static str,
    /// `ok`, `partial` (some parts failed), `failing`, `pending` (no poll finished yet),
    /// `disabled` (switched off by a flag) or `unavailable` (not in this build).
    pub state: &'static str,
    /// Whether its data is in the answer.
    pub serving: bool,
    /// Its latest error, for people.
    pub error: Option<String>,
}

impl Source {
    fn of(status: &Status) -> Source {
        Source {
            collector: status.name,
            state: status.state(),
            serving: status.fresh,
            error: status.last_error().map(str::to_owned),
        }
    }

    /// The answer is incomplete because of this collector: it is enabled and its
    /// latest poll did not fully succeed.
    pub fn failed(&self) -> bool {
        !matches!(self.state, "ok" | "disabled" | "unavailable")
    }
}

/// The snapshots a view reads, with the state of their collectors.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Training runs, while fresh.
    pub coordinator: Option<Arc<CoordinatorSnapshot>>,
    /// Hub repos, while fresh.
    pub huggingface: Option<Arc<HuggingFaceSnapshot>>,
    /// RPC health, while fresh.
    pub solana: Option<Arc<SolanaSnapshot>>,
    /// Run treasuries, while fresh.
    pub treasurer: Option<Arc<crate::collectors::treasurer::TreasurerSnapshot>>,
    /// The mining pool, while fresh.
    pub pool: Option<Arc<PoolSnapshot>>,
    /// Training telemetry, while fresh.
    pub telemetry: Option<Arc<TelemetrySnapshot>>,
    /// Every collector read, in [`View::needs`] order.
    pub sources: Vec<Source>,
}

/// The fresh snapshot of `slot` if `view` reads collector `C`.
fn read<C: Collector>(view: View, slot: Option<&Arc<Slot<C>>>) -> Option<Arc<C::Snapshot>> {
    if view.needs().contains(&C::NAME) {
        slot?.fresh()
    } else {
        None
    }
}

impl Inputs {
    /// Read what `view` needs from the running (or one-shot) collectors.
    pub fn read(collectors: &Collectors, view: View) -> Inputs {
        Inputs {
            coordinator: read(view, collectors.coordinator.as_ref()),
            huggingface: read(view, collectors.huggingface.as_ref()),
            solana: read(view, collectors.solana.as_ref()),
            treasurer: read(view, collectors.treasurer.as_ref()),
            pool: read(view, collectors.pool.as_ref()),
            telemetry: read(view, collectors.telemetry.as_ref()),
            sources: view
                .needs()
                .iter()
                .map(|name| match collectors.status(name) {
                    Some(status) => Source::of(&status),
                    None => Source {
                        collector: name,
                        state: "disabled",
                        serving: false,
                        error: None,
                    },
                })
                .collect(),
        }
    }

    /// Whether any collector read left the answer incomplete.
    pub fn failed(&self) -> bool {
        self.sources.iter().any(Source::failed)
    }
}

/// Every answer: what it is, when, from what, and the data.
#[derive(Debug, Clone, Serialize)]
pub struct Answer<T> {
    /// [`API_VERSION`].
    pub api_version: &'static str,
    /// [`View::kind`].
    pub kind: &'static str,
    /// Unix seconds the ages in the answer are computed against.
    pub generated_at: i64,
    /// The collectors read and how they are doing.
    pub sources: Vec<Source>,
    /// The data.
    #[serde(flatten)]
    pub data: T,
}

impl<T: Serialize + Tabular> Answer<T> {
    fn new(view: View, inputs: &Inputs, now: i64, data: T) -> Self {
        Answer {
            api_version: API_VERSION,
            kind: view.kind(),
            generated_at: now,
            sources: inputs.sources.clone(),
            data,
        }
    }

    /// Pretty JSON with a final newline.
    pub fn json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Only non-string map keys can fail, and there are none.
            format!("{{\"error\":\"{e}\"}}")
        });
        out.push('\n');
        out
    }

    /// The answer as text tables, then a line per collector that is not ok.
    pub fn table(&self) -> String {
        let mut out = self.data.table(self.generated_at);
        let failing: Vec<&Source> = self.sources.iter().filter(|s| s.failed()).collect();
        if !failing.is_empty() {
            out.push('\n');
            for s in failing {
                let _ = writeln!(
                    out,
                    "! {}: {}{}",
                    s.collector,
                    s.state,
                    s.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
        }
        out
    }
}

/// Data that prints as text.
pub trait Tabular {
    /// Text tables; ages against `now`.
    fn table(&self, now: i64) -> String;
}

// ---------------------------------------------------------------------------------
// runs, shared by `runs`, `run` and `contribute`

/// One line of `runs`.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Coordinator program.
    pub program: String,
    /// Run id.
    pub run_id: String,
    /// Display name (may be empty).
    pub name: String,
    /// Run state, as the `state` label of `psyche_run_state`.
    pub state: &'static str,
    /// Step in progress (starts at 1).
    pub step: u32,
    /// Configured total steps.
    pub total_steps: u32,
    /// (step − 1) / total_steps, 0–1.
    pub progress_ratio: f64,
    /// Current epoch.
    pub epoch: u16,
    /// Clients in the current epoch.
    pub clients: u64,
    /// Clients needed to keep training.
    pub min_clients: u16,
    /// Clients needed to start an epoch.
    pub init_min_clients: u16,
    /// Registered clients waiting for the next epoch (detail tier).
    pub pending_clients: Option<u64>,
    /// Checkpoint kind on chain.
    pub checkpoint_kind: &'static str,
    /// Hub repo or GCS bucket of the checkpoint.
    pub checkpoint_repo: Option<String>,
    /// Hub commit time of the checkpoint.
    pub checkpoint_timestamp: Option<i64>,
    /// `generated_at` − `checkpoint_timestamp`.
    pub checkpoint_age_seconds: Option<i64>,
    /// When the run entered its current state (cluster clock).
    pub last_update_timestamp: Option<i64>,
    /// `generated_at` − `last_update_timestamp`.
    pub last_update_age_seconds: Option<i64>,
    /// The state is from an earlier poll: this one could not decode it.
    pub stale: bool,
    /// Mean loss the witnesses reported for the newest witnessed step (self-reported).
    pub loss: Option<f64>,
    /// Mean tokens per second they reported for it (self-reported).
    pub tokens_per_second: Option<f64>,
}

/// A run whose account this exporter cannot read (a layout of a newer program).
#[derive(Debug, Clone, Serialize)]
pub struct UnsupportedView {
    /// Coordinator program.
    pub program: String,
    /// Run id (from its instance).
    pub run_id: String,
    /// Always `unsupported`.
    pub state: &'static str,
    /// CoordinatorAccount address.
    pub account: String,
    /// The account's data length.
    pub account_size: u64,
    /// Its `version` field, when it has one.
    pub version: Option<u64>,
    /// Which layout, and that a newer exporter is needed.
    pub message: String,
}

fn unsupported_view(u: &crate::collectors::coordinator::UnsupportedRun) -> UnsupportedView {
    UnsupportedView {
        program: u.program.clone(),
        run_id: u.run_id.clone(),
        state: "unsupported",
        account: u.account.clone(),
        account_size: u.size as u64,
        version: u.version,
        message: u.message(),
    }
}

/// Every unsupported run of the answer's snapshot.
fn unsupported_runs(inputs: &Inputs) -> Vec<UnsupportedView> {
    inputs.coordinator.as_deref().map_or_else(Vec::new, |s| {
        s.unsupported.iter().map(unsupported_view).collect()
    })
}

/// Sort rank: training first, then starting, paused, new, finished.
fn rank(state: RunState) -> u8 {
    match state {
        RunState::RoundTrain | RunState::RoundWitness | RunState::Cooldown => 0,
        RunState::Warmup | RunState::WaitingForMembers => 1,
        RunState::Paused => 2,
        RunState::Uninitialized | RunState::Unknown(_) => 3,
        RunState::Finished => 4,
    }
}

fn joined(inputs: &Inputs) -> Vec<RunCheckpoint> {
    match (&inputs.coordinator, &inputs.huggingface) {
        (Some(runs), Some(hub)) => joins::join(runs, hub),
        _ => Vec::new(),
    }
}

fn find_join<'a>(joined: &'a [RunCheckpoint], entry: &RunEntry) -> Option<&'a RunCheckpoint> {
    joined
        .iter()
        .find(|c| c.program == entry.program && c.run_id == entry.run.run_id)
}

fn nonzero(t: u64) -> Option<i64> {
    (t != 0).then(|| i64::try_from(t).unwrap_or(i64::MAX))
}

fn checkpoint_location(run: &Run) -> (&'static str, Option<String>, Option<String>) {
    match run.model.llm() {
        None => ("unknown", None, None),
        Some(llm) => {
            let c = &llm.checkpoint;
            if let Some(hub) = c.hub_repo() {
                (
                    c.kind_str(),
                    Some(hub.repo_id.clone()),
                    hub.revision.clone(),
                )
            } else if let Some(gcs) = c.gcs_repo() {
                (c.kind_str(), Some(gcs.bucket.clone()), gcs.prefix.clone())
            } else {
                (c.kind_str(), None, None)
            }
        }
    }
}

fn summarize(
    entry: &RunEntry,
    join: Option<&RunCheckpoint>,
    telemetry: Option<&RunTelemetry>,
    now: i64,
) -> RunSummary {
    let run = &entry.run;
    let (kind, repo, _) = checkpoint_location(run);
    let checkpoint_timestamp = join.and_then(|c| c.timestamp);
    let last_update = nonzero(run.state_start_timestamp);
    RunSummary {
        program: entry.program.clone(),
        run_id: run.run_id.clone(),
        name: run.metadata.name.clone(),
        state: run.state.as_str(),
        step: run.progress.step,
        total_steps: run.config.total_steps,
        progress_ratio: run.progress_ratio(),
        epoch: run.progress.epoch,
        clients: run.lists.epoch_clients as u64,
        min_clients: run.config.min_clients,
        init_min_clients: run.config.init_min_clients,
        pending_clients: run.detail.as_ref().map(|d| d.pending_clients),
        checkpoint_kind: kind,
        checkpoint_repo: repo,
        checkpoint_timestamp,
        checkpoint_age_seconds: checkpoint_timestamp.map(|t| now - t),
        last_update_timestamp: last_update,
        last_update_age_seconds: last_update.map(|t| now - t),
        stale: entry.stale,
        loss: telemetry.and_then(|t| t.latest.loss),
        tokens_per_second: telemetry.and_then(|t| t.latest.tokens_per_second),
    }
}

fn sorted_runs(snapshot: &CoordinatorSnapshot) -> Vec<&RunEntry> {
    let mut runs: Vec<&RunEntry> = snapshot.runs.iter().map(|r| r.as_ref()).collect();
    runs.sort_by(|a, b| {
        (rank(a.run.state), &a.run.run_id, &a.program).cmp(&(
            rank(b.run.state),
            &b.run.run_id,
            &b.program,
        ))
    });
    runs
}

// ---------------------------------------------------------------------------------
// pool rows, shared by `pool` and `contribute`

/// The pool rows of a pool snapshot, in whole tokens. A pool whose mint
/// decimals could not be read is left out: its amounts would be wrong.
pub fn pool_entries(snapshot: &PoolSnapshot) -> Vec<PoolEntry> {
    use crate::collectors::token::whole_tokens;
    snapshot
        .pools
        .iter()
        .filter_map(|p| {
            let d = p.collateral_decimals?;
            Some(PoolEntry {
                address: p.address.clone(),
                max_deposit: whole_tokens(p.pool.max_deposit_collateral_amount, d),
                deposited: whole_tokens(p.pool.total_deposited_collateral_amount, d),
                remaining: whole_tokens(p.pool.remaining(), d),
                fill_ratio: p.pool.fill_ratio().unwrap_or(0.0),
                vault_balance: p.vault.map(|v| whole_tokens(v, d)),
                lenders: snapshot.lenders,
                frozen: p.pool.freeze,
                claiming_enabled: p.pool.claiming_enabled,
            })
        })
        .collect()
}

/// Why an answer has no pool rows.
const POOL_MISSING: &str =
    "no pool data: the pool collector is disabled or has not read the pool yet";

/// One mining pool.
#[derive(Debug, Clone, Serialize)]
pub struct PoolEntry {
    /// Pool account address.
    pub address: String,
    /// Capacity (`max_deposit_collateral_amount`).
    pub max_deposit: f64,
    /// Total ever deposited.
    pub deposited: f64,
    /// max_deposit − deposited: what can still be deposited.
    pub remaining: f64,
    /// deposited / max_deposit (0 when the capacity is 0).
    pub fill_ratio: f64,
    /// Collateral vault token balance.
    pub vault_balance: Option<f64>,
    /// Lender accounts.
    pub lenders: Option<u64>,
    /// Deposits, extracts and claims are frozen.
    pub frozen: bool,
    /// Rewards are claimable.
    pub claiming_enabled: bool,
}
