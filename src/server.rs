//! The HTTP side: `/metrics` (or `--web.telemetry-path`), `/healthz`,
//! `/readyz`, the JSON views under `/api/v1/` and the landing page `/`. Every
//! handler only reads published snapshots; none waits on an upstream.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use prometheus_client::registry::Registry;

use crate::collectors::Collectors;
use crate::exposition::Format;
use crate::health::{REVISION, VERSION};
use crate::poller::{Status, Watched};
use crate::views::{self, Answer, Inputs, View};

/// What the handlers share; immutable after start-up.
#[derive(Debug)]
pub struct AppState {
    /// Families encoded at scrape time: the exporter's own health families.
    pub registry: Registry,
    /// The enabled collectors, for readiness and the landing page.
    pub watched: Vec<Arc<dyn Watched>>,
    /// Where `/metrics` lives.
    pub telemetry_path: String,
    /// The typed slots the JSON views and the landing page read.
    pub collectors: Collectors,
}

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(&state.telemetry_path, get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/", get(landing))
        .route("/api/v1/runs", get(api_runs))
        .route("/api/v1/runs/{run_id}", get(api_run))
        .route("/api/v1/checkpoints", get(api_checkpoints))
        .route("/api/v1/pool", get(api_pool))
        .route("/api/v1/network", get(api_network))
        .route("/api/v1/contribute", get(api_contribute))
        .with_state(state)
}

/// 200 with the answer; 503 when a collector it reads has no data to serve.
fn json<T: serde::Serialize + views::Tabular>(answer: &Answer<T>, found: bool) -> Response {
    let status = if !found {
        StatusCode::NOT_FOUND
    } else if answer
        .sources
        .iter()
        .any(|s| !s.serving && !matches!(s.state, "disabled" | "unavailable"))
    {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.json(),
    )
        .into_response()
}

fn inputs(state: &AppState, view: View) -> Inputs {
    Inputs::read(&state.collectors, view)
}

async fn api_runs(State(state): State<Arc<AppState>>) -> Response {
    json(
        &views::runs(&inputs(&state, View::Runs), views::now()),
        true,
    )
}

async fn api_run(State(state): State<Arc<AppState>>, Path(run_id): Path<String>) -> Response {
    let inputs = inputs(&state, View::Run);
    let answer = views::run(&inputs, views::now(), &run_id);
    json(
        &answer,
        answer.data.run.is_some() || inputs.coordinator.is_none(),
    )
}

/// `?run=<run_id>` of `/api/v1/checkpoints`.
#[derive(Debug, serde::Deserialize)]
struct CheckpointsQuery {
    run: Option<String>,
}

async fn api_checkpoints(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CheckpointsQuery>,
) -> Response {
    let inputs = inputs(&state, View::Checkpoints);
    json(
        &views::checkpoints(&inputs, views::now(), q.run.as_deref()),
        true,
    )
}

async fn api_pool(State(state): State<Arc<AppState>>) -> Response {
    json(
        &views::pool(&inputs(&state, View::Pool), views::now()),
        true,
    )
}

async fn api_network(State(state): State<Arc<AppState>>) -> Response {
    json(
        &views::network(&inputs(&state, View::Network), views::now()),
        true,
    )
}

async fn api_contribute(State(state): State<Arc<AppState>>) -> Response {
    json(
        &views::contribute(&inputs(&state, View::Contribute), views::now()),
        true,
    )
}

async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    match format.scrape(&state.watched, &state.registry) {
        Ok(chunks) => {
            let stream = futures_util::stream::iter(
                chunks.into_iter().map(Ok::<_, std::convert::Infallible>),
            );
            (
                [(header::CONTENT_TYPE, format.content_type())],
                axum::body::Body::from_stream(stream),
            )
                .into_response()
        }
        Err(_) => {
            // Snapshots hold only converted, encodable values, so this is a bug.
            tracing::error!("encoding /metrics failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n").into_response()
        }
    }
}

/// 503 until every enabled collector has finished one poll attempt.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let pending: Vec<&'static str> = state
        .watched
        .iter()
        .map(|w| w.status())
        .filter(|s| s.last_attempt.is_none())
        .map(|s| s.name)
        .collect();
    if pending.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("waiting for the first poll of: {}\n", pending.join(", ")),
        )
            .into_response()
    }
}

async fn landing(State(state): State<Arc<AppState>>) -> Html<String> {
    let statuses: Vec<Status> = state.watched.iter().map(|w| w.status()).collect();
    Html(landing_page(
        &state.telemetry_path,
        &statuses,
        SystemTime::now(),
        &views::landing_sections(&state.collectors, views::now()),
    ))
}

/// The landing page: version, links, the `sections` of [`views::landing_sections`],
/// and each collector's state.
pub fn landing_page(
    telemetry_path: &str,
    statuses: &[Status],
    now: SystemTime,
    sections: &str,
) -> String {
    let mut rows = String::new();
    for s in statuses {
        let last_success = match s.last_success {
            Some(t) => format!(
                "{} ({} ago)",
                humantime::format_rfc3339_seconds(t),
                ago(now, t)
            ),
            None => "never".to_owned(),
        };
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td class=\"{state}\">{state}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(s.name),
            humantime::format_duration(s.interval),
            last_success,
            if s.fresh { "yes" } else { "no" },
            escape(s.last_error().unwrap_or("")),
            state = s.state(),
        );
    }
    let path = escape(telemetry_path);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Psyche exporter</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}
progress{{width:8em}}
.ok{{color:#070}}.partial{{color:#a60}}.failing{{color:#b00}}.pending{{color:#666}}
</style></head>
<body>
<h1>Psyche exporter</h1>
<p>Prometheus exporter for the Psyche decentralized training network. Version {VERSION} (revision {REVISION}).</p>
<ul>
<li><a href="{path}">Metrics</a></li>
<li><a href="/healthz">Liveness</a> · <a href="/readyz">Readiness</a></li>
</ul>
{sections}<h2>Collectors</h2>
<table>
<tr><th>collector</th><th>state</th><th>interval</th><th>last success</th><th>serving data</th><th>last error</th></tr>
{rows}</table>
</body></html>
"#
    )
}

fn ago(now: SystemTime, then: SystemTime) -> String {
    let secs = now.duration_since(then).map(|d| d.as_secs()).unwrap_or(0);
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
