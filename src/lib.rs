//! psyche-exporter: a Prometheus exporter for the Psyche network.
//!
//! Layout (where things live):
//! - [`cli`]: the flags and the one-shot commands; each collector's flags live in
//!   its own file, gathered by [`collectors::CollectorArgs`]; [`flags`] holds the
//!   parsers they share.
//! - [`poller`]: the [`poller::Collector`] trait, the poll loop, last-good
//!   snapshots and their max age: everything about time.
//! - [`collectors`]: one file per upstream; each fetches into an immutable
//!   snapshot and encodes it, and describes its flags, construction and
//!   dependencies ([`collectors::spec::Spec`]); one list in `collectors/mod.rs`
//!   wires them all. [`collectors::solana`] is the RPC health collector,
//!   [`collectors::coordinator`] the training runs, [`collectors::pool`] the mining pool,
//!   [`collectors::treasurer`] the run treasuries, [`collectors::huggingface`] the Hub
//!   models; [`collectors::checkpoints`] joins the runs and the Hub at scrape time.
//! - [`rpc`]: the Solana JSON-RPC transport shared by Solana-side collectors;
//!   [`limits`]: body caps and rate-limit back-off, shared by every upstream client.
//! - [`health`]: the one encoder of `psyche_exporter_*` for every collector.
//! - [`exposition`]: family helpers and OpenMetrics/0.0.4 negotiation.
//! - [`http`]: HTTP endpoints; [`logging`]: logfmt/JSON logs.
//! - [`mcp`]: the same answers as MCP tools for agents, over stdio (`mcp` command)
//!   and streamable HTTP (`/mcp`).
//! - [`views`]: the answers (runs, run, checkpoints, pool, network, contribute) as JSON
//!   and text, from the same snapshots; [`commands`] prints them once from the CLI,
//!   [`http`] serves them under `/api/v1/` and on the landing page.
//! - [`error`]: the error type and its fixed `kind` label values.
//! - [`memory`]: one malloc arena, and freed pages handed back to the OS after each poll.

// One exception, in `memory`: two calls into glibc's malloc tuning.
#![deny(unsafe_code)]

pub mod cli;
pub mod collectors;
pub mod commands;
pub mod error;
pub mod exposition;
#[cfg(test)]
mod fixtures;
pub mod flags;
pub mod health;
pub mod http;
pub mod limits;
pub mod logging;
pub mod mcp;
pub mod memory;
pub mod poller;
pub mod rpc;
pub mod views;

use std::future::Future;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use cli::Cli;

/// Why [`run`] stopped other than by shutdown.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A collector could not be set up.
    #[error("cannot start collectors: {0}")]
    Setup(#[from] error::CollectError),
    /// The HTTP server failed.
    #[error("HTTP server failed: {0}")]
    Serve(#[from] std::io::Error),
    /// A poll loop ended, which only a bug (a panic) can cause.
    #[error("a collector's poll loop stopped: {0}")]
    Poller(String),
}

/// Start every enabled collector and serve HTTP on `listener` until
/// `shutdown` resolves. Tests call this with a listener on `127.0.0.1:0`.
pub async fn run(
    cli: Cli,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let mut tasks = JoinSet::new();
    let mut registry = Registry::default();
    let collectors = collectors::Collectors::start(&cli.collectors, &mut tasks)?;
    let watched = collectors.watched();
    let web = cli.web.config_file.clone();
    registry.register_collector(Box::new(health::Health::new(watched.clone())));
    let state = Arc::new(http::AppState {
        registry,
        watched,
        joins: collectors.joins(),
        telemetry_path: cli.web.telemetry_path.clone(),
        mcp_path: cli.web.mcp().map(str::to_owned),
        collectors: Arc::new(collectors),
        access: web
            .as_ref()
            .map(|w| Arc::clone(&w.access))
            .filter(|a| !a.is_open()),
    });
    let tls = web.as_ref().and_then(|w| w.tls.clone());
    tracing::info!(
        address = %listener.local_addr()?,
        version = health::VERSION,
        revision = health::REVISION,
        tls = tls.is_some(),
        basic_auth = web.as_ref().is_some_and(|w| w.access.user_count() > 0),
        "serving"
    );
    let serve = http::server::serve(
        listener,
        http::router(state),
        cli.web.limits(),
        tls,
        shutdown,
    );
    let result = tokio::select! {
        served = serve => served.map_err(RunError::from),
        Some(ended) = tasks.join_next() => Err(RunError::Poller(match ended {
            Ok(()) => "returned".to_owned(),
            Err(e) => e.to_string(),
        })),
    };
    // Dropping the set aborts the poll loops.
    tasks.shutdown().await;
    result
}
