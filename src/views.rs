//! Answers for people and agents: the view model behind the one-shot CLI commands
//! (`runs`, `run`, `checkpoints`, `pool`, `network`, `contribute`), the JSON views
//! under `/api/v1/` and the landing page.
//!
//! Every view is a pure function of the same snapshots `/metrics` encodes (read from
//! the typed slots in [`Collectors`]) and of `now`, so the CLI and the HTTP handlers
//! print byte-identical JSON for the same snapshots. The JSON schema is
//! `schema/api-v1.json`: every field is always present (`null` when unknown) and new
//! fields mean a schema change, which a test guards.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::collectors::Collectors;
use crate::collectors::checkpoints::{self, RunCheckpoint};
use crate::collectors::coordinator::Coordinator;
use crate::collectors::coordinator::account::{
    ClientStateCounts, DataLocation, HttpLocation, LrSchedule, Optimizer, Run, RunState,
};
use crate::collectors::coordinator::{CoordinatorSnapshot, RunEntry};
use crate::collectors::huggingface::HuggingFace;
use crate::collectors::huggingface::HuggingFaceSnapshot;
use crate::collectors::pool::MiningPool;
use crate::collectors::solana::SolanaRpc;
use crate::collectors::solana::SolanaSnapshot;
use crate::collectors::treasurer::Treasurer;
use crate::poller::{Collector, Slot, Status};
use crate::server::escape;

/// The `api_version` of every answer; bumped only for incompatible changes.
pub const API_VERSION: &str = "v1";
/// Newest `step <N>` commits listed per repo by `checkpoints`.
pub const CHECKPOINTS_PER_REPO: usize = 5;
/// Where Psyche documents how to join runs and fund the pool.
pub const DOCS: &str = "https://docs.psyche.network";
/// Overrides the clock the views compute ages with (Unix seconds), for reproducible
/// output.
pub const NOW_ENV: &str = "PSYCHE_EXPORTER_NOW";

/// Unix seconds now, or `PSYCHE_EXPORTER_NOW` when set.
pub fn now() -> i64 {
    std::env::var(NOW_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| unix(SystemTime::now()))
}

fn unix(t: SystemTime) -> i64 {
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
    /// RPC endpoints.
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
        match self {
            View::Runs => &[RUNS, HUB],
            View::Run => &[RUNS, HUB, Treasurer::NAME],
            View::Checkpoints => &[HUB, RUNS],
            View::Pool => &[MiningPool::NAME],
            View::Network => &[SolanaRpc::NAME],
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
// runs

/// `runs`: every run, active first.
#[derive(Debug, Clone, Serialize)]
pub struct RunsData {
    /// The runs.
    pub runs: Vec<RunSummary>,
}

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
        (Some(runs), Some(hub)) => checkpoints::join(runs, hub),
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

fn summarize(entry: &RunEntry, join: Option<&RunCheckpoint>, now: i64) -> RunSummary {
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

/// The `runs` answer.
pub fn runs(inputs: &Inputs, now: i64) -> Answer<RunsData> {
    let joined = joined(inputs);
    let runs = inputs.coordinator.as_deref().map_or_else(Vec::new, |s| {
        sorted_runs(s)
            .into_iter()
            .map(|e| summarize(e, find_join(&joined, e), now))
            .collect()
    });
    Answer::new(View::Runs, inputs, now, RunsData { runs })
}

impl Tabular for RunsData {
    fn table(&self, _now: i64) -> String {
        let mut t = Table::new(&[
            "RUN",
            "STATE",
            "STEP",
            "PROGRESS",
            "EPOCH",
            "CLIENTS/START",
            "CHECKPOINT",
            "UPDATED",
        ]);
        for r in &self.runs {
            t.row(vec![
                r.run_id.clone(),
                format!("{}{}", r.state, if r.stale { " (stale)" } else { "" }),
                format!("{}/{}", r.step, r.total_steps),
                percent(r.progress_ratio),
                r.epoch.to_string(),
                format!("{}/{}", r.clients, r.init_min_clients),
                r.checkpoint_age_seconds.map_or_else(dash, ago),
                r.last_update_age_seconds.map_or_else(dash, ago),
            ]);
        }
        if self.runs.is_empty() {
            return "no runs\n".to_owned();
        }
        t.render()
    }
}

// ---------------------------------------------------------------------------------
// run

/// `run <run_id>`: everything known about one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunData {
    /// The run; `null` when no run has that id (or the runs are unavailable).
    pub run: Option<RunDetails>,
}

/// A kind and its numeric parameters (LR schedules, optimizers).
#[derive(Debug, Clone, Serialize)]
pub struct Tagged {
    /// snake_case variant.
    pub kind: &'static str,
    /// Its parameters; absent optional ones are left out.
    pub params: BTreeMap<&'static str, f64>,
}

/// The model a run trains.
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    /// Architecture (`hf_llama`, …; `unknown` for a non-LLM model).
    pub architecture: &'static str,
    /// `pretraining` or `finetuning`.
    pub data_type: Option<&'static str>,
    /// Parameters (run metadata).
    pub parameters: u64,
    /// Vocabulary size (run metadata).
    pub vocab_size: u64,
    /// Tokens per sequence.
    pub sequence_length: u32,
    /// Cold-start warmup steps.
    pub cold_start_warmup_steps: Option<u32>,
}

/// Where the training data comes from.
#[derive(Debug, Clone, Serialize)]
pub struct DataView {
    /// `dummy`, `server`, `local`, `http`, `weighted_http`, `preprocessed`.
    pub kind: &'static str,
    /// The address, path, URL or URL template, when there is one.
    pub location: Option<String>,
}

/// The run's configuration. Times are seconds.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigView {
    /// Maximum warmup.
    pub warmup_time: u64,
    /// Cooldown.
    pub cooldown_time: u64,
    /// Maximum training round.
    pub max_round_train_time: u64,
    /// Witness phase.
    pub round_witness_time: u64,
    /// Target epoch duration (v1 layout).
    pub epoch_time: Option<u64>,
    /// Rounds per epoch (legacy layout).
    pub rounds_per_epoch: Option<u32>,
    /// Sequences per step at the start of the ramp.
    pub global_batch_size_start: u16,
    /// Sequences per step after the ramp.
    pub global_batch_size_end: u16,
    /// Tokens over which the batch ramps.
    pub global_batch_size_warmup_tokens: u64,
    /// Clients needed to start an epoch.
    pub init_min_clients: u16,
    /// Clients needed to keep training.
    pub min_clients: u16,
    /// Witnesses per round (0: automatic).
    pub witness_nodes: u16,
    /// Verification percentage.
    pub verification_percent: u8,
}

/// Steps and tokens.
#[derive(Debug, Clone, Serialize)]
pub struct ProgressView {
    /// Step in progress.
    pub step: u32,
    /// Total steps.
    pub total_steps: u32,
    /// (step − 1) / total_steps.
    pub ratio: f64,
    /// Current epoch.
    pub epoch: u16,
    /// Tokens per step at the current batch size.
    pub tokens_per_step: u64,
    /// Tokens trained so far.
    pub tokens_trained: u64,
    /// Tokens after all steps.
    pub tokens_total: u64,
}

/// Clients by health.
#[derive(Debug, Clone, Serialize)]
pub struct ClientsView {
    /// Clients in the current epoch.
    pub epoch: u64,
    /// Clients that left the current epoch.
    pub exited: u64,
    /// Clients ever registered.
    pub registered: u64,
    /// Joiners waiting for the next epoch (detail tier).
    pub pending: Option<u64>,
    /// Current epoch's clients by health (detail tier).
    pub epoch_by_state: Option<ClientCounts>,
    /// Exited clients by health (detail tier).
    pub exited_by_state: Option<ClientCounts>,
    /// When the client lists were read.
    pub detail_timestamp: Option<i64>,
}

/// Clients counted by health.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCounts {
    /// Training normally.
    pub healthy: u64,
    /// Failed a health check.
    pub dropped: u64,
    /// Left.
    pub withdrawn: u64,
    /// Slashed.
    pub ejected: u64,
    /// Unknown state tag.
    pub unknown: u64,
}

impl From<&ClientStateCounts> for ClientCounts {
    fn from(c: &ClientStateCounts) -> Self {
        ClientCounts {
            healthy: c.healthy,
            dropped: c.dropped,
            withdrawn: c.withdrawn,
            ejected: c.ejected,
            unknown: c.unknown,
        }
    }
}

/// Witnesses of the current round.
#[derive(Debug, Clone, Serialize)]
pub struct WitnessesView {
    /// Configured witnesses per round (0: automatic).
    pub configured: u16,
    /// Witnesses received.
    pub received: Option<u64>,
    /// Witnesses needed.
    pub quorum: Option<u16>,
    /// Current round's height.
    pub round_height: Option<u32>,
}

/// The checkpoint on chain and on the Hub.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointView {
    /// `hub`, `p2p`, `gcs`, `p2p_gcs`, `dummy`, `ephemeral`, `unknown`.
    pub kind: &'static str,
    /// Hub repo or GCS bucket.
    pub repo: Option<String>,
    /// Hub revision or GCS prefix.
    pub revision: Option<String>,
    /// What the Hub said about the repo (`ok`, `unauthorized`, `not_found`); `null` when
    /// not a Hub checkpoint or the Hub is not read.
    pub hub_state: Option<&'static str>,
    /// Hub commit time of the checkpoint.
    pub hub_timestamp: Option<i64>,
    /// N of its `step <N>` title.
    pub hub_step: Option<u64>,
    /// Steps trained since.
    pub lag_steps: Option<i64>,
    /// The on-chain revision exists on the Hub.
    pub verified: Option<bool>,
}

/// Reward points.
#[derive(Debug, Clone, Serialize)]
pub struct RewardsView {
    /// Points earned by all registered clients (detail tier).
    pub earned_points: Option<u64>,
    /// Points slashed (detail tier).
    pub slashed_points: Option<u64>,
    /// Points shared among this epoch's healthy finishers.
    pub epoch_earning_rate_points: u64,
}

/// The current phase and its deadline.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseView {
    /// When the state was entered (cluster clock).
    pub state_start_timestamp: Option<i64>,
    /// The phase's timeout (warmup, train, witness, cooldown only).
    pub timeout_seconds: Option<u64>,
    /// State start + timeout.
    pub deadline_timestamp: Option<i64>,
    /// The deadline has passed: nobody is ticking the run.
    pub overdue: Option<bool>,
    /// A pause takes effect at the end of the epoch.
    pub pending_pause: bool,
}

/// `run`: one run in full.
#[derive(Debug, Clone, Serialize)]
pub struct RunDetails {
    /// What `runs` shows.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// Description (run metadata).
    pub description: String,
    /// CoordinatorAccount address.
    pub account: String,
    /// CoordinatorInstance address.
    pub instance: String,
    /// `v1` or `v0`.
    pub layout: &'static str,
    /// Client image version (v1).
    pub client_version: Option<String>,
    /// The model.
    pub model: ModelView,
    /// Training data.
    pub data: Option<DataView>,
    /// Learning-rate schedule.
    pub lr_schedule: Option<Tagged>,
    /// Optimizer.
    pub optimizer: Option<Tagged>,
    /// Configuration.
    pub config: ConfigView,
    /// Steps and tokens.
    pub progress: ProgressView,
    /// Clients.
    pub clients: ClientsView,
    /// Witnesses.
    pub witnesses: WitnessesView,
    /// Checkpoint.
    pub checkpoint: CheckpointView,
    /// Reward points.
    pub rewards: RewardsView,
    /// The run's reward treasury: `null` when the treasurer collector is off,
    /// has no data, or no treasurer `Run` funds this run.
    pub treasury: Option<TreasuryView>,
    /// Phase and deadline.
    pub phase: PhaseView,
}

/// A run's reward treasury (the treasurer program), as `json-dump-run` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TreasuryView {
    /// The treasurer `Run` account.
    pub treasurer_run: String,
    /// Reward token mint.
    pub collateral_mint: String,
    /// Vault balance in whole tokens, when readable.
    pub vault_balance: Option<f64>,
    /// Points already paid out.
    pub claimed_points: u64,
    /// Points earned and not yet paid out (needs the client lists).
    pub unclaimed_points: Option<u64>,
    /// Epochs the vault's surplus over what is owed pays for at the current
    /// earning rate; `null` when the rate is 0 or a figure is unknown.
    pub funded_epochs: Option<f64>,
}

fn treasury_view(t: &crate::collectors::treasurer::Treasury) -> TreasuryView {
    TreasuryView {
        treasurer_run: t.treasurer_run.clone(),
        collateral_mint: t.collateral_mint.clone(),
        vault_balance: t
            .vault
            .zip(t.decimals)
            .map(|(v, d)| crate::collectors::token::whole_tokens(v, d)),
        claimed_points: t.claimed_points,
        unclaimed_points: t.unclaimed(),
        funded_epochs: t.funded_epochs(),
    }
}

fn lr_schedule(s: &LrSchedule) -> Tagged {
    let mut p = BTreeMap::new();
    match *s {
        LrSchedule::Constant {
            base_lr,
            warmup_init_lr,
            warmup_steps,
        } => {
            p.insert("base_lr", base_lr);
            p.insert("warmup_init_lr", warmup_init_lr);
            p.insert("warmup_steps", f64::from(warmup_steps));
        }
        LrSchedule::Linear {
            base_lr,
            warmup_init_lr,
            final_lr,
            warmup_steps,
            total_steps,
        }
        | LrSchedule::Cosine {
            base_lr,
            warmup_init_lr,
            final_lr,
            warmup_steps,
            total_steps,
        } => {
            p.insert("base_lr", base_lr);
            p.insert("warmup_init_lr", warmup_init_lr);
            p.insert("final_lr", final_lr);
            p.insert("warmup_steps", f64::from(warmup_steps));
            p.insert("total_steps", f64::from(total_steps));
        }
        LrSchedule::WarmupStableDecay {
            base_lr,
            warmup_init_lr,
            cosine_decay_final_lr,
            linear_decay_final_lr,
            warmup_steps,
            stable_steps,
            cosine_decay_steps,
            linear_decay_steps,
        } => {
            p.insert("base_lr", base_lr);
            p.insert("warmup_init_lr", warmup_init_lr);
            p.insert("cosine_decay_final_lr", cosine_decay_final_lr);
            p.insert("linear_decay_final_lr", linear_decay_final_lr);
            p.insert("warmup_steps", f64::from(warmup_steps));
            p.insert("stable_steps", f64::from(stable_steps));
            p.insert("cosine_decay_steps", f64::from(cosine_decay_steps));
            p.insert("linear_decay_steps", f64::from(linear_decay_steps));
        }
        LrSchedule::Unknown(_) => {}
    }
    Tagged {
        kind: s.as_str(),
        params: p,
    }
}

/// The f32 as written (0.95, not 0.949999988079071): the value was configured in
/// decimal.
fn decimal(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

fn optimizer(o: &Optimizer) -> Tagged {
    let mut p = BTreeMap::new();
    match *o {
        Optimizer::AdamW {
            betas,
            weight_decay,
            eps,
            clip_grad_norm,
        } => {
            p.insert("beta1", decimal(betas[0]));
            p.insert("beta2", decimal(betas[1]));
            p.insert("weight_decay", decimal(weight_decay));
            p.insert("eps", decimal(eps));
            if let Some(c) = clip_grad_norm {
                p.insert("clip_grad_norm", decimal(c));
            }
        }
        Optimizer::Distro {
            clip_grad_norm,
            weight_decay,
            compression_decay,
            compression_topk,
            compression_chunk,
            quantize_1bit,
        } => {
            if let Some(c) = clip_grad_norm {
                p.insert("clip_grad_norm", decimal(c));
            }
            if let Some(w) = weight_decay {
                p.insert("weight_decay", decimal(w));
            }
            p.insert("compression_decay", decimal(compression_decay));
            p.insert("compression_topk", f64::from(compression_topk));
            p.insert("compression_chunk", f64::from(compression_chunk));
            p.insert("quantize_1bit", f64::from(u8::from(quantize_1bit)));
        }
        Optimizer::Dummy | Optimizer::Unknown(_) => {}
    }
    Tagged {
        kind: o.as_str(),
        params: p,
    }
}

fn data_view(d: &DataLocation) -> DataView {
    let location = match d {
        DataLocation::Server(s)
        | DataLocation::Local(s)
        | DataLocation::WeightedHttp(s)
        | DataLocation::Preprocessed(s) => Some(s.clone()),
        DataLocation::Http(h) => match &h.location {
            HttpLocation::SingleUrl(u) => Some(u.clone()),
            HttpLocation::NumberedFiles { url_template, .. } => Some(url_template.clone()),
            HttpLocation::Gcp {
                bucket_name,
                filter_directory,
            } => Some(format!("gs://{bucket_name}/{filter_directory}")),
            HttpLocation::Unknown(_) => None,
        },
        DataLocation::Dummy | DataLocation::Unknown(_) => None,
    };
    DataView {
        kind: d.as_str(),
        location,
    }
}

fn details(
    entry: &RunEntry,
    join: Option<&RunCheckpoint>,
    hub: Option<&HuggingFaceSnapshot>,
    now: i64,
) -> RunDetails {
    let run = &entry.run;
    let llm = run.model.llm();
    let (kind, repo, revision) = checkpoint_location(run);
    let hub_state = llm
        .and_then(|l| l.checkpoint.hub_repo())
        .and_then(|r| hub?.repo(&r.repo_id))
        .map(|r| r.state.as_str());
    let start = nonzero(run.state_start_timestamp);
    let deadline = run
        .phase_deadline()
        .filter(|_| start.is_some())
        .map(|d| i64::try_from(d).unwrap_or(i64::MAX));
    let detail = run.detail.as_ref();
    RunDetails {
        summary: summarize(entry, join, now),
        description: run.metadata.description.clone(),
        account: entry.account.clone(),
        instance: entry.instance.clone(),
        layout: run.layout.as_str(),
        client_version: run.client_version.clone(),
        model: ModelView {
            architecture: llm.map_or("unknown", |l| l.architecture.as_str()),
            data_type: llm.map(|l| l.data_type.as_str()),
            parameters: run.metadata.num_parameters,
            vocab_size: run.metadata.vocab_size,
            sequence_length: run.sequence_length(),
            cold_start_warmup_steps: llm.map(|l| l.cold_start_warmup_steps),
        },
        data: llm.map(|l| data_view(&l.data_location)),
        lr_schedule: llm.map(|l| lr_schedule(&l.lr_schedule)),
        optimizer: llm.map(|l| optimizer(&l.optimizer)),
        config: ConfigView {
            warmup_time: run.config.warmup_time,
            cooldown_time: run.config.cooldown_time,
            max_round_train_time: run.config.max_round_train_time,
            round_witness_time: run.config.round_witness_time,
            epoch_time: run.config.epoch_time,
            rounds_per_epoch: run.config.rounds_per_epoch,
            global_batch_size_start: run.config.global_batch_size_start,
            global_batch_size_end: run.config.global_batch_size_end,
            global_batch_size_warmup_tokens: run.config.global_batch_size_warmup_tokens,
            init_min_clients: run.config.init_min_clients,
            min_clients: run.config.min_clients,
            witness_nodes: run.config.witness_nodes,
            verification_percent: run.config.verification_percent,
        },
        progress: ProgressView {
            step: run.progress.step,
            total_steps: run.config.total_steps,
            ratio: run.progress_ratio(),
            epoch: run.progress.epoch,
            tokens_per_step: run.tokens_per_step(),
            tokens_trained: run.tokens_trained(),
            tokens_total: run.tokens_total(),
        },
        clients: ClientsView {
            epoch: run.lists.epoch_clients as u64,
            exited: run.lists.exited_clients as u64,
            registered: run.lists.registered_clients as u64,
            pending: detail.map(|d| d.pending_clients),
            epoch_by_state: detail.map(|d| ClientCounts::from(&d.epoch_clients_by_state)),
            exited_by_state: detail.map(|d| ClientCounts::from(&d.exited_clients_by_state)),
            detail_timestamp: entry.detail_at.map(unix),
        },
        witnesses: WitnessesView {
            configured: run.config.witness_nodes,
            received: run.current_round().map(|r| r.witnesses_len as u64),
            quorum: run.witness_quorum(),
            round_height: run.current_round().map(|r| r.height),
        },
        checkpoint: CheckpointView {
            kind,
            repo,
            revision,
            hub_state,
            hub_timestamp: join.and_then(|c| c.timestamp),
            hub_step: join.and_then(|c| c.step),
            lag_steps: join.and_then(|c| c.lag_steps),
            verified: join.and_then(|c| c.verified),
        },
        rewards: RewardsView {
            earned_points: detail.map(|d| d.earned_sum),
            slashed_points: detail.map(|d| d.slashed_sum),
            epoch_earning_rate_points: run
                .clients_state
                .current_epoch_rates
                .earning_rate_total_shared,
        },
        treasury: None,
        phase: PhaseView {
            state_start_timestamp: start,
            timeout_seconds: run.phase_timeout(),
            deadline_timestamp: deadline,
            overdue: deadline.map(|d| now > d),
            pending_pause: run.pending_pause,
        },
    }
}

/// The `run` answer for `run_id` (the first match, active first, when two programs
/// hold the same id).
pub fn run(inputs: &Inputs, now: i64, run_id: &str) -> Answer<RunData> {
    let joined = joined(inputs);
    let run = inputs.coordinator.as_deref().and_then(|s| {
        sorted_runs(s)
            .into_iter()
            .find(|e| e.run.run_id == run_id)
            .map(|e| {
                let mut d = details(e, find_join(&joined, e), inputs.huggingface.as_deref(), now);
                d.treasury = inputs.treasurer.as_deref().and_then(|t| {
                    let mut t = t
                        .runs
                        .iter()
                        .find(|t| t.program == e.program && t.run_id == e.run.run_id)?
                        .clone();
                    // The points owed come from this answer's own run snapshot, so
                    // they agree with its rewards even when the treasurer polled
                    // before the coordinator had read the client lists.
                    if let Some(detail) = &e.run.detail {
                        t.earned = Some(detail.earned_sum);
                    }
                    t.earning_rate = Some(
                        e.run
                            .clients_state
                            .current_epoch_rates
                            .earning_rate_total_shared,
                    );
                    Some(treasury_view(&t))
                });
                d
            })
    });
    Answer::new(View::Run, inputs, now, RunData { run })
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(dash, |v| v.to_string())
}

impl Tabular for RunData {
    fn table(&self, now: i64) -> String {
        let Some(r) = &self.run else {
            return "run not found\n".to_owned();
        };
        let s = &r.summary;
        let mut kv = Pairs::default();
        kv.head(if s.name.is_empty() {
            &s.run_id
        } else {
            &s.name
        });
        kv.add("run id", &s.run_id);
        kv.add("program", &s.program);
        kv.add("account", &r.account);
        kv.add("layout", r.layout);
        kv.add(
            "state",
            format!("{}{}", s.state, if s.stale { " (stale)" } else { "" }),
        );
        if !r.description.is_empty() {
            kv.add("description", &r.description);
        }
        kv.head("model");
        kv.add("architecture", r.model.architecture);
        kv.add("data type", opt(r.model.data_type));
        kv.add("parameters", si(r.model.parameters));
        kv.add("sequence length", r.model.sequence_length.to_string());
        kv.add("vocab size", r.model.vocab_size.to_string());
        if let Some(d) = &r.data {
            kv.add(
                "data",
                format!(
                    "{}{}",
                    d.kind,
                    d.location
                        .as_deref()
                        .map(|l| format!(" {l}"))
                        .unwrap_or_default()
                ),
            );
        }
        for (label, t) in [("lr schedule", &r.lr_schedule), ("optimizer", &r.optimizer)] {
            if let Some(t) = t {
                let params: Vec<String> =
                    t.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                kv.add(label, format!("{} {}", t.kind, params.join(" ")).trim_end());
            }
        }
        kv.head("config");
        let c = &r.config;
        kv.add(
            "phase times",
            format!(
                "warmup {}s, train {}s, witness {}s, cooldown {}s{}",
                c.warmup_time,
                c.max_round_train_time,
                c.round_witness_time,
                c.cooldown_time,
                c.epoch_time
                    .map(|e| format!(", epoch {e}s"))
                    .unwrap_or_default()
            ),
        );
        kv.add(
            "batch ramp",
            format!(
                "{} → {} sequences over {} tokens",
                c.global_batch_size_start,
                c.global_batch_size_end,
                si(c.global_batch_size_warmup_tokens)
            ),
        );
        kv.add(
            "min clients",
            format!(
                "{} to start, {} to keep training",
                c.init_min_clients, c.min_clients
            ),
        );
        kv.head("progress");
        let p = &r.progress;
        kv.add(
            "step",
            format!("{}/{} ({})", p.step, p.total_steps, percent(p.ratio)),
        );
        kv.add("epoch", p.epoch.to_string());
        kv.add(
            "tokens",
            format!(
                "{} of {} ({} per step)",
                si(p.tokens_trained),
                si(p.tokens_total),
                si(p.tokens_per_step)
            ),
        );
        kv.head("clients");
        let cl = &r.clients;
        kv.add(
            "epoch",
            match &cl.epoch_by_state {
                Some(b) => format!(
                    "{} ({} healthy, {} dropped, {} withdrawn, {} ejected)",
                    cl.epoch, b.healthy, b.dropped, b.withdrawn, b.ejected
                ),
                None => cl.epoch.to_string(),
            },
        );
        kv.add("exited", cl.exited.to_string());
        kv.add("registered", cl.registered.to_string());
        kv.add("pending", opt(cl.pending));
        let w = &r.witnesses;
        kv.add(
            "witnesses",
            format!(
                "{} received, quorum {}, configured {}",
                opt(w.received),
                opt(w.quorum),
                w.configured
            ),
        );
        kv.head("checkpoint");
        let ck = &r.checkpoint;
        kv.add("kind", ck.kind);
        kv.add("repo", opt(ck.repo.as_deref()));
        kv.add("revision", opt(ck.revision.as_deref()));
        kv.add("hub", opt(ck.hub_state));
        kv.add(
            "hub commit",
            match (ck.hub_timestamp, ck.hub_step) {
                (None, None) => dash(),
                (t, step) => format!(
                    "step {} ({} ago)",
                    opt(step),
                    t.map_or_else(dash, |t| ago(now - t))
                ),
            },
        );
        kv.add("lag", opt(ck.lag_steps.map(|l| format!("{l} steps"))));
        kv.add(
            "verified",
            opt(ck.verified.map(|v| if v { "yes" } else { "NO" })),
        );
        kv.head("rewards");
        kv.add("earned points", opt(r.rewards.earned_points));
        kv.add("slashed points", opt(r.rewards.slashed_points));
        kv.add(
            "epoch earning rate",
            r.rewards.epoch_earning_rate_points.to_string(),
        );
        kv.head("treasury");
        match &r.treasury {
            None => kv.add("treasury", "none known"),
            Some(t) => {
                kv.add("treasurer run", &t.treasurer_run);
                kv.add("vault", opt(t.vault_balance.map(|v| format!("{v:.2}"))));
                kv.add("claimed points", t.claimed_points.to_string());
                kv.add("unclaimed points", opt(t.unclaimed_points));
                kv.add(
                    "funded epochs",
                    opt(t.funded_epochs.map(|v| format!("{v:.1}"))),
                );
            }
        }
        kv.head("phase");
        let ph = &r.phase;
        kv.add(
            "state since",
            ph.state_start_timestamp
                .map_or_else(dash, |t| format!("{} ago", ago(now - t))),
        );
        kv.add(
            "deadline",
            match ph.deadline_timestamp {
                None => dash(),
                Some(d) if now > d => format!("OVERDUE by {}", ago(now - d)),
                Some(d) => format!("in {}", ago(d - now)),
            },
        );
        if ph.pending_pause {
            kv.add("pending pause", "yes");
        }
        kv.render()
    }
}

// ---------------------------------------------------------------------------------
// checkpoints

/// `checkpoints`: per repo, its newest checkpoint commits.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointsData {
    /// The run the list is limited to (`--run`).
    pub run: Option<String>,
    /// The repos, sorted by id.
    pub repos: Vec<RepoCheckpoints>,
}

/// One Hub repo.
#[derive(Debug, Clone, Serialize)]
pub struct RepoCheckpoints {
    /// `owner/name`.
    pub repo: String,
    /// `ok`, `unauthorized` or `not_found`.
    pub state: &'static str,
    /// Runs whose on-chain checkpoint names it.
    pub runs: Vec<String>,
    /// Head of `main`.
    pub head_sha: Option<String>,
    /// `lastModified`.
    pub last_modified: Option<i64>,
    /// The newest `step <N>` commits, newest first (at most [`CHECKPOINTS_PER_REPO`]).
    pub checkpoints: Vec<CheckpointCommit>,
}

/// One `step <N>` commit.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointCommit {
    /// Commit sha.
    pub sha: String,
    /// Commit time.
    pub timestamp: Option<i64>,
    /// N.
    pub step: u64,
}

/// The `checkpoints` answer, limited to the repos `run_id` names when given.
pub fn checkpoints(inputs: &Inputs, now: i64, run_id: Option<&str>) -> Answer<CheckpointsData> {
    let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(coord) = &inputs.coordinator {
        for e in &coord.runs {
            if let Some(r) = e.run.model.llm().and_then(|l| l.checkpoint.hub_repo()) {
                named
                    .entry(r.repo_id.clone())
                    .or_default()
                    .insert(e.run.run_id.clone());
            }
        }
    }
    let repos = inputs.huggingface.as_deref().map_or_else(Vec::new, |hub| {
        hub.repos
            .iter()
            .filter(|r| {
                run_id.is_none_or(|id| named.get(&r.id).is_some_and(|runs| runs.contains(id)))
            })
            .map(|r| {
                let model = r.state.model();
                RepoCheckpoints {
                    repo: r.id.clone(),
                    state: r.state.as_str(),
                    runs: named
                        .get(&r.id)
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default(),
                    head_sha: model.and_then(|m| m.sha.clone()),
                    last_modified: model.and_then(|m| m.last_modified),
                    checkpoints: model
                        .and_then(|m| m.history.as_ref())
                        .map(|h| {
                            h.commits
                                .iter()
                                .filter_map(|c| {
                                    Some(CheckpointCommit {
                                        sha: c.id.clone(),
                                        timestamp: c.timestamp,
                                        step: c.step?,
                                    })
                                })
                                .take(CHECKPOINTS_PER_REPO)
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect()
    });
    let data = CheckpointsData {
        run: run_id.map(str::to_owned),
        repos,
    };
    Answer::new(View::Checkpoints, inputs, now, data)
}

impl Tabular for CheckpointsData {
    fn table(&self, now: i64) -> String {
        if self.repos.is_empty() {
            return "no repos\n".to_owned();
        }
        let mut t = Table::new(&["REPO", "STEP", "COMMITTED", "SHA", "RUNS"]);
        for r in &self.repos {
            let runs = r.runs.join(",");
            if r.checkpoints.is_empty() {
                let why = match r.state {
                    "ok" => "no checkpoint commits".to_owned(),
                    other => other.to_owned(),
                };
                t.row(vec![r.repo.clone(), dash(), why, dash(), runs]);
                continue;
            }
            for (i, c) in r.checkpoints.iter().enumerate() {
                t.row(vec![
                    if i == 0 {
                        r.repo.clone()
                    } else {
                        String::new()
                    },
                    c.step.to_string(),
                    c.timestamp
                        .map_or_else(dash, |ts| format!("{} ago", ago(now - ts))),
                    c.sha.chars().take(12).collect(),
                    if i == 0 { runs.clone() } else { String::new() },
                ]);
            }
        }
        t.render()
    }
}

// ---------------------------------------------------------------------------------
// pool (seam)

pub use crate::collectors::pool::PoolSnapshot;

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

const POOL_MISSING: &str =
    "no pool data: the pool collector is disabled or has not read the pool yet";

/// `pool`: the mining pools. Amounts are whole tokens (base units / 10^decimals).
#[derive(Debug, Clone, Serialize)]
pub struct PoolView {
    /// Whether pool data is in this answer.
    pub available: bool,
    /// Why not, when it is not.
    pub note: Option<String>,
    /// The pools, by address.
    pub pools: Vec<PoolEntry>,
}

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

/// The pool view of a snapshot, or of none.
pub fn pool_view(snapshot: Option<&PoolSnapshot>) -> PoolView {
    match snapshot {
        Some(s) => PoolView {
            available: true,
            note: None,
            pools: pool_entries(s),
        },
        None => PoolView {
            available: false,
            note: Some(POOL_MISSING.to_owned()),
            pools: Vec::new(),
        },
    }
}

/// The `pool` answer.
pub fn pool(inputs: &Inputs, now: i64) -> Answer<PoolView> {
    Answer::new(View::Pool, inputs, now, pool_view(inputs.pool.as_deref()))
}

fn tokens(v: f64) -> String {
    format!("{v:.2}")
}

impl Tabular for PoolView {
    fn table(&self, _now: i64) -> String {
        if !self.available {
            return format!("{}\n", self.note.as_deref().unwrap_or("no pool data"));
        }
        let mut t = Table::new(&[
            "POOL",
            "CAPACITY",
            "DEPOSITED",
            "REMAINING",
            "FILL",
            "VAULT",
            "LENDERS",
            "FLAGS",
        ]);
        for p in &self.pools {
            let mut flags = Vec::new();
            if p.frozen {
                flags.push("frozen");
            }
            if p.claiming_enabled {
                flags.push("claiming");
            }
            t.row(vec![
                p.address.clone(),
                tokens(p.max_deposit),
                tokens(p.deposited),
                tokens(p.remaining),
                percent(p.fill_ratio),
                p.vault_balance.map_or_else(dash, tokens),
                opt(p.lenders),
                if flags.is_empty() {
                    dash()
                } else {
                    flags.join(",")
                },
            ]);
        }
        t.render()
    }
}

// ---------------------------------------------------------------------------------
// network

/// `network`: every watched RPC endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkData {
    /// The endpoints, by cluster then endpoint.
    pub endpoints: Vec<EndpointView>,
}

/// One RPC endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointView {
    /// `scheme://host[:port]`.
    pub endpoint: String,
    /// `getHealth` answered ok.
    pub up: bool,
    /// `mainnet-beta`, `devnet`, `testnet`, `unknown`.
    pub cluster: Option<&'static str>,
    /// `solana-core` version.
    pub version: Option<String>,
    /// Slot at `processed`.
    pub slot_processed: Option<u64>,
    /// Slot at `confirmed`.
    pub slot_confirmed: Option<u64>,
    /// Slot at `finalized`.
    pub slot_finalized: Option<u64>,
    /// Epoch.
    pub epoch: Option<u64>,
    /// Slots behind its cluster.
    pub slots_behind: Option<u64>,
    /// Transactions per second (latest sample).
    pub transactions_per_second: Option<f64>,
    /// Readings are from an earlier poll.
    pub stale: bool,
    /// Why it is not up.
    pub error: Option<String>,
}

/// The `network` answer.
pub fn network(inputs: &Inputs, now: i64) -> Answer<NetworkData> {
    let mut endpoints = inputs.solana.as_deref().map_or_else(Vec::new, |s| {
        s.endpoints
            .iter()
            .map(|e| {
                let r = e.readings.as_ref();
                EndpointView {
                    endpoint: e.endpoint.clone(),
                    up: e.up,
                    cluster: r.map(|r| r.cluster),
                    version: r.and_then(|r| r.version.clone()),
                    slot_processed: r.and_then(|r| r.slot_processed),
                    slot_confirmed: r.and_then(|r| r.slot_confirmed),
                    slot_finalized: r.and_then(|r| r.slot_finalized),
                    epoch: r.and_then(|r| r.epoch),
                    slots_behind: e.slots_behind,
                    transactions_per_second: r.and_then(|r| r.transactions_per_second),
                    stale: e.stale,
                    error: e.error.clone(),
                }
            })
            .collect()
    });
    // A cluster's endpoints together, so lag reads against its neighbours.
    endpoints.sort_by(|a: &EndpointView, b: &EndpointView| {
        (a.cluster, &a.endpoint).cmp(&(b.cluster, &b.endpoint))
    });
    Answer::new(View::Network, inputs, now, NetworkData { endpoints })
}

impl Tabular for NetworkData {
    fn table(&self, _now: i64) -> String {
        if self.endpoints.is_empty() {
            return "no endpoints\n".to_owned();
        }
        let mut t = Table::new(&[
            "ENDPOINT",
            "UP",
            "CLUSTER",
            "VERSION",
            "SLOT",
            "FINALIZED",
            "LAG",
            "TPS",
            "ERROR",
        ]);
        for e in &self.endpoints {
            t.row(vec![
                e.endpoint.clone(),
                if e.up { "yes" } else { "NO" }.to_owned(),
                opt(e.cluster),
                opt(e.version.as_deref()),
                opt(e.slot_confirmed),
                opt(e.slot_finalized),
                opt(e.slots_behind),
                e.transactions_per_second
                    .map_or_else(dash, |t| format!("{t:.0}")),
                e.error.clone().unwrap_or_default(),
            ]);
        }
        t.render()
    }
}

// ---------------------------------------------------------------------------------
// contribute

/// `contribute`: where compute and funds help now.
#[derive(Debug, Clone, Serialize)]
pub struct ContributeData {
    /// Runs in `waiting_for_members`: they start once enough clients join.
    pub runs_waiting_for_compute: Vec<WaitingRun>,
    /// Training runs with fewer clients than they need to start an epoch.
    pub runs_underpopulated: Vec<UnderpopulatedRun>,
    /// Pools that still take deposits.
    pub pools_with_capacity: Vec<PoolEntry>,
    /// Why the pool part is empty, when pool data is unavailable.
    pub pool_note: Option<String>,
    /// Where to read how to join.
    pub links: Vec<Link>,
}

/// A run waiting for compute.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingRun {
    /// Coordinator program.
    pub program: String,
    /// Run id.
    pub run_id: String,
    /// Display name.
    pub name: String,
    /// Joiners so far (detail tier).
    pub pending_clients: Option<u64>,
    /// Clients needed to start.
    pub init_min_clients: u16,
    /// init_min_clients − pending_clients.
    pub clients_needed: Option<u64>,
}

/// A training run short of clients.
#[derive(Debug, Clone, Serialize)]
pub struct UnderpopulatedRun {
    /// Coordinator program.
    pub program: String,
    /// Run id.
    pub run_id: String,
    /// Display name.
    pub name: String,
    /// Run state.
    pub state: &'static str,
    /// Clients in the current epoch.
    pub clients: u64,
    /// Clients needed to keep training.
    pub min_clients: u16,
    /// Clients needed to start an epoch.
    pub init_min_clients: u16,
}

/// A documentation link.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// What it is.
    pub title: &'static str,
    /// Where.
    pub url: &'static str,
}

/// The links `contribute` always lists.
pub const LINKS: [Link; 4] = [
    Link {
        title: "Psyche documentation: running a client, joining runs, the mining pool",
        url: DOCS,
    },
    Link {
        title: "Dashboard: runs and the mining pool",
        url: "https://psyche.network",
    },
    Link {
        title: "Source code",
        url: "https://github.com/PsycheFoundation/psyche",
    },
    Link {
        title: "Forum",
        url: "https://forum.nousresearch.com",
    },
];

/// The `contribute` answer.
pub fn contribute(inputs: &Inputs, now: i64) -> Answer<ContributeData> {
    let mut waiting = Vec::new();
    let mut under = Vec::new();
    if let Some(coord) = inputs.coordinator.as_deref() {
        for e in sorted_runs(coord) {
            let run = &e.run;
            let clients = run.lists.epoch_clients as u64;
            let init = run.config.init_min_clients;
            if run.state == RunState::WaitingForMembers {
                let pending = run.detail.as_ref().map(|d| d.pending_clients);
                waiting.push(WaitingRun {
                    program: e.program.clone(),
                    run_id: run.run_id.clone(),
                    name: run.metadata.name.clone(),
                    pending_clients: pending,
                    init_min_clients: init,
                    clients_needed: pending.map(|p| u64::from(init).saturating_sub(p)),
                });
            } else if (run.active() || run.state == RunState::Warmup) && clients < u64::from(init) {
                under.push(UnderpopulatedRun {
                    program: e.program.clone(),
                    run_id: run.run_id.clone(),
                    name: run.metadata.name.clone(),
                    state: run.state.as_str(),
                    clients,
                    min_clients: run.config.min_clients,
                    init_min_clients: init,
                });
            }
        }
    }
    let pool = pool_view(inputs.pool.as_deref());
    let data = ContributeData {
        runs_waiting_for_compute: waiting,
        runs_underpopulated: under,
        pools_with_capacity: pool
            .pools
            .into_iter()
            .filter(|p| p.remaining > 0.0 && !p.frozen)
            .collect(),
        pool_note: pool.note,
        links: LINKS.to_vec(),
    };
    Answer::new(View::Contribute, inputs, now, data)
}

impl Tabular for ContributeData {
    fn table(&self, _now: i64) -> String {
        let mut out = String::from("Compute: runs waiting for clients\n");
        if self.runs_waiting_for_compute.is_empty() {
            out.push_str("  none\n");
        } else {
            let mut t = Table::new(&["RUN", "JOINED", "NEEDED TO START", "STILL NEEDED"]);
            for w in &self.runs_waiting_for_compute {
                t.row(vec![
                    w.run_id.clone(),
                    opt(w.pending_clients),
                    w.init_min_clients.to_string(),
                    opt(w.clients_needed),
                ]);
            }
            out.push_str(&indent(&t.render()));
        }
        out.push_str("\nCompute: training runs short of clients\n");
        if self.runs_underpopulated.is_empty() {
            out.push_str("  none\n");
        } else {
            let mut t = Table::new(&["RUN", "STATE", "CLIENTS", "MIN", "TO START"]);
            for u in &self.runs_underpopulated {
                t.row(vec![
                    u.run_id.clone(),
                    u.state.to_owned(),
                    u.clients.to_string(),
                    u.min_clients.to_string(),
                    u.init_min_clients.to_string(),
                ]);
            }
            out.push_str(&indent(&t.render()));
        }
        out.push_str("\nFunds: pools taking deposits\n");
        match &self.pool_note {
            Some(note) => {
                let _ = writeln!(out, "  {note}");
            }
            None if self.pools_with_capacity.is_empty() => out.push_str("  none (all full)\n"),
            None => {
                let mut t = Table::new(&["POOL", "CAN STILL DEPOSIT", "FILL"]);
                for p in &self.pools_with_capacity {
                    t.row(vec![
                        p.address.clone(),
                        tokens(p.remaining),
                        percent(p.fill_ratio),
                    ]);
                }
                out.push_str(&indent(&t.render()));
            }
        }
        out.push_str("\nHow to join\n");
        for l in &self.links {
            let _ = writeln!(out, "  {}: {}", l.title, l.url);
        }
        out
    }
}

// ---------------------------------------------------------------------------------
// landing page sections

/// The landing page's runs, pool and RPC sections (HTML, no script), with links to
/// every JSON view.
pub fn landing_sections(collectors: &Collectors, now: i64) -> String {
    let runs = runs(&Inputs::read(collectors, View::Runs), now);
    let pool = pool(&Inputs::read(collectors, View::Pool), now);
    let net = network(&Inputs::read(collectors, View::Network), now);
    let mut out = String::new();
    out.push_str("<h2>Training runs</h2>\n");
    if runs.data.runs.is_empty() {
        out.push_str("<p>No runs to show (see the collectors below).</p>\n");
    } else {
        out.push_str("<table id=\"runs\">\n<tr><th>run</th><th>state</th><th>step</th><th>progress</th><th>epoch</th><th>clients</th><th>checkpoint age</th><th>updated</th></tr>\n");
        for r in &runs.data.runs {
            let id = escape(&r.run_id);
            let _ = writeln!(
                out,
                "<tr><td><a href=\"/api/v1/runs/{href}\">{id}</a>{name}</td><td class=\"state-{state}\">{state}</td><td>{step}/{total}</td><td><progress max=\"1\" value=\"{ratio:.4}\">{pct}</progress> {pct}</td><td>{epoch}</td><td>{clients}/{init}</td><td>{ck}</td><td>{upd}</td></tr>",
                href = url_segment(&r.run_id),
                name = if r.name.is_empty() || r.name == r.run_id {
                    String::new()
                } else {
                    format!("<br><small>{}</small>", escape(&r.name))
                },
                state = r.state,
                step = r.step,
                total = r.total_steps,
                ratio = r.progress_ratio,
                pct = percent(r.progress_ratio),
                epoch = r.epoch,
                clients = r.clients,
                init = r.init_min_clients,
                ck = r
                    .checkpoint_age_seconds
                    .map_or_else(dash, |a| format!("{} ago", ago(a))),
                upd = r
                    .last_update_age_seconds
                    .map_or_else(dash, |a| format!("{} ago", ago(a))),
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2>Mining pool</h2>\n");
    if pool.data.available {
        out.push_str("<table id=\"pool\">\n<tr><th>pool</th><th>capacity</th><th>deposited</th><th>remaining</th><th>fill</th><th>vault</th><th>lenders</th><th>frozen</th><th>claiming</th></tr>\n");
        for p in &pool.data.pools {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><progress max=\"1\" value=\"{:.4}\"></progress> {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&p.address),
                tokens(p.max_deposit),
                tokens(p.deposited),
                tokens(p.remaining),
                p.fill_ratio,
                percent(p.fill_ratio),
                p.vault_balance.map_or_else(dash, tokens),
                opt(p.lenders),
                if p.frozen { "yes" } else { "no" },
                if p.claiming_enabled { "yes" } else { "no" },
            );
        }
        out.push_str("</table>\n");
    } else {
        let _ = writeln!(
            out,
            "<p id=\"pool\">{}</p>",
            escape(pool.data.note.as_deref().unwrap_or("no pool data"))
        );
    }
    out.push_str("<h2>RPC endpoints</h2>\n");
    if net.data.endpoints.is_empty() {
        out.push_str("<p>No endpoint readings (see the collectors below).</p>\n");
    } else {
        out.push_str("<table id=\"rpc\">\n<tr><th>endpoint</th><th>up</th><th>cluster</th><th>version</th><th>slot</th><th>lag</th><th>TPS</th><th>error</th></tr>\n");
        for e in &net.data.endpoints {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.endpoint),
                if e.up { "ok" } else { "failing" },
                if e.up { "yes" } else { "no" },
                opt(e.cluster),
                escape(&opt(e.version.as_deref())),
                opt(e.slot_confirmed),
                opt(e.slots_behind),
                e.transactions_per_second
                    .map_or_else(dash, |t| format!("{t:.0}")),
                escape(e.error.as_deref().unwrap_or("")),
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("<h2>JSON views</h2>\n<ul>\n");
    for (path, what) in [
        ("/api/v1/runs", "every run"),
        (
            "/api/v1/runs/{run_id}",
            "one run in full (follow a run's link above)",
        ),
        (
            "/api/v1/checkpoints",
            "checkpoint commits per repo (?run=<run_id>)",
        ),
        ("/api/v1/pool", "the mining pool"),
        ("/api/v1/network", "RPC endpoints"),
        ("/api/v1/contribute", "where compute and funds are needed"),
    ] {
        if path.contains('{') {
            let _ = writeln!(out, "<li><code>{}</code>: {what}</li>", escape(path));
        } else {
            let _ = writeln!(out, "<li><a href=\"{path}\">{path}</a>: {what}</li>");
        }
    }
    out.push_str("</ul>\n");
    out
}

/// Percent-encode a path segment (run ids are free text on chain).
pub fn url_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// text helpers

fn dash() -> String {
    "-".to_owned()
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A compact age: `45s`, `12m`, `3h 5m`, `4d 2h`.
pub fn ago(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `40.0B`, `1.2T`: counts for people.
pub fn si(n: u64) -> String {
    const UNITS: [(f64, &str); 5] = [(1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")];
    let v = n as f64;
    UNITS.iter().find(|(scale, _)| v >= *scale).map_or_else(
        || n.to_string(),
        |(scale, unit)| format!("{:.1}{unit}", v / scale),
    )
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// Left-aligned columns two spaces apart.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[&str]) -> Table {
        Table {
            rows: vec![head.iter().map(|h| (*h).to_owned()).collect()],
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                let _ = write!(line, "{cell:<width$}  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `key: value` lines under headings, values aligned.
#[derive(Default)]
struct Pairs {
    items: Vec<(bool, String, String)>,
}

impl Pairs {
    fn head(&mut self, title: &str) {
        self.items.push((true, title.to_owned(), String::new()));
    }

    fn add(&mut self, key: &str, value: impl Into<String>) {
        self.items.push((false, key.to_owned(), value.into()));
    }

    fn render(&self) -> String {
        let width = self
            .items
            .iter()
            .filter(|(h, _, _)| !h)
            .map(|(_, k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (i, (head, key, value)) in self.items.iter().enumerate() {
            if *head {
                if i > 0 {
                    out.push('\n');
                }
                let _ = writeln!(out, "{key}");
            } else {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {value}",
                    format!("{key}:"),
                    width = width + 1
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_counts_read_well() {
        assert_eq!(ago(45), "45s");
        assert_eq!(ago(720), "12m");
        assert_eq!(ago(3 * 3600 + 300), "3h 5m");
        assert_eq!(ago(4 * 86_400 + 7200), "4d 2h");
        assert_eq!(ago(-5), "0s");
        assert_eq!(si(40_000_000_000), "40.0B");
        assert_eq!(si(999), "999");
        assert_eq!(url_segment("a b/ü"), "a%20b%2F%C3%BC");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["A", "BB"]);
        t.row(vec!["long".into(), "x".into()]);
        assert_eq!(t.render(), "A     BB\nlong  x\n");
    }

    #[test]
    fn no_pool_snapshot_says_why() {
        let v = pool_view(None);
        assert!(!v.available);
        assert_eq!(v.note.as_deref(), Some(POOL_MISSING));
    }
}
