//! The HTTP server's limits against hostile clients: half-sent requests, idle
//! connections, a full connection table, and shutdown while they are open.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::exporter::{Exporter, ONLY_SOLANA};
use crate::support::fake_rpc::FakeRpc;

/// An exporter with only the Solana collector, on a fake node, and `web` flags.
async fn exporter(node: &FakeRpc, web: &[&str]) -> Exporter {
    let rpc = format!("--solana.rpc-url={}", node.endpoint);
    let mut args: Vec<&str> = ONLY_SOLANA.to_vec();
    args.push(&rpc);
    args.extend_from_slice(web);
    Exporter::start(&args).await
}

/// A connection that has sent the first lines of a request and stops there.
async fn half_request(addr: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    s
}

/// Read until the server closes `s` (EOF or reset): how long that took, or
/// `None` if it is still open after `within`. Bytes read are appended to `got`.
async fn closed_within(s: &mut TcpStream, within: Duration, got: &mut Vec<u8>) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The server has accepted every connection made before this returns: the
/// accept loop takes connections in order, and this one got an answer.
async fn accepted_so_far(exp: &Exporter) {
    assert_eq!(exp.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn a_half_sent_request_is_cut_at_the_header_timeout() {
    let node = FakeRpc::start().await;
    let exp = exporter(&node, &["--web.read-header-timeout=1s"]).await;
    let mut s = half_request(exp.addr()).await;
    let mut got = Vec::new();
    let took = closed_within(&mut s, Duration::from_secs(6), &mut got)
        .await
        .expect("the connection is closed");
    // Counted from the accept, a little before `took` starts: not at once.
    assert!(
        took >= Duration::from_millis(500),
        "closed too early: {took:?}"
    );
    assert!(got.is_empty(), "no answer to half a request");
    // A client that sends nothing at all is cut at the same time.
    let mut silent = TcpStream::connect(exp.addr()).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5), &mut got)
            .await
            .is_some()
    );
    // The server still answers.
    assert_eq!(exp.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let node = FakeRpc::start().await;
    let exp = exporter(
        &node,
        &["--web.read-header-timeout=60s", "--web.idle-timeout=300ms"],
    )
    .await;
    let mut s = TcpStream::connect(exp.addr()).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let took = closed_within(&mut s, Duration::from_secs(5), &mut got)
        .await
        .expect("the idle connection is closed");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 200") && text.ends_with("ok\n"),
        "{text}"
    );
    assert!(
        took >= Duration::from_millis(250),
        "closed too early: {took:?}"
    );
}

#[tokio::test]
async fn a_full_connection_table_makes_room_for_a_scrape() {
    let node = FakeRpc::start().await;
    // Timeouts far beyond the test: only the cap can close anything.
    let exp = exporter(
        &node,
        &[
            "--web.max-connections=4",
            "--web.read-header-timeout=120s",
            "--web.idle-timeout=120s",
        ],
    )
    .await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(half_request(exp.addr()).await);
    }
    // A fresh scrape at the cap succeeds, quickly.
    let started = Instant::now();
    let metrics = tokio::time::timeout(Duration::from_secs(5), exp.get("/metrics"))
        .await
        .expect("a scrape at the cap is answered");
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("psyche_exporter_build_info"));
    assert!(started.elapsed() < Duration::from_secs(5));
    // It took the place of the connection that had waited longest.
    let mut got = Vec::new();
    assert!(
        closed_within(&mut idle[0], Duration::from_secs(5), &mut got)
            .await
            .is_some(),
        "the oldest idle connection was closed to make room"
    );
    // Scrape after scrape, each takes the place of an idle one.
    for _ in 0..6 {
        assert_eq!(exp.get("/metrics").await.status, 200);
    }
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_half_sent_request() {
    let node = FakeRpc::start().await;
    let exp = exporter(
        &node,
        &["--web.read-header-timeout=120s", "--web.idle-timeout=120s"],
    )
    .await;
    let mut half = half_request(exp.addr()).await;
    let mut idle = TcpStream::connect(exp.addr()).await.unwrap();
    accepted_so_far(&exp).await;
    let started = Instant::now();
    let stopped = exp.stop(Duration::from_secs(4)).await;
    assert!(
        matches!(stopped, Some(Ok(()))),
        "run did not return within 4 s of shutdown"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    let mut got = Vec::new();
    for s in [&mut half, &mut idle] {
        assert!(
            closed_within(s, Duration::from_secs(1), &mut got)
                .await
                .is_some()
        );
    }
}
