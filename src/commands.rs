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

use futures_util::future::join_all;
use serde::Serialize;

use crate::cli::{Cli, Command, Output};
use crate::collectors::{Collectors, Launch, OncePoll};
use crate::views::{self, Answer, Inputs, Tabular};

/// Answer `command` once and return the process exit code.
pub async fn run(cli: Cli, command: Command) -> ExitCode {
    let Some(view) = command.view() else {
        // `mcp`: a session, not one answer; it computes ages against the same clock.
        return crate::mcp::stdio::serve(&cli.collectors, clock_now).await;
    };
    // Only the collectors this question reads are polled; the RPC health view
    // still watches the URLs of the enabled collectors it does not poll.
    let mut ctx = cli.collectors.context();
    ctx.only(view.needs());
    let mut polls = Vec::new();
    let collectors = match Collectors::launch(&cli.collectors, ctx, Launch::Once(&mut polls)) {
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
            if let Some(u) = &answer.data.unsupported {
                eprintln!("error: run {}: {}", u.run_id, u.message);
            } else if missing {
                let closest = views::closest_run_ids(&inputs, run_id);
                eprintln!("error: {}", views::no_such_run(run_id, &closest));
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
        // Served above.
        Command::Mcp => return ExitCode::FAILURE,
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

/// Run the polls together: each first waits for the collectors it depends on
/// (the Hub and the treasurer read the coordinator's snapshot). A line on
/// stderr says what is still being waited for once that takes over a second,
/// and only on a terminal.
async fn poll_all(polls: Vec<OncePoll>) {
    let pending: Arc<Mutex<BTreeSet<&'static str>>> =
        Arc::new(Mutex::new(polls.iter().map(|(n, _)| *n).collect()));
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| tokio::spawn(show_progress(Arc::clone(&pending))));
    join_all(polls.into_iter().map(|(name, poll)| {
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
pub(crate) fn clock_now() -> i64 {
    std::env::var(NOW_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(views::unix_now)
}
