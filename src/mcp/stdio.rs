//! `psyche-exporter mcp`: the MCP server over stdin/stdout, for one client session.
//!
//! The session starts every enabled collector, as the server does, and keeps them
//! polling until the client closes stdin; a tool call waits for the first poll of
//! what it reads, then answers from the latest snapshots. Logs go to stderr: stdout
//! carries the protocol only.

use std::process::ExitCode;
use std::sync::Arc;

use rmcp::ServiceExt;
use tokio::task::JoinSet;

use super::McpServer;
use crate::collectors::{CollectorArgs, Collectors, Launch};

/// Serve one MCP session on stdio until the client goes away; ages are computed
/// against `clock`.
pub async fn serve(args: &CollectorArgs, clock: fn() -> i64) -> ExitCode {
    let mut tasks = JoinSet::new();
    let collectors = match Collectors::launch(args, args.context(), Launch::Forever(&mut tasks)) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            tracing::error!(error = %e, "cannot start collectors");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(version = crate::health::VERSION, "serving MCP on stdio");
    let server = McpServer::session(collectors, clock);
    let code = match server.serve(rmcp::transport::stdio()).await {
        Err(e) => {
            tracing::error!(error = %e, "MCP session did not start");
            ExitCode::FAILURE
        }
        Ok(running) => tokio::select! {
            ended = running.waiting() => match ended {
                Ok(reason) => {
                    tracing::info!(reason = ?reason, "MCP session ended");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    tracing::error!(error = %e, "MCP session failed");
                    ExitCode::FAILURE
                }
            },
            Some(ended) = tasks.join_next() => {
                tracing::error!(error = ?ended.err(), "a collector's poll loop stopped");
                ExitCode::FAILURE
            }
        },
    };
    // Dropping the set aborts the poll loops.
    tasks.shutdown().await;
    code
}
