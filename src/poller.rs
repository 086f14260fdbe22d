//! The generic half of every collector: the poll loop, the last-good snapshot
//! with its age limit, and the per-collector counters the health encoder reads.
//!
//! A collector only says how to fetch ([`Collector::poll`]) and how to render
//! ([`Collector::encode`]). Everything about time lives here: one poll at a
//! time on `interval` (a slow poll delays the next tick, it never overlaps it
//! or causes a catch-up burst), each under a deadline shorter than the
//! interval; a failed poll keeps the previous snapshot until `max_age`, after
//! which the collector's domain families disappear from `/metrics` so
//! Prometheus marks them stale instead of showing frozen values for ever.
//! Collectors that poll many entities (endpoints, runs, repos) keep each
//! entity's last good value the same way, in a [`Retained`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::encoding::DescriptorEncoder;

use crate::error::{CollectError, KINDS};
use crate::exposition::{Format, Gzipped, deflate_segment};

/// One upstream, polled on an interval, rendered as metric families.
pub trait Collector: Send + Sync + 'static {
    /// The `collector` label value, flag prefix and log field, e.g. `"solana"`.
    const NAME: &'static str;
    /// Everything one successful poll learned: sorted, converted, immutable.
    type Snapshot: Send + Sync + fmt::Debug + 'static;
    /// Fetch fresh state. Failures of a part (one endpoint of several) are
    /// recorded with [`Stats::record`] and still yield a snapshot; a failure of
    /// the whole poll is the `Err`.
    fn poll(&self) -> impl Future<Output = Result<Self::Snapshot, CollectError>> + Send;
    /// Render a snapshot. Pure: no I/O, no clock.
    fn encode(snapshot: &Self::Snapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result;
    /// Until when its upstream asked to be left alone (`Retry-After`), if it did:
    /// the poller skips polls until then (no request, no error counted, the last
    /// snapshot kept until max age). Collectors that back off per endpoint
    /// themselves leave this `None`.
    fn backoff(&self) -> Option<Instant> {
        None
    }
}

/// Cumulative counters of one collector, shared between the collector (which
/// records into them) and the health encoder (which reads them).
#[derive(Debug)]
pub struct Stats {
    name: &'static str,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    requests: Mutex<BTreeMap<String, u64>>,
    bytes: AtomicU64,
    attempt: Mutex<AttemptErrors>,
}

#[derive(Debug, Default)]
struct AttemptErrors {
    count: u64,
    last: Option<(&'static str, String)>,
}

impl Stats {
    /// Counters for the collector `name`, every error kind starting at zero so
    /// that `rate()` sees the first error.
    pub fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Stats {
            name,
            errors: Mutex::new(KINDS.iter().map(|k| (*k, 0)).collect()),
            requests: Mutex::new(BTreeMap::new()),
            bytes: AtomicU64::new(0),
            attempt: Mutex::new(AttemptErrors::default()),
        })
    }

    /// The collector's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Count one failed upstream request or part of a poll.
    pub fn record(&self, err: &CollectError) {
        tracing::debug!(collector = self.name, kind = err.kind(), error = %err, "upstream error");
        *lock(&self.errors).entry(err.kind()).or_insert(0) += 1;
        let mut attempt = lock(&self.attempt);
        attempt.count += 1;
        attempt.last = Some((err.kind(), err.to_string()));
    }

    /// Mark the current attempt incomplete without counting a new error: a
    /// part is skipped on purpose (an endpoint in its `Retry-After` window)
    /// after an error that was already counted.
    pub fn incomplete(&self, message: String) {
        let mut attempt = lock(&self.attempt);
        attempt.count += 1;
        attempt.last = Some(("skipped", message));
    }

    /// Count one upstream request of `method` that brought `bytes` of body.
    pub fn request(&self, method: &str, bytes: u64) {
        let mut requests = lock(&self.requests);
        match requests.get_mut(method) {
            Some(n) => *n += 1,
            None => {
                requests.insert(method.to_owned(), 1);
            }
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Errors so far, by kind.
    pub fn errors(&self) -> Vec<(&'static str, u64)> {
        lock(&self.errors).iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Requests so far, by method.
    pub fn requests(&self) -> Vec<(String, u64)> {
        lock(&self.requests)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Response body bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn take_attempt(&self) -> AttemptErrors {
        std::mem::take(&mut *lock(&self.attempt))
    }
}

/// A std mutex guard, recovering from poisoning: every critical section here
/// is a counter update that cannot leave the data half-written.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A snapshot's families, encoded at most once per wire format: by the
/// poller right after the poll for every format a scraper has asked for
/// before, else by the first scrape that asks. A scrape then only hands the
/// shared `Bytes` to the response body: encoding thousands of run series on
/// every scrape would cost tens of milliseconds, and rendering a format no
/// scraper uses would cost memory.
#[derive(Debug, Default)]
pub struct Rendered {
    text: OnceLock<Body>,
    openmetrics: OnceLock<Body>,
    /// The same, compressed once for gzip scrapes, by `Format as usize`.
    gzipped: [OnceLock<Arc<Gzipped>>; 2],
}

pub use crate::exposition::Body;

impl Rendered {
    fn cell(&self, format: Format) -> &OnceLock<Body> {
        match format {
            Format::Text => &self.text,
            Format::OpenMetrics => &self.openmetrics,
        }
    }

    /// The body in `format` compressed, rendering it first if need be.
    fn gzipped<C: Collector>(&self, snapshot: &Arc<C::Snapshot>, format: Format) -> Arc<Gzipped> {
        Arc::clone(self.gzipped[format as usize].get_or_init(|| {
            let body = self
                .cell(format)
                .get_or_init(|| render_or_empty::<C>(snapshot, format));
            Arc::new(deflate_segment(body))
        }))
    }
}

/// Adapter giving one snapshot to a throw-away registry.
struct Families<C: Collector>(Arc<C::Snapshot>);

impl<C: Collector> fmt::Debug for Families<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Families").field(&C::NAME).finish()
    }
}

impl<C: Collector> prometheus_client::collector::Collector for Families<C> {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        C::encode(&self.0, &mut encoder)
    }
}

/// Encode `snapshot`'s families in `format` (no OpenMetrics `# EOF`).
pub fn render<C: Collector>(
    snapshot: &Arc<C::Snapshot>,
    format: Format,
) -> Result<Body, fmt::Error> {
    crate::exposition::render(format, Box::new(Families::<C>(Arc::clone(snapshot))))
}

/// [`render`], or nothing (and an error log) if encoding fails: snapshots hold
/// converted values only, so that is a bug, and no families beat a broken
/// exposition.
fn render_or_empty<C: Collector>(snapshot: &Arc<C::Snapshot>, format: Format) -> Body {
    render::<C>(snapshot, format).unwrap_or_else(|_| {
        tracing::error!(collector = C::NAME, ?format, "encoding a snapshot failed");
        Arc::new([])
    })
}

/// The last good snapshot and when it was taken.
#[derive(Debug)]
pub struct Good<S> {
    /// The snapshot.
    pub snapshot: Arc<S>,
    /// Its families, already encoded.
    pub rendered: Arc<Rendered>,
    /// Wall-clock time of the poll that produced it.
    pub at: SystemTime,
    /// Monotonic time of the same poll, for the age check.
    pub instant: Instant,
}

impl<S> Clone for Good<S> {
    fn clone(&self) -> Self {
        Good {
            snapshot: Arc::clone(&self.snapshot),
            rendered: Arc::clone(&self.rendered),
            at: self.at,
            instant: self.instant,
        }
    }
}

/// How the latest poll attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every upstream request succeeded.
    Ok,
    /// A snapshot was published but some parts failed.
    Partial {
        /// How many upstream errors the attempt recorded.
        errors: u64,
        /// The last of them, for people.
        message: String,
    },
    /// No snapshot: the previous one is kept until `max_age`.
    Failed {
        /// The error kind.
        kind: &'static str,
        /// The error message, for people.
        message: String,
    },
}

/// One finished poll attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When it finished.
    pub finished: SystemTime,
    /// How long it took.
    pub duration: Duration,
    /// How it ended.
    pub outcome: Outcome,
}

/// What a collector's poller has published: the value behind every view.
#[derive(Debug)]
pub struct Observation<S> {
    /// The last successful poll's snapshot.
    pub last_good: Option<Good<S>>,
    /// The latest attempt, successful or not.
    pub last_attempt: Option<Attempt>,
}

impl<S> Default for Observation<S> {
    fn default() -> Self {
        Observation {
            last_good: None,
            last_attempt: None,
        }
    }
}

impl<S> Observation<S> {
    /// The last good snapshot if it is at most `max_age` old at `now`.
    pub fn fresh(&self, now: Instant, max_age: Duration) -> Option<&Arc<S>> {
        self.last_good
            .as_ref()
            .filter(|g| now.saturating_duration_since(g.instant) <= max_age)
            .map(|g| &g.snapshot)
    }
}

/// The state a person or a probe asks about, the same for every collector.
#[derive(Debug, Clone)]
pub struct Status {
    /// Collector name.
    pub name: &'static str,
    /// Poll interval.
    pub interval: Duration,
    /// Age after which the last good snapshot is no longer served.
    pub max_age: Duration,
    /// The latest attempt, if any has finished.
    pub last_attempt: Option<Attempt>,
    /// When the last good snapshot was taken.
    pub last_success: Option<SystemTime>,
    /// Whether the last good snapshot is still served.
    pub fresh: bool,
}

impl Status {
    /// 1 when the latest attempt succeeded completely.
    pub fn up(&self) -> bool {
        matches!(
            self.last_attempt,
            Some(Attempt {
                outcome: Outcome::Ok,
                ..
            })
        )
    }

    /// A one-word state for pages: `pending`, `ok`, `partial`, `failing`.
    pub fn state(&self) -> &'static str {
        match &self.last_attempt {
            None => "pending",
            Some(a) => match a.outcome {
                Outcome::Ok => "ok",
                Outcome::Partial { .. } => "partial",
                Outcome::Failed { .. } => "failing",
            },
        }
    }

    /// The latest error message, if the latest attempt had one.
    pub fn last_error(&self) -> Option<&str> {
        match &self.last_attempt.as_ref()?.outcome {
            Outcome::Ok => None,
            Outcome::Partial { message, .. } | Outcome::Failed { message, .. } => Some(message),
        }
    }
}

/// A collector's published state, seen without its snapshot type: what the
/// health encoder, `/readyz` and the landing page need.
pub trait Watched: Send + Sync + fmt::Debug {
    /// Current status.
    fn status(&self) -> Status;
    /// Cumulative counters.
    fn stats(&self) -> &Stats;
    /// The encoded families of the last good snapshot in `format`, while it
    /// is fresh.
    fn body(&self, format: Format) -> Option<Body>;
    /// The same compressed (once per snapshot and format), while it is fresh.
    fn gzip_body(&self, format: Format) -> Option<Arc<Gzipped>>;
    /// Resolves once the first poll attempt has finished (successful or not).
    fn first_attempt(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The cell one poller writes and every view reads.
pub struct Slot<C: Collector> {
    stats: Arc<Stats>,
    /// Formats scrapers have asked for, indexed by `Format as usize`.
    wanted: [AtomicBool; 2],
    /// Formats scrapers have asked for gzip-compressed.
    wanted_gzip: [AtomicBool; 2],
    interval: Duration,
    max_age: Duration,
    observation: RwLock<Arc<Observation<C::Snapshot>>>,
    /// `true` once an attempt has been published.
    attempted: tokio::sync::watch::Sender<bool>,
}

impl<C: Collector> fmt::Debug for Slot<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").field("collector", &C::NAME).finish()
    }
}

impl<C: Collector> Slot<C> {
    /// An empty slot; nothing is served until the first successful poll.
    pub fn new(stats: Arc<Stats>, interval: Duration, max_age: Duration) -> Arc<Self> {
        Arc::new(Slot {
            stats,
            wanted: [AtomicBool::new(false), AtomicBool::new(false)],
            wanted_gzip: [AtomicBool::new(false), AtomicBool::new(false)],
            interval,
            max_age,
            observation: RwLock::new(Arc::new(Observation::default())),
            attempted: tokio::sync::watch::Sender::new(false),
        })
    }

    /// The current observation. Cheap: one `Arc` clone under a read lock.
    pub fn observation(&self) -> Arc<Observation<C::Snapshot>> {
        Arc::clone(&self.observation.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The snapshot views may show now, if any.
    pub fn fresh(&self) -> Option<Arc<C::Snapshot>> {
        self.observation()
            .fresh(Instant::now(), self.max_age)
            .cloned()
    }

    fn publish(&self, observation: Observation<C::Snapshot>) {
        *self.observation.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(observation);
        self.attempted.send_replace(true);
    }
}

impl<C: Collector> Watched for Slot<C> {
    fn status(&self) -> Status {
        let obs = self.observation();
        Status {
            name: C::NAME,
            interval: self.interval,
            max_age: self.max_age,
            last_attempt: obs.last_attempt.clone(),
            last_success: obs.last_good.as_ref().map(|g| g.at),
            fresh: obs.fresh(Instant::now(), self.max_age).is_some(),
        }
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }

    fn body(&self, format: Format) -> Option<Body> {
        let obs = self.observation();
        let good = obs.last_good.as_ref()?;
        if Instant::now().saturating_duration_since(good.instant) > self.max_age {
            return None;
        }
        self.wanted[format as usize].store(true, Ordering::Relaxed);
        let bytes = good
            .rendered
            .cell(format)
            .get_or_init(|| render_or_empty::<C>(&good.snapshot, format));
        Some(bytes.clone())
    }

    fn gzip_body(&self, format: Format) -> Option<Arc<Gzipped>> {
        let obs = self.observation();
        let good = obs.last_good.as_ref()?;
        if Instant::now().saturating_duration_since(good.instant) > self.max_age {
            return None;
        }
        self.wanted_gzip[format as usize].store(true, Ordering::Relaxed);
        Some(good.rendered.gzipped::<C>(&good.snapshot, format))
    }

    fn first_attempt(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut attempted = self.attempted.subscribe();
        Box::pin(async move {
            // The sender lives as long as the slot, which outlives this borrow.
            let _ = attempted.wait_for(|done| *done).await;
        })
    }
}

/// When an entity's value was read: monotonic for the age check, wall clock
/// for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Monotonic time of the read.
    pub instant: Instant,
    /// Wall-clock time of the same read.
    pub wall: SystemTime,
}

impl Stamp {
    /// Now.
    pub fn now() -> Stamp {
        Stamp {
            instant: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}

/// One entity's last good value and when it was read.
#[derive(Debug, Clone)]
pub struct Kept<V> {
    /// The value.
    pub value: V,
    /// When it was read.
    pub read: Stamp,
}

/// Per-entity last good values (an endpoint's readings, a run's state, a
/// repo's history): a poll that cannot read one entity shows its last good
/// value while that is at most `max_age` old, then the entity vanishes. The
/// same rule as [`Slot`] applies to whole snapshots. Entities that no longer
/// exist upstream are forgotten with [`Retained::retain`], so memory is bounded
/// by what exists.
#[derive(Debug, Clone)]
pub struct Retained<K, V> {
    max_age: Duration,
    entries: HashMap<K, Kept<V>>,
}

impl<K: Eq + Hash, V> Retained<K, V> {
    /// Empty; values are served for `max_age` after they were read.
    pub fn new(max_age: Duration) -> Self {
        Retained {
            max_age,
            entries: HashMap::new(),
        }
    }

    /// Remember `value`, read at `read`, replacing what `key` had.
    pub fn put(&mut self, key: K, value: V, read: Stamp) {
        self.entries.insert(key, Kept { value, read });
    }

    /// `key`'s value if it was read at most max age before `now`.
    pub fn fresh(&self, key: &K, now: Instant) -> Option<&Kept<V>> {
        self.entries
            .get(key)
            .filter(|k| now.saturating_duration_since(k.read.instant) <= self.max_age)
    }

    /// `key`'s value whatever its age (what a value was derived from, say).
    pub fn get(&self, key: &K) -> Option<&Kept<V>> {
        self.entries.get(key)
    }

    /// `key`'s value whatever its age, to change it in place.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut Kept<V>> {
        self.entries.get_mut(key)
    }

    /// Every value read at most max age before `now`.
    pub fn fresh_entries(&self, now: Instant) -> impl Iterator<Item = (&K, &Kept<V>)> {
        self.entries
            .iter()
            .filter(move |(_, k)| now.saturating_duration_since(k.read.instant) <= self.max_age)
    }

    /// Forget every entity `keep` rejects (those gone upstream).
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.entries.retain(|k, _| keep(k));
    }

    /// Every key, whatever its age.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.keys()
    }

    /// How many entities are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Run one poll of `collector` under `deadline` and publish the result.
pub async fn poll_once<C: Collector>(collector: &C, slot: &Slot<C>, deadline: Duration) {
    if let Some(until) = collector.backoff() {
        skip(slot, until);
        return;
    }
    let started = Instant::now();
    slot.stats.take_attempt();
    let result = match tokio::time::timeout(deadline, collector.poll()).await {
        Ok(result) => result,
        Err(_) => Err(CollectError::Timeout {
            what: format!(
                "whole poll (deadline {})",
                humantime::format_duration(deadline)
            ),
        }),
    };
    let duration = started.elapsed();
    let partial = slot.stats.take_attempt();
    let previous = slot.observation();
    let mut last_good = previous.last_good.clone();
    let mut to_render = None;
    let outcome = match result {
        Ok(snapshot) => {
            let good = Good {
                snapshot: Arc::new(snapshot),
                rendered: Arc::default(),
                at: SystemTime::now(),
                instant: Instant::now(),
            };
            to_render = Some((Arc::clone(&good.snapshot), Arc::clone(&good.rendered)));
            last_good = Some(good);
            match partial.last {
                None => Outcome::Ok,
                Some((_, message)) => Outcome::Partial {
                    errors: partial.count,
                    message,
                },
            }
        }
        Err(err) => {
            slot.stats.record(&err);
            slot.stats.take_attempt();
            Outcome::Failed {
                kind: err.kind(),
                message: err.to_string(),
            }
        }
    };
    log_transition(
        C::NAME,
        previous.last_attempt.as_ref(),
        &outcome,
        duration,
        last_good.is_some(),
    );
    slot.publish(Observation {
        last_good,
        last_attempt: Some(Attempt {
            finished: SystemTime::now(),
            duration,
            outcome,
        }),
    });
    // Encode the new snapshot for the formats scrapers use only now that it
    // is published and the previous one's bodies are released: never two
    // bodies of a thousand runs in memory at once. A scrape arriving in
    // between renders it itself (the cell runs one initialiser).
    drop(previous);
    if let Some((snapshot, rendered)) = to_render {
        for format in [Format::Text, Format::OpenMetrics] {
            if slot.wanted[format as usize].load(Ordering::Relaxed) {
                rendered
                    .cell(format)
                    .get_or_init(|| render_or_empty::<C>(&snapshot, format));
            }
            if slot.wanted_gzip[format as usize].load(Ordering::Relaxed) {
                rendered.gzipped::<C>(&snapshot, format);
            }
        }
    }
}

/// Publish a skipped poll: the upstream asked to be left alone until `until`. The
/// error that set it was counted when it happened; the skip counts nothing.
fn skip<C: Collector>(slot: &Slot<C>, until: Instant) {
    let previous = slot.observation();
    let wait = until.saturating_duration_since(Instant::now()).as_secs();
    let outcome = Outcome::Failed {
        kind: "rate_limited",
        message: format!("rate limited: waiting {wait}s more, as the upstream asked (Retry-After)"),
    };
    if !matches!(
        previous.last_attempt.as_ref().map(|a| &a.outcome),
        Some(Outcome::Failed {
            kind: "rate_limited",
            ..
        })
    ) {
        tracing::warn!(
            collector = C::NAME,
            wait_seconds = wait,
            "upstream asked to back off; polls skipped until then"
        );
    }
    slot.publish(Observation {
        last_good: previous.last_good.clone(),
        last_attempt: Some(Attempt {
            finished: SystemTime::now(),
            duration: Duration::ZERO,
            outcome,
        }),
    });
}

/// Log on change, count everything: a warning when a collector starts
/// failing, one line when it recovers, and only debug lines in between.
fn log_transition(
    name: &str,
    previous: Option<&Attempt>,
    now: &Outcome,
    took: Duration,
    has_data: bool,
) {
    let was_ok = matches!(previous.map(|a| &a.outcome), None | Some(Outcome::Ok));
    match now {
        Outcome::Ok if !was_ok => {
            tracing::info!(collector = name, took = ?took, "collector recovered");
        }
        Outcome::Ok => tracing::debug!(collector = name, took = ?took, "poll ok"),
        Outcome::Partial { errors, message } if was_ok || previous.is_none() => {
            tracing::warn!(collector = name, errors, error = %message, "poll partly failed");
        }
        Outcome::Failed { kind, message } if was_ok || previous.is_none() => {
            if has_data {
                tracing::warn!(collector = name, kind, error = %message, "poll failed; serving the last good data until max age");
            } else {
                tracing::warn!(collector = name, kind, error = %message, "poll failed; no data to serve yet");
            }
        }
        _ => tracing::debug!(collector = name, outcome = ?now, "poll still failing"),
    }
}

/// Poll for ever: at once, then every `interval`, never two polls at a time.
pub async fn poll_loop<C: Collector>(
    collector: Arc<C>,
    slot: Arc<Slot<C>>,
    interval: Duration,
    deadline: Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        poll_once(collector.as_ref(), &slot, deadline).await;
        crate::memory::release_free_memory();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_until_max_age_then_gone() {
        let t0 = Instant::now();
        let obs = Observation {
            last_good: Some(Good {
                snapshot: Arc::new(7),
                rendered: Arc::default(),
                at: SystemTime::now(),
                instant: t0,
            }),
            last_attempt: None,
        };
        let max_age = Duration::from_secs(45);
        assert_eq!(obs.fresh(t0, max_age).map(|s| **s), Some(7));
        assert_eq!(obs.fresh(t0 + max_age, max_age).map(|s| **s), Some(7));
        assert!(
            obs.fresh(t0 + max_age + Duration::from_millis(1), max_age)
                .is_none()
        );
        assert!(Observation::<u8>::default().fresh(t0, max_age).is_none());
    }

    /// A collector that answers from a script: `Some(n)` publishes a
    /// snapshot of `n` entities, `None` fails.
    #[derive(Debug)]
    struct Scripted {
        next: Mutex<Vec<Option<u32>>>,
    }

    impl Collector for Scripted {
        const NAME: &'static str = "scripted";
        type Snapshot = Vec<u32>;

        async fn poll(&self) -> Result<Vec<u32>, CollectError> {
            match lock(&self.next).remove(0) {
                Some(n) => Ok((0..n).collect()),
                None => Err(CollectError::Status {
                    what: "scripted".into(),
                    status: 502,
                }),
            }
        }

        fn encode(s: &Vec<u32>, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
            crate::exposition::gauge(
                out,
                "entity",
                "e",
                None,
                s.iter().map(|i| ([("id", i.to_string())], 1i64)),
            )
        }
    }

    fn exposition<C: Collector>(slot: &Arc<Slot<C>>) -> String {
        let bytes: Vec<u8> = slot
            .body(Format::Text)
            .map(|b| b.iter().flat_map(|c| c.to_vec()).collect())
            .unwrap_or_default();
        String::from_utf8(bytes).expect("the exposition is UTF-8")
    }

    #[tokio::test]
    async fn a_snapshot_is_compressed_once_per_format() {
        let c = Scripted {
            next: Mutex::new(vec![Some(3), Some(2)]),
        };
        let slot: Arc<Slot<Scripted>> = Slot::new(
            Stats::new("scripted"),
            Duration::from_secs(1),
            Duration::from_secs(60),
        );
        poll_once(&c, &slot, Duration::from_secs(1)).await;
        let first = slot.gzip_body(Format::Text).expect("fresh");
        let again = slot.gzip_body(Format::Text).expect("fresh");
        assert!(
            Arc::ptr_eq(&first, &again),
            "not compressed again per scrape"
        );
        let om = slot.gzip_body(Format::OpenMetrics).expect("fresh");
        assert!(!Arc::ptr_eq(&first, &om));
        // A new snapshot: compressed by the poller, since a scraper asked for gzip.
        poll_once(&c, &slot, Duration::from_secs(1)).await;
        let obs = slot.observation();
        let good = obs.last_good.as_ref().expect("published");
        assert!(good.rendered.gzipped[Format::Text as usize].get().is_some());
        let next = slot.gzip_body(Format::Text).expect("fresh");
        assert!(!Arc::ptr_eq(&first, &next));
        assert_eq!(next.len as usize, exposition(&slot).len());
    }

    #[tokio::test]
    async fn failed_poll_keeps_last_good_and_vanished_entities_vanish() {
        let c = Scripted {
            next: Mutex::new(vec![Some(3), None, Some(1)]),
        };
        let slot: Arc<Slot<Scripted>> = Slot::new(
            Stats::new("scripted"),
            Duration::from_secs(1),
            Duration::from_secs(60),
        );
        assert_eq!(slot.status().state(), "pending");
        let deadline = Duration::from_secs(5);

        poll_once(&c, &slot, deadline).await;
        assert_eq!(exposition(&slot).matches("entity{").count(), 3);
        assert!(slot.status().up());

        poll_once(&c, &slot, deadline).await;
        let status = slot.status();
        assert!(!status.up());
        assert_eq!(status.state(), "failing");
        assert_eq!(status.last_error(), Some("scripted: HTTP status 502"));
        assert!(status.fresh, "the last good snapshot is still served");
        assert_eq!(exposition(&slot).matches("entity{").count(), 3);
        let errors: BTreeMap<_, _> = slot.stats().errors().into_iter().collect();
        assert_eq!(errors["status"], 1);

        poll_once(&c, &slot, deadline).await;
        assert_eq!(slot.status().state(), "ok");
        let text = exposition(&slot);
        assert!(text.contains("entity{id=\"0\"} 1"));
        assert!(
            !text.contains("id=\"2\""),
            "entities gone upstream are gone here: {text}"
        );
    }

    #[tokio::test]
    async fn a_poll_is_skipped_while_the_upstream_asked_to_back_off() {
        #[derive(Debug)]
        struct Limited {
            polls: AtomicU64,
            until: Mutex<Option<Instant>>,
        }
        impl Collector for Limited {
            const NAME: &'static str = "limited";
            type Snapshot = u64;
            async fn poll(&self) -> Result<u64, CollectError> {
                Ok(self.polls.fetch_add(1, Ordering::SeqCst) + 1)
            }
            fn encode(_: &u64, _: &mut DescriptorEncoder<'_>) -> fmt::Result {
                Ok(())
            }
            fn backoff(&self) -> Option<Instant> {
                *lock(&self.until)
            }
        }
        let c = Limited {
            polls: AtomicU64::new(0),
            until: Mutex::new(None),
        };
        let slot: Arc<Slot<Limited>> = Slot::new(
            Stats::new("limited"),
            Duration::from_secs(1),
            Duration::from_secs(60),
        );
        poll_once(&c, &slot, Duration::from_secs(1)).await;
        *lock(&c.until) = Some(Instant::now() + Duration::from_secs(600));
        poll_once(&c, &slot, Duration::from_secs(1)).await;
        poll_once(&c, &slot, Duration::from_secs(1)).await;
        assert_eq!(
            c.polls.load(Ordering::SeqCst),
            1,
            "no poll while backing off"
        );
        let status = slot.status();
        assert_eq!(status.state(), "failing");
        assert!(status.fresh, "the last snapshot is still served");
        assert!(status.last_error().unwrap_or("").contains("waiting"));
        assert_eq!(slot.fresh().as_deref(), Some(&1));
        let errors: u64 = slot.stats().errors().iter().map(|(_, n)| n).sum();
        assert_eq!(errors, 0, "a skip counts no error");
    }

    #[tokio::test]
    async fn a_poll_past_its_deadline_is_a_timeout() {
        #[derive(Debug)]
        struct Hangs;
        impl Collector for Hangs {
            const NAME: &'static str = "hangs";
            type Snapshot = ();
            async fn poll(&self) -> Result<(), CollectError> {
                std::future::pending().await
            }
            fn encode(_: &(), _: &mut DescriptorEncoder<'_>) -> fmt::Result {
                Ok(())
            }
        }
        let slot: Arc<Slot<Hangs>> = Slot::new(
            Stats::new("hangs"),
            Duration::from_secs(1),
            Duration::from_secs(3),
        );
        poll_once(&Hangs, &slot, Duration::from_millis(20)).await;
        let status = slot.status();
        assert_eq!(status.state(), "failing");
        assert!(!status.fresh);
        let errors: BTreeMap<_, _> = slot.stats().errors().into_iter().collect();
        assert_eq!(errors["timeout"], 1);
    }

    #[test]
    fn retained_serves_each_entity_until_its_max_age() {
        let t0 = Instant::now();
        let at = |after: u64| Stamp {
            instant: t0 + Duration::from_secs(after),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(after),
        };
        let mut kept: Retained<&str, u32> = Retained::new(Duration::from_secs(10));
        assert!(kept.is_empty());
        kept.put("a", 1, at(0));
        kept.put("b", 2, at(5));
        let now = t0 + Duration::from_secs(10);
        assert_eq!(kept.fresh(&"a", now).map(|k| k.value), Some(1));
        let later = t0 + Duration::from_secs(11);
        assert!(kept.fresh(&"a", later).is_none(), "a is past its max age");
        assert_eq!(kept.get(&"a").map(|k| k.value), Some(1), "but still known");
        let fresh: Vec<_> = kept.fresh_entries(later).map(|(k, _)| *k).collect();
        assert_eq!(fresh, ["b"]);
        // A new reading restarts the clock of that entity only.
        kept.put("a", 3, at(11));
        assert_eq!(kept.fresh(&"a", later).map(|k| k.value), Some(3));
        assert_eq!(
            kept.fresh(&"a", later).map(|k| k.read.wall),
            Some(at(11).wall)
        );
        kept.retain(|k| *k != "b");
        assert_eq!(kept.len(), 1);
        assert!(kept.get(&"b").is_none(), "gone upstream, forgotten");
        if let Some(k) = kept.get_mut(&"a") {
            k.value = 4;
        }
        assert_eq!(kept.keys().copied().collect::<Vec<_>>(), ["a"]);
        assert_eq!(kept.get(&"a").map(|k| k.value), Some(4));
    }

    #[tokio::test]
    async fn first_attempt_resolves_after_the_first_poll_even_a_failed_one() {
        let c = Scripted {
            next: Mutex::new(vec![None]),
        };
        let slot: Arc<Slot<Scripted>> = Slot::new(
            Stats::new("scripted"),
            Duration::from_secs(1),
            Duration::from_secs(60),
        );
        let waiting = {
            let slot = Arc::clone(&slot);
            tokio::spawn(async move { slot.first_attempt().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no attempt yet");
        poll_once(&c, &slot, Duration::from_secs(5)).await;
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("resolves once the attempt is published")
            .expect("the waiter does not panic");
        // Later waiters resolve at once.
        tokio::time::timeout(Duration::from_secs(5), slot.first_attempt())
            .await
            .expect("already attempted");
    }

    #[test]
    fn stats_count_by_kind_and_reset_per_attempt() {
        let stats = Stats::new("x");
        stats.record(&CollectError::Status {
            what: "m".into(),
            status: 500,
        });
        stats.record(&CollectError::Timeout { what: "m".into() });
        let errors: BTreeMap<_, _> = stats.errors().into_iter().collect();
        assert_eq!(errors["status"], 1);
        assert_eq!(errors["timeout"], 1);
        assert_eq!(errors["decode"], 0);
        assert_eq!(stats.take_attempt().count, 2);
        assert_eq!(stats.take_attempt().count, 0);
    }
}
