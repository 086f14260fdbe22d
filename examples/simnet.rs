//! The demo: a simulated Psyche network on 127.0.0.1 (a fake Solana node with
//! three training runs that advance, and a fake HuggingFace Hub receiving a
//! `step N` checkpoint per epoch) and the real exporter watching it on
//! `127.0.0.1:10580`. Point Prometheus and Grafana at it to see populated
//! dashboards without any real network (README, "Demo").
//!
//! `cargo run --example simnet [-- --stall]` (`--stall` stops run 1's
//! checkpoints after a minute, so `PsycheCheckpointStale` fires).

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
#[path = "../tests/it/support/simnet.rs"]
#[allow(dead_code)]
mod simnet;

use std::time::Duration;

#[tokio::main]
async fn main() {
    let stall = std::env::args().any(|a| a == "--stall");
    let listen = std::env::var("SIMNET_LISTEN").unwrap_or_else(|_| "127.0.0.1:10580".to_owned());
    let sim = simnet::SimNet::start(3, Duration::from_secs(2), 15).await;
    let cli = psyche_exporter::Cli::try_parse_validated([
        "psyche-exporter".to_owned(),
        format!("--web.listen-address={listen}"),
        format!("--coordinator.rpc-url={}", sim.rpc.endpoint),
        format!("--pool.rpc-url={}", sim.rpc.endpoint),
        "--pool.program-id=CQy5JKR2Lrm16pqSY5nkMaMYSazRk2aYx99pJDNGupR7".to_owned(),
        "--pool.index=1".to_owned(),
        format!(
            "--coordinator.program-id={}",
            psyche_exporter::collectors::coordinator::PROGRAM_V1
        ),
        "--coordinator.interval=5s".to_owned(),
        "--coordinator.timeout=4s".to_owned(),
        "--coordinator.detail-interval=15s".to_owned(),
        format!("--hf.endpoint={}", sim.hub.endpoint),
        "--hf.interval=10s".to_owned(),
        "--hf.timeout=5s".to_owned(),
        "--solana.interval=5s".to_owned(),
        "--solana.timeout=2s".to_owned(),
        "--telemetry.interval=5s".to_owned(),
        "--telemetry.timeout=4s".to_owned(),
    ])
    .unwrap_or_else(|e| e.exit());
    psyche_exporter::logging::init(&cli.log);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .expect("the demo port is free");
    println!("simulated Solana RPC: {}", sim.rpc.endpoint);
    println!("simulated HuggingFace Hub: {}", sim.hub.endpoint);
    println!(
        "exporter: http://{listen}/ (metrics at /metrics); runs: {:?}",
        sim.run_ids()
    );
    if stall {
        let runs = sim.run_ids();
        tokio::spawn({
            let sim = std::sync::Arc::new(sim);
            async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                sim.stall_checkpoints(1);
                println!("stalled the checkpoints of {}", runs[1]);
                std::future::pending::<()>().await;
            }
        });
    } else {
        // Keep the simulation alive for as long as the exporter runs.
        std::mem::forget(sim);
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(e) = psyche_exporter::run(cli, listener, shutdown).await {
        eprintln!("exporter stopped: {e}");
    }
}
