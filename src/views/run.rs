//! `run <run_id>`: everything known about one run.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::collectors::checkpoints::RunCheckpoint;
use crate::collectors::coordinator::RunEntry;
use crate::collectors::coordinator::account::{
    ClientStateCounts, DataLocation, HttpLocation, LrSchedule, Optimizer,
};

use super::telemetry::{self, TelemetryView};
use super::text::{Pairs, ago, dash, opt, percent, si};
use super::{
    Answer, Inputs, RunSummary, Tabular, UnsupportedView, View, checkpoint_location, find_join,
    joined, nonzero, sorted_runs, summarize, unix, unsupported_runs,
};

/// `run <run_id>`: everything known about one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunData {
    /// The run; `null` when no run has that id (or the runs are unavailable), or
    /// when its account cannot be read (see `unsupported`).
    pub run: Option<RunDetails>,
    /// Set when the run exists but its account has a layout this exporter does
    /// not know.
    pub unsupported: Option<UnsupportedView>,
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
    /// The schedule at the current step, as Psyche's `get_lr` computes it; `null` for a
    /// non-LLM model or a schedule Psyche would reject or cannot evaluate.
    pub learning_rate: Option<f64>,
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
    /// Training telemetry from the witnesses' reports (self-reported); `null` when
    /// the telemetry collector is off or has read no report of this run.
    pub telemetry: Option<TelemetryView>,
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
    inputs: &Inputs,
    now: i64,
) -> RunDetails {
    let hub = inputs.huggingface.as_deref();
    let found = telemetry::find(inputs, entry);
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
        summary: summarize(entry, join, found, now),
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
        learning_rate: run.learning_rate(),
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
        telemetry: found.map(|t| telemetry::view(t, entry, now)),
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
                let mut d = details(e, find_join(&joined, e), inputs, now);
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
    let unsupported = if run.is_none() {
        unsupported_runs(inputs)
            .into_iter()
            .find(|u| u.run_id == run_id)
    } else {
        None
    };
    Answer::new(View::Run, inputs, now, RunData { run, unsupported })
}

/// How many run ids an unknown-run message suggests.
pub const CLOSEST_RUNS: usize = 3;

/// The run ids most like `run_id` (at most [`CLOSEST_RUNS`]): ids containing it or
/// contained in it first, then by edit distance, ignoring case; ties by id.
pub fn closest_run_ids(inputs: &Inputs, run_id: &str) -> Vec<String> {
    let wanted = run_id.to_lowercase();
    let mut ids: Vec<(bool, usize, &str)> = inputs
        .coordinator
        .as_deref()
        .map(|s| {
            s.runs
                .iter()
                .map(|e| {
                    let id = e.run.run_id.as_str();
                    let lower = id.to_lowercase();
                    let related =
                        !wanted.is_empty() && (lower.contains(&wanted) || wanted.contains(&lower));
                    (!related, edit_distance(&lower, &wanted), id)
                })
                .collect()
        })
        .unwrap_or_default();
    ids.sort_unstable();
    ids.dedup_by(|a, b| a.2 == b.2);
    ids.into_iter()
        .take(CLOSEST_RUNS)
        .map(|(_, _, id)| id.to_owned())
        .collect()
}

/// What the CLI and the MCP tools say when no run has the id asked for.
pub fn no_such_run(run_id: &str, closest: &[String]) -> String {
    if closest.is_empty() {
        format!("no run with id {run_id:?}")
    } else {
        format!(
            "no run with id {run_id:?}; closest run ids: {}",
            closest.join(", ")
        )
    }
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

impl Tabular for RunData {
    fn table(&self, now: i64) -> String {
        let Some(r) = &self.run else {
            return match &self.unsupported {
                Some(u) => format!("run {}: {}\n", u.run_id, u.message),
                None => "run not found\n".to_owned(),
            };
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
        let tagged = |t: &Tagged| {
            let params: Vec<String> = t.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {}", t.kind, params.join(" "))
                .trim_end()
                .to_owned()
        };
        if let Some(t) = &r.lr_schedule {
            kv.add("lr schedule", tagged(t));
            kv.add("learning rate", opt(r.learning_rate));
        }
        if let Some(t) = &r.optimizer {
            kv.add("optimizer", tagged(t));
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
        telemetry::table(r.telemetry.as_ref(), now, &mut kv);
        kv.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_char_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("run-1", "run-2"), 1);
    }

    #[test]
    fn unknown_run_message_names_the_closest_ids() {
        assert_eq!(no_such_run("x", &[]), "no run with id \"x\"");
        assert_eq!(
            no_such_run("x", &["a".to_owned(), "b".to_owned()]),
            "no run with id \"x\"; closest run ids: a, b"
        );
        // Without runs there is nothing to suggest.
        assert!(closest_run_ids(&Inputs::default(), "x").is_empty());
    }
}
