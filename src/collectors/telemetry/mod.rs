//! Training telemetry (`collector="telemetry"`): loss, throughput, bandwidth and evals
//! that each selected witness reports in the `WitnessMetadata` of its `witness`
//! transaction (`witness.rs`). The program neither stores nor checks these values:
//! they are self-reported by the witnesses.
//!
//! Which runs: those the coordinator collector's latest snapshot shows in `warmup`,
//! `round_train`, `round_witness` or `cooldown`. Per poll, for each of them:
//! 1. one `getSignaturesForAddress` on the run's `CoordinatorAccount` (newest first,
//!    `until` the newest signature already listed; the first listing of a run is
//!    bounded by [`FIRST_LISTING`], later ones by [`LISTING`]). Signatures whose `err`
//!    is set are counted and never fetched. With nothing new, that is the only call.
//! 2. `getTransaction` (`base64`, `maxSupportedTransactionVersion: 0`) of the listed
//!    signatures, newest first, runs taken in turn, at most `--telemetry.max-transactions`
//!    per poll, [`CONCURRENCY`] at a time. A signature is fetched once; an answer of
//!    -32015 (version not supported) or `null` (not found yet) is retried once, then
//!    dropped. Only instructions of the run's program with the witness discriminator
//!    whose accounts are `[signer, that run's instance, that run's account]` are decoded;
//!    ticks and every other instruction are ignored without error.
//! 3. Reading back stops at the newest witnessed step: once a report of an older step
//!    than the run's newest is read, the older signatures still listed are dropped
//!    (counted `dropped`), so a start reads about one step back, never the history.
//!
//! Per run, like psyche.network: the newest step with at least one report, and the
//! means over its reports (`steps.rs`). A run that leaves the active states, or whose
//! listing fails, keeps its last telemetry until max age after its last good listing.
//!
//! | metric | labels |
//! |---|---|
//! | `psyche_run_witness_step`, `_reports`, `_finite_loss_reports`, `_timestamp_seconds` | program, run_id |
//! | `psyche_run_loss`, `psyche_run_tokens_per_second`, `psyche_run_bandwidth_bytes_per_second` | program, run_id |
//! | `psyche_run_eval_score` | program, run_id, eval |
//! | `psyche_exporter_telemetry_signatures_total` | outcome |
//! | `psyche_exporter_telemetry_pending_signatures`, `_evals_dropped_total` | |
//!
//! Failure behaviour: a failed listing or fetch is counted under its kind and skips
//! that run or signature for this poll (the poll is partial); a 429 stops the poll's
//! requests and the poller skips polls until its `Retry-After` has passed; a transaction that does
//! not decode is a `decode` error and is skipped. State is updated as each answer
//! arrives, so a poll cut by its deadline keeps what it read.

pub mod families;
pub mod steps;
pub mod transaction;
pub mod witness;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use prometheus_client::encoding::DescriptorEncoder;
use serde::Deserialize;
use serde_json::{Value, json};
use solana_pubkey::Pubkey;
use solana_rpc_client_api::request::RpcRequest;

use crate::collectors::coordinator::account::RunState;
use crate::collectors::coordinator::{Coordinator, cluster_rpc, cluster_rpc_url};
use crate::collectors::spec::{Built, Context, Spec};
use crate::error::CollectError;
use crate::flags::{RpcUrlParser, check_timing, max_age, parse_duration};
use crate::poller::{Collector, Slot, Stamp, Stats, lock};
use crate::rpc::{Rpc, RpcUrl, classify};
use steps::{HistoryPoint, StepMeans, Steps};

/// Signatures the first listing of a run asks for.
pub const FIRST_LISTING: usize = 200;
/// Signatures a later listing asks for (the RPC maximum).
pub const LISTING: usize = 1000;
/// Listed signatures kept unfetched per run; older ones are dropped.
pub const MAX_PENDING: usize = 1000;
/// `getTransaction` calls in flight at once.
pub const CONCURRENCY: usize = 4;
/// JSON-RPC "transaction version not supported".
pub const VERSION_NOT_SUPPORTED: i64 = -32015;
/// Fetched signatures remembered per run, so a listing never brings one back.
const REMEMBERED: usize = 4096;

/// Every `outcome` of `psyche_exporter_telemetry_signatures_total`.
pub const OUTCOMES: [&str; 7] = [
    "witness",
    "other",
    "failed",
    "malformed",
    "unsupported_version",
    "not_found",
    "dropped",
];

/// Telemetry collector flags.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "collector.telemetry")]
pub struct Args {
    /// Disable the training-telemetry collector.
    #[arg(
        id = "no-collector.telemetry",
        long = "no-collector.telemetry",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_TELEMETRY"
    )]
    pub disabled: bool,
    /// Solana RPC URL to read witness transactions from [default: --coordinator.rpc-url].
    #[arg(id = "telemetry.rpc-url", long = "telemetry.rpc-url", env = "PSYCHE_EXPORTER_TELEMETRY_RPC_URL", hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_url: Option<RpcUrl>,
    /// How often to read new witness transactions of the active runs.
    #[arg(id = "telemetry.interval", long = "telemetry.interval", env = "PSYCHE_EXPORTER_TELEMETRY_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one poll (must be shorter than the interval).
    #[arg(id = "telemetry.timeout", long = "telemetry.timeout", env = "PSYCHE_EXPORTER_TELEMETRY_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving a run's telemetry after its last good listing (a run
    /// that left the active states, or whose listings fail) [default: 3 × interval].
    #[arg(id = "telemetry.max-age", long = "telemetry.max-age", env = "PSYCHE_EXPORTER_TELEMETRY_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
    /// At most this many getTransaction calls per poll, shared by the active runs.
    #[arg(id = "telemetry.max-transactions", long = "telemetry.max-transactions", env = "PSYCHE_EXPORTER_TELEMETRY_MAX_TRANSACTIONS", default_value = "100", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_transactions: u32,
}

impl Spec for Telemetry {
    type Args = Args;
    const HEADING: &'static str = "Training telemetry (collector \"telemetry\")";
    /// The active runs come from the coordinator's snapshot.
    const DEPENDS_ON: &'static [&'static str] = &[Coordinator::NAME];
    /// Without the runs there is nothing to read.
    const REQUIRES: &'static [&'static str] = &[Coordinator::NAME];

    fn enabled(args: &Args) -> bool {
        !args.disabled
    }

    fn validate(args: &Args, _ctx: &Context) -> Result<(), String> {
        check_timing("telemetry", args.interval, args.timeout)
    }

    fn rpc_urls(args: &Args, ctx: &Context) -> Vec<RpcUrl> {
        cluster_rpc_url(args.rpc_url.as_ref(), ctx)
            .cloned()
            .into_iter()
            .collect()
    }

    fn build(args: &Args, ctx: &Context, stats: Arc<Stats>) -> Result<Built<Self>, CollectError> {
        let rpc = cluster_rpc(
            args.rpc_url.as_ref(),
            "telemetry",
            ctx,
            args.timeout,
            &stats,
        )?;
        let max_age = max_age(args.max_age, args.interval);
        let settings = Settings {
            max_transactions: args.max_transactions as usize,
            max_age,
        };
        Ok(Built {
            collector: Telemetry::new(rpc, settings, stats, ctx.slot::<Coordinator>()),
            interval: args.interval,
            deadline: args.timeout,
            max_age,
        })
    }
}

/// Settings of the telemetry collector.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `getTransaction` budget per poll.
    pub max_transactions: usize,
    /// How long a run's telemetry is served after its last good listing.
    pub max_age: Duration,
}

/// One run's latest telemetry.
#[derive(Debug, Clone, PartialEq)]
pub struct RunTelemetry {
    /// Coordinator program, as on the run series.
    pub program: String,
    /// Run id, as on the run series.
    pub run_id: String,
    /// Means of the newest witnessed step.
    pub latest: StepMeans,
    /// Per-step means of the newest steps read (at most [`steps::HISTORY_STEPS`]),
    /// oldest first.
    pub history: Vec<HistoryPoint>,
    /// Whether the run is in an active state in the latest run list.
    pub active: bool,
}

/// What one poll learned.
#[derive(Debug, Clone, Default)]
pub struct TelemetrySnapshot {
    /// Runs with telemetry, sorted by program then run id.
    pub runs: Vec<RunTelemetry>,
    /// Signatures by outcome, since start (every outcome present).
    pub signatures: Vec<(&'static str, u64)>,
    /// Signatures listed and not fetched yet.
    pub pending: u64,
    /// Eval values dropped because a run had too many eval names, since start.
    pub evals_dropped: u64,
}

impl TelemetrySnapshot {
    /// The telemetry of a run.
    pub fn run(&self, program: &str, run_id: &str) -> Option<&RunTelemetry> {
        self.runs
            .iter()
            .find(|r| r.program == program && r.run_id == run_id)
    }
}

/// A listed signature not fetched yet.
#[derive(Debug, Clone)]
struct Pending {
    signature: String,
    slot: u64,
    retried: bool,
}

/// What the collector remembers of one run.
#[derive(Debug)]
struct RunMemory {
    program: Pubkey,
    program_name: String,
    run_id: String,
    instance: Pubkey,
    account: Pubkey,
    active: bool,
    /// The newest signature listed, for `until`.
    newest_listed: Option<String>,
    /// Newest first.
    pending: VecDeque<Pending>,
    fetched: HashSet<String>,
    fetched_order: VecDeque<String>,
    steps: Steps,
    /// Last good listing.
    read: Option<Stamp>,
}

impl RunMemory {
    fn remember(&mut self, signature: String) {
        if self.fetched.insert(signature.clone()) {
            self.fetched_order.push_back(signature);
            while self.fetched_order.len() > REMEMBERED {
                if let Some(old) = self.fetched_order.pop_front() {
                    self.fetched.remove(&old);
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct State {
    runs: HashMap<Pubkey, RunMemory>,
    outcomes: BTreeMap<&'static str, u64>,
    evals_dropped: u64,
    /// Round-robin position over the active runs.
    turn: usize,
}

fn bump(outcomes: &mut BTreeMap<&'static str, u64>, outcome: &'static str, n: u64) {
    *outcomes.entry(outcome).or_insert(0) += n;
}

/// The collector.
pub struct Telemetry {
    rpc: Rpc,
    settings: Settings,
    stats: Arc<Stats>,
    runs: Option<Arc<Slot<Coordinator>>>,
    state: Mutex<State>,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("rpc", &self.rpc)
            .finish_non_exhaustive()
    }
}

/// An entry of a `getSignaturesForAddress` answer.
#[derive(Debug, Deserialize)]
struct Listed {
    signature: String,
    slot: u64,
    #[serde(default)]
    err: Option<Value>,
}

/// What one `getTransaction` brought.
enum Fetched {
    Answer(Value),
    Failed(CollectError),
}

impl Telemetry {
    /// A collector reading through `rpc`; `runs` is the coordinator's slot, read at
    /// each poll for the active runs.
    pub fn new(
        rpc: Rpc,
        settings: Settings,
        stats: Arc<Stats>,
        runs: Option<Arc<Slot<Coordinator>>>,
    ) -> Self {
        Telemetry {
            rpc,
            settings,
            stats,
            runs,
            state: Mutex::new(State {
                outcomes: OUTCOMES.iter().map(|o| (*o, 0)).collect(),
                ..State::default()
            }),
        }
    }

    /// Mark runs active or not from the coordinator's latest snapshot; the active
    /// runs' accounts, in a stable order. `None` without a fresh run list.
    fn refresh_runs(&self) -> Option<Vec<Pubkey>> {
        let snapshot = self.runs.as_ref()?.fresh()?;
        let mut state = lock(&self.state);
        for memory in state.runs.values_mut() {
            memory.active = false;
        }
        let mut active = Vec::new();
        for entry in &snapshot.runs {
            if entry.stale
                || !matches!(
                    entry.run.state,
                    RunState::Warmup
                        | RunState::RoundTrain
                        | RunState::RoundWitness
                        | RunState::Cooldown
                )
            {
                continue;
            }
            let (Ok(program), Ok(instance), Ok(account)) = (
                Pubkey::from_str(&entry.program),
                Pubkey::from_str(&entry.instance),
                Pubkey::from_str(&entry.account),
            ) else {
                continue;
            };
            let memory = state.runs.entry(account).or_insert_with(|| RunMemory {
                program,
                program_name: entry.program.clone(),
                run_id: entry.run.run_id.clone(),
                instance,
                account,
                active: true,
                newest_listed: None,
                pending: VecDeque::new(),
                fetched: HashSet::new(),
                fetched_order: VecDeque::new(),
                steps: Steps::default(),
                read: None,
            });
            // A freed and re-created run may reuse nothing but its address.
            if memory.instance != instance || memory.run_id != entry.run.run_id {
                memory.instance = instance;
                memory.run_id = entry.run.run_id.clone();
                memory.steps = Steps::default();
            }
            memory.active = true;
            active.push(account);
        }
        active.sort();
        Some(active)
    }

    async fn list(&self, account: Pubkey) -> Result<Vec<Listed>, CollectError> {
        let (until, limit) = {
            let state = lock(&self.state);
            let memory = state.runs.get(&account);
            match memory.and_then(|m| m.newest_listed.clone()) {
                Some(until) => (Some(until), LISTING),
                None => (None, FIRST_LISTING),
            }
        };
        let mut config = json!({"limit": limit, "commitment": "confirmed"});
        if let Some(until) = until {
            config["until"] = Value::String(until);
        }
        let what = self.rpc.what("getSignaturesForAddress");
        let answer: Value = self
            .rpc
            .client
            .send(
                RpcRequest::GetSignaturesForAddress,
                json!([account.to_string(), config]),
            )
            .await
            .map_err(|e| classify(&what, e))?;
        serde_json::from_value(answer).map_err(|e| CollectError::Decode {
            what,
            message: format!("unexpected shape: {e}"),
        })
    }

    /// Take a listing into a run's memory: new successful signatures join the
    /// front of its queue.
    fn take_listing(&self, account: Pubkey, listed: Vec<Listed>, read: Stamp) {
        let mut state = lock(&self.state);
        let Some(memory) = state.runs.get_mut(&account) else {
            return;
        };
        memory.read = Some(read);
        if let Some(first) = listed.first() {
            memory.newest_listed = Some(first.signature.clone());
        }
        let queued: HashSet<&str> = memory
            .pending
            .iter()
            .map(|p| p.signature.as_str())
            .collect();
        let mut failed = 0;
        let mut fresh = Vec::new();
        for entry in listed {
            if entry.err.as_ref().is_some_and(|e| !e.is_null()) {
                failed += 1;
            } else if !memory.fetched.contains(&entry.signature)
                && !queued.contains(entry.signature.as_str())
            {
                fresh.push(Pending {
                    signature: entry.signature,
                    slot: entry.slot,
                    retried: false,
                });
            }
        }
        for p in fresh.into_iter().rev() {
            memory.pending.push_front(p);
        }
        let mut dropped = 0;
        while memory.pending.len() > MAX_PENDING {
            memory.pending.pop_back();
            dropped += 1;
        }
        bump(&mut state.outcomes, "failed", failed);
        bump(&mut state.outcomes, "dropped", dropped);
    }

    /// The next signature to fetch: the newest of the next active run in turn.
    fn next_pending(&self, active: &[Pubkey]) -> Option<(Pubkey, Pending)> {
        let mut state = lock(&self.state);
        for _ in 0..active.len() {
            let at = state.turn % active.len();
            state.turn = state.turn.wrapping_add(1);
            let account = active[at];
            if let Some(p) = state
                .runs
                .get_mut(&account)
                .and_then(|m| m.pending.pop_front())
            {
                return Some((account, p));
            }
        }
        None
    }

    async fn fetch(&self, signature: &str) -> Fetched {
        let what = self.rpc.what("getTransaction");
        let config = json!({
            "encoding": "base64",
            "commitment": "confirmed",
            "maxSupportedTransactionVersion": 0,
        });
        match self
            .rpc
            .client
            .send::<Value>(RpcRequest::GetTransaction, json!([signature, config]))
            .await
        {
            Ok(answer) => Fetched::Answer(answer),
            Err(e) => Fetched::Failed(classify(&what, e)),
        }
    }

    /// Take one `getTransaction` result into the run's memory. Returns whether
    /// the poll should stop asking (rate limited).
    fn take(&self, account: Pubkey, pending: Pending, fetched: Fetched) -> bool {
        let mut state = lock(&self.state);
        let State {
            runs,
            outcomes,
            evals_dropped,
            ..
        } = &mut *state;
        let mut count = |o: &'static str| bump(outcomes, o, 1);
        let Some(memory) = runs.get_mut(&account) else {
            return false;
        };
        let retry = |memory: &mut RunMemory, pending: Pending| {
            if pending.retried {
                false
            } else {
                memory.pending.push_front(Pending {
                    retried: true,
                    ..pending
                });
                true
            }
        };
        let answer = match fetched {
            Fetched::Failed(err) => {
                self.stats.record(&err);
                return match err {
                    CollectError::Rpc { code, .. } if code == VERSION_NOT_SUPPORTED => {
                        count("unsupported_version");
                        if !retry(memory, pending.clone()) {
                            memory.remember(pending.signature);
                        }
                        false
                    }
                    CollectError::RateLimited { .. } => {
                        // Not read: asked again by a later poll.
                        memory.pending.push_front(pending);
                        true
                    }
                    _ => {
                        memory.pending.push_front(pending);
                        false
                    }
                };
            }
            Fetched::Answer(Value::Null) => {
                count("not_found");
                if !retry(memory, pending.clone()) {
                    memory.remember(pending.signature);
                }
                return false;
            }
            Fetched::Answer(answer) => answer,
        };
        memory.remember(pending.signature.clone());
        let tx = match transaction::parse(answer) {
            Ok(tx) => tx,
            Err(message) => {
                count("malformed");
                self.stats.record(&CollectError::Decode {
                    what: format!("transaction {}", pending.signature),
                    message,
                });
                return false;
            }
        };
        if tx.failed {
            count("failed");
            return false;
        }
        let mut reports = Vec::new();
        for ix in &tx.instructions {
            if ix.program != memory.program
                || !witness::is_witness(&ix.data)
                || ix.accounts.get(1) != Some(&memory.instance)
                || ix.accounts.get(2) != Some(&memory.account)
            {
                continue;
            }
            match witness::decode_witness(&ix.data) {
                Ok(report) => reports.push(report),
                Err(e) => {
                    count("malformed");
                    self.stats.record(&CollectError::Decode {
                        what: format!("witness in transaction {}", pending.signature),
                        message: e.to_string(),
                    });
                    return false;
                }
            }
        }
        if reports.is_empty() {
            count("other");
            return false;
        }
        count("witness");
        for report in &reports {
            let before = memory.steps.evals_dropped;
            memory.steps.add(report, tx.block_time);
            *evals_dropped += memory.steps.evals_dropped - before;
            // Read back no further than the newest witnessed step: what is older
            // than a report of an older step belongs to older steps.
            if memory
                .steps
                .newest_step()
                .is_some_and(|newest| report.step < newest)
            {
                let before = memory.pending.len();
                memory.pending.retain(|p| p.slot >= tx.slot);
                bump(outcomes, "dropped", (before - memory.pending.len()) as u64);
            }
        }
        false
    }

    fn snapshot(&self) -> TelemetrySnapshot {
        let now = std::time::Instant::now();
        let mut state = lock(&self.state);
        let max_age = self.settings.max_age;
        let fresh = |m: &RunMemory| {
            m.read
                .is_some_and(|r| now.saturating_duration_since(r.instant) <= max_age)
        };
        // Forget what is neither watched nor served any more.
        state.runs.retain(|_, m| m.active || fresh(m));
        let mut runs: Vec<RunTelemetry> = state
            .runs
            .values()
            .filter(|m| fresh(m))
            .filter_map(|m| {
                Some(RunTelemetry {
                    program: m.program_name.clone(),
                    run_id: m.run_id.clone(),
                    latest: m.steps.latest()?,
                    history: m.steps.history(),
                    active: m.active,
                })
            })
            .collect();
        runs.sort_by(|a, b| (&a.program, &a.run_id).cmp(&(&b.program, &b.run_id)));
        TelemetrySnapshot {
            runs,
            signatures: state.outcomes.iter().map(|(k, v)| (*k, *v)).collect(),
            pending: state
                .runs
                .values()
                .filter(|m| m.active)
                .map(|m| m.pending.len() as u64)
                .sum(),
            evals_dropped: state.evals_dropped,
        }
    }

    async fn read(&self, active: &[Pubkey]) {
        // 1. Listings, a few at a time.
        let mut listings = futures_util::stream::iter(active.iter().copied())
            .map(|account| async move { (account, self.list(account).await) })
            .buffer_unordered(CONCURRENCY);
        let mut stop = false;
        while let Some((account, result)) = listings.next().await {
            match result {
                Ok(listed) => self.take_listing(account, listed, Stamp::now()),
                Err(err) => {
                    stop |= matches!(err, CollectError::RateLimited { .. });
                    self.stats.record(&err);
                }
            }
        }
        drop(listings);
        // 2. Transactions, newest first, runs in turn, within the budget.
        let mut budget = self.settings.max_transactions;
        let mut in_flight = FuturesUnordered::new();
        loop {
            while !stop && in_flight.len() < CONCURRENCY && budget > 0 {
                if self.rpc.backoff.active().is_some() {
                    stop = true;
                    break;
                }
                let Some((account, pending)) = self.next_pending(active) else {
                    break;
                };
                budget -= 1;
                in_flight.push(async move {
                    let fetched = self.fetch(&pending.signature).await;
                    (account, pending, fetched)
                });
            }
            match in_flight.next().await {
                Some((account, pending, fetched)) => {
                    stop |= self.take(account, pending, fetched);
                }
                None => break,
            }
        }
    }
}

impl Collector for Telemetry {
    const NAME: &'static str = "telemetry";
    type Snapshot = TelemetrySnapshot;

    async fn poll(&self) -> Result<TelemetrySnapshot, CollectError> {
        match self.refresh_runs() {
            None => self
                .stats
                .incomplete("no fresh run list from the coordinator collector".into()),
            Some(active) => {
                if !active.is_empty() {
                    self.read(&active).await;
                }
            }
        }
        Ok(self.snapshot())
    }

    fn encode(snapshot: &TelemetrySnapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        families::encode(snapshot, out)
    }

    fn backoff(&self) -> Option<std::time::Instant> {
        self.rpc.backoff.active()
    }
}
