//! One-shot commands: poll the collectors a question needs once, print the answer
//! from [`crate::views`], exit.
//!
//! Exit codes: 0 when every collector read answered fully; 1 when one did not (or the
//! run asked for does not exist), after printing what was available and naming the
//! failure on stderr; 2 for usage errors (clap's own code).

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write as _};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use futures_util::future::join_all;
use prometheus_client::registry::Registry;
use serde::Serialize;

use crate::cli::Cli;
use crate::collectors::{Collectors, Launch, OncePoll};
use crate::views::{self, Answer, Inputs, Tabular, View};

/// A question to answer once instead of serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Every training run: state, step and progress, epoch, clients, checkpoint age,
    /// last update; active runs first.
    Runs(OutputArgs),
    /// Everything known about one run.
    Run {
        /// The run id.
        run_id: String,
        /// Output.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The newest checkpoint commits of each watched Hub repo.
    Checkpoints {
        /// Only the repos this run's on-chain checkpoint names.
        #[arg(long = "run", value_name = "RUN_ID")]
        run: Option<String>,
        /// Output.
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The mining pool: capacity, deposited, remaining, fill, vault, lenders.
    Pool(OutputArgs),
    /// Each RPC endpoint: health, cluster, version, slots, lag, TPS.
    Network(OutputArgs),
    /// Where compute and funds are needed now, and how to join.
    Contribute(OutputArgs),
}

/// `--output`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format: aligned text, or JSON with the schema in schema/api-v1.json.
    #[arg(long = "output", short = 'o', value_enum, default_value = "table")]
    pub output: Output,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned text for people.
    Table,
    /// JSON (`schema/api-v1.json`).
    Json,
}

impl Command {
    /// The question asked.
    pub fn view(&self) -> View {
        match self {
            Command::Runs(_) => View::Runs,
            Command::Run { .. } => View::Run,
            Command::Checkpoints { .. } => View::Checkpoints,
            Command::Pool(_) => View::Pool,
            Command::Network(_) => View::Network,
            Command::Contribute(_) => View::Contribute,
        }
    }

    fn output(&self) -> Output {
        match self {
            Command::Runs(o) | Command::Pool(o) | Command::Network(o) | Command::Contribute(o) => {
                o.output
            }
            Command::Run { output, .. } | Command::Checkpoints { output, .. } => output.output,
        }
    }
}

/// Usage problems `Cli::validate` reports for a command: it needs a collector the
/// flags switch off.
pub fn validate(cli: &Cli, command: &Command) -> Result<(), String> {
    let view = command.view();
    let disabled = |name: &str| match name {
        "coordinator" => cli.coordinator.disabled,
        "huggingface" => cli.huggingface.disabled,
        "solana" => cli.solana.disabled,
        "pool" => cli.pool.disabled,
        _ => false,
    };
    match view.needs().first() {
        Some(first) if disabled(first) => Err(format!(
            "`{}` needs the {first} collector: drop --no-collector.{first}",
            view.kind()
        )),
        _ => Ok(()),
    }
}

/// Answer `command` once and return the process exit code.
pub async fn run(cli: Cli, command: Command) -> ExitCode {
    let view = command.view();
    // Only the collectors this question reads are polled.
    let mut only = cli.clone();
    // The RPC health view still watches the URLs of the collectors it does not poll.
    only.solana.rpc_urls = cli.watched_rpc_urls();
    let needs = view.needs();
    only.solana.disabled |= !needs.contains(&"solana");
    only.coordinator.disabled |= !needs.contains(&"coordinator");
    only.huggingface.disabled |= !needs.contains(&"huggingface");
    only.pool.disabled |= !needs.contains(&"pool");
    only.treasurer.disabled |= !needs.contains(&"treasurer");
    let mut polls = Vec::new();
    let collectors =
        match Collectors::launch(&only, Launch::Once(&mut polls), &mut Registry::default()) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: cannot start collectors: {e}");
                return ExitCode::FAILURE;
            }
        };
    poll_all(polls).await;
    let inputs = Inputs::read(&collectors, view);
    let now = clock_now();
    let output = command.output();
    let (text, mut failed) = match &command {
        Command::Runs(_) => emit(&views::runs(&inputs, now), output),
        Command::Run { run_id, .. } => {
            let answer = views::run(&inputs, now, run_id);
            let missing = answer.data.run.is_none() && inputs.coordinator.is_some();
            if missing {
                eprintln!("error: no run with id {run_id:?}");
            }
            let (text, failed) = emit(&answer, output);
            (text, failed || missing)
        }
        Command::Checkpoints { run, .. } => {
            emit(&views::checkpoints(&inputs, now, run.as_deref()), output)
        }
        Command::Pool(_) => emit(&views::pool(&inputs, now), output),
        Command::Network(_) => emit(&views::network(&inputs, now), output),
        Command::Contribute(_) => emit(&views::contribute(&inputs, now), output),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).is_err() || stdout.flush().is_err() {
        failed = true;
    }
    for s in inputs.sources.iter().filter(|s| s.failed()) {
        eprintln!(
            "error: {} {}: {}",
            s.collector,
            s.state,
            s.error.as_deref().unwrap_or("no answer")
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn emit<T: Serialize + Tabular>(answer: &Answer<T>, output: Output) -> (String, bool) {
    let failed = answer.sources.iter().any(views::Source::failed);
    let text = match output {
        Output::Json => answer.json(),
        Output::Table => answer.table(),
    };
    (text, failed)
}

/// Run the polls: the Hub and the treasurer last, since they read the
/// coordinator's snapshot (the repos the runs name, the points they earned);
/// the others together. A line on stderr says what is still
/// being waited for once that takes over a second, and only on a terminal.
async fn poll_all(polls: Vec<OncePoll>) {
    let pending: Arc<Mutex<BTreeSet<&'static str>>> =
        Arc::new(Mutex::new(polls.iter().map(|(n, _)| *n).collect()));
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| tokio::spawn(show_progress(Arc::clone(&pending))));
    let (last, first): (Vec<OncePoll>, Vec<OncePoll>) = polls
        .into_iter()
        .partition(|(n, _)| matches!(*n, "huggingface" | "treasurer"));
    for stage in [first, last] {
        join_all(stage.into_iter().map(|(name, poll)| {
            let pending = Arc::clone(&pending);
            async move {
                poll.await;
                pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(name);
            }
        }))
        .await;
    }
    if let Some(task) = progress {
        task.abort();
        let _ = task.await;
        eprint!("\r\x1b[2K");
    }
}

async fn show_progress(pending: Arc<Mutex<BTreeSet<&'static str>>>) {
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    loop {
        let names: Vec<&str> = pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        eprint!(
            "\r\x1b[2Kwaiting for {} ({}s)",
            names.join(", "),
            started.elapsed().as_secs()
        );
        let _ = std::io::stderr().flush();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Overrides the clock the commands compute ages with (Unix seconds), for
/// reproducible output. Only the one-shot commands read it; the server does not.
pub const NOW_ENV: &str = "PSYCHE_EXPORTER_NOW";

/// Unix seconds now, or [`NOW_ENV`] when set.
fn clock_now() -> i64 {
    std::env::var(NOW_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(views::unix_now)
}
