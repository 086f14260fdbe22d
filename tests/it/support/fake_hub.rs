//! A fake HuggingFace Hub on 127.0.0.1, over real HTTP: the model list (paged with
//! `Link: <…>; rel="next"`), model info, commit lists and model info at a revision
//! (with `blobs=true`: the files' sizes), shaped like the Hub's answers. Any path can be switched to a fault; every request is recorded with its
//! `Authorization` header.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// How the fake answers a path.
#[derive(Debug, Clone)]
pub enum Fault {
    /// An HTTP status with a Hub-style error body.
    Status(u16),
    /// HTTP 429 with `RateLimit: "api";r=<remaining>;t=<reset>`,
    /// `RateLimit-Policy` and `Retry-After`.
    RateLimited {
        remaining: u64,
        reset: u64,
        retry_after: u64,
    },
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// The normal answer, after this delay (longer than the exporter's
    /// timeout, to make it time out).
    Slow(Duration),
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Path and query.
    pub uri: String,
    /// Path only.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Debug, Default)]
struct HubState {
    /// Model documents, as `/api/models/{id}` returns them.
    models: Mutex<Vec<Value>>,
    /// Commits per repo, newest first.
    commits: Mutex<HashMap<String, Vec<Value>>>,
    /// Files per repo and revision, as `siblings` with `blobs=true`.
    files: Mutex<HashMap<(String, String), Vec<Value>>>,
    faults: Mutex<HashMap<String, Fault>>,
    seen: Mutex<Vec<Seen>>,
    /// Sent as `RateLimit` on every answer when set.
    remaining: Mutex<Option<u64>>,
    page_size: Mutex<usize>,
}

/// A running fake Hub; it stops when dropped.
pub struct FakeHub {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    state: Arc<HubState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A model document as the Hub's API returns it with our `expand` list.
pub fn model(id: &str, sha: &str, last_modified: &str) -> Value {
    json!({
        "_id": format!("66f{:021x}", id.len()),
        "id": id,
        "author": id.split('/').next().unwrap(),
        "sha": sha,
        "lastModified": last_modified,
        "downloads": 0,
        "likes": 0,
        "usedStorage": 0,
        "private": false,
        "tags": ["safetensors"],
    })
}

/// A file as `/api/models/{repo}/revision/{rev}?blobs=true` lists it in `siblings`;
/// `lfs` files carry their LFS object's size too.
pub fn sibling(name: &str, size: u64, lfs: bool) -> Value {
    let mut s = json!({
        "rfilename": name,
        "blobId": format!("{:040x}", name.len() as u64 * 7919 + size),
        "size": size,
    });
    if lfs {
        s["lfs"] = json!({
            "sha256": format!("{:064x}", size),
            "size": size,
            "pointerSize": 134,
        });
    }
    s
}

/// A commit as `/api/models/{repo}/commits/main` lists it.
pub fn commit(id: &str, title: &str, date: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "message": "",
        "date": date,
        "authors": [{"user": "psyche-uploader", "avatar": "https://example.invalid/a.png"}],
        "parents": [],
    })
}

impl FakeHub {
    /// An empty Hub with pages of two items.
    pub async fn start() -> FakeHub {
        let state = Arc::new(HubState::default());
        *state.page_size.lock().unwrap() = 2;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeHub {
            endpoint,
            state,
            task,
        }
    }

    /// Add or replace a model document (by `id`).
    pub fn put_model(&self, doc: Value) {
        let mut models = self.state.models.lock().unwrap();
        let id = doc["id"].clone();
        models.retain(|m| m["id"] != id);
        models.push(doc);
    }

    /// Change fields of a model document.
    pub fn patch_model(&self, id: &str, fields: Value) {
        let mut models = self.state.models.lock().unwrap();
        let m = models.iter_mut().find(|m| m["id"] == id).unwrap();
        for (k, v) in fields.as_object().unwrap() {
            m[k] = v.clone();
        }
    }

    /// Set the commits of `repo`'s main, newest first.
    pub fn put_commits(&self, repo: &str, commits: Vec<Value>) {
        self.state
            .commits
            .lock()
            .unwrap()
            .insert(repo.to_owned(), commits);
    }

    /// Set the files of `repo` at revision `sha` (see [`sibling`]).
    pub fn put_files(&self, repo: &str, sha: &str, siblings: Vec<Value>) {
        self.state
            .files
            .lock()
            .unwrap()
            .insert((repo.to_owned(), sha.to_owned()), siblings);
    }

    /// Answer `path` (no query) with `fault` from now on.
    pub fn fail(&self, path: &str, fault: Fault) {
        self.state
            .faults
            .lock()
            .unwrap()
            .insert(path.to_owned(), fault);
    }

    /// Answer every path normally again.
    pub fn heal(&self) {
        self.state.faults.lock().unwrap().clear();
    }

    /// Send `RateLimit: "api";r=<remaining>;t=300` with every answer.
    pub fn set_remaining(&self, remaining: Option<u64>) {
        *self.state.remaining.lock().unwrap() = remaining;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    /// How many requests went to `path`.
    pub fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

fn json_page(items: &[Value], page: usize, size: usize, next: Option<String>) -> Response {
    let start = page * size;
    let chunk: Vec<&Value> = items.iter().skip(start).take(size).collect();
    let mut resp = axum::Json(chunk).into_response();
    if let Some(next) = next.filter(|_| start + size < items.len()) {
        let link = format!("<{next}>; rel=\"next\"");
        resp.headers_mut()
            .insert(header::LINK, HeaderValue::from_str(&link).unwrap());
    }
    resp
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut resp = (status, axum::Json(json!({ "error": message }))).into_response();
    resp.headers_mut()
        .insert("x-error-code", HeaderValue::from_str(code).unwrap());
    resp
}

async fn handle(State(state): State<Arc<HubState>>, req: Request) -> Response {
    let uri = req.uri().clone();
    let path = uri.path().to_owned();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    state.seen.lock().unwrap().push(Seen {
        uri: uri.to_string(),
        path: path.clone(),
        authorization,
        at: Instant::now(),
    });
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let page: usize = query.get("p").and_then(|p| p.parse().ok()).unwrap_or(0);
    let size = *state.page_size.lock().unwrap();
    let fault = state.faults.lock().unwrap().get(&path).cloned();
    let mut resp = match fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap();
            match code {
                401 => error(status, "RepoNotFound", "Invalid username or password."),
                404 => error(status, "RepoNotFound", "Repository not found"),
                _ => error(
                    status,
                    "",
                    "Internal Error - We're working hard to fix this",
                ),
            }
        }
        Some(Fault::RateLimited {
            remaining,
            reset,
            retry_after,
        }) => {
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "",
                "You have been rate-limited",
            );
            let h = resp.headers_mut();
            h.insert(
                "ratelimit",
                HeaderValue::from_str(&format!("\"api\";r={remaining};t={reset}")).unwrap(),
            );
            h.insert(
                "ratelimit-policy",
                HeaderValue::from_static("\"fixed window\";\"api\";q=1000;w=300"),
            );
            h.insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after.to_string()).unwrap(),
            );
            return resp;
        }
        Some(Fault::Malformed) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"id\": \"truncated",
        )
            .into_response(),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            route(&state, &path, &query, &host, page, size)
        }
        None => route(&state, &path, &query, &host, page, size),
    };
    if let Some(r) = *state.remaining.lock().unwrap() {
        resp.headers_mut().insert(
            "ratelimit",
            HeaderValue::from_str(&format!("\"api\";r={r};t=300")).unwrap(),
        );
    }
    resp
}

fn route(
    state: &HubState,
    path: &str,
    query: &HashMap<String, String>,
    host: &str,
    page: usize,
    size: usize,
) -> Response {
    let Some(rest) = path.strip_prefix("/api/models") else {
        return error(StatusCode::NOT_FOUND, "EntryNotFound", "Not found");
    };
    let models = state.models.lock().unwrap().clone();
    if rest.is_empty() {
        let author = query.get("author").cloned().unwrap_or_default();
        let mut listed: Vec<Value> = models
            .into_iter()
            .filter(|m| m["author"] == author.as_str())
            .collect();
        listed.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        let expand: String = query_string_expand(query);
        let next = format!(
            "http://{host}/api/models?author={author}{expand}&p={}",
            page + 1
        );
        return json_page(&listed, page, size, Some(next));
    }
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [owner, name] => {
            let id = format!("{owner}/{name}");
            match models.iter().find(|m| m["id"] == id.as_str()) {
                Some(m) => axum::Json(m.clone()).into_response(),
                None => error(
                    StatusCode::UNAUTHORIZED,
                    "RepoNotFound",
                    "Invalid username or password.",
                ),
            }
        }
        [owner, name, "revision", rev] => {
            let id = format!("{owner}/{name}");
            let Some(mut doc) = models.iter().find(|m| m["id"] == id.as_str()).cloned() else {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "RepoNotFound",
                    "Invalid username or password.",
                );
            };
            let known = doc["sha"] == *rev
                || state
                    .commits
                    .lock()
                    .unwrap()
                    .get(&id)
                    .is_some_and(|c| c.iter().any(|c| c["id"] == *rev));
            if !known {
                return error(
                    StatusCode::NOT_FOUND,
                    "RevisionNotFound",
                    &format!("Invalid rev id: {rev}"),
                );
            }
            let blobs = query.get("blobs").is_some_and(|b| b == "true");
            let siblings: Vec<Value> = state
                .files
                .lock()
                .unwrap()
                .get(&(id, (*rev).to_owned()))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                // Without blobs=true the Hub lists names only.
                .map(|s| {
                    if blobs {
                        s
                    } else {
                        json!({"rfilename": s["rfilename"]})
                    }
                })
                .collect();
            doc["sha"] = json!(rev);
            doc["siblings"] = json!(siblings);
            axum::Json(doc).into_response()
        }
        [owner, name, "commits", "main"] => {
            let id = format!("{owner}/{name}");
            let commits = state.commits.lock().unwrap().get(&id).cloned();
            match commits {
                Some(c) => {
                    let next = format!("http://{host}/api/models/{id}/commits/main?p={}", page + 1);
                    json_page(&c, page, size, Some(next))
                }
                None => error(
                    StatusCode::NOT_FOUND,
                    "RevisionNotFound",
                    "Invalid rev id: main",
                ),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "EntryNotFound", "Not found"),
    }
}

fn query_string_expand(query: &HashMap<String, String>) -> String {
    // The Hub keeps the query in its next links; only `expand` matters here.
    if query.contains_key("expand") {
        "&expand=sha".to_owned()
    } else {
        String::new()
    }
}
