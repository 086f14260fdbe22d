//! What a collector says about itself, so that one declarative list
//! (`collectors!` in [`crate::collectors`]) can derive the CLI flags, the wiring,
//! the watched RPC URLs and the start order from it.
//!
//! A collector file implements [`Spec`] next to its [`Collector`]: its flags
//! (an `Args` struct flattened into the CLI under [`Spec::HEADING`]), whether
//! the flags enable it, their cross-checks, the RPC URLs it reads, how to build
//! it, and which collectors' snapshots it reads ([`Spec::DEPENDS_ON`]). Other
//! collectors' flags and slots reach it through the [`Context`], typed, without
//! naming the list (which would be a module cycle).

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use prometheus_client::encoding::DescriptorEncoder;

use crate::error::CollectError;
use crate::exposition::{Body, Format, Gzipped, deflate_segment, render};
use crate::poller::{Collector, Slot, Stats, Watched, lock};
use crate::rpc::RpcUrl;

/// A collector that describes itself to the wiring.
pub trait Spec: Collector + Sized {
    /// Its flags, flattened into the CLI.
    type Args: clap::Args + clap::FromArgMatches + Clone + fmt::Debug + Send + Sync + 'static;
    /// The `--help` heading of its flags.
    const HEADING: &'static str;
    /// Collectors whose snapshots it reads ([`Collector::NAME`]s). They come
    /// earlier in the list; when they run too, this one's first poll waits for
    /// their first poll to finish (successful or not).
    const DEPENDS_ON: &'static [&'static str] = &[];
    /// Those of [`Spec::DEPENDS_ON`] without which it has nothing to read: when
    /// the flags switch one of them off, this one stays off too, and the server
    /// says so at start ([`Context::idle`]).
    const REQUIRES: &'static [&'static str] = &[];

    /// Whether the flags switch it on.
    fn enabled(args: &Self::Args) -> bool;
    /// Checks clap cannot express, run only when it is enabled; the message
    /// names the flags involved.
    fn validate(_args: &Self::Args, _ctx: &Context) -> Result<(), String> {
        Ok(())
    }
    /// The Solana RPC URLs it reads, which the health collector also watches.
    fn rpc_urls(_args: &Self::Args, _ctx: &Context) -> Vec<RpcUrl> {
        Vec::new()
    }
    /// Build it; `stats` are the counters its slot and health families share.
    fn build(
        args: &Self::Args,
        ctx: &Context,
        stats: Arc<Stats>,
    ) -> Result<Built<Self>, CollectError>;
}

/// Families joined from the snapshots of several collectors (a run's
/// checkpoint against its Hub repo); it polls nothing itself. Its body is
/// encoded once per set of snapshots, by the first scrape that sees them, and
/// served after the collectors' bodies.
pub trait Join: Send + Sync + fmt::Debug + 'static {
    /// The join over the started slots it reads, if they are all started.
    fn start(ctx: &Context) -> Option<Self>
    where
        Self: Sized;
    /// The joined families in `format`, while every snapshot it reads is
    /// fresh.
    fn body(&self, format: Format) -> Option<Body>;
    /// The same compressed, once per set of snapshots and format.
    fn gzip_body(&self, format: Format) -> Option<Arc<Gzipped>>;
}

/// The shared half of a join over two collectors' snapshots: families written
/// by `encode` from both, encoded once per pair of snapshots and format, while
/// both are fresh. A join type wraps one and implements [`Join`] with it.
pub struct Pair<A: Collector, B: Collector> {
    a: Arc<Slot<A>>,
    b: Arc<Slot<B>>,
    encode: PairEncoder<A, B>,
    rendered: Mutex<Option<PairBodies<A::Snapshot, B::Snapshot>>>,
}

/// Writes a join's families from two snapshots.
pub type PairEncoder<A, B> = fn(
    &<A as Collector>::Snapshot,
    &<B as Collector>::Snapshot,
    &mut DescriptorEncoder<'_>,
) -> fmt::Result;

/// The join of one pair of snapshots, in the formats scrapes asked for. The
/// snapshots are held weakly: they are recognised by address, and a weak
/// reference keeps that address from being reused.
struct PairBodies<S, T> {
    a: Weak<S>,
    b: Weak<T>,
    bodies: [Option<Body>; 2],
    gzipped: [Option<Arc<Gzipped>>; 2],
}

impl<A: Collector, B: Collector> Pair<A, B> {
    /// A join of these two slots.
    pub fn new(a: Arc<Slot<A>>, b: Arc<Slot<B>>, encode: PairEncoder<A, B>) -> Self {
        Pair {
            a,
            b,
            encode,
            rendered: Mutex::new(None),
        }
    }

    /// The joined families in `format`, while both snapshots are fresh.
    pub fn body(&self, format: Format) -> Option<Body> {
        let (a, b) = (self.a.fresh()?, self.b.fresh()?);
        let mut rendered = lock(&self.rendered);
        self.render(&mut rendered, a, b, format)
    }

    /// The same compressed, once per pair of snapshots and format.
    pub fn gzip_body(&self, format: Format) -> Option<Arc<Gzipped>> {
        let (a, b) = (self.a.fresh()?, self.b.fresh()?);
        let mut rendered = lock(&self.rendered);
        let body = self.render(&mut rendered, a, b, format)?;
        let cell = &mut rendered.as_mut()?.gzipped[format as usize];
        Some(Arc::clone(
            cell.get_or_insert_with(|| Arc::new(deflate_segment(&body))),
        ))
    }

    fn render(
        &self,
        rendered: &mut Option<PairBodies<A::Snapshot, B::Snapshot>>,
        a: Arc<A::Snapshot>,
        b: Arc<B::Snapshot>,
        format: Format,
    ) -> Option<Body> {
        let same = rendered.as_ref().is_some_and(|r| {
            Weak::ptr_eq(&r.a, &Arc::downgrade(&a)) && Weak::ptr_eq(&r.b, &Arc::downgrade(&b))
        });
        if !same {
            *rendered = Some(PairBodies {
                a: Arc::downgrade(&a),
                b: Arc::downgrade(&b),
                bodies: [None, None],
                gzipped: [None, None],
            });
        }
        let cell = &mut rendered.as_mut()?.bodies[format as usize];
        if cell.is_none() {
            let joined = Joined::<A, B> {
                a,
                b,
                encode: self.encode,
            };
            *cell = Some(render(format, Box::new(joined)).unwrap_or_else(|_| {
                tracing::error!(?format, a = A::NAME, b = B::NAME, "encoding a join failed");
                Arc::new([])
            }));
        }
        cell.clone()
    }
}

impl<A: Collector, B: Collector> fmt::Debug for Pair<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pair({} ⨝ {})", A::NAME, B::NAME)
    }
}

/// One pair of snapshots, for the encoder.
struct Joined<A: Collector, B: Collector> {
    a: Arc<A::Snapshot>,
    b: Arc<B::Snapshot>,
    encode: PairEncoder<A, B>,
}

impl<A: Collector, B: Collector> fmt::Debug for Joined<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Joined({} ⨝ {})", A::NAME, B::NAME)
    }
}

impl<A: Collector, B: Collector> prometheus_client::collector::Collector for Joined<A, B> {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        (self.encode)(&self.a, &self.b, &mut encoder)
    }
}

/// A built collector and how its poller runs it.
#[derive(Debug)]
pub struct Built<C> {
    /// The collector.
    pub collector: C,
    /// How often it polls.
    pub interval: Duration,
    /// The deadline of one poll (shorter than `interval`).
    pub deadline: Duration,
    /// How long its last good snapshot is served.
    pub max_age: Duration,
}

/// Every collector's flags and the slots started so far, typed by collector.
#[derive(Default)]
pub struct Context {
    args: HashMap<&'static str, Box<dyn Any + Send + Sync>>,
    enabled: Vec<&'static str>,
    idle: Vec<(&'static str, &'static str)>,
    started: Vec<&'static str>,
    slots: HashMap<&'static str, Arc<dyn Any + Send + Sync>>,
    watched: HashMap<&'static str, Arc<dyn Watched>>,
    rpc_urls: Vec<RpcUrl>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("enabled", &self.enabled)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Record `C`'s flags (the list does this for every collector, in order).
    pub fn add<C: Spec>(&mut self, args: &C::Args) {
        if C::enabled(args) {
            match C::REQUIRES.iter().find(|r| !self.enabled.contains(r)) {
                Some(missing) => self.idle.push((C::NAME, missing)),
                None => {
                    self.enabled.push(C::NAME);
                    self.started.push(C::NAME);
                }
            }
        }
        self.args.insert(C::NAME, Box::new(args.clone()));
    }

    /// Collectors the flags leave on but that stay off because a collector they
    /// require is off: (collector, the one it requires).
    pub fn idle(&self) -> &[(&'static str, &'static str)] {
        &self.idle
    }

    /// `C`'s flags.
    pub fn args<C: Spec>(&self) -> Option<&C::Args> {
        self.args.get(C::NAME)?.downcast_ref()
    }

    /// Whether the flags enable the collector `name`.
    pub fn enabled(&self, name: &str) -> bool {
        self.enabled.contains(&name)
    }

    /// Whether the collector `name` is started in this launch (enabled, and
    /// not left out by [`Context::only`]).
    pub fn started(&self, name: &str) -> bool {
        self.started.contains(&name)
    }

    /// Start only these of the enabled collectors (a one-shot command polls
    /// what its answer reads).
    pub fn only(&mut self, names: &[&str]) {
        self.started.retain(|n| names.contains(n));
    }

    /// The RPC URLs the health collector watches: every enabled collector's.
    pub fn watched_rpc_urls(&self) -> &[RpcUrl] {
        &self.rpc_urls
    }

    /// Set what [`Context::watched_rpc_urls`] returns.
    pub fn set_watched_rpc_urls(&mut self, urls: Vec<RpcUrl>) {
        self.rpc_urls = urls;
    }

    /// `C`'s slot, once it is started.
    pub fn slot<C: Spec>(&self) -> Option<Arc<Slot<C>>> {
        Arc::clone(self.slots.get(C::NAME)?).downcast().ok()
    }

    /// The started collector `name`, type-erased.
    pub fn watched(&self, name: &str) -> Option<Arc<dyn Watched>> {
        self.watched.get(name).cloned()
    }

    /// Record `C`'s started slot.
    pub fn insert_slot<C: Spec>(&mut self, slot: &Arc<Slot<C>>) {
        self.slots
            .insert(C::NAME, Arc::clone(slot) as Arc<dyn Any + Send + Sync>);
        self.watched
            .insert(C::NAME, Arc::clone(slot) as Arc<dyn Watched>);
    }
}
