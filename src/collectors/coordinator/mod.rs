//! Training runs (`collector="coordinator"`): every run of the Psyche coordinator
//! program(s), decoded from the chain.
//!
//! Per poll, for each `--coordinator.program-id`:
//! 1. discovery: one `getProgramAccounts` for the `CoordinatorInstance` accounts
//!    (filters `dataSize` 173 and a `memcmp` on the discriminator), which name each run
//!    id and the address of its `CoordinatorAccount`;
//! 2. state tier: `getMultipleAccounts` in batches of at most 100, one call per
//!    [`account::Layout::state_windows`] window with `dataSlice` (3.6 KiB per run on the
//!    wire instead of 155 KiB). The first call reads the header window of every run of
//!    the batch; its `space` field (the account's real size) picks the layout for the
//!    other windows;
//! 3. detail tier, every `--coordinator.detail-interval`: the used prefix of the client
//!    arrays (one `base64+zstd` call per array per 100 runs, sized to the longest list in
//!    the batch), for clients by health, pending joiners and reward points.
//!
//! Each batch of 100 runs goes through both tiers and is decoded before the next is
//! read, so a poll holds one batch of account bytes at a time, however many runs exist.
//!
//! | metric | labels (besides `program`, `run_id`) |
//! |---|---|
//! | `psyche_run_info` | name, account, layout, architecture, data_type, client_version |
//! | `psyche_run_state` | state (all eight, 0/1) |
//! | `psyche_run_step`, `_total_steps`, `_epoch`, `_progress_ratio` | |
//! | `psyche_run_epoch_clients`, `psyche_run_exited_clients` | state (detail tier) |
//! | `psyche_run_registered_clients`, `_pending_clients`, `_min_clients`, `_init_min_clients` | |
//! | `psyche_run_state_start_timestamp_seconds`, `_phase_deadline_timestamp_seconds`, `_epoch_start_timestamp_seconds` | |
//! | `psyche_run_epoch_time_seconds`, `psyche_run_phase_timeout_seconds` | phase |
//! | `psyche_run_tokens_per_step`, `_tokens_trained`, `_tokens_total` | |
//! | `psyche_run_witnesses`, `_round_height`, `_nonce`, `_pending_pause`, `_parameters`, `_sequence_length` | |
//! | `psyche_run_checkpoint_info` | kind, repo, revision |
//! | `psyche_run_rewards_earned_points`, `_rewards_slashed_points`, `_epoch_earning_rate_points` | |
//!
//! Failure behaviour: a failed RPC call fails the poll (the previous snapshot is kept
//! until max age). An account that cannot be decoded (foreign, truncated, wrong size) is a
//! `decode` error for that run only: its last good state is kept until max age, then it
//! disappears. A run whose accounts are freed disappears at the next poll.

pub mod account;
mod families;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::encoding::DescriptorEncoder;
use solana_account_decoder_client_types::{
    UiAccount, UiAccountData, UiAccountEncoding, UiDataSliceConfig,
};
use solana_pubkey::Pubkey;

use crate::collectors::spec::{Built, Context, Spec};
use crate::error::CollectError;
use crate::flags::{RpcUrlParser, check_timing, max_age, parse_anchored_regex, parse_duration};
use crate::poller::{Collector, Retained, Stamp, Stats, lock};
use crate::rpc::{MAX_ACCOUNTS_PER_CALL, Rpc, RpcUrl, account_bytes};

use account::{AccountData, Layout, Run, RunDetail, Window};

/// The current coordinator deployment.
pub const PROGRAM_V1: &str = "4SHugWqSXwKE5fqDchkJcPEqnoZE22VYKtSTVm7axbT7";
/// The previous deployment, whose accounts use the legacy v0 layout.
pub const PROGRAM_LEGACY: &str = "HR8RN2TP9E9zsi2kjhvPbirJWA1R6L6ruf4xNNGpjU5Y";

/// Coordinator (training runs) collector flags.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "collector.coordinator")]
pub struct Args {
    /// Disable the training-runs collector.
    #[arg(
        id = "no-collector.coordinator",
        long = "no-collector.coordinator",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_COORDINATOR"
    )]
    pub disabled: bool,
    /// Solana RPC URL of the cluster the coordinator program runs on.
    #[arg(id = "coordinator.rpc-url", long = "coordinator.rpc-url", env = "PSYCHE_EXPORTER_COORDINATOR_RPC_URL", default_value = "https://api.devnet.solana.com", hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_url: RpcUrl,
    /// Coordinator program to watch (repeatable). Default: the current deployment and
    /// the previous one (legacy v0 accounts).
    #[arg(id = "coordinator.program-id", long = "coordinator.program-id", env = "PSYCHE_EXPORTER_COORDINATOR_PROGRAM_ID", value_delimiter = ',', default_values_t = [ProgramId::from_str(PROGRAM_V1).unwrap_or_else(|_| unreachable!()), ProgramId::from_str(PROGRAM_LEGACY).unwrap_or_else(|_| unreachable!())])]
    pub program_ids: Vec<ProgramId>,
    /// Export only runs whose id fully matches one of these regular expressions
    /// (repeatable). Default: every run.
    #[arg(id = "coordinator.run-id", long = "coordinator.run-id", env = "PSYCHE_EXPORTER_COORDINATOR_RUN_ID", value_delimiter = ',', value_parser = parse_anchored_regex)]
    pub run_ids: Vec<regex::Regex>,
    /// How often to read every run's state.
    #[arg(id = "coordinator.interval", long = "coordinator.interval", env = "PSYCHE_EXPORTER_COORDINATOR_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one poll (must be shorter than the interval).
    #[arg(id = "coordinator.timeout", long = "coordinator.timeout", env = "PSYCHE_EXPORTER_COORDINATOR_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How often to read the client lists (clients by health, pending joiners, reward
    /// points); a slower tier, since they are the bulk of an account.
    #[arg(id = "coordinator.detail-interval", long = "coordinator.detail-interval", env = "PSYCHE_EXPORTER_COORDINATOR_DETAIL_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub detail_interval: Duration,
    /// How long to keep serving the last good runs when polls fail [default: 3 × interval].
    #[arg(id = "coordinator.max-age", long = "coordinator.max-age", env = "PSYCHE_EXPORTER_COORDINATOR_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

impl Spec for Coordinator {
    type Args = Args;
    const HEADING: &'static str = "Training runs (collector \"coordinator\")";

    fn enabled(args: &Args) -> bool {
        !args.disabled
    }

    fn validate(args: &Args, _ctx: &Context) -> Result<(), String> {
        check_timing("coordinator", args.interval, args.timeout)?;
        if args.program_ids.is_empty() {
            return Err("--coordinator.program-id: name at least one program".into());
        }
        Ok(())
    }

    fn rpc_urls(args: &Args, _ctx: &Context) -> Vec<RpcUrl> {
        vec![args.rpc_url.clone()]
    }

    fn build(args: &Args, _ctx: &Context, stats: Arc<Stats>) -> Result<Built<Self>, CollectError> {
        let max_age = max_age(args.max_age, args.interval);
        let rpc = Rpc::new(
            crate::rpc::http_client(args.timeout)?,
            args.rpc_url.clone(),
            Arc::clone(&stats),
        );
        let settings = Settings {
            programs: args.program_ids.clone(),
            run_ids: args.run_ids.clone(),
            detail_interval: args.detail_interval,
            max_age,
        };
        Ok(Built {
            collector: Coordinator::new(rpc, settings, stats),
            interval: args.interval,
            deadline: args.timeout,
            max_age,
        })
    }
}

/// The RPC URL of a collector that reads the coordinator's cluster: its own
/// `--<prefix>.rpc-url` (`own`), else `--coordinator.rpc-url`.
pub fn cluster_rpc_url<'a>(own: Option<&'a RpcUrl>, ctx: &'a Context) -> Option<&'a RpcUrl> {
    own.or_else(|| Some(&ctx.args::<Coordinator>()?.rpc_url))
}

/// A client on that URL counting into `stats` (`prefix` names the flag in the error).
pub fn cluster_rpc(
    own: Option<&RpcUrl>,
    prefix: &str,
    ctx: &Context,
    timeout: Duration,
    stats: &Arc<Stats>,
) -> Result<Rpc, CollectError> {
    // The list records every collector's flags, so the fallback is there.
    let url = cluster_rpc_url(own, ctx)
        .cloned()
        .ok_or_else(|| CollectError::Missing {
            what: format!("--{prefix}.rpc-url (and no --coordinator.rpc-url to default to)"),
        })?;
    Ok(Rpc::new(
        crate::rpc::http_client(timeout)?,
        url,
        Arc::clone(stats),
    ))
}

/// A coordinator program to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramId(pub Pubkey);

impl FromStr for ProgramId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Pubkey::from_str(s)
            .map(ProgramId)
            .map_err(|e| format!("not a base58 Solana address ({e})"))
    }
}

impl fmt::Display for ProgramId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Every run the programs hold, sorted by program then run id.
#[derive(Debug, Clone, Default)]
pub struct CoordinatorSnapshot {
    /// The runs, each shared with the collector's memory of it.
    pub runs: Vec<Arc<RunEntry>>,
    /// Runs whose account has a layout this exporter cannot read (a newer program),
    /// sorted by program then run id.
    pub unsupported: Vec<UnsupportedRun>,
}

/// A run whose `CoordinatorAccount` has a (size, version) this exporter does not
/// know: reported, never decoded by guesswork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedRun {
    /// The coordinator program that owns it.
    pub program: String,
    /// Run id, from its `CoordinatorInstance`.
    pub run_id: String,
    /// Address of its `CoordinatorInstance`.
    pub instance: String,
    /// Address of its `CoordinatorAccount`.
    pub account: String,
    /// The account's data length.
    pub size: usize,
    /// Its `version` field (the u64 after the discriminator), when it has one.
    pub version: Option<u64>,
}

impl UnsupportedRun {
    /// What an operator reads: which layout, and what to do.
    pub fn message(&self) -> String {
        format!(
            "unsupported CoordinatorAccount layout ({} bytes, version {}): this exporter reads v1 ({} bytes, version 1) and legacy v0 ({} bytes); a newer exporter is needed",
            self.size,
            self.version
                .map_or_else(|| "none".to_owned(), |v| v.to_string()),
            account::V1_ACCOUNT_SIZE,
            account::V0_ACCOUNT_SIZE,
        )
    }
}

/// Why a run's state could not be read.
enum Failure {
    /// A foreign, truncated or corrupt account.
    Decode(String),
    /// A coordinator account of a layout this exporter does not know.
    Unsupported { size: usize, version: Option<u64> },
}

/// One training run as the chain holds it.
#[derive(Debug, Clone)]
pub struct RunEntry {
    /// The coordinator program that owns it.
    pub program: String,
    /// Address of its `CoordinatorInstance`.
    pub instance: String,
    /// Address of its `CoordinatorAccount`.
    pub account: String,
    /// The decoded account; `run.detail` is from the detail tier.
    pub run: Run,
    /// When the detail was read, if it was.
    pub detail_at: Option<SystemTime>,
    /// The state is from an earlier poll (this poll could not decode it).
    pub stale: bool,
}

/// Settings of the coordinator collector.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Programs to watch.
    pub programs: Vec<ProgramId>,
    /// Export only runs whose id matches one of these (all when empty).
    pub run_ids: Vec<regex::Regex>,
    /// How often to read the client arrays.
    pub detail_interval: Duration,
    /// How long a run's last good state is kept when its account stops decoding.
    pub max_age: Duration,
}

/// The collector.
pub struct Coordinator {
    rpc: Rpc,
    settings: Settings,
    stats: Arc<Stats>,
    memory: Mutex<Memory>,
}

impl fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coordinator")
            .field("rpc", &self.rpc)
            .finish_non_exhaustive()
    }
}

/// What the collector remembers between polls.
#[derive(Debug)]
struct Memory {
    /// Last good state per coordinator account, kept until max age when the
    /// account stops decoding.
    runs: Retained<Pubkey, Arc<RunEntry>>,
    /// Last detail per coordinator account, kept for three detail intervals.
    detail: Retained<Pubkey, RunDetail>,
    /// When the detail tier last ran.
    detail_polled: Option<Instant>,
    /// Unsupported accounts already warned about: (account, size, version).
    warned: std::collections::HashSet<(String, usize, Option<u64>)>,
}

/// A run found by discovery.
#[derive(Debug, Clone)]
struct Target {
    program: Pubkey,
    instance: Pubkey,
    account: Pubkey,
    run_id: String,
}

impl Coordinator {
    /// A collector reading through `rpc`.
    pub fn new(rpc: Rpc, settings: Settings, stats: Arc<Stats>) -> Self {
        Coordinator {
            rpc,
            memory: Mutex::new(Memory {
                runs: Retained::new(settings.max_age),
                detail: Retained::new(settings.detail_interval * 3),
                detail_polled: None,
                warned: std::collections::HashSet::new(),
            }),
            settings,
            stats,
        }
    }

    /// Discovery: the instances of one program, decoded and filtered.
    async fn discover(&self, program: &Pubkey) -> Result<Vec<Target>, CollectError> {
        let found = self
            .rpc
            .anchor_accounts(
                program,
                account::INSTANCE_ACCOUNT_SIZE,
                &account::COORDINATOR_INSTANCE_DISCRIMINATOR,
                None,
            )
            .await?;
        let mut targets = Vec::new();
        for (address, ui) in found {
            let decoded = account_bytes(&ui, account::INSTANCE_ACCOUNT_SIZE)
                .and_then(|bytes| account::decode_instance(&bytes).map_err(|e| e.to_string()));
            let instance = match decoded {
                Ok(i) => i,
                Err(message) => {
                    self.stats.record(&CollectError::Decode {
                        what: format!("instance {address}"),
                        message,
                    });
                    continue;
                }
            };
            if !self.settings.run_ids.is_empty()
                && !self
                    .settings
                    .run_ids
                    .iter()
                    .any(|r| r.is_match(&instance.run_id))
            {
                continue;
            }
            targets.push(Target {
                program: *program,
                instance: address,
                account: Pubkey::new_from_array(instance.coordinator_account),
                run_id: instance.run_id,
            });
        }
        Ok(targets)
    }

    /// One `getMultipleAccounts` per batch of 100 with one `dataSlice`.
    async fn fetch_window(
        &self,
        accounts: &[Pubkey],
        window: Window,
        encoding: UiAccountEncoding,
    ) -> Result<Vec<Option<UiAccount>>, CollectError> {
        let slice = UiDataSliceConfig {
            offset: window.offset,
            length: window.len,
        };
        self.rpc
            .multiple_accounts(accounts, Some(slice), encoding)
            .await
    }

    /// The state tier for every target: `(target, decoded run or why not)`,
    /// leaving out accounts that no longer exist.
    async fn read_states(
        &self,
        targets: &[Target],
    ) -> Result<Vec<(Target, AccountData, Result<Run, Failure>)>, CollectError> {
        let addresses: Vec<Pubkey> = targets.iter().map(|t| t.account).collect();
        let header = Window {
            offset: 0,
            len: header_len(),
        };
        let headers = self
            .fetch_window(&addresses, header, UiAccountEncoding::Base64)
            .await?;
        // Group by layout; keep what the header already says is wrong.
        let mut by_layout: BTreeMap<Layout, Vec<(Target, AccountData)>> = BTreeMap::new();
        let mut out = Vec::new();
        for (target, ui) in targets.iter().cloned().zip(headers) {
            let Some(ui) = ui else { continue };
            let bytes = match account_bytes(&ui, header.len) {
                Ok(bytes) => bytes,
                Err(message) => {
                    out.push((
                        target,
                        AccountData::full(Vec::new()),
                        Err(Failure::Decode(message)),
                    ));
                    continue;
                }
            };
            if ui.owner != target.program.to_string() {
                let message = format!("owned by {}, not the coordinator program", ui.owner);
                out.push((
                    target,
                    AccountData::full(bytes),
                    Err(Failure::Decode(message)),
                ));
                continue;
            }
            let total = ui.space.map_or(usize::MAX, |s| s as usize);
            let Some(layout) = Layout::from_account_size(total) else {
                // A coordinator account of another size: a layout of a newer
                // program, reported as such; anything else is foreign.
                let failure = if bytes.get(..8)
                    == Some(&account::COORDINATOR_ACCOUNT_DISCRIMINATOR[..])
                    && ui.space.is_some()
                {
                    Failure::Unsupported {
                        size: total,
                        version: bytes
                            .get(8..16)
                            .and_then(|v| v.try_into().ok())
                            .map(u64::from_le_bytes),
                    }
                } else {
                    Failure::Decode(format!("unexpected account size {total}"))
                };
                out.push((target, AccountData::full(bytes), Err(failure)));
                continue;
            };
            by_layout
                .entry(layout)
                .or_default()
                .push((target, AccountData::windows(total, vec![(0, bytes)])));
        }
        for (layout, mut group) in by_layout {
            let addresses: Vec<Pubkey> = group.iter().map(|(t, _)| t.account).collect();
            for window in layout.state_windows() {
                if window.offset + window.len <= header.len {
                    continue;
                }
                let slices = self
                    .fetch_window(&addresses, *window, UiAccountEncoding::Base64)
                    .await?;
                for ((target, data), ui) in group.iter_mut().zip(slices) {
                    match ui.map(|ui| account_bytes(&ui, window.len)) {
                        Some(Ok(bytes)) => data.extend([(window.offset, bytes)]),
                        // Left out: the decoder names the missing window.
                        Some(Err(message)) => self.stats.record(&CollectError::Decode {
                            what: format!("coordinator account {} (state)", target.account),
                            message,
                        }),
                        None => {}
                    }
                }
            }
            for (target, data) in group {
                let run = account::decode_run(&data).map_err(|e| match e {
                    account::DecodeError::Version(version) => Failure::Unsupported {
                        size: data.total_len(),
                        version: Some(version),
                    },
                    other => Failure::Decode(other.to_string()),
                });
                out.push((target, data, run));
            }
        }
        Ok(out)
    }

    /// The detail tier: the used prefix of the client arrays of every run,
    /// decoded together with the state windows already read.
    async fn read_details(
        &self,
        runs: &[(Target, AccountData, Run)],
        out: &mut HashMap<Pubkey, RunDetail>,
    ) -> Result<(), CollectError> {
        // A hundred runs at a time (one request per window each), decoded before
        // the next hundred are read. Within a batch, the windows each run needs
        // are grouped by (layout, offset) and read at the longest length any of
        // them needs. Windows stay compressed until their run is decoded, so only
        // one run's client arrays are ever unpacked.
        for batch in runs.chunks(MAX_ACCOUNTS_PER_CALL) {
            let mut groups: BTreeMap<(Layout, usize), Vec<(usize, usize)>> = BTreeMap::new();
            for (i, (_, _, run)) in batch.iter().enumerate() {
                for w in run.layout.detail_windows(&run.lists) {
                    groups
                        .entry((run.layout, w.offset))
                        .or_default()
                        .push((i, w.len));
                }
            }
            let mut extra: Vec<Vec<Packed>> = Vec::new();
            extra.resize_with(batch.len(), Vec::new);
            for ((_, offset), members) in groups {
                let len = members.iter().map(|(_, l)| *l).max().unwrap_or(0);
                let addresses: Vec<Pubkey> = members
                    .iter()
                    .filter_map(|(i, _)| batch.get(*i).map(|r| r.0.account))
                    .collect();
                // Client entries are mostly keys, but zstd still wins on the
                // zeroed and repeated fields around them.
                let slices = self
                    .fetch_window(
                        &addresses,
                        Window { offset, len },
                        UiAccountEncoding::Base64Zstd,
                    )
                    .await?;
                for ((i, _), ui) in members.iter().zip(slices) {
                    let Some(ui) = ui else { continue };
                    match (Packed::new(&ui, offset, len), extra.get_mut(*i)) {
                        (Ok(packed), Some(slot)) => slot.push(packed),
                        (Err(message), Some(_)) => self.stats.record(&CollectError::Decode {
                            what: format!("coordinator account {} (detail)", batch[*i].0.account),
                            message,
                        }),
                        _ => {}
                    }
                }
            }
            self.decode_details(batch, extra, out);
        }
        Ok(())
    }

    /// Decode each run of a batch with its detail windows; keep the summaries.
    fn decode_details(
        &self,
        runs: &[(Target, AccountData, Run)],
        extra: Vec<Vec<Packed>>,
        out: &mut HashMap<Pubkey, RunDetail>,
    ) {
        let mut unzstd = Unzstd::new();
        for ((target, data, _), windows) in runs.iter().zip(extra) {
            let mut data = data.clone();
            for w in windows {
                match unzstd.unpack(w) {
                    Ok(window) => data.extend([window]),
                    Err(message) => self.stats.record(&CollectError::Decode {
                        what: format!("coordinator account {} (detail)", target.account),
                        message,
                    }),
                }
            }
            match account::decode_run(&data) {
                Ok(Run {
                    detail: Some(detail),
                    ..
                }) => {
                    out.insert(target.account, summary(detail));
                }
                Ok(_) => {}
                Err(e) => self.stats.record(&CollectError::Decode {
                    what: format!("coordinator account {} (detail)", target.account),
                    message: e.to_string(),
                }),
            }
        }
    }
}

/// A detail window as it arrived, base64 undone: still compressed when the
/// node sent `base64+zstd` (as asked), plain otherwise.
struct Packed {
    offset: usize,
    len: usize,
    zstd: bool,
    bytes: Vec<u8>,
}

impl Packed {
    /// The window at `offset` of at most `len` bytes in `ui`; an error if its
    /// data is not base64, or plain and longer than `len`.
    fn new(ui: &UiAccount, offset: usize, len: usize) -> Result<Packed, String> {
        use base64::Engine as _;
        let (zstd, bytes) = match &ui.data {
            UiAccountData::Binary(blob, UiAccountEncoding::Base64Zstd) => (
                true,
                base64::engine::general_purpose::STANDARD
                    .decode(blob)
                    .map_err(|e| format!("bad base64: {e}"))?,
            ),
            _ => (false, account_bytes(ui, len)?),
        };
        Ok(Packed {
            offset,
            len,
            zstd,
            bytes,
        })
    }
}

/// Unpacks detail windows in one shot into a buffer of the window's size,
/// with one decompression context for a whole batch. (The RPC types' own
/// decoder streams: a new context and its window buffers per account.)
struct Unzstd(Option<zstd::bulk::Decompressor<'static>>);

impl Unzstd {
    fn new() -> Self {
        Unzstd(zstd::bulk::Decompressor::new().ok())
    }

    /// `(offset, bytes)` of a window; an error if it does not decompress into
    /// at most the window's length (a bomb, or a node ignoring `dataSlice`).
    fn unpack(&mut self, w: Packed) -> Result<(usize, Vec<u8>), String> {
        let bytes = if w.zstd {
            self.0
                .as_mut()
                .ok_or("no zstd context")?
                .decompress(&w.bytes, w.len)
                .map_err(|e| {
                    format!(
                        "zstd data that does not inflate to at most {} bytes: {e}",
                        w.len
                    )
                })?
        } else if w.bytes.len() <= w.len {
            w.bytes
        } else {
            return Err(format!("more than the {} bytes asked for", w.len));
        };
        Ok((w.offset, bytes))
    }
}

/// Keep the counts and sums of a detail, not its client lists: the metrics
/// and views need only those, and the lists are most of a run's memory.
fn summary(detail: RunDetail) -> RunDetail {
    RunDetail {
        epoch_clients: Vec::new(),
        exited_clients: Vec::new(),
        registered_clients: Vec::new(),
        ..detail
    }
}

/// One header read covers the first state window of every layout.
fn header_len() -> usize {
    [Layout::V0, Layout::V1]
        .iter()
        .filter_map(|l| l.state_windows().first())
        .map(|w| w.offset + w.len)
        .max()
        .unwrap_or(0)
}

impl Collector for Coordinator {
    const NAME: &'static str = "coordinator";
    type Snapshot = CoordinatorSnapshot;

    async fn poll(&self) -> Result<CoordinatorSnapshot, CollectError> {
        let now = Instant::now();
        let detail_due = lock(&self.memory)
            .detail_polled
            .is_none_or(|at| now.saturating_duration_since(at) >= self.settings.detail_interval);

        // A hundred runs at a time, through both tiers, so that only one batch
        // of account windows (and of client arrays) is in memory at once: a
        // poll's working set stays the same whether there are ten runs or a
        // thousand. The programs are read one after the other, so a batch
        // holds one layout and costs one request per window.
        let mut decoded = Vec::new();
        let mut failed = Vec::new();
        let mut unsupported = Vec::new();
        let mut details = HashMap::new();
        for program in &self.settings.programs {
            let targets = self.discover(&program.0).await?;
            for batch in targets.chunks(MAX_ACCOUNTS_PER_CALL) {
                let mut good = Vec::new();
                for (target, data, run) in self.read_states(batch).await? {
                    match run {
                        Ok(run) => good.push((target, data, run)),
                        Err(Failure::Decode(message)) => {
                            self.stats.record(&CollectError::Decode {
                                what: format!("coordinator account {}", target.account),
                                message,
                            });
                            failed.push(target);
                        }
                        Err(Failure::Unsupported { size, version }) => {
                            let run = UnsupportedRun {
                                program: target.program.to_string(),
                                run_id: target.run_id.clone(),
                                instance: target.instance.to_string(),
                                account: target.account.to_string(),
                                size,
                                version,
                            };
                            self.stats.record(&CollectError::Decode {
                                what: format!("coordinator account {}", target.account),
                                message: run.message(),
                            });
                            unsupported.push(run);
                        }
                    }
                }
                if detail_due {
                    self.read_details(&good, &mut details).await?;
                }
                decoded.extend(good.into_iter().map(|(target, _, run)| (target, run)));
            }
        }

        let mut memory = lock(&self.memory);
        let read = Stamp {
            instant: now,
            wall: SystemTime::now(),
        };
        if detail_due {
            memory.detail_polled = Some(now);
            for (account, detail) in details {
                memory.detail.put(account, detail, read);
            }
        }
        let mut runs = Vec::new();
        let mut live = std::collections::HashSet::new();
        for (target, mut run) in decoded {
            live.insert(target.account);
            // A run whose lists are all empty decodes its (empty) detail from the
            // state windows alone; otherwise attach the detail tier's reading.
            let mut detail_at = run.detail.as_ref().map(|_| read.wall);
            if run.detail.is_none()
                && let Some(kept) = memory.detail.fresh(&target.account, now)
            {
                run.detail = Some(kept.value.clone());
                detail_at = Some(kept.read.wall);
            }
            let entry = Arc::new(RunEntry {
                program: target.program.to_string(),
                instance: target.instance.to_string(),
                account: target.account.to_string(),
                run,
                detail_at,
                stale: false,
            });
            memory.runs.put(target.account, Arc::clone(&entry), read);
            runs.push(entry);
        }
        for target in failed {
            if let Some(kept) = memory.runs.fresh(&target.account, now) {
                let mut entry = RunEntry::clone(&kept.value);
                entry.stale = true;
                runs.push(Arc::new(entry));
                live.insert(target.account);
            }
        }
        // An unsupported account is said once (a warning), not every poll; the
        // run's last good state is not served: it cannot be read any more.
        let mut warned = std::collections::HashSet::new();
        for run in &unsupported {
            let key = (run.account.clone(), run.size, run.version);
            if !memory.warned.contains(&key) {
                tracing::warn!(
                    program = %run.program,
                    run_id = %run.run_id,
                    account = %run.account,
                    size = run.size,
                    version = ?run.version,
                    "{}",
                    run.message()
                );
            }
            warned.insert(key);
        }
        memory.warned = warned;
        // Forget runs that are gone, so memory stays bounded by what exists.
        memory.runs.retain(|k| live.contains(k));
        memory.detail.retain(|k| live.contains(k));
        runs.sort_by(|a, b| (&a.program, &a.run.run_id).cmp(&(&b.program, &b.run.run_id)));
        unsupported.sort_by(|a, b| (&a.program, &a.run_id).cmp(&(&b.program, &b.run_id)));
        Ok(CoordinatorSnapshot { runs, unsupported })
    }

    fn encode(s: &CoordinatorSnapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        families::encode_runs(&s.runs, out)?;
        families::encode_unsupported(&s.unsupported, out)
    }

    fn backoff(&self) -> Option<std::time::Instant> {
        self.rpc.backoff.active()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn ui(data: UiAccountData) -> UiAccount {
        UiAccount {
            lamports: 1,
            data,
            owner: PROGRAM_V1.to_owned(),
            executable: false,
            rent_epoch: 0,
            space: Some(119_160),
        }
    }

    #[test]
    fn unzstd_decodes_windows_up_to_their_length_only() {
        let window: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let zstd = |bytes: &[u8]| {
            let packed = zstd::bulk::compress(bytes, 3).unwrap();
            ui(UiAccountData::Binary(
                STANDARD.encode(packed),
                UiAccountEncoding::Base64Zstd,
            ))
        };
        let mut unzstd = Unzstd::new();
        let mut unpack = |ui: UiAccount, len: usize| {
            Packed::new(&ui, 40, len)
                .and_then(|p| unzstd.unpack(p))
                .map(|(offset, bytes)| {
                    assert_eq!(offset, 40);
                    bytes
                })
                .ok()
        };
        // Several windows through one context.
        for len in [5000, 17, 0] {
            assert_eq!(
                unpack(zstd(&window[..len]), 5000).as_deref(),
                Some(&window[..len])
            );
        }
        // More than was asked for (a node ignoring dataSlice): not this window.
        assert_eq!(unpack(zstd(&window), 4999), None);
        // Not zstd, not base64, plain base64.
        let junk = ui(UiAccountData::Binary(
            STANDARD.encode(b"not zstd"),
            UiAccountEncoding::Base64Zstd,
        ));
        assert_eq!(unpack(junk, 5000), None);
        let junk = ui(UiAccountData::Binary(
            "%%%".into(),
            UiAccountEncoding::Base64Zstd,
        ));
        assert_eq!(unpack(junk, 5000), None);
        let plain = |n: usize| {
            ui(UiAccountData::Binary(
                STANDARD.encode(&window[..n]),
                UiAccountEncoding::Base64,
            ))
        };
        assert_eq!(unpack(plain(10), 10).as_deref(), Some(&window[..10]));
        assert_eq!(unpack(plain(10), 9), None);
    }
}
