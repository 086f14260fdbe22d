//! The coordinator collector against a fake RPC node serving N generated runs
//! (default 1,000; `cargo test` runs it with 50 as a smoke test), and a fake Hub
//! holding the repo every run names: bytes and requests per poll for each tier
//! next to fetching whole accounts, poll duration, `/metrics` encode time and
//! scrape time with the run ↔ Hub checkpoint join included, and the real
//! binary's RSS (coordinator and Hub collectors, so the join too).
//!
//! `cargo build --release && cargo bench --bench coordinator`
//!
//! `BENCH_POLLS=120` watches the binary's RSS over 120 polls instead of 10.
//! `BENCH_SERVE_ONLY=1` only serves the fake node and prints its endpoint, to
//! profile the binary against it (e.g. under heaptrack).
//! `BENCH_BIN=<path>` measures the RSS of another build of the binary (an
//! earlier commit's, for a before/after comparison with the same load).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/support/fake_hub.rs"]
#[allow(dead_code)]
mod fake_hub;
#[path = "../tests/it/support/fake_rpc.rs"]
#[allow(dead_code)]
mod fake_rpc;
#[path = "../tests/it/support/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use psyche_exporter::collectors::checkpoints::Checkpoints;
use psyche_exporter::collectors::coordinator::{
    Coordinator, PROGRAM_LEGACY, PROGRAM_V1, ProgramId, Settings,
};
use psyche_exporter::collectors::huggingface::{self, HuggingFace};
use psyche_exporter::collectors::spec::Join;
use psyche_exporter::exposition::Format;
use psyche_exporter::health::Health;
use psyche_exporter::http::metrics::{scrape, scrape_gzip};
use psyche_exporter::poller::{Collector, Slot, Stats, Watched, poll_once, render};
use psyche_exporter::rpc::{Rpc, http_client};
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_pubkey::Pubkey;
use solana_rpc_client_api::config::RpcAccountInfoConfig;

struct Tally {
    bytes: u64,
    requests: u64,
}

fn tally(stats: &Stats) -> Tally {
    Tally {
        bytes: stats.bytes(),
        requests: stats.requests().iter().map(|(_, n)| n).sum(),
    }
}

/// `field` (`VmRSS`, `VmHWM`) of `pid`'s `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The Hub repo every generated run names (the `coord_train_37` fixture's),
/// with a `step N` commit at the head of main: the join has four series per run.
const REPO: &str = "PsycheFoundation/consilience-40b-7Y9v38s5";
const HEAD: &str = "c0ffee00000000000000000000000000000000aa";

async fn fake_hub() -> fake_hub::FakeHub {
    let hub = fake_hub::FakeHub::start().await;
    hub.put_model(fake_hub::model(REPO, HEAD, "2025-03-25T00:00:00.000Z"));
    hub.put_commits(
        REPO,
        vec![fake_hub::commit(
            HEAD,
            "step 99",
            "2025-03-25T00:00:00.000Z",
        )],
    );
    hub
}

#[tokio::main]
async fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = if benching { 1000 } else { 50 };
    let fake = fake_rpc::FakeRpc::start().await;
    let served = fixtures::serve_generated(&fake, n);
    let url: psyche_exporter::rpc::RpcUrl = fake.endpoint.parse().unwrap();
    if std::env::var("BENCH_SERVE_ONLY").is_ok() {
        println!("serving {}", fake.endpoint);
        tokio::time::sleep(Duration::from_secs(100000)).await;
    }

    // Two polls of the real collector: the first reads both tiers, the second
    // only the state tier (the detail tier is not due again for an hour).
    let stats = Stats::new("coordinator");
    let collector = Coordinator::new(
        Rpc::new(
            http_client(Duration::from_secs(30)).unwrap(),
            url.clone(),
            Arc::clone(&stats),
        ),
        Settings {
            programs: vec![
                PROGRAM_V1.parse::<ProgramId>().unwrap(),
                PROGRAM_LEGACY.parse().unwrap(),
            ],
            run_ids: vec![],
            detail_interval: Duration::from_secs(3600),
            max_age: Duration::from_secs(90),
        },
        Arc::clone(&stats),
    );
    let t0 = Instant::now();
    let snapshot = collector.poll().await.unwrap();
    let both = t0.elapsed();
    let after_first = tally(&stats);
    assert_eq!(snapshot.runs.len(), n);
    let t1 = Instant::now();
    collector.poll().await.unwrap();
    let state_only = t1.elapsed();
    // What the poll loop does after each poll.
    let t2 = Instant::now();
    psyche_exporter::memory::release_free_memory();
    let trim = t2.elapsed();
    let after_second = tally(&stats);
    let state = Tally {
        bytes: after_second.bytes - after_first.bytes,
        requests: after_second.requests - after_first.requests,
    };
    let detail = Tally {
        bytes: after_first.bytes - state.bytes,
        requests: after_first.requests - state.requests,
    };

    // The alternative: whole accounts, as base64 and as base64+zstd.
    let mut whole = Vec::new();
    for encoding in [UiAccountEncoding::Base64, UiAccountEncoding::Base64Zstd] {
        let stats = Stats::new("full");
        let rpc = Rpc::new(
            http_client(Duration::from_secs(60)).unwrap(),
            url.clone(),
            Arc::clone(&stats),
        );
        let keys: Vec<Pubkey> = served.iter().map(|s| s.account.parse().unwrap()).collect();
        for chunk in keys.chunks(100) {
            let config = RpcAccountInfoConfig {
                encoding: Some(encoding),
                ..RpcAccountInfoConfig::default()
            };
            rpc.client
                .get_multiple_ui_accounts_with_config(chunk, config)
                .await
                .unwrap();
        }
        whole.push((encoding, tally(&stats)));
    }

    // What a poll pays once: encoding the snapshot's families.
    let snapshot = Arc::new(snapshot);
    let t = Instant::now();
    let rendered = render::<Coordinator>(&snapshot, Format::OpenMetrics).unwrap();
    let render_time = t.elapsed();
    drop(rendered);

    // What a scrape pays: the exporter's /metrics body from the published
    // snapshots (runs and Hub), the run ↔ Hub join, and the live health
    // families, as the HTTP handler builds it.
    let slot: Arc<Slot<Coordinator>> = Slot::new(
        Arc::clone(&stats),
        Duration::from_secs(30),
        Duration::from_secs(90),
    );
    poll_once(&collector, &slot, Duration::from_secs(30)).await;
    let _ = slot.body(Format::Text); // as the first scrape does; later polls pre-render
    poll_once(&collector, &slot, Duration::from_secs(30)).await;
    let hub = fake_hub().await;
    let hub_stats = Stats::new("huggingface");
    let hf = HuggingFace::new(
        http_client(Duration::from_secs(30)).unwrap(),
        huggingface::Settings {
            endpoint: hub.endpoint.parse().unwrap(),
            authors: vec!["PsycheFoundation".into()],
            token: None,
            max_age: Duration::from_secs(900),
        },
        Arc::clone(&hub_stats),
        Some(Arc::clone(&slot)),
    );
    let hub_slot: Arc<Slot<HuggingFace>> = Slot::new(
        hub_stats,
        Duration::from_secs(300),
        Duration::from_secs(900),
    );
    poll_once(&hf, &hub_slot, Duration::from_secs(30)).await;
    let _ = hub_slot.body(Format::Text);
    poll_once(&hf, &hub_slot, Duration::from_secs(30)).await;
    let watched: Vec<Arc<dyn Watched>> = vec![slot.clone(), hub_slot.clone()];
    let joins: Vec<Arc<dyn Join>> = vec![Arc::new(Checkpoints::new(
        Arc::clone(&slot),
        Arc::clone(&hub_slot),
    ))];
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Health::new(watched.clone())));
    // The first scrape after a poll encodes the join of the new snapshots once.
    let t = Instant::now();
    let first = scrape(Format::Text, &watched, &joins, &registry).unwrap();
    let first_scrape = t.elapsed();
    let first: Vec<u8> = first.iter().flat_map(|c| c.to_vec()).collect();
    let joined = String::from_utf8_lossy(&first)
        .lines()
        .filter(|l| l.starts_with("psyche_run_checkpoint_step{"))
        .count();
    assert_eq!(joined, n, "the scrape carries the join of every run");
    let mut times: Vec<Duration> = (0..if benching { 2000 } else { 20 })
        .map(|_| {
            let t = Instant::now();
            let body = scrape(Format::Text, &watched, &joins, &registry).unwrap();
            std::hint::black_box(body.len());
            t.elapsed()
        })
        .collect();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize];
    let body_len: usize = first.len();

    // The same scrape gzip-compressed, as Prometheus asks for it: the snapshots'
    // bodies compressed once (the first gzip scrape after a poll pays for it),
    // every later scrape only joins the shared segments and the live families.
    let t = Instant::now();
    let first_gzip = scrape_gzip(Format::Text, &watched, &joins, &registry).unwrap();
    let first_gzip_scrape = t.elapsed();
    let gzip_len: usize = first_gzip.iter().map(|c| c.len()).sum();
    {
        use std::io::Read as _;
        let wire: Vec<u8> = first_gzip.iter().flat_map(|c| c.to_vec()).collect();
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&wire[..])
            .read_to_end(&mut plain)
            .unwrap();
        // The live families (uptime, durations) may differ between the two scrapes.
        let runs = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .lines()
                .filter(|l| l.starts_with("psyche_run"))
                .count()
        };
        assert_eq!(
            runs(&plain),
            runs(&first),
            "gzip and plain carry the same runs"
        );
    }
    let mut gzip_times: Vec<Duration> = (0..if benching { 2000 } else { 20 })
        .map(|_| {
            let t = Instant::now();
            let body = scrape_gzip(Format::Text, &watched, &joins, &registry).unwrap();
            std::hint::black_box(body.len());
            t.elapsed()
        })
        .collect();
    gzip_times.sort();
    let gzip_pct = |p: f64| gzip_times[((gzip_times.len() as f64 - 1.0) * p) as usize];

    let per_run = |t: &Tally| t.bytes as f64 / n as f64 / 1024.0;
    println!("coordinator collector, {n} runs served by the fake RPC");
    println!("| tier | requests per poll | bytes per poll | per run |");
    println!("|---|---|---|---|");
    println!(
        "| state (every poll) | {} | {:.0} KiB | {:.2} KiB |",
        state.requests,
        state.bytes as f64 / 1024.0,
        per_run(&state)
    );
    println!(
        "| detail (every detail-interval) | {} | {:.0} KiB | {:.2} KiB |",
        detail.requests,
        detail.bytes as f64 / 1024.0,
        per_run(&detail)
    );
    for (encoding, t) in &whole {
        println!(
            "| whole accounts, {encoding:?} | {} | {:.0} KiB | {:.2} KiB |",
            t.requests,
            t.bytes as f64 / 1024.0,
            per_run(t)
        );
    }
    println!("poll duration: state+detail {both:.2?}, state only {state_only:.2?}");
    println!("snapshot render (once per poll and wanted format): {render_time:.2?}");
    println!("returning free memory to the OS after a poll: {trim:.2?}");
    println!(
        "first /metrics scrape after a poll (encodes the checkpoint join of {n} runs once): {first_scrape:.2?}"
    );
    println!(
        "/metrics scrape body, runs + Hub + join ({} KiB): p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        body_len / 1024,
        pct(0.5),
        pct(0.99),
        times.last().unwrap()
    );

    println!(
        "first gzip scrape after a poll (compresses the snapshots' bodies once): {first_gzip_scrape:.2?}"
    );
    println!(
        "/metrics wire bytes per scrape: text {} KiB, gzip {} KiB ({:.1}% of the text, 1/{:.0}); gzip scrape p50 {:.2?}, p99 {:.2?}",
        body_len / 1024,
        gzip_len / 1024,
        gzip_len as f64 * 100.0 / body_len as f64,
        body_len as f64 / gzip_len as f64,
        gzip_pct(0.5),
        gzip_pct(0.99)
    );
    assert!(gzip_len * 10 < body_len, "gzip under 1/10 of the text");

    // RSS of the real binary polling the same fake.
    let bin = std::env::var("BENCH_BIN").unwrap_or_else(|_| {
        format!(
            "{}/target/{}/psyche-exporter",
            env!("CARGO_MANIFEST_DIR"),
            if benching { "release" } else { "debug" }
        )
    });
    if !std::path::Path::new(&bin).exists() {
        println!("(no {bin}: skipping RSS)");
        return;
    }
    let mut child = Command::new(&bin)
        .args([
            "--web.listen-address=127.0.0.1:0",
            "--no-collector.solana",
            "--no-collector.pool",
            "--no-collector.treasurer",
            "--coordinator.interval=1s",
            "--coordinator.timeout=900ms",
            "--coordinator.detail-interval=3s",
            "--hf.interval=2s",
            "--hf.timeout=1s",
        ])
        .arg(format!("--coordinator.rpc-url={}", fake.endpoint))
        .arg(format!("--hf.endpoint={}", hub.endpoint))
        .envs(
            std::env::var("BENCH_MALLOC_ARENA_MAX")
                .ok()
                .map(|v| ("MALLOC_ARENA_MAX", v)),
        )
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let address = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| {
                l.split(' ')
                    .find_map(|kv| kv.strip_prefix("address=").map(str::to_owned))
            })
    })
    .join()
    .unwrap()
    .expect("the exporter logs its address");
    let deadline = Instant::now() + Duration::from_secs(120);
    // RSS sampled every 100 ms (a scrape every other sample) from when every
    // run shows until `polls` more polls have run, and the kernel's high-water mark.
    let polls: u64 = std::env::var("BENCH_POLLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let deadline = deadline + Duration::from_secs(2 * polls);
    let mut samples = Vec::new();
    let mut durations: Vec<String> = Vec::new();
    let mut polls_at_all_runs = None;
    loop {
        let text = reqwest::get(format!("http://{address}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Every run, and its checkpoint joined with the Hub.
        let runs = text
            .lines()
            .filter(|l| l.starts_with("psyche_run_step{"))
            .count()
            .min(
                text.lines()
                    .filter(|l| l.starts_with("psyche_run_checkpoint_step{"))
                    .count(),
            );
        if polls_at_all_runs.is_some()
            && let Some(took) = text.lines().find_map(|l| {
                l.strip_prefix(
                    r#"psyche_exporter_collector_poll_duration_seconds{collector="coordinator"} "#,
                )
            })
        {
            durations.push(took.to_owned());
        }
        if runs == n && polls_at_all_runs.is_none() {
            polls_at_all_runs = Some(fake.calls("getProgramAccounts"));
        }
        // `polls` polls (two discovery calls each: two programs) after all runs show.
        if let Some(at) = polls_at_all_runs {
            if fake.calls("getProgramAccounts") >= at + 2 * polls {
                break;
            }
            for _ in 0..2 {
                samples.extend(status_kib(child.id(), "VmRSS"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            Instant::now() < deadline,
            "exporter never showed {n} runs with their checkpoints"
        );
    }
    let peak = status_kib(child.id(), "VmHWM").unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    samples.sort_unstable();
    // One entry per poll: consecutive scrapes of the same poll repeat its value.
    durations.dedup();
    let mut durations: Vec<f64> = durations.iter().filter_map(|d| d.parse().ok()).collect();
    durations.sort_by(f64::total_cmp);
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "exporter RSS with {n} runs over {polls} polls ({} samples): median {:.1} MiB, max {:.1} MiB; peak since start (VmHWM) {:.1} MiB",
        samples.len(),
        mib(samples.get(samples.len() / 2).copied().unwrap_or(0)),
        mib(samples.last().copied().unwrap_or(0)),
        mib(peak)
    );
    println!(
        "the binary's own poll duration over {} polls: median {:.0} ms, max {:.0} ms",
        durations.len(),
        durations.get(durations.len() / 2).copied().unwrap_or(0.0) * 1000.0,
        durations.last().copied().unwrap_or(0.0) * 1000.0
    );
}
