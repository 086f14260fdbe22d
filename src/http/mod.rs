//! The HTTP side: `/metrics` (or `--web.telemetry-path`), `/healthz`,
//! `/readyz`, the JSON views under `/api/v1/` and the landing page `/`. Every
//! handler only reads published snapshots; none waits on an upstream.
//!
//! [`metrics`] assembles the scrape, [`api`] serves the JSON answers and the
//! probes, [`landing`] makes the page (all of the exporter's HTML), [`server`]
//! accepts connections (over TLS when configured) and enforces the server's
//! limits. The MCP endpoint (`--web.mcp-path`) is [`crate::mcp::http_service`],
//! mounted here. [`web_config`] reads `--web.config.file`; [`auth`] puts its
//! basic auth and headers in front of every route.

pub mod api;
pub mod auth;
pub mod landing;
pub mod metrics;
pub mod server;
pub mod web_config;

use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, get};
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
    /// Basic auth and response headers for every route (`--web.config.file`).
    pub access: Option<Arc<auth::Access>>,
}

type Route = (&'static str, fn() -> MethodRouter<Arc<AppState>>);

/// The router's fixed routes (axum's syntax), besides the configurable
/// `--web.telemetry-path`.
const ROUTES: [Route; 9] = [
    ("/", || get(landing::landing)),
    ("/healthz", || get(api::healthz)),
    ("/readyz", || get(api::readyz)),
    ("/api/v1/runs", || get(api::runs)),
    ("/api/v1/runs/{run_id}", || get(api::run)),
    ("/api/v1/checkpoints", || get(api::checkpoints)),
    ("/api/v1/pool", || get(api::pool)),
    ("/api/v1/network", || get(api::network)),
    ("/api/v1/contribute", || get(api::contribute)),
];

/// Path prefixes reserved for the exporter's own routes, present and future:
/// a configurable path must not start with one.
pub const RESERVED_PREFIXES: [&str; 1] = ["/api/"];

/// The fixed routes (axum's syntax: `{name}` is one segment).
pub fn fixed_routes() -> impl Iterator<Item = &'static str> {
    ROUTES.iter().map(|(path, _)| *path)
}

/// Check a configurable route path (`--web.telemetry-path`, …) before anything
/// starts: it must start with `/`, name a path, hold only URL path characters
/// (no `{`, `}`, `*`, `?`, `#`, spaces) and collide with no fixed route, no
/// reserved prefix and none of `others` (the other configurable paths). The
/// error is one line.
pub fn check_path(path: &str, others: &[&str]) -> Result<(), String> {
    if !path.starts_with('/') || path.len() < 2 {
        return Err("must start with / and name a path, e.g. /metrics".into());
    }
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '/' | '-'
                    | '.'
                    | '_'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | ':'
                    | '@'
                    | '%'
            )
    };
    if !path.chars().all(allowed) {
        return Err(
            "must hold only letters, digits, / and - . _ ~ ! $ & ' ( ) + , ; = : @ % (no {, }, *, ?, # or spaces)".into(),
        );
    }
    if path.contains("//") {
        return Err("must not hold an empty segment (//)".into());
    }
    let fixed: Vec<&str> = fixed_routes().collect();
    if let Some(route) = fixed
        .iter()
        .chain(others)
        .find(|route| collides(route, path))
    {
        return Err(format!("{path} is already the route of {route}"));
    }
    if let Some(prefix) = RESERVED_PREFIXES
        .iter()
        .find(|p| path.starts_with(**p) || path == p.trim_end_matches('/'))
    {
        return Err(format!(
            "paths under {prefix} are reserved for the JSON views"
        ));
    }
    Ok(())
}

/// Whether a request for `path` would reach `route` (axum syntax: `{x}` is any
/// one non-empty segment).
fn collides(route: &str, path: &str) -> bool {
    let (r, p): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), path.split('/').collect());
    r.len() == p.len()
        && r.iter()
            .zip(&p)
            .all(|(r, p)| *r == *p || (r.starts_with('{') && r.ends_with('}') && !p.is_empty()))
}

/// The router over `state`; with [`AppState::access`], every route and the
/// 404 of any other path are behind it.
pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    if let Some(path) = &state.mcp_path {
        router = router.route_service(
            path,
            crate::mcp::http_service(Arc::clone(&state.collectors)),
        );
    }
    let access = state.access.clone();
    let router = ROUTES
        .iter()
        .fold(
            router.route(&state.telemetry_path, get(metrics::metrics)),
            |router, (path, handler)| router.route(path, handler()),
        )
        .with_state(state);
    match access {
        Some(access) => router.layer(axum::middleware::from_fn_with_state(access, auth::guard)),
        None => router,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_collide_or_are_not_paths_are_refused() {
        for bad in [
            "metrics",
            "/",
            "/healthz",
            "/readyz",
            "/api/v1/runs",
            "/api/v1/runs/x",
            "/api/v1/anything",
            "/api",
            "/{x}",
            "/m{",
            "/*rest",
            "/a b",
            "/a?b",
            "/a#b",
            "//x",
            "/mcp",
        ] {
            assert!(check_path(bad, &["/mcp"]).is_err(), "{bad} accepted");
        }
        for good in [
            "/metrics",
            "/probe/metrics",
            "/healthz/x",
            "/m:1",
            "/x%20y",
            "/metrics/",
        ] {
            check_path(good, &["/mcp"]).unwrap();
        }
        assert_eq!(
            check_path("/healthz", &[]).unwrap_err(),
            "/healthz is already the route of /healthz"
        );
    }

    /// Every path `check_path` accepts is one axum can route next to the fixed
    /// routes (axum panics on a bad or conflicting route).
    #[test]
    fn accepted_paths_build_a_router() {
        for good in [
            "/metrics",
            "/probe/metrics",
            "/healthz/x",
            "/m:1",
            "/x%20y",
            "/metrics/",
            "/a!$&'()+,;=@~._-",
        ] {
            check_path(good, &[]).unwrap();
            let built = std::panic::catch_unwind(|| {
                fixed_routes().fold(
                    Router::<()>::new().route(good, get(|| async {})),
                    |r, path| r.route(path, get(|| async {})),
                )
            });
            assert!(built.is_ok(), "{good} was accepted but axum refuses it");
        }
    }
}
