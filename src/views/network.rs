//! `network`: the network overview: every watched RPC endpoint, the active runs and
//! their models, the mining pool's funding, the ecosystem links.

use std::fmt::Write as _;

use serde::Serialize;

use crate::collectors::coordinator::account::RunState;

use super::text::{Table, dash, indent, opt, percent, si, tokens};
use super::{Answer, Inputs, KEY_LINKS, Link, Tabular, View, pool_entries, sorted_runs};

/// `network`: the network overview.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkData {
    /// The endpoints, by cluster then endpoint.
    pub endpoints: Vec<EndpointView>,
    /// Endpoints whose `getHealth` answered ok.
    pub endpoints_up: u64,
    /// Runs known; `null` without run data.
    pub runs: Option<u64>,
    /// Runs in warmup, training, witness or cooldown; `null` without run data.
    pub active_runs: Option<u64>,
    /// Σ tokens per second the witnesses of the active runs reported for their newest
    /// witnessed step (psyche.network's headline figure; self-reported); `null`
    /// without telemetry or run data.
    pub active_tokens_per_second: Option<f64>,
    /// The models the active runs train.
    pub active_models: Vec<ActiveModel>,
    /// The mining pools together; `null` without pool data.
    pub pool_funding: Option<PoolFunding>,
    /// The ecosystem's key links.
    pub links: Vec<Link>,
}

/// A model an active run trains.
#[derive(Debug, Clone, Serialize)]
pub struct ActiveModel {
    /// Run id.
    pub run_id: String,
    /// Run state.
    pub state: &'static str,
    /// Architecture (`hf_llama`, …).
    pub architecture: &'static str,
    /// Parameters (run metadata).
    pub parameters: u64,
    /// Hub repo (or bucket) its checkpoints go to.
    pub checkpoint_repo: Option<String>,
}

/// The mining pools' funding, in whole tokens.
#[derive(Debug, Clone, Serialize)]
pub struct PoolFunding {
    /// Pools read.
    pub pools: u64,
    /// Total capacity.
    pub max_deposit: f64,
    /// Total deposited.
    pub deposited: f64,
    /// Total that can still be deposited.
    pub remaining: f64,
    /// deposited / max_deposit (0 when the capacity is 0).
    pub fill_ratio: f64,
}

/// In warmup, training, witness or cooldown (the `psyche:run_active` rule).
fn active(state: RunState) -> bool {
    matches!(
        state,
        RunState::Warmup | RunState::RoundTrain | RunState::RoundWitness | RunState::Cooldown
    )
}

/// One RPC endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointView {
    /// `scheme://host[:port]`.
    pub endpoint: String,
    /// `getHealth` answered ok.
    pub up: bool,
    /// `mainnet-beta`, `devnet`, `testnet`, `unknown`.
    pub cluster: Option<&'static str>,
    /// `solana-core` version.
    pub version: Option<String>,
    /// Slot at `processed`.
    pub slot_processed: Option<u64>,
    /// Slot at `confirmed`.
    pub slot_confirmed: Option<u64>,
    /// Slot at `finalized`.
    pub slot_finalized: Option<u64>,
    /// Epoch.
    pub epoch: Option<u64>,
    /// Slots behind its cluster.
    pub slots_behind: Option<u64>,
    /// Transactions per second (latest sample).
    pub transactions_per_second: Option<f64>,
    /// Readings are from an earlier poll.
    pub stale: bool,
    /// Why it is not up.
    pub error: Option<String>,
}

/// The `network` answer.
pub fn network(inputs: &Inputs, now: i64) -> Answer<NetworkData> {
    let mut endpoints = inputs.solana.as_deref().map_or_else(Vec::new, |s| {
        s.endpoints
            .iter()
            .map(|e| {
                let r = e.readings.as_ref();
                EndpointView {
                    endpoint: e.endpoint.clone(),
                    up: e.up,
                    cluster: r.map(|r| r.cluster),
                    version: r.and_then(|r| r.version.clone()),
                    slot_processed: r.and_then(|r| r.slot_processed),
                    slot_confirmed: r.and_then(|r| r.slot_confirmed),
                    slot_finalized: r.and_then(|r| r.slot_finalized),
                    epoch: r.and_then(|r| r.epoch),
                    slots_behind: e.slots_behind,
                    transactions_per_second: r.and_then(|r| r.transactions_per_second),
                    stale: e.stale,
                    error: e.error.clone(),
                }
            })
            .collect()
    });
    // A cluster's endpoints together, so lag reads against its neighbours.
    endpoints.sort_by(|a: &EndpointView, b: &EndpointView| {
        (a.cluster, &a.endpoint).cmp(&(b.cluster, &b.endpoint))
    });
    let endpoints_up = endpoints.iter().filter(|e| e.up).count() as u64;
    let runs = inputs.coordinator.as_deref().map(sorted_runs);
    let active_models: Vec<ActiveModel> = runs
        .iter()
        .flatten()
        .filter(|e| active(e.run.state))
        .map(|e| ActiveModel {
            run_id: e.run.run_id.clone(),
            state: e.run.state.as_str(),
            architecture: e
                .run
                .model
                .llm()
                .map_or("unknown", |l| l.architecture.as_str()),
            parameters: e.run.metadata.num_parameters,
            checkpoint_repo: super::checkpoint_location(&e.run).1,
        })
        .collect();
    let pool_funding = inputs.pool.as_deref().map(|s| {
        let pools = pool_entries(s);
        let max_deposit: f64 = pools.iter().map(|p| p.max_deposit).sum();
        let deposited: f64 = pools.iter().map(|p| p.deposited).sum();
        PoolFunding {
            pools: pools.len() as u64,
            max_deposit,
            deposited,
            remaining: pools.iter().map(|p| p.remaining).sum(),
            fill_ratio: if max_deposit > 0.0 {
                deposited / max_deposit
            } else {
                0.0
            },
        }
    });
    let active_tokens_per_second = match (&runs, inputs.telemetry.as_deref()) {
        (Some(runs), Some(t)) => Some(
            runs.iter()
                .filter(|e| active(e.run.state))
                .filter_map(|e| t.run(&e.program, &e.run.run_id)?.latest.tokens_per_second)
                .sum(),
        ),
        _ => None,
    };
    let data = NetworkData {
        endpoints,
        endpoints_up,
        active_tokens_per_second,
        runs: runs.as_ref().map(|r| r.len() as u64),
        active_runs: runs.is_some().then_some(active_models.len() as u64),
        active_models,
        pool_funding,
        links: KEY_LINKS.to_vec(),
    };
    Answer::new(View::Network, inputs, now, data)
}

impl Tabular for NetworkData {
    fn table(&self, _now: i64) -> String {
        let mut out = self.endpoints_table();
        match (self.runs, self.active_runs) {
            (Some(runs), Some(active)) => {
                let speed = self
                    .active_tokens_per_second
                    .map(|t| format!(", {} tokens/s (witness reports)", super::telemetry::rate(t)))
                    .unwrap_or_default();
                let _ = writeln!(out, "\nRuns: {active} active of {runs}{speed}");
            }
            _ => out.push_str("\nRuns: no run data\n"),
        }
        if !self.active_models.is_empty() {
            let mut t = Table::new(&[
                "RUN",
                "STATE",
                "ARCHITECTURE",
                "PARAMETERS",
                "CHECKPOINTS TO",
            ]);
            for m in &self.active_models {
                t.row(vec![
                    m.run_id.clone(),
                    m.state.to_owned(),
                    m.architecture.to_owned(),
                    si(m.parameters),
                    opt(m.checkpoint_repo.as_deref()),
                ]);
            }
            out.push_str(&indent(&t.render()));
        }
        match &self.pool_funding {
            Some(f) => {
                let _ = writeln!(
                    out,
                    "\nPool funding: {} of {} deposited ({}) in {} pool(s); {} can still be deposited",
                    tokens(f.deposited),
                    tokens(f.max_deposit),
                    percent(f.fill_ratio),
                    f.pools,
                    tokens(f.remaining)
                );
            }
            None => out.push_str("\nPool funding: no pool data\n"),
        }
        out.push_str("\nLinks\n");
        for l in &self.links {
            let _ = writeln!(out, "  {}: {}", l.title, l.url);
        }
        out
    }
}

impl NetworkData {
    fn endpoints_table(&self) -> String {
        if self.endpoints.is_empty() {
            return "no endpoints\n".to_owned();
        }
        let mut t = Table::new(&[
            "ENDPOINT",
            "UP",
            "CLUSTER",
            "VERSION",
            "SLOT",
            "FINALIZED",
            "LAG",
            "TPS",
            "ERROR",
        ]);
        for e in &self.endpoints {
            t.row(vec![
                e.endpoint.clone(),
                if e.up { "yes" } else { "NO" }.to_owned(),
                opt(e.cluster),
                opt(e.version.as_deref()),
                opt(e.slot_confirmed),
                opt(e.slot_finalized),
                opt(e.slots_behind),
                e.transactions_per_second
                    .map_or_else(dash, |t| format!("{t:.0}")),
                e.error.clone().unwrap_or_default(),
            ]);
        }
        t.render()
    }
}
