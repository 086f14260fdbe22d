//! The collectors, one file each, and the one list that wires them.
//!
//! Every collector file owns its flags, its construction and its dependencies
//! ([`spec::Spec`]). The `collectors!` list at the bottom of this file is the
//! only place that names them all; from it come the flags ([`CollectorArgs`],
//! flattened into the CLI), the typed slots the views read ([`Collectors`]),
//! the RPC URLs the health collector watches, the start order and the
//! scrape-time joins. Adding a collector is its own file plus one line here.
//!
//! The set is closed and known at compile time, so it is a struct of typed
//! slots rather than a list of trait objects: views that need a collector's
//! snapshot (JSON, CLI) read its slot with its real type.

pub mod checkpoints;
pub mod coordinator;
pub mod eta;
pub mod huggingface;
pub mod pool;
pub mod solana;
pub mod spec;
pub mod telemetry;
pub mod token;
pub mod treasurer;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::future::join_all;
use tokio::task::JoinSet;

use crate::error::CollectError;
use crate::poller::{Slot, Stats, Status, Watched, poll_loop, poll_once};
use crate::rpc::RpcUrl;
use spec::{Built, Context, Join, Spec};

/// One poll of one collector, to run once (the one-shot commands). It first
/// waits for the first poll of the collectors it depends on, so all of them
/// can be run concurrently.
pub type OncePoll = (&'static str, Pin<Box<dyn Future<Output = ()> + Send>>);

/// How [`Collectors::launch`] runs the pollers.
pub enum Launch<'a> {
    /// Poll for ever, each collector in its own task (the server).
    Forever(&'a mut JoinSet<()>),
    /// Hand back one poll per collector, for the caller to run (the CLI commands).
    Once(&'a mut Vec<OncePoll>),
}

/// Build `C` if `ctx` starts it, and hand its poller to `launch`: it waits
/// for the first poll of every started collector `C` depends on, so that a
/// dependent's first snapshot already sees what it reads.
fn start<C: Spec>(
    args: &C::Args,
    ctx: &mut Context,
    launch: &mut Launch<'_>,
) -> Result<Option<Arc<Slot<C>>>, CollectError> {
    if !ctx.started(C::NAME) {
        return Ok(None);
    }
    let stats = Stats::new(C::NAME);
    let Built {
        collector,
        interval,
        deadline,
        max_age,
    } = C::build(args, ctx, Arc::clone(&stats))?;
    let slot = Slot::new(stats, interval, max_age);
    ctx.insert_slot(&slot);
    let after: Vec<Arc<dyn Watched>> = C::DEPENDS_ON
        .iter()
        .filter_map(|name| ctx.watched(name))
        .collect();
    let first_polls = async move {
        join_all(after.iter().map(|w| w.first_attempt())).await;
    };
    let collector = Arc::new(collector);
    let polled = Arc::clone(&slot);
    match launch {
        Launch::Forever(tasks) => {
            tasks.spawn(async move {
                first_polls.await;
                poll_loop(collector, polled, interval, deadline).await;
            });
        }
        Launch::Once(polls) => polls.push((
            C::NAME,
            Box::pin(async move {
                first_polls.await;
                poll_once(collector.as_ref(), &polled, deadline).await;
            }),
        )),
    }
    Ok(Some(slot))
}

/// The list: one line per collector, dependencies first (a unit test checks
/// the order), in the order the health families and the landing page show
/// them; then the scrape-time joins.
macro_rules! collectors {
    (
        $($field:ident: $ty:ty),+;
        joins: $($join:ty),* $(,)?
    ) => {
        /// Every collector's flags, each group under its own `--help` heading.
        #[derive(Debug, Clone, clap::Args)]
        pub struct CollectorArgs {
            $(
                #[allow(missing_docs)]
                #[command(flatten, next_help_heading = <$ty as Spec>::HEADING)]
                pub $field: <$ty as Spec>::Args,
            )+
        }

        /// The started collectors' slots.
        #[derive(Debug, Default)]
        pub struct Collectors {
            $(
                #[allow(missing_docs)]
                pub $field: Option<Arc<Slot<$ty>>>,
            )+
            /// The same, type-erased, in list order.
            watched: Vec<Arc<dyn Watched>>,
            /// The scrape-time joins whose slots are all started.
            joins: Vec<Arc<dyn Join>>,
        }

        /// Every collector's name, in list order.
        pub const NAMES: &[&str] = &[$(<$ty as crate::poller::Collector>::NAME),+];

        /// Every collector's dependencies, in list order (checked by a test).
        #[cfg(test)]
        const DEPENDENCIES: &[(&str, &[&str])] =
            &[$((<$ty as crate::poller::Collector>::NAME, <$ty as Spec>::DEPENDS_ON)),+];

        impl CollectorArgs {
            /// Every collector's flags in one typed context, with the RPC
            /// URLs of every enabled collector.
            pub fn context(&self) -> Context {
                let mut ctx = Context::default();
                $( ctx.add::<$ty>(&self.$field); )+
                let mut urls = Vec::new();
                $(
                    if ctx.enabled(<$ty as crate::poller::Collector>::NAME) {
                        urls.extend(<$ty as Spec>::rpc_urls(&self.$field, &ctx));
                    }
                )+
                ctx.set_watched_rpc_urls(urls);
                ctx
            }

            /// Every enabled collector's own checks, in list order.
            pub fn validate(&self) -> Result<(), String> {
                let ctx = self.context();
                $(
                    if ctx.enabled(<$ty as crate::poller::Collector>::NAME) {
                        <$ty as Spec>::validate(&self.$field, &ctx)?;
                    }
                )+
                Ok(())
            }
        }

        impl Collectors {
            /// Build the collectors `ctx` starts (see [`Context::only`]) and
            /// hand their pollers to `launch`, then the joins over them.
            pub fn launch(
                args: &CollectorArgs,
                mut ctx: Context,
                mut launch: Launch<'_>,
            ) -> Result<Collectors, CollectError> {
                let mut out = Collectors::default();
                $(
                    out.$field = start::<$ty>(&args.$field, &mut ctx, &mut launch)?;
                    if let Some(slot) = &out.$field {
                        out.watched.push(Arc::clone(slot) as Arc<dyn Watched>);
                    }
                )+
                $(
                    if let Some(join) = <$join as Join>::start(&ctx) {
                        out.joins.push(Arc::new(join));
                    }
                )*
                Ok(out)
            }
        }
    };
}

collectors! {
    solana: solana::SolanaRpc,
    coordinator: coordinator::Coordinator,
    pool: pool::MiningPool,
    treasurer: treasurer::Treasurer,
    huggingface: huggingface::HuggingFace,
    telemetry: telemetry::Telemetry;
    joins: checkpoints::Checkpoints, eta::Eta,
}

impl CollectorArgs {
    /// The RPC URLs the health collector watches: its own plus every URL an
    /// enabled collector uses.
    pub fn watched_rpc_urls(&self) -> Vec<RpcUrl> {
        self.context().watched_rpc_urls().to_vec()
    }

    /// Whether the flags enable the collector `name`.
    pub fn enabled(&self, name: &str) -> bool {
        self.context().enabled(name)
    }
}

impl Collectors {
    /// Build every collector the flags enable and spawn its poll loop into
    /// `tasks` (the server).
    pub fn start(
        args: &CollectorArgs,
        tasks: &mut JoinSet<()>,
    ) -> Result<Collectors, CollectError> {
        let ctx = args.context();
        for (name, needs) in ctx.idle() {
            tracing::warn!(
                collector = name,
                needs,
                "collector off: it reads the {needs} collector's snapshots, which --no-collector.{needs} switched off"
            );
        }
        Self::launch(args, ctx, Launch::Forever(tasks))
    }

    /// Every started collector, type-erased, in list order.
    pub fn watched(&self) -> Vec<Arc<dyn Watched>> {
        self.watched.clone()
    }

    /// The joins over started collectors, in list order.
    pub fn joins(&self) -> Vec<Arc<dyn Join>> {
        self.joins.clone()
    }

    /// The status of the collector `name`, if it is started.
    pub fn status(&self, name: &str) -> Option<Status> {
        self.watched
            .iter()
            .map(|w| w.status())
            .find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_dependencies_before_their_dependents() {
        for (i, (name, deps)) in DEPENDENCIES.iter().enumerate() {
            for dep in *deps {
                let at = NAMES.iter().position(|n| n == dep);
                assert!(
                    at.is_some_and(|at| at < i),
                    "{name} depends on {dep}, which must come earlier in the list"
                );
            }
        }
        assert_eq!(
            NAMES,
            [
                "solana",
                "coordinator",
                "pool",
                "treasurer",
                "huggingface",
                "telemetry"
            ]
        );
        let deps = |name: &str| {
            DEPENDENCIES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, d)| *d)
        };
        assert_eq!(deps("huggingface"), Some(&["coordinator"][..]));
        assert_eq!(deps("treasurer"), Some(&["coordinator"][..]));
        assert_eq!(deps("telemetry"), Some(&["coordinator"][..]));
    }
}
