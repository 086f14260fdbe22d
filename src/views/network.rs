//! `network`: every watched RPC endpoint.

use serde::Serialize;

use super::text::{Table, dash, opt};
use super::{Answer, Inputs, Tabular, View};

/// `network`: every watched RPC endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkData {
    /// The endpoints, by cluster then endpoint.
    pub endpoints: Vec<EndpointView>,
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
    Answer::new(View::Network, inputs, now, NetworkData { endpoints })
}

impl Tabular for NetworkData {
    fn table(&self, _now: i64) -> String {
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
