//! `runs`: every run, active first, and the newest models of the watched Hub authors.

use serde::Serialize;

use crate::collectors::huggingface::HuggingFaceSnapshot;

use super::telemetry::{self, rate};
use super::text::{Table, ago, dash, indent, opt, percent};
use super::{
    Answer, Inputs, RunSummary, Tabular, UnsupportedView, View, find_join, joined, sorted_runs,
    summarize, unsupported_runs,
};

/// Newest models of the `--hf.author` authors listed by `runs`.
pub const LATEST_MODELS: usize = 5;

/// `runs`: every run, active first.
#[derive(Debug, Clone, Serialize)]
pub struct RunsData {
    /// The runs.
    pub runs: Vec<RunSummary>,
    /// Runs whose account this exporter cannot read (state `unsupported`).
    pub unsupported_runs: Vec<UnsupportedView>,
    /// The newest models of the `--hf.author` authors, newest first (at most
    /// [`LATEST_MODELS`]).
    pub latest_models: Vec<ModelSummary>,
}

/// A model on the Hub.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    /// `owner/name`.
    pub repo: String,
    /// `lastModified`, Unix seconds.
    pub last_modified: Option<i64>,
    /// `pipeline_tag`.
    pub pipeline_tag: Option<String>,
    /// Parameters (`safetensors.total`).
    pub parameters: Option<u64>,
    /// Downloads in the last 30 days.
    pub downloads: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// N of its newest `step <N>` commit.
    pub checkpoint_step: Option<u64>,
}

/// The newest models of the snapshot's authors.
fn latest_models(hub: &HuggingFaceSnapshot) -> Vec<ModelSummary> {
    let mut models: Vec<ModelSummary> = hub
        .repos
        .iter()
        .filter(|r| {
            let owner = r.id.split('/').next().unwrap_or_default();
            hub.authors.iter().any(|a| a.eq_ignore_ascii_case(owner))
        })
        .filter_map(|r| {
            let m = r.state.model()?;
            Some(ModelSummary {
                repo: r.id.clone(),
                last_modified: m.last_modified,
                pipeline_tag: m.pipeline_tag.clone(),
                parameters: m.parameters,
                downloads: m.downloads,
                likes: m.likes,
                checkpoint_step: m
                    .history
                    .as_ref()
                    .and_then(|h| h.newest_checkpoint())
                    .and_then(|c| c.step),
            })
        })
        .collect();
    models.sort_by(|a, b| {
        (std::cmp::Reverse(a.last_modified), &a.repo)
            .cmp(&(std::cmp::Reverse(b.last_modified), &b.repo))
    });
    models.truncate(LATEST_MODELS);
    models
}

/// The `runs` answer.
pub fn runs(inputs: &Inputs, now: i64) -> Answer<RunsData> {
    let joined = joined(inputs);
    let runs = inputs.coordinator.as_deref().map_or_else(Vec::new, |s| {
        sorted_runs(s)
            .into_iter()
            .map(|e| summarize(e, find_join(&joined, e), telemetry::find(inputs, e), now))
            .collect()
    });
    let latest_models = inputs
        .huggingface
        .as_deref()
        .map_or_else(Vec::new, latest_models);
    Answer::new(
        View::Runs,
        inputs,
        now,
        RunsData {
            runs,
            unsupported_runs: unsupported_runs(inputs),
            latest_models,
        },
    )
}

impl Tabular for RunsData {
    fn table(&self, now: i64) -> String {
        let mut out = self.runs_table();
        if !self.latest_models.is_empty() {
            out.push_str("\nLatest models\n");
            let mut t = Table::new(&["REPO", "UPDATED", "STEP", "DOWNLOADS", "LIKES"]);
            for m in &self.latest_models {
                t.row(vec![
                    m.repo.clone(),
                    m.last_modified
                        .map_or_else(dash, |ts| format!("{} ago", ago(now - ts))),
                    opt(m.checkpoint_step),
                    opt(m.downloads),
                    opt(m.likes),
                ]);
            }
            out.push_str(&indent(&t.render()));
        }
        out
    }
}

impl RunsData {
    fn runs_table(&self) -> String {
        let mut t = Table::new(&[
            "RUN",
            "STATE",
            "STEP",
            "PROGRESS",
            "EPOCH",
            "CLIENTS/START",
            "CHECKPOINT",
            "UPDATED",
            "LOSS",
            "TOK/S",
        ]);
        for r in &self.runs {
            t.row(vec![
                r.run_id.clone(),
                format!("{}{}", r.state, if r.stale { " (stale)" } else { "" }),
                format!("{}/{}", r.step, r.total_steps),
                percent(r.progress_ratio),
                r.epoch.to_string(),
                format!("{}/{}", r.clients, r.init_min_clients),
                r.checkpoint_age_seconds.map_or_else(dash, ago),
                r.last_update_age_seconds.map_or_else(dash, ago),
                r.loss.map_or_else(dash, |l| format!("{l:.3}")),
                r.tokens_per_second.map_or_else(dash, rate),
            ]);
        }
        for u in &self.unsupported_runs {
            let mut row = vec![u.run_id.clone(), u.state.to_owned()];
            row.resize_with(10, dash);
            t.row(row);
        }
        if self.runs.is_empty() && self.unsupported_runs.is_empty() {
            return "no runs\n".to_owned();
        }
        t.render()
    }
}
