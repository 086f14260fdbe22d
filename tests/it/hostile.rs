//! Hostile and broken upstreams: compression bombs, endless and cut-short bodies,
//! `Retry-After` from every Solana-side collector. Each is counted under its fixed
//! kind, memory stays bounded, and the exporter keeps serving.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::exporter::{Exporter, has_family, value};
use crate::support::fake_rpc::{FakeRpc, Reply};
use crate::support::fixtures;
use crate::support::logs::Logs;

const BIN: &str = env!("CARGO_BIN_EXE_psyche-exporter");
const WAIT: Duration = Duration::from_secs(20);

fn errors(collector: &str, kind: &str) -> String {
    format!(
        "psyche_exporter_collector_poll_errors_total{{collector=\"{collector}\",kind=\"{kind}\"}}"
    )
}

/// `field` (`VmHWM`, `VmRSS`) of `pid`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// 512 MiB of zeros in a few KB of `base64+zstd`, answered for the pool, a run's
/// account (every window, the state tier's header first) and a treasury's vault mint:
/// each is a `decode` error for what it was, nothing else breaks, and the process's
/// peak RSS stays far below what one inflated bomb would take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_bombs_are_decode_errors_and_memory_stays_bounded() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_all(&fake);
    let pool = fixtures::serve_pool_open(&fake);
    let bombed = runs
        .iter()
        .find(|r| r.run_id == "consilience-40b-7Y9v38s5")
        .unwrap();
    fake.put_bomb(&pool.address, 512 << 20);
    fake.put_bomb(&bombed.account, 512 << 20);
    let mut child = Command::new(BIN)
        .args([
            "--web.listen-address=127.0.0.1:0",
            "--no-collector.solana",
            "--no-collector.treasurer",
            "--no-collector.huggingface",
            "--no-collector.telemetry",
            "--coordinator.interval=500ms",
            "--coordinator.timeout=400ms",
            "--coordinator.detail-interval=500ms",
            "--pool.interval=500ms",
            "--pool.timeout=400ms",
            "--pool.index=1",
        ])
        .arg(format!("--pool.program-id={}", pool.program))
        .arg(format!("--coordinator.rpc-url={}", fake.endpoint))
        .arg(format!("--pool.rpc-url={}", fake.endpoint))
        .env_clear()
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let logs = Logs::capture(&mut child);
    let serving = logs.wait_line("address=").await;
    let address = serving
        .split(' ')
        .find_map(|kv| kv.strip_prefix("address="))
        .unwrap()
        .trim()
        .to_owned();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let text = http
            .get(format!("http://{address}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let bombs_seen = value(&text, &errors("pool", "decode")).unwrap_or(0.0) >= 2.0
            && value(&text, &errors("coordinator", "decode")).unwrap_or(0.0) >= 2.0;
        if bombs_seen {
            break text;
        }
        assert!(Instant::now() < deadline, "no decode errors:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The bombed run and pool have no series; the other runs are served.
    assert!(!text.contains(&format!("run_id=\"{}\"", bombed.run_id)));
    assert!(!has_family(&text, "psyche_pool_deposited_tokens"));
    let other = runs
        .iter()
        .find(|r| r.run_id == "hermes-p2p-warmup")
        .unwrap();
    assert!(text.contains(&format!("run_id=\"{}\"", other.run_id)));
    let peak_mib = status_kib(child.id(), "VmHWM") / 1024;
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(peak_mib < 96, "peak RSS {peak_mib} MiB with 512 MiB bombs");
}

async fn exporter(fake: &FakeRpc, extra: &[&str]) -> Exporter {
    let mut args: Vec<String> = [
        "--no-collector.solana",
        "--no-collector.treasurer",
        "--no-collector.huggingface",
        "--no-collector.telemetry",
        "--no-collector.pool",
        "--coordinator.interval=300ms",
        "--coordinator.timeout=250ms",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--coordinator.rpc-url={}", fake.endpoint));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Exporter::start(&refs).await
}

/// A bomb in the detail tier only (the client lists, read as `base64+zstd`): counted
/// as `decode`, `up` 0, the run's state still served without its client series.
#[tokio::test]
async fn a_detail_tier_bomb_is_counted() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_all(&fake);
    let run = runs
        .iter()
        .find(|r| r.run_id == "consilience-40b-7Y9v38s5")
        .unwrap();
    fake.put_zstd_bomb(&run.account, 64 << 20);
    let exp = exporter(&fake, &["--coordinator.detail-interval=300ms"]).await;
    let series = |name: &str| {
        format!(
            "{name}{{program=\"{}\",run_id=\"{}\"}}",
            run.program, run.run_id
        )
    };
    let text = exp
        .metrics_until("a detail decode error", WAIT, |t| {
            value(t, &errors("coordinator", "decode")).is_some_and(|n| n >= 1.0)
                && value(t, &series("psyche_run_step")).is_some()
        })
        .await;
    assert_eq!(
        value(
            &text,
            "psyche_exporter_collector_up{collector=\"coordinator\"}"
        ),
        Some(0.0)
    );
    assert_eq!(value(&text, &series("psyche_run_pending_clients")), None);
}

/// An answer that never ends is cut at its cap (`too_large`); one cut short by a
/// reset is `http`; the exporter keeps serving and recovers when the node heals.
#[tokio::test]
async fn endless_and_cut_short_bodies() {
    let fake = FakeRpc::start().await;
    fixtures::serve_all(&fake);
    fake.set("getProgramAccounts", Reply::Endless);
    let exp = exporter(&fake, &[]).await;
    exp.metrics_until("too_large", WAIT, |t| {
        value(t, &errors("coordinator", "too_large")).is_some_and(|n| n >= 1.0)
    })
    .await;
    fake.set("getProgramAccounts", Reply::Reset);
    let text = exp
        .metrics_until("a reset counted as http", WAIT, |t| {
            value(t, &errors("coordinator", "http")).is_some_and(|n| n >= 1.0)
        })
        .await;
    assert_eq!(value(&text, &errors("coordinator", "decode")), Some(0.0));
    fake.heal();
    exp.metrics_until("recovered", WAIT, |t| {
        value(t, "psyche_exporter_collector_up{collector=\"coordinator\"}") == Some(1.0)
            && has_family(t, "psyche_run_step")
    })
    .await;
}

/// `Retry-After: 600` on the coordinator's node: one request, one `rate_limited`
/// error, then no request (and no further error) while polls are skipped; the
/// landing page says how long is left.
#[tokio::test]
async fn the_coordinator_honours_retry_after() {
    let fake = FakeRpc::start().await;
    fixtures::serve_all(&fake);
    fake.set(
        "getProgramAccounts",
        Reply::TooManyRequests {
            retry_after: Some("600".into()),
        },
    );
    let exp = exporter(&fake, &[]).await;
    exp.metrics_until("the 429", WAIT, |t| {
        value(t, &errors("coordinator", "rate_limited")) == Some(1.0)
    })
    .await;
    let calls = fake.total_calls();
    // Skipped polls go on (every 300 ms) and the wait counts down.
    let deadline = Instant::now() + WAIT;
    loop {
        let page = exp.get("/").await.body;
        if page.contains("waiting 597s more") || page.contains("waiting 596s more") {
            break;
        }
        assert!(Instant::now() < deadline, "no countdown:\n{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = exp.metrics().await;
    assert_eq!(fake.total_calls(), calls, "requests during the back-off");
    assert_eq!(
        value(&text, &errors("coordinator", "rate_limited")),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "psyche_exporter_collector_up{collector=\"coordinator\"}"
        ),
        Some(0.0)
    );
}
