//! The answers as MCP tools (Model Context Protocol), for agents: over stdio
//! (`psyche-exporter mcp`, [`stdio`]) and over streamable HTTP at `--web.mcp-path`
//! on the running exporter ([`http_service`]).
//!
//! The MCP side is a transport, like `/api/v1/`: every tool answers with a view of
//! [`crate::views`] computed from the latest published snapshots (`structuredContent`
//! is exactly that view's `/api/v1/` JSON, the text content its CLI table, the output
//! schema its definition in `schema/api-v1.json`). It computes nothing itself, and
//! over HTTP never waits on an upstream. The stdio server starts its own collectors
//! for the session, so a tool call there first waits for the first poll of the
//! collectors its view reads (bounded by their poll deadlines).
//!
//! Both transports negotiate the protocol revision through `rmcp`: the `initialize`
//! handshake (2024-11-05 to 2025-11-25) and the per-request revision 2026-07-28
//! (`server/discover`). Over HTTP the server is stateless: each POST is answered on
//! its own, with a JSON body, so no session outlives its request.

pub mod stdio;
pub mod tools;

use std::sync::Arc;

use futures_util::future::join_all;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ErrorData, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServerHandler};

use crate::collectors::Collectors;
use crate::health::VERSION;
use crate::views::View;

/// What the server tells a client about itself.
const INSTRUCTIONS: &str = "Read-only answers about the Psyche decentralized training \
network (training runs coordinated on Solana, checkpoints on HuggingFace, the mining \
pool), from the same data as the exporter's Prometheus metrics. Start with list_runs or \
network_stats; run_details takes a run id from list_runs.";

/// The MCP server over a set of collectors' slots.
#[derive(Debug, Clone)]
pub struct McpServer {
    collectors: Arc<Collectors>,
    clock: fn() -> i64,
    wait_for_first_poll: bool,
}

impl McpServer {
    /// A server answering from the live snapshots of `collectors` (the exporter's own,
    /// polled for ever), with the system clock; it never waits for a poll.
    pub fn live(collectors: Arc<Collectors>) -> McpServer {
        McpServer {
            collectors,
            clock: crate::views::unix_now,
            wait_for_first_poll: false,
        }
    }

    /// A server over collectors started for this session: each call first waits for
    /// the first poll of the collectors its view reads. Ages are computed against `clock`.
    pub fn session(collectors: Arc<Collectors>, clock: fn() -> i64) -> McpServer {
        McpServer {
            collectors,
            clock,
            wait_for_first_poll: true,
        }
    }

    /// Wait until every started collector `view` reads has finished a poll attempt.
    async fn first_polls(&self, view: View) {
        let watched = self.collectors.watched();
        join_all(
            watched
                .iter()
                .filter(|w| view.needs().contains(&w.status().name))
                .map(|w| w.first_attempt()),
        )
        .await;
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let mut server = Implementation::new("psyche-exporter", VERSION);
        server.title = Some("Psyche network monitor".to_owned());
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(server)
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            tools::TOOLS
                .iter()
                .map(tools::ToolSpec::definition)
                .collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::find(name).map(tools::ToolSpec::definition)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = tools::find(&request.name) else {
            let names: Vec<&str> = tools::TOOLS.iter().map(|t| t.name).collect();
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool {:?}; the tools are {}",
                    request.name,
                    names.join(", ")
                ),
                None,
            ));
        };
        let run_id = tool.run_id_argument(request.arguments.as_ref())?;
        if self.wait_for_first_poll {
            self.first_polls(tool.view).await;
        }
        tool.answer(&self.collectors, run_id.as_deref(), (self.clock)())
            .map(Into::into)
    }
}

/// The streamable HTTP endpoint over the exporter's live collectors, to mount in its
/// router. Stateless, JSON answers; `Host` is not restricted, like every other path of
/// the exporter (the answers are public, read-only data).
pub fn http_service(
    collectors: Arc<Collectors>,
) -> StreamableHttpService<McpServer, NeverSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .disable_allowed_hosts();
    let server = McpServer::live(collectors);
    StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    )
}
