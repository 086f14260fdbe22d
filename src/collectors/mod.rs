//! The collectors, one file each, and the wiring that starts the enabled ones.
//!
//! The set is closed and known at compile time, so it is a struct of typed
//! slots rather than a list of trait objects: views that need a collector's
//! snapshot (JSON, CLI) read its slot with its real type.

pub mod checkpoints;
pub mod coordinator;
pub mod huggingface;
pub mod pool;
pub mod solana;
pub mod token;
pub mod treasurer;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::task::JoinSet;

use crate::cli::{Cli, max_age};
use crate::error::CollectError;
use crate::poller::{Collector, Slot, Stats, Watched, poll_loop, poll_once};

/// One poll of one collector, to run once (the one-shot commands).
pub type OncePoll = (&'static str, Pin<Box<dyn Future<Output = ()> + Send>>);

/// How [`Collectors::launch`] runs the pollers.
pub enum Launch<'a> {
    /// Poll for ever, each collector in its own task (the server).
    Forever(&'a mut JoinSet<()>),
    /// Hand back one poll per collector, for the caller to run (the CLI commands).
    Once(&'a mut Vec<OncePoll>),
}

/// The enabled collectors' slots.
#[derive(Debug, Default)]
pub struct Collectors {
    /// Solana RPC health.
    pub solana: Option<Arc<Slot<solana::SolanaRpc>>>,
    /// Training runs.
    pub coordinator: Option<Arc<Slot<coordinator::Coordinator>>>,
    /// HuggingFace models and checkpoints.
    pub huggingface: Option<Arc<Slot<huggingface::HuggingFace>>>,
    /// The mining pool.
    pub pool: Option<Arc<Slot<pool::MiningPool>>>,
    /// Run treasuries.
    pub treasurer: Option<Arc<Slot<treasurer::Treasurer>>>,
}

/// A started collector: its slot, and what its poll loop needs.
struct Started<C: Collector> {
    collector: Arc<C>,
    slot: Arc<Slot<C>>,
    interval: Duration,
    deadline: Duration,
}

impl<C: Collector> Started<C> {
    fn spawn(self, launch: &mut Launch<'_>) -> Arc<Slot<C>> {
        let slot = Arc::clone(&self.slot);
        match launch {
            Launch::Forever(tasks) => {
                tasks.spawn(poll_loop(
                    self.collector,
                    slot,
                    self.interval,
                    self.deadline,
                ));
            }
            Launch::Once(polls) => polls.push((
                C::NAME,
                Box::pin(async move {
                    poll_once(self.collector.as_ref(), &slot, self.deadline).await;
                }),
            )),
        }
        self.slot
    }
}

impl Collectors {
    /// Build every collector `cli` enables and spawn its poll loop into
    /// `tasks`. Families computed at scrape time (the run ↔ Hub checkpoint
    /// join, which reads two snapshots) register with `registry`; collectors
    /// serve their own pre-rendered snapshots through [`Watched::body`].
    pub fn start(
        cli: &Cli,
        tasks: &mut JoinSet<()>,
        registry: &mut Registry,
    ) -> Result<Collectors, CollectError> {
        Self::launch(cli, Launch::Forever(tasks), registry)
    }

    /// [`Collectors::start`], with the pollers run as `launch` says.
    pub fn launch(
        cli: &Cli,
        mut launch: Launch<'_>,
        registry: &mut Registry,
    ) -> Result<Collectors, CollectError> {
        let tasks = &mut launch;
        let mut out = Collectors::default();
        if !cli.solana.disabled {
            let s = &cli.solana;
            let stats = Stats::new(solana::SolanaRpc::NAME);
            let max_age = max_age(s.max_age, s.interval);
            let collector = solana::SolanaRpc::new(
                &cli.watched_rpc_urls(),
                crate::rpc::http_client(s.timeout)?,
                Arc::clone(&stats),
                s.timeout,
                max_age,
            );
            let started = Started {
                collector: Arc::new(collector),
                slot: Slot::new(stats, s.interval, max_age),
                interval: s.interval,
                // Each endpoint is cut at `timeout`; the margin lets the
                // collector publish the endpoints that did answer.
                deadline: s.timeout + (s.interval - s.timeout) / 2,
            };
            out.solana = Some(started.spawn(tasks));
        }
        if !cli.coordinator.disabled {
            let c = &cli.coordinator;
            let stats = Stats::new(coordinator::Coordinator::NAME);
            let max_age = max_age(c.max_age, c.interval);
            let rpc = crate::rpc::Rpc::new(
                crate::rpc::http_client(c.timeout)?,
                c.rpc_url.clone(),
                Arc::clone(&stats),
            );
            let collector = coordinator::Coordinator::new(
                rpc,
                coordinator::Settings {
                    programs: c.program_ids.clone(),
                    run_ids: c.run_ids.clone(),
                    detail_interval: c.detail_interval,
                    max_age,
                },
                Arc::clone(&stats),
            );
            let started = Started {
                collector: Arc::new(collector),
                slot: Slot::new(stats, c.interval, max_age),
                interval: c.interval,
                deadline: c.timeout,
            };
            out.coordinator = Some(started.spawn(tasks));
        }
        if !cli.pool.disabled {
            let p = &cli.pool;
            let stats = Stats::new(pool::MiningPool::NAME);
            let max_age = max_age(p.max_age, p.interval);
            let rpc = crate::rpc::Rpc::new(
                crate::rpc::http_client(p.timeout)?,
                p.rpc_url.clone(),
                Arc::clone(&stats),
            );
            let settings = pool::Settings {
                program: p.program_id.0,
                indices: p.indices.clone(),
            };
            let started = Started {
                collector: Arc::new(pool::MiningPool::new(rpc, settings, Arc::clone(&stats))),
                slot: Slot::new(stats, p.interval, max_age),
                interval: p.interval,
                deadline: p.timeout,
            };
            out.pool = Some(started.spawn(tasks));
        }
        if !cli.treasurer.disabled {
            let t = &cli.treasurer;
            let stats = Stats::new(treasurer::Treasurer::NAME);
            let max_age = max_age(t.max_age, t.interval);
            let rpc = crate::rpc::Rpc::new(
                crate::rpc::http_client(t.timeout)?,
                cli.treasurer_rpc_url().clone(),
                Arc::clone(&stats),
            );
            let collector = treasurer::Treasurer::new(
                rpc,
                treasurer::Settings {
                    program: t.program_id.0,
                },
                Arc::clone(&stats),
                out.coordinator.clone(),
            );
            let started = Started {
                collector: Arc::new(collector),
                slot: Slot::new(stats, t.interval, max_age),
                interval: t.interval,
                deadline: t.timeout,
            };
            out.treasurer = Some(started.spawn(tasks));
        }
        if !cli.huggingface.disabled {
            let h = &cli.huggingface;
            let stats = Stats::new(huggingface::HuggingFace::NAME);
            let max_age = max_age(h.max_age, h.interval);
            let token = h.token.clone().or_else(|| {
                std::env::var("HF_TOKEN")
                    .ok()
                    .as_deref()
                    .and_then(huggingface::Token::new)
            });
            let collector = huggingface::HuggingFace::new(
                crate::rpc::http_client(h.timeout)?,
                huggingface::Settings {
                    endpoint: h.endpoint.clone(),
                    authors: h.authors.clone(),
                    token,
                    max_age,
                },
                Arc::clone(&stats),
                out.coordinator.clone(),
            );
            let started = Started {
                collector: Arc::new(collector),
                slot: Slot::new(stats, h.interval, max_age),
                interval: h.interval,
                // Each request is cut at `timeout`; the margin lets a poll with
                // one slow repo still publish the others.
                deadline: h.timeout + (h.interval - h.timeout) / 2,
            };
            let slot = started.spawn(tasks);
            if let Some(runs) = &out.coordinator {
                registry.register_collector(Box::new(checkpoints::Checkpoints::new(
                    Arc::clone(runs),
                    Arc::clone(&slot),
                )));
            }
            out.huggingface = Some(slot);
        }
        Ok(out)
    }

    /// Every enabled collector, type-erased, in a fixed order.
    pub fn watched(&self) -> Vec<Arc<dyn Watched>> {
        let mut out: Vec<Arc<dyn Watched>> = Vec::new();
        if let Some(s) = &self.solana {
            out.push(Arc::clone(s) as Arc<dyn Watched>);
        }
        if let Some(s) = &self.coordinator {
            out.push(Arc::clone(s) as Arc<dyn Watched>);
        }
        if let Some(s) = &self.pool {
            out.push(Arc::clone(s) as Arc<dyn Watched>);
        }
        if let Some(s) = &self.treasurer {
            out.push(Arc::clone(s) as Arc<dyn Watched>);
        }
        if let Some(s) = &self.huggingface {
            out.push(Arc::clone(s) as Arc<dyn Watched>);
        }
        out
    }
}
