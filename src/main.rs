//! The `psyche-exporter` binary: parse flags, then answer one command or set up
//! logging, bind and serve.

use std::process::ExitCode;

use psyche_exporter::{Cli, logging, run};

fn main() -> ExitCode {
    // Before the runtime starts its threads (see `memory`).
    psyche_exporter::memory::limit_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve_or_answer()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_or_answer() -> ExitCode {
    let cli = match Cli::try_parse_validated(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Some(command) = cli.command.clone() {
        // Failures are named on stderr by the command; collector logs would repeat them.
        // The MCP server runs for a session and logs like the server (on stderr: its
        // stdout is the protocol).
        if cli.log.level == psyche_exporter::cli::LogLevel::Debug
            || matches!(command, psyche_exporter::cli::Command::Mcp)
        {
            logging::init(&cli.log);
        }
        return psyche_exporter::commands::run(cli, command).await;
    }
    logging::init(&cli.log);
    ignore_sighup();
    let listener = match tokio::net::TcpListener::bind(cli.web.listen_address).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(address = %cli.web.listen_address, error = %e, "cannot listen");
            return ExitCode::FAILURE;
        }
    };
    match run(cli, listener, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "exporter stopped");
            ExitCode::FAILURE
        }
    }
}

/// SIGHUP (a closed terminal, `systemctl reload`, `kill -HUP`) would stop the
/// process by default. The exporter has nothing to reload (flags and the
/// `--web.config.file` are read once; restart to change them), so it logs the
/// signal and carries on.
fn ignore_sighup() {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangups) => {
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    tracing::info!(
                        "SIGHUP received and ignored: nothing is reloaded (restart to change flags or the web config file)"
                    );
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "cannot handle SIGHUP: it will stop the exporter"),
    }
}

/// Ctrl-C or SIGTERM (what Kubernetes and systemd send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
