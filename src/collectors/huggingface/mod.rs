//! HuggingFace Hub (`collector="huggingface"`): the models of the watched authors and
//! of every repo a run's on-chain checkpoint names, and their `step <N>` commits.
//!
//! Per poll, against `--hf.endpoint`:
//! 1. `GET /api/models?author=<author>&expand=sha&expand=lastModified&…` for each
//!    `--hf.author`, following `Link: <…>; rel="next"` pages (method `models`);
//! 2. `GET /api/models/{repo}?expand=…` for each repo a run names (Hub and P2P
//!    checkpoints, read from the coordinator collector's latest snapshot) that no listed
//!    author owns (method `model_info`);
//! 3. `GET /api/models/{repo}/commits/main`, all pages, only for repos whose `sha`
//!    changed since the last poll (method `commits`). Psyche clients push one commit
//!    titled `step <N>` per epoch and record its sha on chain;
//! 4. `GET /api/models/{repo}/revision/{sha}?blobs=true` for the newest `step <N>`
//!    commit, only when it changed (method `model_files`): the names and sizes of its
//!    files ([`files`]).
//!
//! Nothing here ever requests a `resolve/` URL: those count as downloads and would
//! inflate `downloads`, the very figure this collector reports. Every URL is built from
//! `/api/` path segments, and `Link` pages are followed only on the same origin and
//! under `/api/`.
//!
//! | metric | labels |
//! |---|---|
//! | `psyche_hf_model_info` | repo, pipeline_tag, library |
//! | `psyche_hf_model_state` | repo, state (`ok`, `unauthorized`, `not_found`) |
//! | `psyche_hf_model_last_modified_timestamp_seconds`, `_downloads`, `_likes`, `_storage_bytes`, `_parameters`, `_commits` | repo |
//! | `psyche_hf_checkpoint_timestamp_seconds`, `psyche_hf_checkpoint_step`, `psyche_hf_model_files` | repo |
//! | `psyche_hf_rate_limit_remaining` | |
//!
//! Failure behaviour: a failed author listing fails the poll (the last snapshot is kept
//! until max age). A 401/403/404 for one repo is that repo's state, not an error. Any
//! other failure for one repo (5xx, malformed JSON, timeout) is counted and the repo's
//! last good values are served until max age. On HTTP 429 the collector makes no request
//! until the Hub's `RateLimit` reset (when it says `r=0`) or its `Retry-After` has
//! passed (at most ten minutes); polls meanwhile serve the remembered repos and mark the
//! collector incomplete without counting new errors.

mod commits;
mod families;
mod files;
mod token;

pub use commits::{Commit, History, KEPT_COMMITS};

pub use token::Token;
use token::check_token_text;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use prometheus_client::encoding::DescriptorEncoder;
use reqwest::header::{HeaderMap, LINK, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::collectors::coordinator::Coordinator;
use crate::collectors::coordinator::account::Checkpoint;
use crate::collectors::spec::{Built, Context, Spec};
use crate::error::CollectError;
use crate::flags::{check_timing, max_age, parse_duration};
use crate::limits::{self, RateLimit, read_capped};
use crate::poller::Slot;
use crate::poller::{Collector, Retained, Stamp, Stats, lock};

pub use files::{CheckpointFiles, RepoFile};

/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// The author whose models are listed by default.
pub const DEFAULT_AUTHOR: &str = "PsycheFoundation";

/// The model properties we read, asked for explicitly (the list endpoint returns
/// fewer fields otherwise).
const EXPAND: [&str; 8] = [
    "sha",
    "lastModified",
    "downloads",
    "likes",
    "usedStorage",
    "safetensors",
    "pipeline_tag",
    "library_name",
];

/// A bound on `Link` pages per listing, so a looping `next` cannot hold a poll.
const MAX_PAGES: usize = 200;
/// The most bytes a Hub answer may have (a page of 100 models, one model with its
/// files, a page of commits are each well under a megabyte).
const MAX_BODY: usize = 16 << 20;
/// The wait after a 429 that says nothing about when to come back.
const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// HuggingFace collector flags.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "collector.huggingface")]
pub struct Args {
    /// Disable the HuggingFace collector.
    #[arg(
        id = "no-collector.huggingface",
        long = "no-collector.huggingface",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_HUGGINGFACE"
    )]
    pub disabled: bool,
    /// Base URL of the HuggingFace Hub.
    #[arg(id = "hf.endpoint", long = "hf.endpoint", env = "PSYCHE_EXPORTER_HF_ENDPOINT", default_value = DEFAULT_ENDPOINT, value_parser = parse_hf_endpoint)]
    pub endpoint: url::Url,
    /// Author (user or organisation) whose models to watch (repeatable). The repos the
    /// runs' on-chain checkpoints name are always watched too.
    #[arg(id = "hf.author", long = "hf.author", env = "PSYCHE_EXPORTER_HF_AUTHOR", value_delimiter = ',', default_values_t = [DEFAULT_AUTHOR.to_owned()], value_parser = parse_author)]
    pub authors: Vec<String>,
    /// File holding a HuggingFace access token, sent as a Bearer token (raises the rate
    /// limit, reaches private repos). Without it the HF_TOKEN environment variable is
    /// used when set. The token is never logged or shown.
    #[arg(id = "hf.token-file", long = "hf.token-file", env = "PSYCHE_EXPORTER_HF_TOKEN_FILE", value_name = "FILE", value_parser = parse_token_file)]
    pub token: Option<Token>,
    /// How often to poll the Hub: one request per author page and per run-named repo of
    /// another author, plus the commits of repos whose sha changed.
    #[arg(id = "hf.interval", long = "hf.interval", env = "PSYCHE_EXPORTER_HF_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one request to the Hub (must be shorter than the interval); a whole
    /// poll gets half the remaining interval on top.
    #[arg(id = "hf.timeout", long = "hf.timeout", env = "PSYCHE_EXPORTER_HF_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving a repo's last good values while it cannot be read
    /// [default: 3 × interval].
    #[arg(id = "hf.max-age", long = "hf.max-age", env = "PSYCHE_EXPORTER_HF_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

impl Spec for HuggingFace {
    type Args = Args;
    const HEADING: &'static str = "HuggingFace (collector \"huggingface\")";
    /// The repos the runs' checkpoints name.
    const DEPENDS_ON: &'static [&'static str] = &[Coordinator::NAME];

    fn enabled(args: &Args) -> bool {
        !args.disabled
    }

    fn validate(args: &Args, ctx: &Context) -> Result<(), String> {
        check_timing("hf", args.interval, args.timeout)?;
        if args.authors.is_empty() && !ctx.enabled(Coordinator::NAME) {
            return Err(
                "--hf.author: name at least one author, or enable the coordinator collector".into(),
            );
        }
        if args.token.is_none()
            && let Ok(env) = std::env::var("HF_TOKEN")
        {
            check_token_text(&env)?;
        }
        Ok(())
    }

    fn build(args: &Args, ctx: &Context, stats: Arc<Stats>) -> Result<Built<Self>, CollectError> {
        let max_age = max_age(args.max_age, args.interval);
        let token = args.token.clone().or_else(|| {
            std::env::var("HF_TOKEN")
                .ok()
                .as_deref()
                .and_then(Token::new)
        });
        let settings = Settings {
            endpoint: args.endpoint.clone(),
            authors: args.authors.clone(),
            token,
            max_age,
        };
        Ok(Built {
            collector: HuggingFace::new(
                crate::rpc::http_client(args.timeout)?,
                settings,
                stats,
                ctx.slot::<Coordinator>(),
            ),
            interval: args.interval,
            // Each request is cut at `timeout`; the margin lets a poll with
            // one slow repo still publish the others.
            deadline: args.timeout + (args.interval - args.timeout) / 2,
            max_age,
        })
    }
}

fn parse_hf_endpoint(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http or https URL with a host".into());
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a query or credentials (use --hf.token-file)".into());
    }
    Ok(url)
}

/// A HuggingFace user or organisation name.
fn parse_author(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 96
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| s.to_owned())
        .ok_or_else(|| "not a HuggingFace user or organisation name".into())
}

fn parse_token_file(s: &str) -> Result<Token, String> {
    Token::from_file(Path::new(s))
}

/// Settings of the HuggingFace collector.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the Hub.
    pub endpoint: Url,
    /// Authors whose models are listed.
    pub authors: Vec<String>,
    /// Sent as `Authorization: Bearer` when given.
    pub token: Option<Token>,
    /// How long a repo's last good values are served while it cannot be read.
    pub max_age: Duration,
}

/// Every watched repo, sorted by id.
#[derive(Debug, Clone, Default)]
pub struct HuggingFaceSnapshot {
    /// The repos.
    pub repos: Vec<Repo>,
    /// The `--hf.author` authors whose repos are listed.
    pub authors: Vec<String>,
    /// Requests left in the Hub's current rate-limit window, when it said.
    pub rate_limit_remaining: Option<u64>,
}

impl HuggingFaceSnapshot {
    /// The repo `id`, if watched.
    pub fn repo(&self, id: &str) -> Option<&Repo> {
        self.repos
            .binary_search_by(|r| r.id.as_str().cmp(id))
            .ok()
            .and_then(|i| self.repos.get(i))
    }
}

/// One model repo.
#[derive(Debug, Clone)]
pub struct Repo {
    /// `owner/name`.
    pub id: String,
    /// What the Hub said about it.
    pub state: RepoState,
}

/// What the Hub said about a repo.
#[derive(Debug, Clone)]
pub enum RepoState {
    /// It answered with the model.
    Ok(Model),
    /// 401 or 403: private, gated, or missing (the Hub answers 401 for both).
    Unauthorized,
    /// 404.
    NotFound,
}

impl RepoState {
    /// Every state label value.
    pub const NAMES: [&'static str; 3] = ["ok", "unauthorized", "not_found"];

    /// The `state` label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            RepoState::Ok(_) => "ok",
            RepoState::Unauthorized => "unauthorized",
            RepoState::NotFound => "not_found",
        }
    }

    /// The model, when the Hub answered with one.
    pub fn model(&self) -> Option<&Model> {
        match self {
            RepoState::Ok(m) => Some(m),
            _ => None,
        }
    }
}

/// A model as the Hub describes it.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Head commit of `main`.
    pub sha: Option<String>,
    /// `lastModified`, Unix seconds.
    pub last_modified: Option<i64>,
    /// Downloads in the last 30 days.
    pub downloads: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// `usedStorage`, bytes.
    pub storage_bytes: Option<u64>,
    /// `safetensors.total`.
    pub parameters: Option<u64>,
    /// `pipeline_tag`.
    pub pipeline_tag: Option<String>,
    /// `library_name`.
    pub library: Option<String>,
    /// The commits of `main`, when they could be read.
    pub history: Option<Arc<History>>,
    /// The files of the newest `step <N>` commit, when they could be read.
    pub files: Option<Arc<CheckpointFiles>>,
}

/// The collector.
pub struct HuggingFace {
    http: reqwest::Client,
    settings: Settings,
    stats: Arc<Stats>,
    runs: Option<Arc<Slot<Coordinator>>>,
    memory: Mutex<Memory>,
}

impl fmt::Debug for HuggingFace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HuggingFace")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What the collector remembers between polls.
#[derive(Debug)]
struct Memory {
    /// Last good state per repo, kept until max age while it cannot be read.
    repos: Retained<String, Remembered>,
    /// No request before this (after a 429).
    backoff_until: Option<Instant>,
    /// The latest `RateLimit` remaining count.
    rate_limit_remaining: Option<u64>,
}

#[derive(Debug, Clone)]
struct Remembered {
    state: RepoState,
    /// The `sha` (or `lastModified`) the history was read at.
    commits_for: Option<String>,
}

/// A page (or all pages) of an answer, or a per-repo state.
enum Fetched<T> {
    Found { value: T, next: Option<Url> },
    Unauthorized,
    NotFound,
}

#[derive(Debug, Deserialize)]
struct WireModel {
    id: String,
    sha: Option<String>,
    #[serde(rename = "lastModified")]
    last_modified: Option<String>,
    downloads: Option<u64>,
    likes: Option<u64>,
    #[serde(rename = "usedStorage")]
    used_storage: Option<u64>,
    safetensors: Option<WireSafetensors>,
    pipeline_tag: Option<String>,
    library_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireSafetensors {
    total: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct WireCommit {
    id: String,
    title: Option<String>,
    date: Option<String>,
}

impl WireModel {
    fn into_model(self) -> Model {
        Model {
            sha: self.sha,
            last_modified: self.last_modified.as_deref().and_then(unix_seconds),
            downloads: self.downloads,
            likes: self.likes,
            storage_bytes: self.used_storage,
            parameters: self.safetensors.and_then(|s| s.total),
            pipeline_tag: self.pipeline_tag,
            library: self.library_name,
            history: None,
            files: None,
        }
    }
}

/// An ISO-8601 UTC time as the Hub writes it (`2025-03-25T12:00:00.000Z`).
fn unix_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text
        .strip_suffix("+00:00")
        .map_or_else(|| text.to_owned(), |t| format!("{t}Z"));
    let at = humantime::parse_rfc3339(&text).ok()?;
    i64::try_from(at.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()
}

/// N of a commit titled `step <N>`, as Psyche's uploader writes it.
fn step_of(title: &str) -> Option<u64> {
    title.trim().strip_prefix("step ")?.trim().parse().ok()
}

/// Whether `id` is a plain `owner/name` repo id (it comes from the chain, so it is
/// checked before it goes into a URL).
pub fn valid_repo_id(id: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 96
            && !p.starts_with(['.', '-'])
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    matches!(id.split_once('/'), Some((owner, name)) if part(owner) && part(name))
}

/// How long to leave the Hub alone after a 429 (the shared rule, a minute when it
/// says nothing).
fn wait_after_429(limit: Option<RateLimit>, retry_after: Option<Duration>) -> Duration {
    limits::wait_after_429(limit, retry_after, Some(DEFAULT_WAIT)).unwrap_or(DEFAULT_WAIT)
}

/// The `rel="next"` target of a `Link` header, resolved against `base`.
fn next_link(headers: &HeaderMap, base: &Url) -> Option<Url> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let mut parts = link.split(';').map(str::trim);
            let target = parts.next()?.strip_prefix('<')?.strip_suffix('>')?;
            parts
                .any(|p| {
                    p.strip_prefix("rel=")
                        .is_some_and(|r| r.trim_matches('"').split(' ').any(|r| r == "next"))
                })
                .then(|| base.join(target).ok())
                .flatten()
        })
}

impl HuggingFace {
    /// A collector over `http`; `runs` is the coordinator's slot, read at each poll
    /// for the repos the runs name.
    pub fn new(
        http: reqwest::Client,
        settings: Settings,
        stats: Arc<Stats>,
        runs: Option<Arc<Slot<Coordinator>>>,
    ) -> Self {
        let max_age = settings.max_age;
        HuggingFace {
            http,
            settings,
            stats,
            runs,
            memory: Mutex::new(Memory {
                repos: Retained::new(max_age),
                backoff_until: None,
                rate_limit_remaining: None,
            }),
        }
    }

    /// `endpoint` + `/api/…` segments, each percent-encoded.
    fn api_url<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.settings.endpoint.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("api").extend(segments);
        }
        url
    }

    fn repo_url(&self, repo: &str, tail: &[&str]) -> Url {
        let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
        let mut url = self.api_url(
            ["models", owner, name]
                .into_iter()
                .chain(tail.iter().copied()),
        );
        if tail.is_empty() {
            let mut q = url.query_pairs_mut();
            for e in EXPAND {
                q.append_pair("expand", e);
            }
        }
        url
    }

    fn list_url(&self, author: &str) -> Url {
        let mut url = self.api_url(["models"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("author", author);
            for e in EXPAND {
                q.append_pair("expand", e);
            }
        }
        url
    }

    /// Only the Hub's own API: same origin as the endpoint, under `/api/`, and
    /// never a `resolve/` path. Guards `Link` targets, which come from upstream.
    fn allowed(&self, url: &Url) -> bool {
        let api = format!("{}/", self.api_url(std::iter::empty()).path());
        url.origin() == self.settings.endpoint.origin()
            && url.path().starts_with(&api)
            && !url.path().split('/').any(|s| s == "resolve")
    }

    /// Repos named by the runs' Hub and P2P checkpoints.
    fn named_repos(&self) -> BTreeSet<String> {
        let Some(snapshot) = self.runs.as_ref().and_then(|s| s.fresh()) else {
            return BTreeSet::new();
        };
        snapshot
            .runs
            .iter()
            .filter_map(|r| match &r.run.model.llm()?.checkpoint {
                Checkpoint::Hub(repo) | Checkpoint::P2P(repo) => Some(repo.repo_id.clone()),
                _ => None,
            })
            .filter(|id| valid_repo_id(id))
            .collect()
    }

    /// One GET: counted, rate-limit headers read, 401/403/404 as states.
    async fn get<T: DeserializeOwned>(
        &self,
        method: &'static str,
        what: &str,
        url: Url,
    ) -> Result<Fetched<T>, CollectError> {
        if !self.allowed(&url) {
            return Err(CollectError::Decode {
                what: what.to_owned(),
                message: "refusing a link outside the Hub API".into(),
            });
        }
        let mut request = self.http.get(url.clone());
        if let Some(token) = &self.settings.token {
            request = request.bearer_auth(token.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| CollectError::from_reqwest(what, e))?;
        let status = response.status();
        let headers = response.headers();
        let limit = headers
            .get("ratelimit")
            .and_then(|v| v.to_str().ok())
            .and_then(RateLimit::parse);
        if let Some(remaining) = limit.and_then(|l| l.remaining) {
            lock(&self.memory).rate_limit_remaining = Some(remaining);
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry_after =
                crate::error::retry_after(headers.get(RETRY_AFTER), std::time::SystemTime::now());
            let wait = wait_after_429(limit, retry_after);
            lock(&self.memory).backoff_until = Instant::now().checked_add(wait);
            self.stats.request(method, 0);
            return Err(CollectError::RateLimited {
                what: what.to_owned(),
                retry_after: Some(wait),
            });
        }
        let next = next_link(headers, &url);
        let body = match read_capped(response, MAX_BODY, what).await {
            Ok(body) => body,
            Err(e) => {
                self.stats.request(method, 0);
                return Err(e);
            }
        };
        self.stats.request(method, body.len() as u64);
        match status.as_u16() {
            401 | 403 => return Ok(Fetched::Unauthorized),
            404 => return Ok(Fetched::NotFound),
            _ if !status.is_success() => {
                return Err(CollectError::Status {
                    what: what.to_owned(),
                    status: status.as_u16(),
                });
            }
            _ => {}
        }
        let value = serde_json::from_slice(&body).map_err(|e| CollectError::Decode {
            what: what.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Fetched::Found { value, next })
    }

    /// Every page of a list, following `Link: rel="next"`.
    async fn get_all<T: DeserializeOwned>(
        &self,
        method: &'static str,
        what: &str,
        url: Url,
    ) -> Result<Fetched<Vec<T>>, CollectError> {
        let mut out = Vec::new();
        let mut next = Some(url);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(CollectError::Decode {
                    what: what.to_owned(),
                    message: format!("more than {MAX_PAGES} pages"),
                });
            }
            match self.get::<Vec<T>>(method, what, url).await? {
                Fetched::Found { value, next: n } => {
                    out.extend(value);
                    next = n;
                }
                other if pages == 1 => return Ok(other),
                _ => {
                    return Err(CollectError::Decode {
                        what: what.to_owned(),
                        message: "a next page vanished".into(),
                    });
                }
            }
        }
        Ok(Fetched::Found {
            value: out,
            next: None,
        })
    }

    /// The models of `author`, every page.
    async fn list(&self, author: &str) -> Result<Vec<WireModel>, CollectError> {
        let what = format!("hf models?author={author}");
        match self
            .get_all::<WireModel>("models", &what, self.list_url(author))
            .await?
        {
            Fetched::Found { value, .. } => Ok(value),
            // The listing itself refused: a bad token, not a repo's state.
            Fetched::Unauthorized => Err(CollectError::Status { what, status: 401 }),
            Fetched::NotFound => Err(CollectError::Status { what, status: 404 }),
        }
    }

    async fn model_info(&self, repo: &str) -> Result<RepoState, CollectError> {
        let what = format!("hf model_info {repo}");
        Ok(
            match self
                .get::<WireModel>("model_info", &what, self.repo_url(repo, &[]))
                .await?
            {
                Fetched::Found { value, .. } => RepoState::Ok(value.into_model()),
                Fetched::Unauthorized => RepoState::Unauthorized,
                Fetched::NotFound => RepoState::NotFound,
            },
        )
    }

    /// The files of `repo` at commit `sha`; `None` when the Hub no longer has the
    /// revision or refuses it.
    async fn model_files(
        &self,
        repo: &str,
        sha: &str,
    ) -> Result<Option<CheckpointFiles>, CollectError> {
        let what = format!("hf model_files {repo}");
        let mut url = self.repo_url(repo, &["revision", sha]);
        url.query_pairs_mut().append_pair("blobs", "true");
        Ok(
            match self
                .get::<files::WireRevision>("model_files", &what, url)
                .await?
            {
                Fetched::Found { value, .. } => Some(value.into_files(sha)),
                Fetched::Unauthorized | Fetched::NotFound => None,
            },
        )
    }

    /// The repos of `repos` that are fresh at `now`.
    fn snapshot(&self, repos: &Retained<String, Remembered>, now: Instant) -> HuggingFaceSnapshot {
        let mut repos: Vec<Repo> = repos
            .fresh_entries(now)
            .map(|(id, r)| Repo {
                id: id.clone(),
                state: r.value.state.clone(),
            })
            .collect();
        repos.sort_by(|a, b| a.id.cmp(&b.id));
        HuggingFaceSnapshot {
            repos,
            authors: self.settings.authors.clone(),
            rate_limit_remaining: lock(&self.memory).rate_limit_remaining,
        }
    }
}

impl Collector for HuggingFace {
    const NAME: &'static str = "huggingface";
    type Snapshot = HuggingFaceSnapshot;

    async fn poll(&self) -> Result<HuggingFaceSnapshot, CollectError> {
        let read = Stamp::now();
        let now = read.instant;
        let (previous, backoff) = {
            let memory = lock(&self.memory);
            (memory.repos.clone(), memory.backoff_until)
        };
        if let Some(until) = backoff.filter(|u| *u > now) {
            self.stats.incomplete(format!(
                "rate limited by the Hub: next request in {}s",
                until.saturating_duration_since(now).as_secs()
            ));
            return Ok(self.snapshot(&previous, now));
        }
        let commits_for = |id: &String| previous.get(id).and_then(|r| r.value.commits_for.clone());

        let mut repos = Retained::new(self.settings.max_age);
        for author in &self.settings.authors {
            for model in self.list(author).await? {
                let commits_for = commits_for(&model.id);
                repos.put(
                    model.id.clone(),
                    Remembered {
                        state: RepoState::Ok(model.into_model()),
                        commits_for,
                    },
                    read,
                );
            }
        }

        let mut halted = false;
        for id in self.named_repos() {
            if repos.get(&id).is_some() {
                continue;
            }
            let answer = if halted {
                None
            } else {
                match self.model_info(&id).await {
                    Ok(state) => Some(state),
                    Err(e) => {
                        halted |= matches!(e, CollectError::RateLimited { .. });
                        self.stats.record(&e);
                        None
                    }
                }
            };
            match answer {
                Some(state) => {
                    let commits_for = commits_for(&id);
                    repos.put(id, Remembered { state, commits_for }, read);
                }
                None => {
                    if let Some(kept) = previous.fresh(&id, now) {
                        repos.put(id, kept.value.clone(), kept.read);
                    }
                }
            }
        }

        let mut ids: Vec<String> = repos.keys().cloned().collect();
        ids.sort();
        for id in &ids {
            let Some(kept) = repos.get_mut(id) else {
                continue;
            };
            if kept.read != read {
                continue; // carried: its history came along
            }
            let entry = &mut kept.value;
            let RepoState::Ok(model) = &mut entry.state else {
                entry.commits_for = None;
                continue;
            };
            let key = model
                .sha
                .clone()
                .or_else(|| model.last_modified.map(|t| t.to_string()));
            let known = previous
                .get(id)
                .and_then(|r| r.value.state.model())
                .and_then(|m| m.history.clone());
            if key.is_some() && key == entry.commits_for && known.is_some() {
                model.history = known;
                continue;
            }
            model.history = known;
            if halted {
                continue;
            }
            let previous_history = model.history.clone();
            match self.commits(id, previous_history.as_deref()).await {
                Ok(history) => {
                    model.history = Some(Arc::new(history));
                    entry.commits_for = key;
                }
                Err(e) => {
                    halted |= matches!(e, CollectError::RateLimited { .. });
                    self.stats.record(&e);
                }
            }
        }

        // The files of each newest checkpoint commit, read again only when it changed.
        for id in &ids {
            let Some(kept) = repos.get_mut(id).filter(|k| k.read == read) else {
                continue; // carried: its files came along
            };
            let RepoState::Ok(model) = &mut kept.value.state else {
                continue;
            };
            let Some(sha) = model
                .history
                .as_ref()
                .and_then(|h| h.newest_checkpoint())
                .map(|c| c.id.clone())
            else {
                continue;
            };
            model.files = previous
                .get(id)
                .and_then(|r| r.value.state.model())
                .and_then(|m| m.files.clone())
                .filter(|f| f.sha == sha);
            if model.files.is_some() || halted {
                continue;
            }
            match self.model_files(id, &sha).await {
                Ok(files) => model.files = files.map(Arc::new),
                Err(e) => {
                    halted |= matches!(e, CollectError::RateLimited { .. });
                    self.stats.record(&e);
                }
            }
        }

        let snapshot = self.snapshot(&repos, now);
        lock(&self.memory).repos = repos;
        Ok(snapshot)
    }

    fn encode(s: &HuggingFaceSnapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        families::encode_repos(s, out)
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn token_never_prints() {
        let t = Token::new(" hf_secret\n").unwrap();
        assert_eq!(t.expose(), "hf_secret");
        assert_eq!(format!("{t:?}"), "***");
        assert!(Token::new("  ").is_none());
    }

    #[test]
    fn hub_times_and_step_titles() {
        assert_eq!(
            unix_seconds("2025-03-25T00:00:00.000Z"),
            Some(1_742_860_800)
        );
        assert_eq!(unix_seconds("2025-03-25T00:00:01Z"), Some(1_742_860_801));
        assert_eq!(
            unix_seconds("2025-03-25T00:00:01+00:00"),
            Some(1_742_860_801)
        );
        assert_eq!(unix_seconds("yesterday"), None);
        assert_eq!(step_of("step 18431"), Some(18431));
        assert_eq!(step_of("step 7 "), Some(7));
        assert_eq!(step_of("Upload folder using huggingface_hub"), None);
        assert_eq!(step_of("step seven"), None);
        assert_eq!(step_of("stepped 3"), None);
    }

    #[test]
    fn repo_ids_from_the_chain_are_checked() {
        assert!(valid_repo_id("PsycheFoundation/consilience-40b-7Y9v38s5"));
        assert!(valid_repo_id("emozilla/llama2-1.1b-gqa-init"));
        for bad in [
            "", "a", "a/b/c", "../x", "a/..", "a/b?c", "a/b c", "/b", "a/",
        ] {
            assert!(!valid_repo_id(bad), "{bad}");
        }
    }

    #[test]
    fn rate_limit_waits() {
        let exhausted = RateLimit::parse("\"api\";r=0;t=41");
        assert_eq!(
            exhausted,
            Some(RateLimit {
                remaining: Some(0),
                reset: Some(41)
            })
        );
        assert_eq!(
            wait_after_429(exhausted, Some(Duration::from_secs(5))),
            Duration::from_secs(42)
        );
        let left = RateLimit::parse("\"api\";r=3;t=41");
        assert_eq!(
            wait_after_429(left, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(wait_after_429(left, None), Duration::from_secs(42));
        assert_eq!(
            wait_after_429(None, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(wait_after_429(None, None), DEFAULT_WAIT);
        assert_eq!(
            wait_after_429(None, Some(Duration::from_secs(86_400))),
            limits::MAX_WAIT
        );
        assert_eq!(RateLimit::parse("garbage"), None);
    }

    #[test]
    fn link_next_is_found_and_resolved() {
        let base = Url::parse("http://127.0.0.1:9/api/models?author=x").unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            "<http://127.0.0.1:9/api/models?author=x&cursor=abc>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h, &base).unwrap().as_str(),
            "http://127.0.0.1:9/api/models?author=x&cursor=abc"
        );
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            "</api/models?p=0>; rel=\"prev\", </api/models?p=2>; rel=next"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h, &base).unwrap().as_str(),
            "http://127.0.0.1:9/api/models?p=2"
        );
        assert!(next_link(&HeaderMap::new(), &base).is_none());
    }

    fn collector(endpoint: &str) -> HuggingFace {
        HuggingFace::new(
            reqwest::Client::new(),
            Settings {
                endpoint: Url::parse(endpoint).unwrap(),
                authors: vec![DEFAULT_AUTHOR.into()],
                token: None,
                max_age: Duration::from_secs(60),
            },
            Stats::new("huggingface"),
            None,
        )
    }

    #[test]
    fn urls_stay_in_the_api() {
        let c = collector("https://huggingface.co");
        assert_eq!(
            c.list_url("PsycheFoundation").as_str(),
            "https://huggingface.co/api/models?author=PsycheFoundation&expand=sha&expand=lastModified&expand=downloads&expand=likes&expand=usedStorage&expand=safetensors&expand=pipeline_tag&expand=library_name"
        );
        assert_eq!(
            c.repo_url("a/b", &["commits", "main"]).as_str(),
            "https://huggingface.co/api/models/a/b/commits/main"
        );
        assert!(c.allowed(&Url::parse("https://huggingface.co/api/models?p=1").unwrap()));
        for bad in [
            "https://evil.example/api/models",
            "http://huggingface.co/api/models",
            "https://huggingface.co/a/b/resolve/main/config.json",
            "https://huggingface.co/api/resolve/x",
            "https://huggingface.co/models",
        ] {
            assert!(!c.allowed(&Url::parse(bad).unwrap()), "{bad}");
        }
        let mirror = collector("http://127.0.0.1:8080/hf/");
        assert_eq!(
            mirror.repo_url("a/b", &["commits", "main"]).as_str(),
            "http://127.0.0.1:8080/hf/api/models/a/b/commits/main"
        );
    }
}
