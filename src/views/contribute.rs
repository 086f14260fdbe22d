//! `contribute`: where compute and funds help now, and the other ways to help (code,
//! environments, community), with the key links.

use std::fmt::Write as _;

use serde::Serialize;

use crate::collectors::coordinator::account::RunState;

use super::text::{Table, indent, opt, percent, tokens};
use super::{
    Answer, DOCS, FORUM, GITHUB, Inputs, KEY_LINKS, Link, POOL_MISSING, PoolEntry, Tabular, View,
    pool_entries, sorted_runs,
};

/// `contribute`: where compute and funds help now.
#[derive(Debug, Clone, Serialize)]
pub struct ContributeData {
    /// Runs in `waiting_for_members`: they start once enough clients join.
    pub runs_waiting_for_compute: Vec<WaitingRun>,
    /// Training runs with fewer clients than they need to start an epoch.
    pub runs_underpopulated: Vec<UnderpopulatedRun>,
    /// Pools that still take deposits.
    pub pools_with_capacity: Vec<PoolEntry>,
    /// Why the pool part is empty, when pool data is unavailable.
    pub pool_note: Option<String>,
    /// Code: the repository.
    pub code: Section,
    /// Environments: Atropos.
    pub environments: Section,
    /// Community: the forum.
    pub community: Section,
    /// The key links.
    pub links: Vec<Link>,
}

/// A way to contribute that needs no data: what it is and where.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// What to do.
    pub what: &'static str,
    /// Where.
    pub links: Vec<Link>,
}

/// A run waiting for compute.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingRun {
    /// Coordinator program.
    pub program: String,
    /// Run id.
    pub run_id: String,
    /// Display name.
    pub name: String,
    /// Joiners so far (detail tier).
    pub pending_clients: Option<u64>,
    /// Clients needed to start.
    pub init_min_clients: u16,
    /// init_min_clients − pending_clients.
    pub clients_needed: Option<u64>,
}

/// A training run short of clients.
#[derive(Debug, Clone, Serialize)]
pub struct UnderpopulatedRun {
    /// Coordinator program.
    pub program: String,
    /// Run id.
    pub run_id: String,
    /// Display name.
    pub name: String,
    /// Run state.
    pub state: &'static str,
    /// Clients in the current epoch.
    pub clients: u64,
    /// Clients needed to keep training.
    pub min_clients: u16,
    /// Clients needed to start an epoch.
    pub init_min_clients: u16,
}

fn code() -> Section {
    Section {
        what: "Psyche is open source (clients, coordinator programs, tooling): read the code, report issues, send pull requests",
        links: vec![Link {
            title: "GitHub",
            url: GITHUB,
        }],
    }
}

fn environments() -> Section {
    Section {
        what: "Atropos, Nous Research's framework of reinforcement-learning environments: build and contribute environments",
        links: vec![Link {
            title: "Atropos",
            url: "https://github.com/NousResearch/atropos",
        }],
    }
}

fn community() -> Section {
    Section {
        what: "Discuss runs, ask for testnet access and share ideas on the forum; the documentation explains running a client and the mining pool",
        links: vec![
            Link {
                title: "Forum",
                url: FORUM,
            },
            Link {
                title: "Documentation",
                url: DOCS,
            },
        ],
    }
}

/// The `contribute` answer.
pub fn contribute(inputs: &Inputs, now: i64) -> Answer<ContributeData> {
    let mut waiting = Vec::new();
    let mut under = Vec::new();
    if let Some(coord) = inputs.coordinator.as_deref() {
        for e in sorted_runs(coord) {
            let run = &e.run;
            let clients = run.lists.epoch_clients as u64;
            let init = run.config.init_min_clients;
            if run.state == RunState::WaitingForMembers {
                let pending = run.detail.as_ref().map(|d| d.pending_clients);
                waiting.push(WaitingRun {
                    program: e.program.clone(),
                    run_id: run.run_id.clone(),
                    name: run.metadata.name.clone(),
                    pending_clients: pending,
                    init_min_clients: init,
                    clients_needed: pending.map(|p| u64::from(init).saturating_sub(p)),
                });
            } else if (run.active() || run.state == RunState::Warmup) && clients < u64::from(init) {
                under.push(UnderpopulatedRun {
                    program: e.program.clone(),
                    run_id: run.run_id.clone(),
                    name: run.metadata.name.clone(),
                    state: run.state.as_str(),
                    clients,
                    min_clients: run.config.min_clients,
                    init_min_clients: init,
                });
            }
        }
    }
    let (pools, pool_note) = match inputs.pool.as_deref() {
        Some(s) => (pool_entries(s), None),
        None => (Vec::new(), Some(POOL_MISSING.to_owned())),
    };
    let data = ContributeData {
        runs_waiting_for_compute: waiting,
        runs_underpopulated: under,
        pools_with_capacity: pools
            .into_iter()
            .filter(|p| p.remaining > 0.0 && !p.frozen)
            .collect(),
        pool_note,
        code: code(),
        environments: environments(),
        community: community(),
        links: KEY_LINKS.to_vec(),
    };
    Answer::new(View::Contribute, inputs, now, data)
}

impl Tabular for ContributeData {
    fn table(&self, _now: i64) -> String {
        let mut out = String::from("Compute: runs waiting for clients\n");
        if self.runs_waiting_for_compute.is_empty() {
            out.push_str("  none\n");
        } else {
            let mut t = Table::new(&["RUN", "JOINED", "NEEDED TO START", "STILL NEEDED"]);
            for w in &self.runs_waiting_for_compute {
                t.row(vec![
                    w.run_id.clone(),
                    opt(w.pending_clients),
                    w.init_min_clients.to_string(),
                    opt(w.clients_needed),
                ]);
            }
            out.push_str(&indent(&t.render()));
        }
        out.push_str("\nCompute: training runs short of clients\n");
        if self.runs_underpopulated.is_empty() {
            out.push_str("  none\n");
        } else {
            let mut t = Table::new(&["RUN", "STATE", "CLIENTS", "MIN", "TO START"]);
            for u in &self.runs_underpopulated {
                t.row(vec![
                    u.run_id.clone(),
                    u.state.to_owned(),
                    u.clients.to_string(),
                    u.min_clients.to_string(),
                    u.init_min_clients.to_string(),
                ]);
            }
            out.push_str(&indent(&t.render()));
        }
        out.push_str("\nFunds: pools taking deposits\n");
        match &self.pool_note {
            Some(note) => {
                let _ = writeln!(out, "  {note}");
            }
            None if self.pools_with_capacity.is_empty() => out.push_str("  none (all full)\n"),
            None => {
                let mut t = Table::new(&["POOL", "CAN STILL DEPOSIT", "FILL"]);
                for p in &self.pools_with_capacity {
                    t.row(vec![
                        p.address.clone(),
                        tokens(p.remaining),
                        percent(p.fill_ratio),
                    ]);
                }
                out.push_str(&indent(&t.render()));
            }
        }
        for (title, section) in [
            ("Code", &self.code),
            ("Environments", &self.environments),
            ("Community", &self.community),
        ] {
            let _ = writeln!(out, "\n{title}: {}", section.what);
            for l in &section.links {
                let _ = writeln!(out, "  {}: {}", l.title, l.url);
            }
        }
        out.push_str("\nKey links\n");
        for l in &self.links {
            let _ = writeln!(out, "  {}: {}", l.title, l.url);
        }
        out
    }
}
