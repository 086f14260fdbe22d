//! `checkpoints`: per Hub repo, its newest checkpoint commits.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::collectors::huggingface::{CheckpointFiles, History};

use super::text::{Table, ago, bytes, dash, indent, opt};
use super::{Answer, Inputs, Tabular, View};

/// Newest `step <N>` commits listed per repo by `checkpoints`.
pub const CHECKPOINTS_PER_REPO: usize = 5;
/// `checkpoints`: per repo, its newest checkpoint commits.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointsData {
    /// The run the list is limited to (`--run`).
    pub run: Option<String>,
    /// The repos, sorted by id.
    pub repos: Vec<RepoCheckpoints>,
}

/// One Hub repo.
#[derive(Debug, Clone, Serialize)]
pub struct RepoCheckpoints {
    /// `owner/name`.
    pub repo: String,
    /// `ok`, `unauthorized` or `not_found`.
    pub state: &'static str,
    /// Runs whose on-chain checkpoint names it.
    pub runs: Vec<String>,
    /// Head of `main`.
    pub head_sha: Option<String>,
    /// `lastModified`.
    pub last_modified: Option<i64>,
    /// The newest `step <N>` commits, newest first (at most [`CHECKPOINTS_PER_REPO`]).
    pub checkpoints: Vec<CheckpointCommit>,
    /// The files of the newest of them; `null` when there is none or they could not
    /// be read.
    pub files: Option<CommitFiles>,
}

/// The files of a checkpoint commit, from the Hub's model API (`blobs=true`).
#[derive(Debug, Clone, Serialize)]
pub struct CommitFiles {
    /// Commit sha.
    pub sha: String,
    /// N of its `step <N>` title.
    pub step: Option<u64>,
    /// How many files.
    pub count: u64,
    /// Bytes of all of them (of those whose size the Hub gave).
    pub total_bytes: u64,
    /// The files, by name.
    pub files: Vec<FileView>,
}

/// One file.
#[derive(Debug, Clone, Serialize)]
pub struct FileView {
    /// Path in the repo.
    pub name: String,
    /// Bytes.
    pub size_bytes: Option<u64>,
}

fn commit_files(files: &CheckpointFiles, history: Option<&History>) -> CommitFiles {
    CommitFiles {
        sha: files.sha.clone(),
        step: history
            .and_then(|h| h.find(&files.sha))
            .and_then(|c| c.step),
        count: files.files.len() as u64,
        total_bytes: files.total_bytes(),
        files: files
            .files
            .iter()
            .map(|f| FileView {
                name: f.name.clone(),
                size_bytes: f.size,
            })
            .collect(),
    }
}

/// One `step <N>` commit.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointCommit {
    /// Commit sha.
    pub sha: String,
    /// Commit time.
    pub timestamp: Option<i64>,
    /// N.
    pub step: u64,
}

/// The `checkpoints` answer, limited to the repos `run_id` names when given.
pub fn checkpoints(inputs: &Inputs, now: i64, run_id: Option<&str>) -> Answer<CheckpointsData> {
    let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(coord) = &inputs.coordinator {
        for e in &coord.runs {
            if let Some(r) = e.run.model.llm().and_then(|l| l.checkpoint.hub_repo()) {
                named
                    .entry(r.repo_id.clone())
                    .or_default()
                    .insert(e.run.run_id.clone());
            }
        }
    }
    let repos = inputs.huggingface.as_deref().map_or_else(Vec::new, |hub| {
        hub.repos
            .iter()
            .filter(|r| {
                run_id.is_none_or(|id| named.get(&r.id).is_some_and(|runs| runs.contains(id)))
            })
            .map(|r| {
                let model = r.state.model();
                RepoCheckpoints {
                    repo: r.id.clone(),
                    state: r.state.as_str(),
                    runs: named
                        .get(&r.id)
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default(),
                    head_sha: model.and_then(|m| m.sha.clone()),
                    last_modified: model.and_then(|m| m.last_modified),
                    checkpoints: model
                        .and_then(|m| m.history.as_ref())
                        .map(|h| {
                            h.commits
                                .iter()
                                .filter_map(|c| {
                                    Some(CheckpointCommit {
                                        sha: c.id.clone(),
                                        timestamp: c.timestamp,
                                        step: c.step?,
                                    })
                                })
                                .take(CHECKPOINTS_PER_REPO)
                                .collect()
                        })
                        .unwrap_or_default(),
                    files: model.and_then(|m| {
                        Some(commit_files(m.files.as_deref()?, m.history.as_deref()))
                    }),
                }
            })
            .collect()
    });
    let data = CheckpointsData {
        run: run_id.map(str::to_owned),
        repos,
    };
    Answer::new(View::Checkpoints, inputs, now, data)
}

impl Tabular for CheckpointsData {
    fn table(&self, now: i64) -> String {
        if self.repos.is_empty() {
            return "no repos\n".to_owned();
        }
        let mut t = Table::new(&["REPO", "STEP", "COMMITTED", "SHA", "RUNS"]);
        for r in &self.repos {
            let runs = r.runs.join(",");
            if r.checkpoints.is_empty() {
                let why = match r.state {
                    "ok" => "no checkpoint commits".to_owned(),
                    other => other.to_owned(),
                };
                t.row(vec![r.repo.clone(), dash(), why, dash(), runs]);
                continue;
            }
            for (i, c) in r.checkpoints.iter().enumerate() {
                t.row(vec![
                    if i == 0 {
                        r.repo.clone()
                    } else {
                        String::new()
                    },
                    c.step.to_string(),
                    c.timestamp
                        .map_or_else(dash, |ts| format!("{} ago", ago(now - ts))),
                    c.sha.chars().take(12).collect(),
                    if i == 0 { runs.clone() } else { String::new() },
                ]);
            }
        }
        let mut out = t.render();
        for r in &self.repos {
            let Some(f) = &r.files else { continue };
            out.push_str(&format!(
                "\nFiles of {} at {} (step {}): {} files, {}\n",
                r.repo,
                f.sha.chars().take(12).collect::<String>(),
                opt(f.step),
                f.count,
                bytes(f.total_bytes)
            ));
            let mut files = Table::new(&["FILE", "SIZE"]);
            for file in &f.files {
                files.row(vec![
                    file.name.clone(),
                    file.size_bytes.map_or_else(dash, bytes),
                ]);
            }
            out.push_str(&indent(&files.render()));
        }
        out
    }
}
