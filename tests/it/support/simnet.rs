//! A simulated Psyche network on 127.0.0.1: a fake Solana node whose training
//! runs advance (steps, epochs, phases, fresh timestamps) and a fake Hub that
//! receives one `step N` commit per epoch for each run, whose revision is then
//! recorded on chain, as Psyche's checkpointing clients do. Every step trained
//! lands [`WITNESSES`] confirmed `witness` transactions carrying the witnesses'
//! telemetry (a falling loss, a steady throughput and bandwidth, two evals).
//! Checkpoints of a run can be stalled while it keeps training. Used by the
//! end-to-end test and by `cargo run --example simnet` (the README's demo).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use psyche_exporter::collectors::coordinator::PROGRAM_V1;
use psyche_exporter::collectors::coordinator::account::{
    self, AccountData, Checkpoint, HubRepo, Layout, Model, Run, RunState,
};
use psyche_exporter::collectors::telemetry::witness::{WitnessReport, encode_witness};
use serde_json::{Value, json};
use solana_pubkey::Pubkey;

use super::fake_hub::{FakeHub, commit, model};
use super::fake_rpc::FakeRpc;
use super::fixtures;

/// The Hub author the simulated repos belong to.
pub const AUTHOR: &str = "PsycheFoundation";

/// Witness transactions per step trained, per run.
pub const WITNESSES: u64 = 3;

/// Transactions the fake node keeps (the newest), so the demo stays small.
const KEPT_TRANSACTIONS: usize = 5_000;

struct SimRun {
    /// Which run this is (0, 1, …): its witnesses' wallets and speed.
    index: u64,
    run: Run,
    account: Pubkey,
    instance: Pubkey,
    repo: String,
    commits: Vec<Value>,
    stalled: bool,
    tick: u64,
    /// The slot of this run's latest witness transaction.
    slot: u64,
}

/// The running simulation; it stops when dropped.
pub struct SimNet {
    /// The fake Solana node (coordinator accounts, RPC health).
    pub rpc: Arc<FakeRpc>,
    /// The fake HuggingFace Hub.
    pub hub: Arc<FakeHub>,
    runs: Arc<Mutex<Vec<SimRun>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimNet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn iso_now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

impl SimNet {
    /// `runs` training runs stepping every `step_every`, with
    /// `steps_per_epoch` steps per epoch and one checkpoint per epoch. Run 0
    /// is the `coord_train_37` fixture at its real addresses (run id
    /// `consilience-40b-7Y9v38s5`), funded by the `treasurer_run` fixture;
    /// the others are `sim-run-1`, …. The `pool_open` mining pool (program
    /// `CQy5…`, index 1) with a lender is served too, on the same node.
    pub async fn start(runs: usize, step_every: Duration, steps_per_epoch: u32) -> SimNet {
        let rpc = Arc::new(FakeRpc::start().await);
        let hub = Arc::new(FakeHub::start().await);
        let template =
            account::decode_run(&AccountData::full(fixtures::bytes("coord_train_37"))).unwrap();
        let epoch_secs = (step_every * steps_per_epoch).as_secs().max(1);
        let sims: Vec<SimRun> = (0..runs)
            .map(|i| {
                let mut run = template.clone();
                if i > 0 {
                    run.run_id = format!("sim-run-{i}");
                    run.metadata.name = format!("Simulated run {i}");
                }
                run.progress.step = 1 + 10 * i as u32;
                run.progress.epoch = 0;
                run.pending_pause = false;
                run.config.total_steps = 100_000;
                run.config.epoch_time = Some(epoch_secs);
                run.config.warmup_time = 1;
                run.config.cooldown_time = 1;
                run.config.max_round_train_time = 30;
                run.config.round_witness_time = 30;
                run.config.min_clients = 4;
                let mut key = [0u8; 32];
                key[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
                key[31] = 0x5a;
                let mut account = Pubkey::new_from_array(key);
                key[31] = 0x5b;
                let mut instance = Pubkey::new_from_array(key);
                if i == 0 {
                    let e = fixtures::expected("coord_train_37");
                    account = e["account_address"].as_str().unwrap().parse().unwrap();
                    instance = e["coordinator_instance_address"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                }
                SimRun {
                    index: i as u64,
                    repo: format!("{AUTHOR}/{}", run.run_id),
                    run,
                    account,
                    instance,
                    commits: Vec::new(),
                    stalled: false,
                    tick: 0,
                    slot: 349_000_000,
                }
            })
            .collect();
        let runs = Arc::new(Mutex::new(sims));
        // Run 0's real instance names the treasurer Run as its authority.
        rpc.put_account(
            fixtures::expected("coord_train_37")["coordinator_instance_address"]
                .as_str()
                .unwrap(),
            PROGRAM_V1,
            fixtures::bytes("coord_train_37.instance"),
        );
        fixtures::serve_treasurer_run(&rpc, Some(250_000_000_000_000));
        fixtures::serve_pool_open(&rpc);
        {
            let mut runs = runs.lock().unwrap();
            for sim in runs.iter_mut() {
                push_checkpoint(&hub, sim);
                publish(&rpc, sim);
                witness(&rpc, sim);
            }
        }
        let task = {
            let runs = Arc::clone(&runs);
            let rpc_state = Arc::clone(&rpc);
            let hub_state = Arc::clone(&hub);
            tokio::spawn(async move {
                let mut ticker = tokio::time::interval(step_every);
                ticker.tick().await;
                loop {
                    ticker.tick().await;
                    let mut runs = runs.lock().unwrap();
                    for sim in runs.iter_mut() {
                        advance(sim, steps_per_epoch);
                        if sim.tick % u64::from(steps_per_epoch) == 0 && !sim.stalled {
                            push_checkpoint(&hub_state, sim);
                        }
                        publish(&rpc_state, sim);
                        if matches!(sim.run.state, RunState::RoundTrain) {
                            witness(&rpc_state, sim);
                        }
                    }
                    rpc_state.retain_newest_transactions(KEPT_TRANSACTIONS);
                }
            })
        };
        SimNet {
            rpc,
            hub,
            runs,
            task,
        }
    }

    /// Stop pushing checkpoints for run `i`; it keeps training.
    pub fn stall_checkpoints(&self, i: usize) {
        self.runs.lock().unwrap()[i].stalled = true;
    }

    /// The run ids, in order.
    pub fn run_ids(&self) -> Vec<String> {
        self.runs
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.run.run_id.clone())
            .collect()
    }
}

/// One step: train and witness alternate; each epoch ends with a cooldown
/// and the next starts with a warmup. The state start is always fresh, so no
/// phase is ever overdue.
fn advance(sim: &mut SimRun, steps_per_epoch: u32) {
    sim.tick += 1;
    let in_epoch = sim.tick % u64::from(steps_per_epoch);
    sim.run.state = match in_epoch {
        0 => RunState::Cooldown,
        1 => RunState::Warmup,
        n if n % 2 == 0 => RunState::RoundWitness,
        _ => RunState::RoundTrain,
    };
    if in_epoch == 1 {
        sim.run.progress.epoch = sim.run.progress.epoch.saturating_add(1);
        sim.run.epoch.start_timestamp = Some(now());
    }
    if matches!(sim.run.state, RunState::RoundTrain) {
        sim.run.progress.step += 1;
    }
    sim.run.state_start_timestamp = now();
}

/// Upload the model at the current step and record its revision on chain.
fn push_checkpoint(hub: &FakeHub, sim: &mut SimRun) {
    let step = sim.run.progress.step;
    let sha = format!(
        "{:08x}{:032x}",
        sim.account.to_bytes()[0],
        (u128::from(step) << 32) | sim.commits.len() as u128
    );
    sim.commits
        .insert(0, commit(&sha, &format!("step {step}"), &iso_now()));
    hub.put_commits(&sim.repo, sim.commits.clone());
    let mut doc = model(&sim.repo, &sha, &iso_now());
    doc["downloads"] = json!(1200 + sim.commits.len());
    doc["likes"] = json!(7);
    doc["usedStorage"] = json!(80_000_000_000u64);
    doc["pipeline_tag"] = json!("text-generation");
    doc["library_name"] = json!("transformers");
    doc["safetensors"] =
        json!({"parameters": {"BF16": 40_000_000_000u64}, "total": 40_000_000_000u64});
    hub.put_model(doc);
    if let Model::Llm(llm) = &mut sim.run.model {
        llm.checkpoint = Checkpoint::Hub(HubRepo {
            repo_id: sim.repo.clone(),
            revision: Some(sha),
        });
    }
}

/// The step in progress is trained: its selected witnesses send their `witness`
/// transactions, each with its own report (as Psyche's clients do during
/// round_train), confirmed now.
fn witness(rpc: &FakeRpc, sim: &mut SimRun) {
    let served = fixtures::Served {
        program: PROGRAM_V1.to_owned(),
        account: sim.account.to_string(),
        instance: sim.instance.to_string(),
        run_id: sim.run.run_id.clone(),
    };
    let step = sim.run.progress.step;
    let progress = step as f32 / 1_000.0;
    for w in 0..WITNESSES {
        let spread = w as f32 - 1.0;
        let report = WitnessReport {
            step,
            tokens_per_sec: 40_000.0 * (sim.index + 1) as f32 + 1_000.0 * spread,
            bandwidth_per_sec: 2.5e8 + 1e7 * spread,
            loss: 2.2 + 8.0 / (1.0 + 10.0 * progress) + 0.01 * spread,
            evals: vec![
                ("hellaswag".to_owned(), 0.25 + 0.4 * progress.min(1.0)),
                ("arc_easy".to_owned(), 0.3 + 0.3 * progress.min(1.0)),
            ],
            efficiency: 0.9,
        };
        sim.slot += 1;
        rpc.put_transaction(fixtures::run_instruction(
            &served,
            sim.slot,
            i64::try_from(now()).unwrap_or(i64::MAX),
            100 * sim.index + w,
            encode_witness(&report),
        ));
    }
}

fn publish(rpc: &FakeRpc, sim: &SimRun) {
    let data = account::encode_run(&sim.run, Layout::V1);
    if sim.run.run_id.starts_with("sim-run-") {
        fixtures::serve_run(rpc, PROGRAM_V1, sim.account, sim.instance, data);
    } else {
        // The fixture run keeps its real instance (whose authority is the treasurer).
        rpc.put_account(&sim.account.to_string(), PROGRAM_V1, data);
    }
}
