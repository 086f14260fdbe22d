//! The telemetry collector's cost: RPC calls and bytes per poll for 10 active runs with
//! 32 witnesses per step (plus ticks and a failed witness per step), against a fake RPC
//! node answering in Agave's shapes.
//!
//! `cargo bench --bench telemetry` (`cargo test` runs it as a smoke test; the figures
//! are the same, they do not depend on the machine). Scenarios, in order, on one
//! collector:
//! 1. start: each run already has 50 steps of history; the first poll reads back to the
//!    newest witnessed step only;
//! 2. nothing new: a poll with no new transaction;
//! 3. a new step: 32 witnesses, 2 ticks and 1 failed witness per run, with a budget
//!    large enough for all (`--telemetry.max-transactions=400`);
//! 4. a new step under the default budget (100 per poll), on a collector that has
//!    caught up: the polls it takes.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/support/fake_rpc.rs"]
#[allow(dead_code)]
mod fake_rpc;
#[path = "../tests/it/support/fixtures.rs"]
#[allow(dead_code)]
mod fixtures;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use psyche_exporter::collectors::coordinator::{
    Coordinator, PROGRAM_LEGACY, PROGRAM_V1, ProgramId,
};
use psyche_exporter::collectors::telemetry::witness::{WitnessReport, encode_witness};
use psyche_exporter::collectors::telemetry::{self, Telemetry};
use psyche_exporter::poller::{Collector, Slot, Stats, poll_once};
use psyche_exporter::rpc::{Rpc, http_client};
use serde_json::json;

const RUNS: usize = 10;
const WITNESSES: u64 = 32;
const TICK: [u8; 8] = [0x5c, 0x4f, 0x2c, 0x08, 0x65, 0x50, 0x3f, 0x0f];

/// Puts one step of every run on the node: 32 witnesses, 2 ticks, 1 failed witness.
/// Returns the successful signatures added.
fn step(fake: &fake_rpc::FakeRpc, runs: &[fixtures::Served], step: u32, slot: &mut u64) -> u64 {
    let mut added = 0;
    for run in runs {
        for w in 0..WITNESSES {
            *slot += 1;
            let report = WitnessReport {
                step,
                tokens_per_sec: 50_000.0 + w as f32,
                bandwidth_per_sec: 2.0e7,
                loss: 2.0 + 1.0 / (1.0 + step as f32),
                evals: vec![("hellaswag".into(), 0.5), ("arc_easy".into(), 0.6)],
                efficiency: 0.9,
            };
            fake.put_transaction(fixtures::run_instruction(
                run,
                *slot,
                1_764_000_000 + *slot as i64,
                w,
                encode_witness(&report),
            ));
            added += 1;
        }
        for t in 0..2 {
            *slot += 1;
            fake.put_transaction(fixtures::run_instruction(
                run,
                *slot,
                1_764_000_000 + *slot as i64,
                100 + t,
                TICK.to_vec(),
            ));
            added += 1;
        }
        *slot += 1;
        let mut failed = fixtures::run_instruction(
            run,
            *slot,
            1_764_000_000 + *slot as i64,
            200,
            encode_witness(&WitnessReport {
                step,
                tokens_per_sec: 1.0,
                bandwidth_per_sec: 1.0,
                loss: 1.0,
                evals: vec![],
                efficiency: 0.0,
            }),
        );
        failed.err = Some(json!({"InstructionError": [0, {"Custom": 6001}]}));
        fake.put_transaction(failed);
    }
    added
}

#[derive(Default, Clone)]
struct Tally {
    requests: BTreeMap<String, u64>,
    bytes: u64,
}

fn tally(stats: &Stats) -> Tally {
    Tally {
        requests: stats.requests().into_iter().collect(),
        bytes: stats.bytes(),
    }
}

fn delta(before: &Tally, after: &Tally, method: &str) -> u64 {
    after.requests.get(method).copied().unwrap_or(0)
        - before.requests.get(method).copied().unwrap_or(0)
}

struct Row {
    scenario: String,
    polls: u64,
    listings: u64,
    transactions: u64,
    new_signatures: u64,
    bytes: u64,
    took: Duration,
}

fn telemetry_collector(
    url: &psyche_exporter::rpc::RpcUrl,
    budget: usize,
    runs: &Arc<Slot<Coordinator>>,
) -> (Telemetry, Arc<Stats>) {
    let stats = Stats::new("telemetry");
    let collector = Telemetry::new(
        Rpc::new(
            http_client(Duration::from_secs(30)).unwrap(),
            url.clone(),
            Arc::clone(&stats),
        ),
        telemetry::Settings {
            max_transactions: budget,
            max_age: Duration::from_secs(3600),
        },
        Arc::clone(&stats),
        Some(Arc::clone(runs)),
    );
    (collector, stats)
}

#[tokio::main]
async fn main() {
    let fake = fake_rpc::FakeRpc::start().await;
    let served = fixtures::serve_generated(&fake, RUNS);
    let url: psyche_exporter::rpc::RpcUrl = fake.endpoint.parse().unwrap();
    let mut slot_no = 1_000;
    for s in 1..=50 {
        step(&fake, &served, s, &mut slot_no);
    }

    // The run list, from the real coordinator collector.
    let coordinator_stats = Stats::new("coordinator");
    let coordinator = Coordinator::new(
        Rpc::new(
            http_client(Duration::from_secs(30)).unwrap(),
            url.clone(),
            Arc::clone(&coordinator_stats),
        ),
        psyche_exporter::collectors::coordinator::Settings {
            programs: vec![
                PROGRAM_V1.parse::<ProgramId>().unwrap(),
                PROGRAM_LEGACY.parse().unwrap(),
            ],
            run_ids: vec![],
            detail_interval: Duration::from_secs(3600),
            max_age: Duration::from_secs(3600),
        },
        Arc::clone(&coordinator_stats),
    );
    let runs: Arc<Slot<Coordinator>> = Slot::new(
        coordinator_stats,
        Duration::from_secs(30),
        Duration::from_secs(3600),
    );
    poll_once(&coordinator, &runs, Duration::from_secs(30)).await;

    let mut rows = Vec::new();
    let (collector, stats) = telemetry_collector(&url, 400, &runs);
    let mut measure = |scenario: &str, polls: u64, new_signatures: u64, before: &Tally, took| {
        let after = tally(&stats);
        rows.push(Row {
            scenario: scenario.to_owned(),
            polls,
            listings: delta(before, &after, "getSignaturesForAddress"),
            transactions: delta(before, &after, "getTransaction"),
            new_signatures,
            bytes: after.bytes - before.bytes,
            took,
        });
        after
    };

    let before = tally(&stats);
    let t = Instant::now();
    let snapshot = collector.poll().await.unwrap();
    let before = measure(
        "start (50 steps of history per run)",
        1,
        50 * (WITNESSES + 2) * RUNS as u64,
        &before,
        t.elapsed(),
    );
    assert_eq!(snapshot.runs.len(), RUNS);
    assert!(snapshot.runs.iter().all(|r| r.latest.step == 50));

    let t = Instant::now();
    collector.poll().await.unwrap();
    let before = measure("nothing new", 1, 0, &before, t.elapsed());

    let added = step(&fake, &served, 51, &mut slot_no);
    let t = Instant::now();
    let snapshot = collector.poll().await.unwrap();
    let before = measure("one new step, budget 400", 1, added, &before, t.elapsed());
    assert!(
        snapshot
            .runs
            .iter()
            .all(|r| r.latest.step == 51 && r.latest.reports == WITNESSES as u32)
    );
    drop(before);

    // The default budget on a fresh collector that has caught up.
    let (collector, stats) = telemetry_collector(&url, 100, &runs);
    let mut catch_up = 0;
    while collector.poll().await.unwrap().pending > 0 && catch_up < 10 {
        catch_up += 1;
    }
    let added = step(&fake, &served, 52, &mut slot_no);
    let before = tally(&stats);
    let t = Instant::now();
    let mut polls = 0;
    loop {
        polls += 1;
        let s = collector.poll().await.unwrap();
        if s.pending == 0 || polls == 10 {
            break;
        }
    }
    let took = t.elapsed();
    let after = tally(&stats);
    rows.push(Row {
        scenario: "one new step, default budget 100".into(),
        polls,
        listings: delta(&before, &after, "getSignaturesForAddress"),
        transactions: delta(&before, &after, "getTransaction"),
        new_signatures: added,
        bytes: after.bytes - before.bytes,
        took,
    });

    println!(
        "telemetry: {RUNS} active runs x {WITNESSES} witnesses per step (+2 ticks, +1 failed witness)"
    );
    println!(
        "| scenario | polls | getSignaturesForAddress | getTransaction | new successful signatures | bytes received | time |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {:.1} KiB | {:.0} ms |",
            r.scenario,
            r.polls,
            r.listings,
            r.transactions,
            r.new_signatures,
            r.bytes as f64 / 1024.0,
            r.took.as_secs_f64() * 1000.0
        );
    }
    // The claims the README makes from these figures.
    assert_eq!(rows[1].listings, RUNS as u64);
    assert_eq!(rows[1].transactions, 0);
    assert_eq!(rows[2].listings, RUNS as u64);
    assert_eq!(rows[2].transactions, rows[2].new_signatures);
    assert_eq!(rows[3].transactions, rows[3].new_signatures);
}
