//! The accept loop: our own instead of `axum::serve`, for the limits a public
//! port needs (a half-sent request or an idle client must never starve a
//! scraper, nor hold up shutdown).
//!
//! - **Header-read timeout** (`--web.read-header-timeout`): a request head must
//!   be complete within it, counted from the connection's accept for the first
//!   request and from the first byte of each later one; else the connection is
//!   closed.
//! - **Idle timeout** (`--web.idle-timeout`): a keep-alive connection waiting for
//!   its next request, or a request whose response makes no progress (the
//!   client reads nothing), is closed after it.
//! - **Connection cap** (`--web.max-connections`): at the cap, a new connection
//!   closes the one that has waited longest *without a request in flight*
//!   (idle, or a head still arriving) to take its place; only when every
//!   connection has a request in flight is the new one closed at once. So
//!   connections that send nothing can never lock a scraper out.
//! - **Shutdown**: the listener closes at once; connections with no request in
//!   flight close at once (a half-sent request is not waited for); a request in
//!   flight gets [`SHUTDOWN_GRACE`] to finish, then its connection is dropped.
//!
//! - **TLS** (`--web.config.file`): the handshake runs inside the connection's
//!   task, under the same header-read deadline (counted from the accept), and
//!   the connection is evictable while it lasts; so a client that stalls its
//!   handshake holds up nothing but its own connection. A failed handshake
//!   (plain HTTP on the TLS port, no client certificate when one is required)
//!   closes the connection, logged at debug.
//!
//! Each connection is served by [`serve_connection`], which takes any
//! `AsyncRead + AsyncWrite` stream: the TCP stream, or the TLS stream on it.
//!
//! HTTP/1.1 only (hyper's `http1`; ALPN `http/1.1` under TLS).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How long a request in flight may still take once shutdown has begun.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most one warning per this long about the cap or failed accepts.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The server's limits (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request head must be complete within this.
    pub read_header_timeout: Duration,
    /// A connection with nothing happening is closed after this.
    pub idle_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

/// Serve `router` on `listener` (over TLS with `tls`) until `shutdown`
/// resolves, then close every connection (see the module doc); returns once
/// they are all closed, within [`SHUTDOWN_GRACE`] and a second.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let (stop_tx, stop_rx) = watch::channel(false);
    let table = Arc::new(Table::new(limits.max_connections));
    let mut tasks = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut accept_warned: Option<Instant> = None;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let Some(conn) = table.admit() else {
                        // Every connection has a request in flight: no room.
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    match &tls {
                        None => tasks.spawn(serve_connection(
                            stream,
                            router.clone(),
                            conn,
                            limits,
                            stop_rx.clone(),
                        )),
                        Some(acceptor) => tasks.spawn(serve_tls(
                            acceptor.clone(),
                            stream,
                            router.clone(),
                            conn,
                            limits,
                            stop_rx.clone(),
                        )),
                    };
                }
                Err(e) => {
                    if warn_due(&mut accept_warned) {
                        tracing::warn!(error = %e, "cannot accept a connection");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all_closed = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), all_closed)
        .await
        .is_err()
    {
        tasks.shutdown().await;
    }
    Ok(())
}

/// True at most once per [`WARN_EVERY`].
fn warn_due(last: &mut Option<Instant>) -> bool {
    let now = Instant::now();
    if last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
        return false;
    }
    *last = Some(now);
    true
}

/// The TLS handshake on `stream`, within the connection's header-read
/// deadline, then [`serve_connection`] on the TLS stream. Eviction and
/// shutdown end a handshake in progress.
async fn serve_tls(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
    router: Router,
    admitted: Admitted,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let conn = Arc::clone(&admitted.conn);
    let handshake = tokio::time::timeout_at(conn.deadline(&limits), acceptor.accept(stream));
    let failed = tokio::select! {
        done = handshake => match done {
            Ok(Ok(tls)) => return serve_connection(tls, router, admitted, limits, stop).await,
            Ok(Err(e)) => format!("TLS handshake failed: {e}"),
            Err(_) => "TLS handshake timed out (--web.read-header-timeout)".to_owned(),
        },
        () = conn.evicted.notified() => "closed to make room (--web.max-connections)".to_owned(),
        () = async {
            let _ = stop.wait_for(|stop| *stop).await;
        } => "shutting down".to_owned(),
    };
    tracing::debug!(reason = failed, "HTTP connection closed");
}

/// Serve HTTP/1.1 on one stream (a TCP connection, or a TLS stream on it)
/// until the client is done, a limit is hit, `conn` is evicted or shutdown is
/// signalled on `stop`.
pub async fn serve_connection<S>(
    stream: S,
    router: Router,
    admitted: Admitted,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = Arc::clone(&admitted.conn);
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: Arc::clone(&conn),
    });
    let service = {
        let conn = Arc::clone(&conn);
        let router = TowerToHyperService::new(router);
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let guard = conn.begin_request();
            let answer = hyper::service::Service::call(&router, req);
            async move {
                let response = answer.await?;
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    axum::body::Body::new(Guarded {
                        body,
                        _guard: guard,
                    })
                }))
            }
        })
    };
    let mut http = pin!(
        hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .header_read_timeout(None)
            .serve_connection(io, service)
    );
    let ended = loop {
        let deadline = conn.deadline(&limits);
        tokio::select! {
            served = http.as_mut() => break served.err().map(|e| e.to_string()),
            () = tokio::time::sleep_until(deadline) => {
                if conn.deadline(&limits) <= Instant::now() {
                    break Some("timed out".to_owned());
                }
            }
            // A phase changed: the deadline may be earlier now.
            () = conn.changed.notified() => {}
            () = conn.evicted.notified() => break Some("closed to make room (--web.max-connections)".to_owned()),
            () = async {
                let _ = stop.wait_for(|stop| *stop).await;
            } => {
                if conn.in_flight() == 0 {
                    break None;
                }
                http.as_mut().graceful_shutdown();
                let finished = tokio::time::timeout(SHUTDOWN_GRACE, http.as_mut()).await;
                break finished.is_err().then(|| "still busy when shutdown's grace ended".to_owned());
            }
        }
    };
    if let Some(why) = ended {
        tracing::debug!(reason = why, "HTTP connection closed");
    }
}

/// A connection's place in the table: it leaves the table when dropped (when
/// the connection's task ends).
#[derive(Debug)]
pub struct Admitted {
    conn: Arc<Conn>,
    table: Arc<Table>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.table.open().remove(&self.conn.id);
    }
}

/// One open connection's state, shared by its task, its stream, its requests
/// and the table the accept loop evicts from.
#[derive(Debug)]
struct Conn {
    id: u64,
    times: Mutex<Times>,
    /// Signalled when the connection changes phase (see [`Conn::deadline`]).
    changed: Notify,
    evicted: Notify,
}

#[derive(Debug)]
struct Times {
    /// Requests being answered (hyper answers one at a time).
    in_flight: u32,
    /// When the head of the next request started to arrive (or the
    /// connection was accepted), while no request is in flight.
    head_since: Option<Instant>,
    /// The last byte read or written.
    last_io: Instant,
}

impl Conn {
    fn times(&self) -> MutexGuard<'_, Times> {
        self.times
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn in_flight(&self) -> u32 {
        self.times().in_flight
    }

    /// When the connection is to be closed if nothing changes.
    fn deadline(&self, limits: &Limits) -> Instant {
        let t = self.times();
        match t.head_since {
            Some(since) if t.in_flight == 0 => since + limits.read_header_timeout,
            _ => t.last_io + limits.idle_timeout,
        }
    }

    /// Since when it has been waiting without a request in flight; `None` while
    /// one is.
    fn waiting_since(&self) -> Option<Instant> {
        let t = self.times();
        (t.in_flight == 0).then(|| t.head_since.unwrap_or(t.last_io))
    }

    fn on_io(&self, read: bool) {
        let now = Instant::now();
        let mut t = self.times();
        t.last_io = now;
        if read && t.in_flight == 0 && t.head_since.is_none() {
            t.head_since = Some(now);
            self.changed.notify_one();
        }
    }

    fn begin_request(self: &Arc<Self>) -> RequestGuard {
        let mut t = self.times();
        t.in_flight += 1;
        t.head_since = None;
        self.changed.notify_one();
        RequestGuard(Arc::clone(self))
    }
}

/// Held by a response body: the request is in flight until it is dropped
/// (hyper drops it once the body is sent, or the connection goes).
#[derive(Debug)]
struct RequestGuard(Arc<Conn>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut t = self.0.times();
        t.in_flight = t.in_flight.saturating_sub(1);
        t.last_io = now;
        self.0.changed.notify_one();
    }
}

/// The open connections, for the cap.
#[derive(Debug)]
struct Table {
    max: usize,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    warned: Mutex<Option<Instant>>,
}

impl Table {
    fn new(max: usize) -> Table {
        Table {
            max: max.max(1),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            warned: Mutex::new(None),
        }
    }

    fn open(&self) -> MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Room for a new connection: at the cap, the one waiting longest without
    /// a request in flight is evicted; `None` when every one has a request in
    /// flight.
    fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut open = self.open();
        if open.len() >= self.max {
            let oldest = open
                .iter()
                .filter_map(|(id, c)| Some((*id, c.waiting_since()?)))
                .min_by_key(|(_, since)| *since)
                .map(|(id, _)| id);
            let warn = warn_due(
                &mut self
                    .warned
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            let Some(id) = oldest else {
                if warn {
                    tracing::warn!(
                        max = self.max,
                        "connection cap reached with a request in flight on each: new connections are closed (--web.max-connections)"
                    );
                }
                return None;
            };
            if warn {
                tracing::warn!(
                    max = self.max,
                    "connection cap reached: closing the longest-waiting idle connections to make room (--web.max-connections)"
                );
            }
            if let Some(c) = open.remove(&id) {
                c.evicted.notify_one();
            }
        }
        let now = Instant::now();
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            times: Mutex::new(Times {
                in_flight: 0,
                head_since: Some(now),
                last_io: now,
            }),
            changed: Notify::new(),
            evicted: Notify::new(),
        });
        open.insert(conn.id, Arc::clone(&conn));
        Some(Admitted {
            conn,
            table: Arc::clone(self),
        })
    }
}

/// A stream that reports its reads and writes to its [`Conn`].
struct Tracked<S> {
    inner: S,
    conn: Arc<Conn>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.on_io(true);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.on_io(false);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.on_io(false);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that keeps its request in flight until it is dropped.
struct Guarded {
    body: axum::body::Body,
    _guard: RequestGuard,
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_the_cap_the_longest_waiting_idle_connection_makes_room() {
        let table = Arc::new(Table::new(3));
        let a = table.admit().unwrap();
        let b = table.admit().unwrap();
        let c = table.admit().unwrap();
        // b has waited longest, a next; c has a request in flight.
        let now = Instant::now();
        b.conn.times().head_since = now.checked_sub(Duration::from_secs(9));
        a.conn.times().head_since = now.checked_sub(Duration::from_secs(5));
        let busy = c.conn.begin_request();
        let d = table.admit().expect("b is idle: evicted for d");
        let told = |x: &Admitted| {
            let notified = x.conn.evicted.notified();
            tokio::pin!(notified);
            notified.as_mut().enable()
        };
        assert!(told(&b), "b, the longest waiting, was told to close");
        assert!(!told(&a), "a was not");
        let e = table.admit().expect("a is idle: evicted for e");
        assert!(told(&a));
        let _busy_d = d.conn.begin_request();
        let _busy_e = e.conn.begin_request();
        assert!(table.admit().is_none(), "every connection is busy: no room");
        drop([a, b]);
        assert_eq!(table.open().len(), 3);
        drop(busy);
        assert_eq!(c.conn.in_flight(), 0);
        drop(c);
        assert_eq!(
            table.open().len(),
            2,
            "a closed connection leaves the table"
        );
    }
}
