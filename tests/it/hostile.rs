//! Hostile and broken upstreams: compression bombs, endless and cut-short bodies,
//! `Retry-After` from every Solana-side collector. Each is counted under its fixed
//! kind, memory stays bounded, and the exporter keeps serving.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::exporter::{Exporter, assert_golden, has_family, value};
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
    eprintln!("peak RSS with 512 MiB zstd bombs: {peak_mib} MiB");
    assert!(peak_mib < 96, "peak RSS {peak_mib} MiB with 512 MiB bombs");
    // Then answers that never end: cut at the 32 MiB cap, memory still bounded.
    fake.set("getProgramAccounts", Reply::Endless);
    fake.set("getMultipleAccounts", Reply::Endless);
    let deadline = Instant::now() + WAIT;
    loop {
        let text = http
            .get(format!("http://{address}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if value(&text, &errors("coordinator", "too_large")).unwrap_or(0.0) >= 2.0
            && value(&text, &errors("pool", "too_large")).unwrap_or(0.0) >= 2.0
        {
            break;
        }
        assert!(Instant::now() < deadline, "no too_large errors:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let peak_mib = status_kib(child.id(), "VmHWM") / 1024;
    eprintln!("peak RSS after endless answers too: {peak_mib} MiB");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        peak_mib < 128,
        "peak RSS {peak_mib} MiB with endless answers"
    );
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

/// Accounts of layouts this exporter does not know (the two unmerged VERSION 2
/// layouts, 118,536 and 125,296 bytes, and a v1-sized account saying version 2):
/// `psyche_run_unsupported{size, version}` and no other series for them, `decode`
/// counted every poll, one warning per account (not per poll), and the answers list
/// them with state `unsupported`; the supported runs are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_layouts_are_reported_not_guessed() {
    use psyche_exporter::collectors::coordinator::PROGRAM_V1;
    use psyche_exporter::collectors::coordinator::account::{
        COORDINATOR_ACCOUNT_DISCRIMINATOR, Instance, encode_instance,
    };
    use solana_pubkey::Pubkey;

    let fake = FakeRpc::start().await;
    fixtures::serve_all(&fake);
    let mut v1_says_2 = fixtures::bytes("coord_train_37");
    v1_says_2[8..16].copy_from_slice(&2u64.to_le_bytes());
    let accounts: Vec<(&str, Vec<u8>)> = vec![
        ("dev-offchain-metadata", {
            let mut d = vec![0u8; 118_536];
            d[..8].copy_from_slice(&COORDINATOR_ACCOUNT_DISCRIMINATOR);
            d[8..16].copy_from_slice(&2u64.to_le_bytes());
            d
        }),
        ("claimer-wallet", {
            let mut d = vec![0u8; 125_296];
            d[..8].copy_from_slice(&COORDINATOR_ACCOUNT_DISCRIMINATOR);
            d[8..16].copy_from_slice(&2u64.to_le_bytes());
            d
        }),
        ("v1-size-version-2", v1_says_2),
    ];
    for (i, (run_id, data)) in accounts.iter().enumerate() {
        let account = Pubkey::new_from_array([0x70 + i as u8; 32]);
        let instance = Pubkey::new_from_array([0x80 + i as u8; 32]);
        fake.put_account(&account.to_string(), PROGRAM_V1, data.clone());
        fake.put_account(
            &instance.to_string(),
            PROGRAM_V1,
            encode_instance(&Instance {
                bump: 255,
                main_authority: [1; 32],
                join_authority: [2; 32],
                coordinator_account: account.to_bytes(),
                run_id: (*run_id).to_owned(),
            }),
        );
    }
    let unsupported = |run_id: &str, size: u64| {
        format!(
            "psyche_run_unsupported{{program=\"{PROGRAM_V1}\",run_id=\"{run_id}\",size=\"{size}\",version=\"2\"}}"
        )
    };

    let mut child = Command::new(BIN)
        .args([
            "--web.listen-address=127.0.0.1:0",
            "--no-collector.solana",
            "--no-collector.pool",
            "--no-collector.treasurer",
            "--no-collector.huggingface",
            "--no-collector.telemetry",
            "--coordinator.interval=300ms",
            "--coordinator.timeout=250ms",
        ])
        .arg(format!("--coordinator.rpc-url={}", fake.endpoint))
        .env_clear()
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let logs = Logs::capture(&mut child);
    let serving = logs.wait_line("address=").await;
    let base = format!(
        "http://{}",
        serving
            .split(' ')
            .find_map(|kv| kv.strip_prefix("address="))
            .unwrap()
            .trim()
    );
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let (http, url) = (http.clone(), format!("{base}{path}"));
        async move {
            let resp = http.get(url).send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    // Three polls' worth of errors: 3 unsupported accounts each.
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let (_, text) = get("/metrics").await;
        if value(&text, &errors("coordinator", "decode")).unwrap_or(0.0) >= 9.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        value(&text, &unsupported("dev-offchain-metadata", 118_536)),
        Some(1.0)
    );
    assert_eq!(
        value(&text, &unsupported("claimer-wallet", 125_296)),
        Some(1.0)
    );
    assert_eq!(
        value(&text, &unsupported("v1-size-version-2", 119_160)),
        Some(1.0)
    );
    for (run_id, _) in &accounts {
        let series = text
            .lines()
            .filter(|l| l.contains(&format!("run_id=\"{run_id}\"")))
            .count();
        assert_eq!(series, 1, "{run_id} has other series:\n{text}");
    }
    assert!(text.contains("run_id=\"hermes-p2p-warmup\""));
    let family: String = text
        .lines()
        .filter(|l| {
            l.starts_with("psyche_run_unsupported{")
                || l.starts_with("# HELP psyche_run_unsupported ")
                || l.starts_with("# TYPE psyche_run_unsupported ")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_golden("unsupported.txt", &family);

    let (status, runs) = get("/api/v1/runs").await;
    assert_eq!(status, 200);
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    let listed: Vec<&str> = runs["unsupported_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert_eq!(u["state"], "unsupported");
            u["run_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        listed,
        [
            "claimer-wallet",
            "dev-offchain-metadata",
            "v1-size-version-2"
        ]
    );
    let (status, one) = get("/api/v1/runs/claimer-wallet").await;
    assert_eq!(status, 200, "{one}");
    let one: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(one["run"], serde_json::Value::Null);
    assert_eq!(one["unsupported"]["account_size"], 125_296);
    assert!(
        one["unsupported"]["message"]
            .as_str()
            .unwrap()
            .contains("a newer exporter is needed")
    );
    let (_, page) = get("/").await;
    assert!(page.contains("state-unsupported"), "{page}");

    child.kill().unwrap();
    child.wait().unwrap();
    let all = logs.all();
    let warnings = all
        .lines()
        .filter(|l| {
            l.contains("level=warn")
                && l.contains("size=")
                && l.contains("unsupported CoordinatorAccount layout")
        })
        .count();
    assert_eq!(warnings, 3, "one warning per account:\n{all}");
}
