//! A repo's commits on `main`: read only down to the head read before, the rest
//! carried over, at most [`KEPT_COMMITS`] kept.

use super::{Fetched, HuggingFace, MAX_PAGES, WireCommit, step_of, unix_seconds};
use crate::error::CollectError;

/// Commits remembered per repo (the newest): enough to find any recent on-chain
/// revision, bounded whatever the repo's age.
pub const KEPT_COMMITS: usize = 5000;

/// The commits of a repo's `main`, newest first.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The newest commits (at most [`KEPT_COMMITS`]).
    pub commits: Vec<Commit>,
    /// Commits on `main` in all, kept ones or not.
    pub total: u64,
}

impl History {
    /// The head commit.
    pub fn newest(&self) -> Option<&Commit> {
        self.commits.first()
    }

    /// The newest commit titled `step <N>`.
    pub fn newest_checkpoint(&self) -> Option<&Commit> {
        self.commits.iter().find(|c| c.step.is_some())
    }

    /// The commit `sha` (full hex, any case).
    pub fn find(&self, sha: &str) -> Option<&Commit> {
        self.commits.iter().find(|c| c.id.eq_ignore_ascii_case(sha))
    }
}

/// One commit.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The sha.
    pub id: String,
    /// Commit date, Unix seconds.
    pub timestamp: Option<i64>,
    /// N of a `step <N>` title.
    pub step: Option<u64>,
}

impl HuggingFace {
    /// The commits of `repo`'s main. With the history read before (`known`), only the
    /// pages down to its head are read and the rest is carried over; when that head is
    /// gone (a force-push), everything is read again.
    pub(super) async fn commits(
        &self,
        repo: &str,
        known: Option<&History>,
    ) -> Result<History, CollectError> {
        let what = format!("hf commits {repo}");
        let known_head = known.and_then(|h| h.newest()).map(|c| c.id.clone());
        let mut new: Vec<Commit> = Vec::new();
        let mut next = Some(self.repo_url(repo, &["commits", "main"]));
        let mut pages = 0;
        let mut reached_known = false;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(CollectError::Decode {
                    what,
                    message: format!("more than {MAX_PAGES} pages"),
                });
            }
            let page = match self.get::<Vec<WireCommit>>("commits", &what, url).await? {
                Fetched::Found { value, next: n } => {
                    next = n;
                    value
                }
                // A repo with no commit on main has no branch to list.
                Fetched::NotFound if pages == 1 => Vec::new(),
                Fetched::Unauthorized => return Err(CollectError::Status { what, status: 401 }),
                Fetched::NotFound => {
                    return Err(CollectError::Decode {
                        what,
                        message: "a next page vanished".into(),
                    });
                }
            };
            for c in page {
                if known_head.as_deref() == Some(c.id.as_str()) {
                    reached_known = true;
                    break;
                }
                if new.len() < KEPT_COMMITS {
                    new.push(Commit {
                        step: c.title.as_deref().and_then(step_of),
                        timestamp: c.date.as_deref().and_then(unix_seconds),
                        id: c.id,
                    });
                } else {
                    new.push(Commit {
                        step: None,
                        timestamp: None,
                        id: String::new(),
                    });
                }
            }
            if reached_known {
                break;
            }
        }
        let added = new.len() as u64;
        let mut commits: Vec<Commit> = new.into_iter().filter(|c| !c.id.is_empty()).collect();
        let total = match (reached_known, known) {
            (true, Some(k)) => {
                let room = KEPT_COMMITS.saturating_sub(commits.len());
                commits.extend(k.commits.iter().take(room).cloned());
                k.total.saturating_add(added)
            }
            _ => added,
        };
        Ok(History { commits, total })
    }
}
