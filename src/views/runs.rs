//! `runs`: every run, active first.

use serde::Serialize;

use super::telemetry::{self, rate};
use super::text::{Table, ago, dash, percent};
use super::{Answer, Inputs, RunSummary, Tabular, View, find_join, joined, sorted_runs, summarize};

/// `runs`: every run, active first.
#[derive(Debug, Clone, Serialize)]
pub struct RunsData {
    /// The runs.
    pub runs: Vec<RunSummary>,
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
    Answer::new(View::Runs, inputs, now, RunsData { runs })
}

impl Tabular for RunsData {
    fn table(&self, _now: i64) -> String {
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
        if self.runs.is_empty() {
            return "no runs\n".to_owned();
        }
        t.render()
    }
}
