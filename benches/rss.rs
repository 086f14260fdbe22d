//! Resident memory of the real exporter binary after N polls of three fake
//! RPC endpoints (default 1,000; `cargo test` runs it with 20 as a smoke test).
//!
//! `cargo bench --bench rss` (builds the binary first: `cargo build --release`)

#[path = "../tests/it/support/fake_rpc.rs"]
#[allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]
mod fake_rpc;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
#[tokio::main]
async fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let polls: u64 = if benching { 1000 } else { 20 };
    let profile = if benching { "release" } else { "debug" };
    let bin = format!(
        "{}/target/{profile}/psyche-exporter",
        env!("CARGO_MANIFEST_DIR")
    );
    if !std::path::Path::new(&bin).exists() {
        eprintln!("{bin} missing: cargo build --{profile}");
        std::process::exit(if benching { 1 } else { 0 });
    }
    let fakes = [
        fake_rpc::FakeRpc::start_on("127.0.0.1").await,
        fake_rpc::FakeRpc::start_on("127.0.0.2").await,
        fake_rpc::FakeRpc::start_on("127.0.0.3").await,
    ];
    let mut cmd = Command::new(&bin);
    cmd.args([
        "--web.listen-address=127.0.0.1:0",
        "--no-collector.coordinator",
        "--no-collector.pool",
        "--no-collector.treasurer",
        "--no-collector.huggingface",
        "--solana.interval=10ms",
        "--solana.timeout=8ms",
        "--log.level=error",
    ]);
    for f in &fakes {
        cmd.arg(format!("--solana.rpc-url={}", f.endpoint));
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = Instant::now();
    let mut after_first = None;
    while fakes[0].calls("getHealth") < polls {
        if after_first.is_none() && fakes[0].calls("getHealth") >= 1 {
            after_first = rss_kib(pid);
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "polls too slow"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss = rss_kib(pid).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "exporter RSS after {polls} polls of 3 endpoints: {:.1} MiB (after the first poll: {:.1} MiB), {:.1}s",
        rss as f64 / 1024.0,
        after_first.unwrap_or(0) as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
}
