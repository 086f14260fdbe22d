//! The Solana RPC health collector against fake nodes.

use std::time::Duration;

use serde_json::json;

use crate::support::exporter::{Exporter, ONLY_SOLANA, assert_golden, has_family, mask, value};
use crate::support::fake_rpc::{FakeRpc, MAINNET, Reply};

const WAIT: Duration = Duration::from_secs(10);

async fn exporter(urls: &[&str], timing: &[&str]) -> Exporter {
    let mut args: Vec<String> = ONLY_SOLANA.iter().map(|s| (*s).to_owned()).collect();
    args.extend(urls.iter().map(|u| format!("--solana.rpc-url={u}")));
    args.extend(timing.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Exporter::start(&refs).await
}

const FAST: [&str; 2] = ["--solana.interval=300ms", "--solana.timeout=200ms"];

fn up(endpoint: &str) -> String {
    format!("psyche_solana_rpc_up{{endpoint=\"{endpoint}\"}}")
}

fn errors(kind: &str) -> String {
    format!("psyche_exporter_collector_poll_errors_total{{collector=\"solana\",kind=\"{kind}\"}}")
}

#[tokio::test]
async fn two_endpoints_golden_exposition() {
    let a = FakeRpc::start_on("127.0.0.1").await;
    let b = FakeRpc::start_on("127.0.0.2").await;
    b.set_slot(349_999_900);
    let c = FakeRpc::start_on("127.0.0.3").await;
    c.set_genesis(MAINNET);
    c.set_slot(380_000_000);
    let exp = exporter(&[&a.endpoint, &b.endpoint, &c.endpoint], &FAST).await;
    let text = exp
        .metrics_until("three endpoints up", WAIT, |t| {
            [&a, &b, &c]
                .iter()
                .all(|f| value(t, &up(&f.endpoint)) == Some(1.0))
                && value(t, "psyche_exporter_collector_up{collector=\"solana\"}") == Some(1.0)
        })
        .await;
    let behind = |f: &FakeRpc| {
        value(
            &text,
            &format!("psyche_solana_slots_behind{{endpoint=\"{}\"}}", f.endpoint),
        )
    };
    assert_eq!(behind(&a), Some(0.0));
    assert_eq!(behind(&b), Some(100.0), "behind the best devnet endpoint");
    assert_eq!(behind(&c), Some(0.0), "alone on mainnet");
    let e = &a.endpoint;
    assert_eq!(
        value(
            &text,
            &format!("psyche_solana_transactions_per_second{{endpoint=\"{e}\"}}")
        ),
        Some(4000.0)
    );
    assert_eq!(
        value(
            &text,
            &format!("psyche_solana_epoch_progress_ratio{{endpoint=\"{e}\"}}")
        ),
        Some(0.25)
    );
    assert_eq!(
        value(
            &text,
            &format!("psyche_solana_slot{{endpoint=\"{e}\",commitment=\"finalized\"}}")
        ),
        Some(349_999_969.0)
    );
    assert_eq!(
        value(
            &text,
            &format!(
                "psyche_solana_rpc_info{{endpoint=\"{}\",cluster=\"mainnet-beta\",version=\"2.3.6\"}}",
                c.endpoint
            )
        ),
        Some(1.0)
    );
    let masked = mask(
        &text,
        &[
            (&a.endpoint, "http://fake-a"),
            (&b.endpoint, "http://fake-b"),
            (&c.endpoint, "http://fake-c"),
        ],
    );
    assert_golden("solana.txt", &masked);
}

/// One endpoint broken by `reply` on `getHealth`, one healthy: the broken one
/// is down with the error counted as `kind`, the healthy one unaffected.
async fn fault_is_counted_as(reply: Reply, kind: &str) {
    let bad = FakeRpc::start().await;
    let good = FakeRpc::start().await;
    bad.set("getHealth", reply);
    let exp = exporter(&[&bad.endpoint, &good.endpoint], &FAST).await;
    let text = exp
        .metrics_until(&format!("a {kind} error"), WAIT, |t| {
            value(t, &errors(kind)).is_some_and(|n| n >= 1.0)
                && value(t, &up(&good.endpoint)) == Some(1.0)
        })
        .await;
    assert_eq!(value(&text, &up(&bad.endpoint)), Some(0.0));
    assert_eq!(value(&text, &up(&good.endpoint)), Some(1.0));
    assert_eq!(
        value(&text, "psyche_exporter_collector_up{collector=\"solana\"}"),
        Some(0.0)
    );
    assert_eq!(
        value(
            &text,
            "psyche_exporter_collector_serving{collector=\"solana\"}"
        ),
        Some(1.0)
    );
    for other in [
        "timeout",
        "http",
        "status",
        "rate_limited",
        "decode",
        "rpc",
        "missing",
    ] {
        if other != kind {
            assert_eq!(
                value(&text, &errors(other)),
                Some(0.0),
                "{other} while testing {kind}"
            );
        }
    }
    let good_slot = format!(
        "psyche_solana_slot{{endpoint=\"{}\",commitment=\"confirmed\"}}",
        good.endpoint
    );
    assert_eq!(value(&text, &good_slot), Some(350_000_000.0));
}

#[tokio::test]
async fn http_500_is_status() {
    fault_is_counted_as(Reply::Status(500), "status").await;
}

#[tokio::test]
async fn http_429_is_rate_limited() {
    fault_is_counted_as(Reply::TooManyRequests { retry_after: None }, "rate_limited").await;
}

#[tokio::test]
async fn malformed_json_is_decode() {
    fault_is_counted_as(Reply::Malformed, "decode").await;
}

#[tokio::test]
async fn slow_reply_is_timeout() {
    fault_is_counted_as(Reply::Slow(Duration::from_secs(3)), "timeout").await;
}

#[tokio::test]
async fn json_rpc_error_is_rpc() {
    fault_is_counted_as(
        Reply::RpcError {
            code: -32603,
            message: "Internal error".into(),
            data: None,
        },
        "rpc",
    )
    .await;
}

#[tokio::test]
async fn unreachable_endpoint_is_http() {
    // A port nothing listens on: bind, learn the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = format!("http://127.0.0.1:{port}");
    let good = FakeRpc::start().await;
    let exp = exporter(&[&dead, &good.endpoint], &FAST).await;
    let text = exp
        .metrics_until("an http error", WAIT, |t| {
            value(t, &errors("http")).is_some_and(|n| n >= 1.0) && value(t, &up(&dead)).is_some()
        })
        .await;
    assert_eq!(value(&text, &up(&dead)), Some(0.0), "{text}");
    assert!(!text.contains(&format!("psyche_solana_slot{{endpoint=\"{dead}\"")));
}

#[tokio::test]
async fn node_behind_reports_its_own_count() {
    let node = FakeRpc::start().await;
    node.set(
        "getHealth",
        Reply::RpcError {
            code: -32005,
            message: "Node is behind by 42 slots".into(),
            data: Some(json!({"numSlotsBehind": 42})),
        },
    );
    let exp = exporter(&[&node.endpoint], &FAST).await;
    let behind = format!(
        "psyche_solana_slots_behind{{endpoint=\"{}\"}}",
        node.endpoint
    );
    let text = exp
        .metrics_until("slots behind", WAIT, |t| value(t, &behind).is_some())
        .await;
    assert_eq!(value(&text, &behind), Some(42.0));
    assert_eq!(value(&text, &up(&node.endpoint)), Some(0.0));
    assert!(value(&text, &errors("rpc")).is_some_and(|n| n >= 1.0));
    // It answered, so its latency and slots are still reported.
    assert!(
        value(
            &text,
            &format!(
                "psyche_solana_rpc_latency_seconds{{endpoint=\"{}\"}}",
                node.endpoint
            )
        )
        .is_some()
    );
    assert!(
        value(
            &text,
            &format!(
                "psyche_solana_slot{{endpoint=\"{}\",commitment=\"confirmed\"}}",
                node.endpoint
            )
        )
        .is_some()
    );
}

#[tokio::test]
async fn node_behind_without_count_is_compared_with_its_cluster() {
    let lagging = FakeRpc::start().await;
    let best = FakeRpc::start().await;
    lagging.set_slot(349_999_000);
    lagging.set(
        "getHealth",
        Reply::RpcError {
            code: -32005,
            message: "Node is unhealthy".into(),
            data: Some(json!({})),
        },
    );
    let exp = exporter(&[&lagging.endpoint, &best.endpoint], &FAST).await;
    let behind = format!(
        "psyche_solana_slots_behind{{endpoint=\"{}\"}}",
        lagging.endpoint
    );
    let text = exp
        .metrics_until("slots behind", WAIT, |t| value(t, &behind).is_some())
        .await;
    assert_eq!(value(&text, &behind), Some(1000.0));
    assert_eq!(value(&text, &up(&lagging.endpoint)), Some(0.0));
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let limited = FakeRpc::start().await;
    let good = FakeRpc::start().await;
    limited.set(
        "getHealth",
        Reply::TooManyRequests {
            retry_after: Some("3600".into()),
        },
    );
    let exp = exporter(&[&limited.endpoint, &good.endpoint], &FAST).await;
    exp.metrics_until("rate limited", WAIT, |t| {
        value(t, &errors("rate_limited")) == Some(1.0)
    })
    .await;
    let asked = limited.total_calls();
    let polls = good.calls("getHealth");
    // Let three more polls happen (seen on the healthy endpoint).
    let deadline = std::time::Instant::now() + WAIT;
    while good.calls("getHealth") < polls + 3 {
        assert!(std::time::Instant::now() < deadline, "polls stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        limited.total_calls(),
        asked,
        "no request during Retry-After"
    );
    let text = exp.metrics().await;
    assert_eq!(value(&text, &up(&limited.endpoint)), Some(0.0));
    assert_eq!(
        value(&text, &errors("rate_limited")),
        Some(1.0),
        "counted once, not per skipped poll"
    );
    let page = exp.get("/").await.body;
    assert!(page.contains("rate limited; next request in"), "{page}");
}

#[tokio::test]
async fn last_good_is_kept_then_dropped_after_max_age() {
    let node = FakeRpc::start().await;
    let exp = exporter(
        &[&node.endpoint],
        &[
            "--solana.interval=200ms",
            "--solana.timeout=100ms",
            "--solana.max-age=1500ms",
        ],
    )
    .await;
    let slot = format!(
        "psyche_solana_slot{{endpoint=\"{}\",commitment=\"confirmed\"}}",
        node.endpoint
    );
    exp.metrics_until("a good poll", WAIT, |t| value(t, &slot).is_some())
        .await;
    node.set_all(Reply::Status(503));
    let text = exp
        .metrics_until("the endpoint down", WAIT, |t| {
            value(t, &up(&node.endpoint)) == Some(0.0)
        })
        .await;
    assert_eq!(
        value(&text, &slot),
        Some(350_000_000.0),
        "last good slot still served"
    );
    let text = exp
        .metrics_until("the readings dropped", WAIT, |t| value(t, &slot).is_none())
        .await;
    assert_eq!(
        value(&text, &up(&node.endpoint)),
        Some(0.0),
        "the endpoint itself stays visible"
    );
    assert!(!has_family(&text, "psyche_solana_epoch"));
    assert!(has_family(&text, "psyche_exporter_collector_up"));
    // And it comes back.
    node.heal();
    exp.metrics_until("recovery", WAIT, |t| {
        value(t, &slot).is_some() && value(t, &up(&node.endpoint)) == Some(1.0)
    })
    .await;
}

#[tokio::test]
async fn readyz_turns_ready_after_the_first_poll() {
    let node = FakeRpc::start().await;
    node.set("getHealth", Reply::Slow(Duration::from_millis(1500)));
    let exp = exporter(
        &[&node.endpoint],
        &["--solana.interval=10s", "--solana.timeout=5s"],
    )
    .await;
    let first = exp.get("/readyz").await;
    assert_eq!(first.status, 503);
    assert!(first.body.contains("solana"), "{}", first.body);
    assert_eq!(
        exp.get("/healthz").await.status,
        200,
        "liveness never waits on upstreams"
    );
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if exp.get("/readyz").await.status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(value(&exp.metrics().await, &up(&node.endpoint)), Some(1.0));
}

#[tokio::test]
async fn secret_in_url_never_shown() {
    const SECRET: &str = "k3y-SECRET-5f2a";
    let node = FakeRpc::start().await;
    let url = node.secret_url(SECRET);
    let exp = exporter(&[&url], &FAST).await;
    exp.metrics_until("up", WAIT, |t| value(t, &up(&node.endpoint)) == Some(1.0))
        .await;
    node.set_all(Reply::Status(500));
    exp.metrics_until("down", WAIT, |t| value(t, &up(&node.endpoint)) == Some(0.0))
        .await;
    for (path, accept) in [
        ("/metrics", None),
        ("/metrics", Some("application/openmetrics-text")),
        ("/", None),
    ] {
        let body = exp.get_with(path, accept).await.body;
        assert!(!body.contains(SECRET), "{path} shows the secret:\n{body}");
        assert!(body.contains(&node.endpoint), "{path} names the endpoint");
    }
}
