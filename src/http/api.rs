//! The JSON views under `/api/v1/` (the same answers as the CLI commands, against the
//! system clock), `/healthz` and `/readyz`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::views::{self, Answer, Inputs, View};

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

/// `/api/v1/runs`.
pub async fn runs(State(state): State<Arc<AppState>>) -> Response {
    json(
        &views::runs(&inputs(&state, View::Runs), views::unix_now()),
        true,
    )
}

/// `/api/v1/runs/{run_id}`: 404 when no run has that id (an unsupported run exists:
/// 200 with `unsupported` set).
pub async fn run(State(state): State<Arc<AppState>>, Path(run_id): Path<String>) -> Response {
    let inputs = inputs(&state, View::Run);
    let answer = views::run(&inputs, views::unix_now(), &run_id);
    json(
        &answer,
        answer.data.run.is_some()
            || answer.data.unsupported.is_some()
            || inputs.coordinator.is_none(),
    )
}

/// `?run=<run_id>` of `/api/v1/checkpoints`.
#[derive(Debug, serde::Deserialize)]
pub struct CheckpointsQuery {
    run: Option<String>,
}

/// `/api/v1/checkpoints[?run=<run_id>]`.
pub async fn checkpoints(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CheckpointsQuery>,
) -> Response {
    let inputs = inputs(&state, View::Checkpoints);
    json(
        &views::checkpoints(&inputs, views::unix_now(), q.run.as_deref()),
        true,
    )
}

/// `/api/v1/pool`.
pub async fn pool(State(state): State<Arc<AppState>>) -> Response {
    json(
        &views::pool(&inputs(&state, View::Pool), views::unix_now()),
        true,
    )
}

/// `/api/v1/network`.
pub async fn network(State(state): State<Arc<AppState>>) -> Response {
    json(
        &views::network(&inputs(&state, View::Network), views::unix_now()),
        true,
    )
}

/// `/api/v1/contribute`.
pub async fn contribute(State(state): State<Arc<AppState>>) -> Response {
    json(
        &views::contribute(&inputs(&state, View::Contribute), views::unix_now()),
        true,
    )
}

/// `/healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `/readyz`: 503 until every enabled collector has finished one poll attempt.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
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
