//! The HTTP side: `/metrics` (or `--web.telemetry-path`), `/healthz`,
//! `/readyz`, the JSON views under `/api/v1/` and the landing page `/`. Every
//! handler only reads published snapshots; none waits on an upstream.
//!
//! [`metrics`] assembles the scrape, [`api`] serves the JSON answers and the
//! probes, [`landing`] makes the page (all of the exporter's HTML). The MCP
//! endpoint (`--web.mcp-path`) is [`crate::mcp::http_service`], mounted here.

pub mod api;
pub mod landing;
pub mod metrics;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use prometheus_client::registry::Registry;

use crate::collectors::Collectors;
use crate::collectors::spec::Join;
use crate::poller::Watched;

/// What the handlers share; immutable after start-up.
#[derive(Debug)]
pub struct AppState {
    /// Families encoded at scrape time: only the exporter's own health families.
    pub registry: Registry,
    /// The enabled collectors, for readiness and the landing page.
    pub watched: Vec<Arc<dyn Watched>>,
    /// The joins over them, served after their bodies.
    pub joins: Vec<Arc<dyn Join>>,
    /// Where `/metrics` lives.
    pub telemetry_path: String,
    /// Where the MCP endpoint lives; `None` when it is switched off.
    pub mcp_path: Option<String>,
    /// The typed slots the JSON views, the MCP tools and the landing page read.
    pub collectors: Arc<Collectors>,
}

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    if let Some(path) = &state.mcp_path {
        router = router.route_service(
            path,
            crate::mcp::http_service(Arc::clone(&state.collectors)),
        );
    }
    router
        .route(&state.telemetry_path, get(metrics::metrics))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/", get(landing::landing))
        .route("/api/v1/runs", get(api::runs))
        .route("/api/v1/runs/{run_id}", get(api::run))
        .route("/api/v1/checkpoints", get(api::checkpoints))
        .route("/api/v1/pool", get(api::pool))
        .route("/api/v1/network", get(api::network))
        .route("/api/v1/contribute", get(api::contribute))
        .with_state(state)
}
