//! Basic auth and response headers from `--web.config.file`, in front of every
//! route (`/metrics`, `/`, `/api/v1/…`, `/healthz`, `/readyz`, the MCP endpoint,
//! and the 404 of anything else): [`guard`], an axum middleware over
//! [`Access`].
//!
//! As in the exporter-toolkit: the configured headers go on every response,
//! a 401 included; a request without valid credentials gets `401` with
//! `WWW-Authenticate: Basic`, the same for an unknown user and a wrong password.
//! The user name is compared in constant time (SHA-256 digests, every user
//! compared), and an unknown user still pays a bcrypt verification (against a
//! configured user's hash), so timing does not tell which part was wrong.
//!
//! bcrypt is slow on purpose (~70 ms at cost 10), so a successful verification
//! is cached, keyed by a SHA-256 of the credentials (the password itself is not
//! kept): a scrape pays bcrypt once, not every time. Failures are not cached,
//! so a flood of wrong passwords cannot evict a scraper's entry; bcrypt runs one
//! at a time, on the blocking pool, so such a flood costs at most one core and
//! never delays a request whose credentials are cached.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

/// Successful verifications kept at most; past it the cache starts over.
const CACHE_MAX: usize = 256;
/// bcrypt reads at most 72 bytes of a password; a longer one is refused rather
/// than truncated.
const MAX_PASSWORD: usize = 72;

/// Who may connect and what every response carries; shared by every request.
pub struct Access {
    users: Vec<User>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// SHA-256 of (user, password) pairs that verified.
    verified: Mutex<HashSet<[u8; 32]>>,
    /// bcrypt one at a time.
    bcrypt: tokio::sync::Semaphore,
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("users", &self.users.len())
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// One `basic_auth_users` entry.
pub struct User {
    name_digest: [u8; 32],
    hash: String,
}

impl User {
    /// A user and their bcrypt hash; the error says what is wrong with the
    /// hash without quoting it.
    pub fn new(name: String, hash: String) -> Result<User, String> {
        let parts: bcrypt::HashParts = hash.parse().map_err(|e| format!("{e}"))?;
        let cost = parts.get_cost();
        if !(4..=31).contains(&cost) {
            return Err(format!("its cost {cost} is outside 4 to 31"));
        }
        Ok(User {
            name_digest: sha256(&[name.as_bytes()]),
            hash,
        })
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Equal, in time independent of where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

impl Access {
    /// Basic auth for `users` (none: no auth) and `headers` on every response.
    pub fn new(users: Vec<User>, headers: Vec<(HeaderName, HeaderValue)>) -> Access {
        Access {
            users,
            headers,
            verified: Mutex::new(HashSet::new()),
            bcrypt: tokio::sync::Semaphore::new(1),
        }
    }

    /// How many users may log in (0: no auth).
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// How many headers are added.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// Whether this does nothing (no users, no headers).
    pub fn is_open(&self) -> bool {
        self.users.is_empty() && self.headers.is_empty()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `authorization` (the header's value, if any) lets the request
    /// in.
    pub async fn allows(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(first) = self.users.first() else {
            return true;
        };
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return false;
        };
        if password.len() > MAX_PASSWORD {
            return false;
        }
        let key = sha256(&[user.as_bytes(), password.as_bytes()]);
        if self.cache().contains(&key) {
            return true;
        }
        let name = sha256(&[user.as_bytes()]);
        // Every user compared: no early exit on a match.
        let found = self.users.iter().fold(None, |found, u| {
            match (found, same(&u.name_digest, &name)) {
                (None, true) => Some(u),
                (found, _) => found,
            }
        });
        // An unknown user is checked against a real hash too, then refused.
        let hash = found.unwrap_or(first).hash.clone();
        let Ok(_permit) = self.bcrypt.acquire().await else {
            return false;
        };
        let verified =
            tokio::task::spawn_blocking(move || bcrypt::verify(password.as_bytes(), &hash))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(false);
        let ok = verified && found.is_some();
        if ok {
            let mut cache = self.cache();
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(key);
        }
        ok
    }

    fn add_headers(&self, response: &mut Response) {
        for (name, value) in &self.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
}

/// The user and password of a `Basic` authorization header.
fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The middleware: headers on every response; `401` without valid credentials.
pub async fn guard(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    let allowed = access
        .allows(request.headers().get(header::AUTHORIZATION))
        .await;
    let mut response = if allowed {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic")],
            "Unauthorized\n",
        )
            .into_response()
    };
    access.add_headers(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    fn access(users: &[(&str, &str)]) -> Access {
        let users = users
            .iter()
            .map(|(name, password)| {
                User::new((*name).to_owned(), bcrypt::hash(password, 4).unwrap()).unwrap()
            })
            .collect();
        Access::new(users, Vec::new())
    }

    #[tokio::test]
    async fn right_credentials_pass_and_anything_else_does_not() {
        let a = access(&[("alice", "wonderland"), ("bob", "builder")]);
        assert!(a.allows(Some(&basic("alice", "wonderland"))).await);
        assert!(a.allows(Some(&basic("bob", "builder"))).await);
        for (why, header) in [
            ("no header", None),
            ("wrong password", Some(basic("alice", "builder"))),
            ("another user's password", Some(basic("bob", "wonderland"))),
            ("unknown user", Some(basic("carol", "wonderland"))),
            ("empty", Some(basic("", ""))),
            ("not basic", Some(HeaderValue::from_static("Bearer abc"))),
            ("not base64", Some(HeaderValue::from_static("Basic !!!"))),
            ("no colon", Some(HeaderValue::from_static("Basic YWxpY2U="))),
            ("too long", Some(basic("alice", &"x".repeat(73)))),
        ] {
            assert!(!a.allows(header.as_ref()).await, "{why} was let in");
        }
        // The scheme is case-insensitive, as RFC 7617 says.
        let lower = basic("alice", "wonderland")
            .to_str()
            .unwrap()
            .replace("Basic", "basic");
        assert!(
            a.allows(Some(&HeaderValue::from_str(&lower).unwrap()))
                .await
        );
    }

    #[tokio::test]
    async fn no_users_means_no_auth() {
        let a = access(&[]);
        assert!(a.allows(None).await);
        assert!(a.is_open());
    }

    /// A verified pair is cached (keyed by its digest), so the next request
    /// pays no bcrypt; a failure is not cached.
    #[tokio::test]
    async fn successes_are_cached_by_digest_and_failures_are_not() {
        let a = access(&[("alice", "wonderland")]);
        assert!(a.cache().is_empty());
        assert!(!a.allows(Some(&basic("alice", "nope"))).await);
        assert!(a.cache().is_empty(), "a failure was cached");
        assert!(a.allows(Some(&basic("alice", "wonderland"))).await);
        let key = sha256(&[b"alice", b"wonderland"]);
        assert_eq!(*a.cache(), HashSet::from([key]));
        // While the cache holds it, no bcrypt runs: with the bcrypt permit
        // taken, the cached pair still passes at once, an uncached one waits.
        let _busy = a.bcrypt.acquire().await.unwrap();
        assert!(a.allows(Some(&basic("alice", "wonderland"))).await);
        let other = basic("alice", "other");
        let uncached = a.allows(Some(&other));
        tokio::pin!(uncached);
        assert!(
            futures_util::poll!(uncached.as_mut()).is_pending(),
            "an uncached pair waits for bcrypt"
        );
    }

    #[test]
    fn bad_hashes_are_refused_without_quoting_them() {
        for bad in [
            "plaintext",
            "$2y$10$short",
            "$1$abcdefgh$abcdefghijklmnopqrstuv1234567890123456789012345678",
            "$2y$99$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u",
        ] {
            let e = User::new("u".into(), bad.into()).err().expect(bad);
            assert!(!e.contains(bad), "{e}");
        }
        User::new(
            "u".into(),
            "$2y$12$L6Bc/AlTQHyd9liGgGEZyOFLPHNgyxeEPfgYfBCVxJ7JIlwxyVU3u".into(),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn headers_go_on_every_response_a_401_included() {
        use tower::ServiceExt as _;
        let headers = vec![(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("deny"),
        )];
        let users = vec![User::new("u".into(), bcrypt::hash("p", 4).unwrap()).unwrap()];
        let access = Arc::new(Access::new(users, headers));
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "hi" }))
            .layer(axum::middleware::from_fn_with_state(access, guard));
        for (auth, status) in [(None, 401), (Some(basic("u", "p")), 200)] {
            let mut req = Request::builder().uri("/");
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let resp = app
                .clone()
                .oneshot(req.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), status);
            assert_eq!(resp.headers()["x-frame-options"], "deny");
            assert_eq!(
                resp.headers().get(header::WWW_AUTHENTICATE).is_some(),
                status == 401
            );
        }
    }
}
