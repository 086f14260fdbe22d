//! Training telemetry: the telemetry collector against a fake RPC node that holds a
//! training run (the `coord_train_37` fixture, in `round_train`) and its witness
//! transactions, in the shapes Agave answers with.

use std::time::Duration;

use psyche_exporter::collectors::telemetry::witness::{WitnessReport, encode_witness};
use serde_json::json;
use solana_pubkey::Pubkey;

use crate::support::exporter::{Exporter, assert_golden, assert_promtool_accepts, mask, value};
use crate::support::fake_rpc::{FakeRpc, Lookup, Reply, StoredTx};
use crate::support::fixtures::{self, Served};

const WAIT: Duration = Duration::from_secs(15);
const TICK: [u8; 8] = [0x5c, 0x4f, 0x2c, 0x08, 0x65, 0x50, 0x3f, 0x0f];

/// The run under test and the transactions it is given.
struct Chain {
    fake: FakeRpc,
    run: Served,
}

impl Chain {
    async fn start() -> Chain {
        let fake = FakeRpc::start().await;
        let e = fixtures::expected("coord_train_37");
        let field = |k: &str| e[k].as_str().unwrap().to_owned();
        let run = Served {
            program: field("owner_program_id"),
            account: field("account_address"),
            instance: field("coordinator_instance_address"),
            run_id: field("state.coordinator.run_id"),
        };
        fake.put_account(
            &run.account,
            &run.program,
            fixtures::bytes("coord_train_37"),
        );
        fake.put_account(
            &run.instance,
            &run.program,
            fixtures::bytes("coord_train_37.instance"),
        );
        Chain { fake, run }
    }

    /// A witness transaction of this run as a client sends it: `[signer, instance,
    /// account]`, then the program.
    fn witness(&self, slot: u64, from: u64, report: &WitnessReport) -> StoredTx {
        self.instruction(slot, from, encode_witness(report))
    }

    fn instruction(&self, slot: u64, from: u64, data: Vec<u8>) -> StoredTx {
        fixtures::run_instruction(&self.run, slot, 1_764_000_000 + slot as i64, from, data)
    }

    fn put(&self, tx: &StoredTx) -> String {
        self.fake.put_transaction(tx.clone());
        tx.signature.clone()
    }

    async fn exporter(&self, extra: &[&str]) -> Exporter {
        let mut args: Vec<String> = [
            "--no-collector.solana",
            "--no-collector.pool",
            "--no-collector.treasurer",
            "--no-collector.huggingface",
            "--coordinator.interval=300ms",
            "--coordinator.timeout=250ms",
            "--telemetry.interval=200ms",
            "--telemetry.timeout=150ms",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--coordinator.rpc-url={}", self.fake.endpoint));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Exporter::start(&refs).await
    }

    fn series(&self, name: &str) -> String {
        format!(
            "{name}{{program=\"{}\",run_id=\"{}\"}}",
            self.run.program, self.run.run_id
        )
    }
}

fn report(step: u32, loss: f32, tps: f32, evals: &[(&str, f32)]) -> WitnessReport {
    WitnessReport {
        step,
        tokens_per_sec: tps,
        bandwidth_per_sec: tps * 100.0,
        loss,
        evals: evals.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect(),
        efficiency: 0.5,
    }
}

fn signatures_total(text: &str, outcome: &str) -> f64 {
    value(
        text,
        &format!("psyche_exporter_telemetry_signatures_total{{outcome=\"{outcome}\"}}"),
    )
    .unwrap_or(0.0)
}

/// Exact means over the newest step: a failed witness never counts, a tick and a
/// foreign program's instruction are ignored, a v0 transaction is read through its
/// loaded addresses, a -32015 answer is retried once, +inf loss is left out of the
/// loss mean, evals are averaged over the reports that carry them; then a new step
/// is picked up, and no signature is ever fetched twice.
#[tokio::test]
async fn means_of_the_newest_step_and_a_new_step() {
    let chain = Chain::start().await;
    let mut sigs = Vec::new();
    // Older history: 40 steps of three reports each, all before the newest step.
    let mut slot = 1_000;
    for step in 1..=40 {
        for w in 0..3 {
            slot += 1;
            sigs.push(chain.put(&chain.witness(slot, w, &report(step, 9.0, 1.0, &[]))));
        }
    }
    let w1 = chain.put(&chain.witness(2_000, 1, &report(41, 2.0, 1000.0, &[("hellaswag", 0.5)])));
    // Version 0: the run's account comes from a lookup table.
    let mut v0 = chain.witness(
        2_001,
        2,
        &report(
            41,
            f32::INFINITY,
            3000.0,
            &[("hellaswag", 0.75), ("arc_easy", 0.25)],
        ),
    );
    v0.keys.retain(|k| *k != chain.run.account);
    v0.instructions = vec![(2, vec![0, 1, 3], v0.instructions[0].2.clone())];
    v0.v0 = Some(Lookup {
        table: Pubkey::new_from_array([0x44; 32]).to_string(),
        writable_indexes: vec![5],
        readonly_indexes: vec![],
        writable: vec![chain.run.account.clone()],
        readonly: vec![],
    });
    let v0 = chain.put(&v0);
    let mut unsupported = chain.witness(2_002, 3, &report(41, 4.0, 2000.0, &[]));
    unsupported.unsupported = 1;
    let unsupported = chain.put(&unsupported);
    let mut failed = chain.witness(2_003, 4, &report(41, 100.0, 1e9, &[]));
    failed.err = Some(json!({"InstructionError": [0, {"Custom": 6001}]}));
    let failed = chain.put(&failed);
    let tick = chain.put(&chain.instruction(2_004, 5, TICK.to_vec()));
    // Another program's instruction with the witness data and this run's accounts.
    let mut foreign = chain.witness(2_005, 6, &report(41, 50.0, 50.0, &[]));
    foreign.keys[3] = Pubkey::new_from_array([0x55; 32]).to_string();
    let foreign = chain.put(&foreign);

    let exp = chain.exporter(&[]).await;
    let text = exp
        .metrics_until("three reports of step 41", WAIT, |t| {
            value(t, &chain.series("psyche_run_witness_reports")) == Some(3.0)
        })
        .await;
    assert_eq!(
        value(&text, &chain.series("psyche_run_witness_step")),
        Some(41.0)
    );
    assert_eq!(
        value(
            &text,
            &chain.series("psyche_run_witness_finite_loss_reports")
        ),
        Some(2.0)
    );
    assert_eq!(value(&text, &chain.series("psyche_run_loss")), Some(3.0));
    assert_eq!(
        value(&text, &chain.series("psyche_run_tokens_per_second")),
        Some(2000.0)
    );
    assert_eq!(
        value(
            &text,
            &chain.series("psyche_run_bandwidth_bytes_per_second")
        ),
        Some(200_000.0)
    );
    assert_eq!(
        value(&text, &chain.series("psyche_run_witness_timestamp_seconds")),
        Some(1_764_002_002.0)
    );
    let eval = |name: &str| {
        value(
            &text,
            &format!(
                "psyche_run_eval_score{{program=\"{}\",run_id=\"{}\",eval=\"{name}\"}}",
                chain.run.program, chain.run.run_id
            ),
        )
    };
    assert_eq!(eval("hellaswag"), Some(0.625));
    assert_eq!(eval("arc_easy"), Some(0.25));
    // The ETA joins the run's tokens with the speed.
    let total = value(&text, &chain.series("psyche_run_total_tokens")).unwrap();
    let trained = value(&text, &chain.series("psyche_run_tokens_trained")).unwrap();
    assert!(total > trained);
    assert_eq!(
        value(&text, &chain.series("psyche_run_eta_seconds")),
        Some((total - trained) / 2000.0)
    );
    assert_promtool_accepts(&text);

    // Fetched once each (the -32015 one twice), the failed one never; the start
    // read back about one step, not the 120 older transactions.
    for sig in [&w1, &v0, &tick, &foreign] {
        assert_eq!(chain.fake.fetches(sig), 1, "{sig}");
    }
    assert_eq!(chain.fake.fetches(&unsupported), 2);
    assert_eq!(chain.fake.fetches(&failed), 0);
    let old: u64 = sigs.iter().map(|s| chain.fake.fetches(s)).sum();
    assert!(old <= 1 + 4, "read back {old} older transactions");
    let listing = chain.fake.params("getSignaturesForAddress");
    assert_eq!(listing[0][0], json!(chain.run.account));
    assert_eq!(listing[0][1]["limit"], json!(200));
    assert_eq!(listing[0][1].get("until"), None);

    // A new step lands: picked up, and nothing read before is fetched again.
    let fetched_before = chain.fake.calls("getTransaction");
    let mut new = Vec::new();
    for (w, loss) in [(1, 1.5f32), (2, 2.5)] {
        new.push(chain.put(&chain.witness(2_100 + w, w, &report(42, loss, 10.0, &[]))));
    }
    let text = exp
        .metrics_until("step 42", WAIT, |t| {
            value(t, &chain.series("psyche_run_witness_reports")) == Some(2.0)
                && value(t, &chain.series("psyche_run_witness_step")) == Some(42.0)
        })
        .await;
    assert_eq!(value(&text, &chain.series("psyche_run_loss")), Some(2.0));
    // Let a few more polls run with nothing new.
    let lists = chain.fake.calls("getSignaturesForAddress");
    exp.metrics_until("three more polls", WAIT, |_| {
        chain.fake.calls("getSignaturesForAddress") >= lists + 3
    })
    .await;
    assert_eq!(chain.fake.calls("getTransaction"), fetched_before + 2);
    for sig in &new {
        assert_eq!(chain.fake.fetches(sig), 1);
    }
    let last = chain.fake.params("getSignaturesForAddress");
    let until = last.last().unwrap()[1]["until"].clone();
    assert_eq!(until, json!(new[1]), "listing starts after the newest seen");
    let text = exp.metrics().await;
    assert_eq!(signatures_total(&text, "witness"), 5.0 + old as f64);
    assert_eq!(signatures_total(&text, "unsupported_version"), 1.0);
    assert!(signatures_total(&text, "other") >= 2.0);
    assert!(signatures_total(&text, "failed") >= 1.0);
}

/// At most `--telemetry.max-transactions` getTransaction calls per poll.
#[tokio::test]
async fn the_budget_holds() {
    let chain = Chain::start().await;
    for w in 0..40 {
        chain.put(&chain.witness(3_000 + w, w, &report(7, 1.0, 1.0, &[])));
    }
    let exp = chain.exporter(&["--telemetry.max-transactions=3"]).await;
    exp.metrics_until("some reports", WAIT, |t| {
        value(t, &chain.series("psyche_run_witness_reports")).is_some_and(|n| n >= 9.0)
    })
    .await;
    let polls = chain.fake.calls("getSignaturesForAddress");
    let fetched = chain.fake.calls("getTransaction");
    assert!(
        fetched <= 3 * polls,
        "{fetched} transactions in {polls} polls"
    );
}

/// Bad transactions are counted and skipped; the rest of the poll goes on; a 429
/// loses nothing.
#[tokio::test]
async fn bad_input_is_counted_and_skipped() {
    let chain = Chain::start().await;
    let good = chain.put(&chain.witness(4_000, 1, &report(9, 2.0, 10.0, &[("mmlu", 0.5)])));
    let mut evals = encode_witness(&report(9, 1.0, 1.0, &[]));
    evals[745..753].copy_from_slice(&9u64.to_le_bytes());
    chain.put(&chain.instruction(4_001, 2, evals));
    let mut nan = encode_witness(&report(9, 1.0, 1.0, &[]));
    nan[453..457].copy_from_slice(&f32::NAN.to_le_bytes());
    chain.put(&chain.instruction(4_002, 3, nan));
    let short = encode_witness(&report(9, 1.0, 1.0, &[]))[..500].to_vec();
    chain.put(&chain.instruction(4_003, 4, short));
    let exp = chain.exporter(&[]).await;
    let text = exp
        .metrics_until("the good report, then a clean poll", WAIT, |t| {
            value(t, &chain.series("psyche_run_witness_reports")) == Some(1.0)
                && signatures_total(t, "malformed") == 3.0
                && value(t, "psyche_exporter_collector_up{collector=\"telemetry\"}") == Some(1.0)
                && value(t, "psyche_exporter_collector_up{collector=\"coordinator\"}") == Some(1.0)
        })
        .await;
    assert_golden("telemetry.txt", &mask(&text, &[]));
    assert_eq!(value(&text, &chain.series("psyche_run_loss")), Some(2.0));
    assert_eq!(
        value(
            &text,
            "psyche_exporter_collector_poll_errors_total{collector=\"telemetry\",kind=\"decode\"}"
        ),
        Some(3.0)
    );
    assert_eq!(chain.fake.fetches(&good), 1);

    // Rate limited: counted, and the signature is read once the node answers.
    chain.fake.set(
        "getTransaction",
        Reply::TooManyRequests {
            retry_after: Some("1".into()),
        },
    );
    let later = chain.put(&chain.witness(4_100, 1, &report(10, 3.0, 10.0, &[])));
    exp.metrics_until("a rate-limited fetch", WAIT, |t| {
        value(
            t,
            "psyche_exporter_collector_poll_errors_total{collector=\"telemetry\",kind=\"rate_limited\"}",
        )
        .is_some_and(|n| n >= 1.0)
    })
    .await;
    chain.fake.heal();
    exp.metrics_until("step 10 after the 429", WAIT, |t| {
        value(t, &chain.series("psyche_run_witness_step")) == Some(10.0)
    })
    .await;
    assert_eq!(chain.fake.fetches(&later), 1);
}

/// A run that leaves the active states keeps its last telemetry until max age, then
/// it disappears; it is no longer listed meanwhile.
#[tokio::test]
async fn a_run_that_stops_training_keeps_its_telemetry_until_max_age() {
    use psyche_exporter::collectors::coordinator::account::{
        AccountData, Layout, RunState, decode_run, encode_run,
    };
    let chain = Chain::start().await;
    chain.put(&chain.witness(5_000, 1, &report(3, 1.25, 10.0, &[])));
    let exp = chain.exporter(&["--telemetry.max-age=3s"]).await;
    exp.metrics_until("the loss", WAIT, |t| {
        value(t, &chain.series("psyche_run_loss")) == Some(1.25)
    })
    .await;
    let mut run = decode_run(&AccountData::full(fixtures::bytes("coord_train_37"))).unwrap();
    run.state = RunState::Finished;
    chain.fake.put_account(
        &chain.run.account,
        &chain.run.program,
        encode_run(&run, Layout::V1),
    );
    let finished = format!(
        "psyche_run_state{{program=\"{}\",run_id=\"{}\",state=\"finished\"}}",
        chain.run.program, chain.run.run_id
    );
    let text = exp
        .metrics_until("the run finished", WAIT, |t| {
            value(t, &finished) == Some(1.0)
        })
        .await;
    let lists = chain.fake.calls("getSignaturesForAddress");
    assert_eq!(
        value(&text, &chain.series("psyche_run_loss")),
        Some(1.25),
        "kept after the run left the active states"
    );
    exp.metrics_until("the loss gone after max age", WAIT, |t| {
        value(t, &chain.series("psyche_run_loss")).is_none()
    })
    .await;
    // At most the poll in flight when the state changed listed it again.
    assert!(chain.fake.calls("getSignaturesForAddress") <= lists + 1);
}
