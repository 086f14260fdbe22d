//! Solana RPC health (`collector="solana"`): is each RPC endpoint the exporter
//! depends on answering, how far behind is it, and what cluster is it?
//!
//! Per endpoint and poll: `getHealth` (timed: that round trip is the latency),
//! then together `getSlot` at `processed`/`confirmed`/`finalized`,
//! `getEpochInfo`, `getRecentPerformanceSamples(1)`, `getVersion`, and once per
//! endpoint `getGenesisHash` (it never changes).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `psyche_solana_rpc_up` | gauge | endpoint |
//! | `psyche_solana_rpc_latency_seconds` | gauge | endpoint |
//! | `psyche_solana_slot` | gauge | endpoint, commitment |
//! | `psyche_solana_block_height` | gauge | endpoint |
//! | `psyche_solana_epoch` | gauge | endpoint |
//! | `psyche_solana_epoch_progress_ratio` | gauge | endpoint |
//! | `psyche_solana_slots_behind` | gauge | endpoint |
//! | `psyche_solana_transactions_per_second` | gauge | endpoint |
//! | `psyche_solana_rpc_info` | gauge (1) | endpoint, cluster, version |
//!
//! Failure behaviour: endpoints are probed independently, each under its own
//! deadline, so one slow or broken endpoint only turns its own `rpc_up` to 0.
//! When an endpoint does not answer, its last good readings are kept (and
//! served) until the collector's max age, then dropped. An HTTP 429 with
//! `Retry-After` makes the collector leave that endpoint alone until then.
//! `getHealth` is coarse: a node reports healthy while within 128 slots of the
//! cluster (agave `--health-check-slot-distance`), so `slots_behind` is also
//! computed from the confirmed slots of the endpoints of one cluster.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Unit;
use serde::Serialize;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client_api::client_error::ErrorKind as ClientErrorKind;
use solana_rpc_client_api::request::{RpcError, RpcResponseErrorData};

use crate::collectors::spec::{Built, Context, Spec};
use crate::error::CollectError;
use crate::exposition::gauge;
use crate::flags::{RpcUrlParser, check_timing, max_age, parse_duration};
use crate::poller::{Collector, Retained, Stamp, Stats, lock};
use crate::rpc::{NODE_UNHEALTHY, Rpc, RpcUrl, classify};

/// Solana RPC health collector flags.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "collector.solana")]
pub struct Args {
    /// Disable the Solana RPC health collector.
    #[arg(
        id = "no-collector.solana",
        long = "no-collector.solana",
        env = "PSYCHE_EXPORTER_NO_COLLECTOR_SOLANA"
    )]
    pub disabled: bool,
    /// Extra RPC endpoint to watch (repeatable; the environment variable takes a
    /// comma-separated list). The RPC URLs of the other enabled collectors are
    /// always watched. Only scheme://host[:port] is ever shown.
    #[arg(id = "solana.rpc-url", long = "solana.rpc-url", env = "PSYCHE_EXPORTER_SOLANA_RPC_URL", value_delimiter = ',', hide_env_values = true, value_parser = RpcUrlParser)]
    pub rpc_urls: Vec<RpcUrl>,
    /// How often to poll the endpoints.
    #[arg(id = "solana.interval", long = "solana.interval", env = "PSYCHE_EXPORTER_SOLANA_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Deadline for one endpoint's probe (must be shorter than the interval).
    #[arg(id = "solana.timeout", long = "solana.timeout", env = "PSYCHE_EXPORTER_SOLANA_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to keep serving an endpoint's last readings while it does not
    /// answer [default: 3 × interval].
    #[arg(id = "solana.max-age", long = "solana.max-age", env = "PSYCHE_EXPORTER_SOLANA_MAX_AGE", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
}

impl Spec for SolanaRpc {
    type Args = Args;
    const HEADING: &'static str = "Solana RPC health (collector \"solana\")";

    fn enabled(args: &Args) -> bool {
        !args.disabled
    }

    fn validate(args: &Args, _ctx: &Context) -> Result<(), String> {
        check_timing("solana", args.interval, args.timeout)
    }

    /// Its own `--solana.rpc-url`s; [`Spec::build`] adds every other
    /// collector's.
    fn rpc_urls(args: &Args, _ctx: &Context) -> Vec<RpcUrl> {
        args.rpc_urls.clone()
    }

    fn build(args: &Args, ctx: &Context, stats: Arc<Stats>) -> Result<Built<Self>, CollectError> {
        let max_age = max_age(args.max_age, args.interval);
        Ok(Built {
            collector: SolanaRpc::new(
                ctx.watched_rpc_urls(),
                crate::rpc::http_client(args.timeout)?,
                stats,
                args.timeout,
                max_age,
            ),
            interval: args.interval,
            // Each endpoint is cut at `timeout`; the margin lets the
            // collector publish the endpoints that did answer.
            deadline: args.timeout + (args.interval - args.timeout) / 2,
            max_age,
        })
    }
}

/// Genesis hashes of the public clusters.
const CLUSTERS: [(&str, &str); 3] = [
    (
        "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d",
        "mainnet-beta",
    ),
    ("EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG", "devnet"),
    ("4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY", "testnet"),
];

/// The cluster a genesis hash belongs to: `mainnet-beta`, `devnet`, `testnet`
/// or `unknown`.
pub fn cluster_name(genesis_hash: &str) -> &'static str {
    CLUSTERS
        .iter()
        .find(|(hash, _)| *hash == genesis_hash)
        .map_or("unknown", |(_, name)| name)
}

/// What one poll learned about every watched endpoint, sorted by endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct SolanaSnapshot {
    /// One entry per endpoint.
    pub endpoints: Vec<EndpointStatus>,
}

/// One endpoint's health.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointStatus {
    /// `scheme://host[:port]`, never the full URL.
    pub endpoint: String,
    /// `getHealth` answered "ok".
    pub up: bool,
    /// Round trip of `getHealth`, when it answered at all.
    pub latency_seconds: Option<f64>,
    /// Slots behind the cluster: the node's own figure when it reports one,
    /// else the distance to the highest confirmed slot seen on its cluster.
    pub slots_behind: Option<u64>,
    /// The latest readings; from an earlier poll when `stale`.
    pub readings: Option<Readings>,
    /// The readings are from an earlier poll (the endpoint failed this one).
    pub stale: bool,
    /// Why the endpoint is not up, for people.
    pub error: Option<String>,
}

/// Values read from an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Readings {
    /// Genesis hash, naming the cluster.
    pub genesis_hash: Option<String>,
    /// `mainnet-beta`, `devnet`, `testnet` or `unknown`.
    pub cluster: &'static str,
    /// `solana-core` version.
    pub version: Option<String>,
    /// Slot at `processed`.
    pub slot_processed: Option<u64>,
    /// Slot at `confirmed`.
    pub slot_confirmed: Option<u64>,
    /// Slot at `finalized`.
    pub slot_finalized: Option<u64>,
    /// Block height (confirmed).
    pub block_height: Option<u64>,
    /// Epoch (confirmed).
    pub epoch: Option<u64>,
    /// Slot index within the epoch / slots in the epoch.
    pub epoch_progress_ratio: Option<f64>,
    /// All transactions per second over the latest performance sample.
    pub transactions_per_second: Option<f64>,
}

/// The health collector over a fixed set of endpoints.
#[derive(Debug)]
pub struct SolanaRpc {
    endpoints: Vec<Probe>,
    deadline: Duration,
    stats: Arc<Stats>,
    /// Each endpoint's last good readings, by endpoint.
    last_good: Mutex<Retained<String, Readings>>,
}

#[derive(Debug)]
struct Probe {
    rpc: Rpc,
    genesis_hash: Mutex<Option<String>>,
    was_up: Mutex<Option<bool>>,
}

/// One endpoint's answer to one poll, before the cross-endpoint step.
struct Answer {
    up: bool,
    latency: Option<Duration>,
    reported_behind: Option<u64>,
    readings: Option<Readings>,
    stale: bool,
    error: Option<String>,
}

impl SolanaRpc {
    /// Watch `urls` (deduplicated by endpoint; the first URL of an endpoint
    /// wins). `deadline` bounds each endpoint's probe; `max_age` bounds how
    /// long an unanswering endpoint's last readings are shown.
    pub fn new(
        urls: &[RpcUrl],
        http: reqwest::Client,
        stats: Arc<Stats>,
        deadline: Duration,
        max_age: Duration,
    ) -> Self {
        let mut seen = BTreeMap::new();
        for url in urls {
            if seen.contains_key(url.endpoint()) {
                if seen.get(url.endpoint()) != Some(&url) {
                    tracing::warn!(
                        collector = Self::NAME,
                        endpoint = url.endpoint(),
                        "two different RPC URLs share one endpoint; watching only the first"
                    );
                }
                continue;
            }
            seen.insert(url.endpoint(), url);
        }
        let endpoints = seen
            .into_values()
            .map(|url| Probe {
                rpc: Rpc::new(http.clone(), url.clone(), Arc::clone(&stats)),
                genesis_hash: Mutex::new(None),
                was_up: Mutex::new(None),
            })
            .collect();
        SolanaRpc {
            endpoints,
            deadline,
            stats,
            last_good: Mutex::new(Retained::new(max_age)),
        }
    }

    async fn probe(&self, probe: &Probe) -> Answer {
        let answer = if let Some(until) = probe.rpc.backoff.active() {
            let wait = until.saturating_duration_since(Instant::now());
            let message = format!(
                "{}: rate limited; next request in {}s",
                probe.rpc.url,
                wait.as_secs()
            );
            self.stats.incomplete(message.clone());
            self.unanswered(probe, message)
        } else {
            match tokio::time::timeout(self.deadline, self.ask(probe)).await {
                Ok(answer) => answer,
                Err(_) => {
                    let err = CollectError::Timeout {
                        what: format!(
                            "{} (deadline {})",
                            probe.rpc.url,
                            humantime::format_duration(self.deadline)
                        ),
                    };
                    self.stats.record(&err);
                    self.unanswered(probe, err.to_string())
                }
            }
        };
        let mut was_up = lock(&probe.was_up);
        match (*was_up, answer.up) {
            (Some(true) | None, false) => tracing::warn!(
                collector = Self::NAME,
                endpoint = probe.rpc.url.endpoint(),
                error = answer.error.as_deref().unwrap_or(""),
                "RPC endpoint down"
            ),
            (Some(false), true) => tracing::info!(
                collector = Self::NAME,
                endpoint = probe.rpc.url.endpoint(),
                "RPC endpoint recovered"
            ),
            _ => {}
        }
        *was_up = Some(answer.up);
        answer
    }

    /// The endpoint did not answer: report it down, with its last good
    /// readings while they are younger than max age.
    fn unanswered(&self, probe: &Probe, error: String) -> Answer {
        let kept = lock(&self.last_good)
            .fresh(&probe.rpc.url.endpoint().to_owned(), Instant::now())
            .map(|k| k.value.clone());
        Answer {
            up: false,
            latency: None,
            reported_behind: None,
            stale: kept.is_some(),
            readings: kept,
            error: Some(error),
        }
    }

    async fn ask(&self, probe: &Probe) -> Answer {
        let client = &probe.rpc.client;
        let started = Instant::now();
        let health = client.get_health().await;
        let latency = started.elapsed();
        let (up, reported_behind, mut error) = match health {
            Ok(()) => (true, None, None),
            Err(err) => {
                let behind = match err.kind.as_ref() {
                    ClientErrorKind::RpcError(RpcError::RpcResponseError {
                        code: NODE_UNHEALTHY,
                        data: RpcResponseErrorData::NodeUnhealthy { num_slots_behind },
                        ..
                    }) => Some(*num_slots_behind),
                    _ => None,
                };
                let err = classify(&probe.rpc.what("getHealth"), err);
                self.stats.record(&err);
                if behind.is_none() && err.kind() != "rpc" {
                    // No JSON-RPC answer at all: don't hammer it with six more calls.
                    return self.unanswered(probe, err.to_string());
                }
                (false, behind.flatten(), Some(err.to_string()))
            }
        };

        let cached_genesis = lock(&probe.genesis_hash).clone();
        let (processed, confirmed, finalized, epoch, perf, version, genesis) = tokio::join!(
            client.get_slot_with_commitment(CommitmentConfig::processed()),
            client.get_slot_with_commitment(CommitmentConfig::confirmed()),
            client.get_slot_with_commitment(CommitmentConfig::finalized()),
            client.get_epoch_info(),
            client.get_recent_performance_samples(Some(1)),
            client.get_version(),
            async {
                match cached_genesis {
                    Some(hash) => Ok(hash),
                    None => client.get_genesis_hash().await.map(|h| h.to_string()),
                }
            },
        );
        let mut note = |method: &str, err| {
            let err = classify(&probe.rpc.what(method), err);
            self.stats.record(&err);
            error.get_or_insert_with(|| err.to_string());
        };
        let mut readings = Readings {
            cluster: "unknown",
            ..Readings::default()
        };
        match genesis {
            Ok(hash) => {
                readings.cluster = cluster_name(&hash);
                *lock(&probe.genesis_hash) = Some(hash.clone());
                readings.genesis_hash = Some(hash);
            }
            Err(e) => note("getGenesisHash", e),
        }
        for (slot, commitment, field) in [
            (processed, "processed", &mut readings.slot_processed),
            (confirmed, "confirmed", &mut readings.slot_confirmed),
            (finalized, "finalized", &mut readings.slot_finalized),
        ] {
            match slot {
                Ok(s) => *field = Some(s),
                Err(e) => note(&format!("getSlot({commitment})"), e),
            }
        }
        match epoch {
            Ok(info) => {
                readings.epoch = Some(info.epoch);
                readings.block_height = Some(info.block_height);
                if info.slots_in_epoch > 0 {
                    readings.epoch_progress_ratio =
                        Some(info.slot_index as f64 / info.slots_in_epoch as f64);
                }
            }
            Err(e) => note("getEpochInfo", e),
        }
        match perf {
            Ok(samples) => {
                readings.transactions_per_second = samples
                    .first()
                    .filter(|s| s.sample_period_secs > 0)
                    .map(|s| s.num_transactions as f64 / f64::from(s.sample_period_secs));
            }
            Err(e) => note("getRecentPerformanceSamples", e),
        }
        match version {
            // A label value from upstream: bounded and printable.
            Ok(v) => {
                readings.version = Some(
                    crate::error::sanitize(&v.solana_core)
                        .chars()
                        .take(64)
                        .collect(),
                )
            }
            Err(e) => note("getVersion", e),
        }
        lock(&self.last_good).put(
            probe.rpc.url.endpoint().to_owned(),
            readings.clone(),
            Stamp::now(),
        );
        Answer {
            up,
            latency: Some(latency),
            reported_behind,
            readings: Some(readings),
            stale: false,
            error,
        }
    }
}

/// `slots_behind` for every endpoint: the node's own figure, else the
/// distance to the best confirmed slot among endpoints of the same cluster.
fn slots_behind(answers: &[(String, Answer)]) -> Vec<Option<u64>> {
    let mut best: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, a) in answers {
        if let Some(r) = &a.readings
            && let (Some(hash), Some(slot)) = (&r.genesis_hash, r.slot_confirmed)
        {
            let b = best.entry(hash.as_str()).or_insert(slot);
            *b = (*b).max(slot);
        }
    }
    answers
        .iter()
        .map(|(_, a)| {
            a.reported_behind.or_else(|| {
                let r = a.readings.as_ref()?;
                let top = best.get(r.genesis_hash.as_deref()?)?;
                Some(top.saturating_sub(r.slot_confirmed?))
            })
        })
        .collect()
}

impl Collector for SolanaRpc {
    const NAME: &'static str = "solana";
    type Snapshot = SolanaSnapshot;

    async fn poll(&self) -> Result<SolanaSnapshot, CollectError> {
        let answers = futures_util::future::join_all(
            self.endpoints
                .iter()
                .map(|p| async move { (p.rpc.url.endpoint().to_owned(), self.probe(p).await) }),
        )
        .await;
        let behind = slots_behind(&answers);
        let endpoints = answers
            .into_iter()
            .zip(behind)
            .map(|((endpoint, a), slots_behind)| EndpointStatus {
                endpoint,
                up: a.up,
                latency_seconds: a.latency.map(|d| d.as_secs_f64()),
                slots_behind,
                readings: a.readings,
                stale: a.stale,
                error: a.error,
            })
            .collect();
        Ok(SolanaSnapshot { endpoints })
    }

    fn encode(s: &SolanaSnapshot, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let eps = &s.endpoints;
        let label = |e: &'_ EndpointStatus| [("endpoint", e.endpoint.clone())];
        let read = |f: fn(&Readings) -> Option<u64>| {
            eps.iter()
                .filter_map(move |e| Some((label(e), f(e.readings.as_ref()?)?)))
        };
        gauge(
            out,
            "psyche_solana_rpc_up",
            "1 when the endpoint's getHealth answered ok (polled every --solana.interval)",
            None,
            eps.iter().map(|e| (label(e), i64::from(e.up))),
        )?;
        gauge(
            out,
            "psyche_solana_rpc_latency",
            "Round trip of the endpoint's getHealth call",
            Some(&Unit::Seconds),
            eps.iter()
                .filter_map(|e| Some((label(e), e.latency_seconds?))),
        )?;
        gauge(
            out,
            "psyche_solana_slot",
            "Latest slot the endpoint reports at each commitment",
            None,
            eps.iter().flat_map(|e| {
                let r = e.readings.as_ref();
                [
                    ("processed", r.and_then(|r| r.slot_processed)),
                    ("confirmed", r.and_then(|r| r.slot_confirmed)),
                    ("finalized", r.and_then(|r| r.slot_finalized)),
                ]
                .into_iter()
                .filter_map(|(c, slot)| {
                    Some((
                        [
                            ("endpoint", e.endpoint.clone()),
                            ("commitment", c.to_owned()),
                        ],
                        slot?,
                    ))
                })
            }),
        )?;
        gauge(
            out,
            "psyche_solana_block_height",
            "Block height at confirmed commitment",
            None,
            read(|r| r.block_height),
        )?;
        gauge(
            out,
            "psyche_solana_epoch",
            "Current epoch at confirmed commitment",
            None,
            read(|r| r.epoch),
        )?;
        gauge(
            out,
            "psyche_solana_epoch_progress_ratio",
            "Position in the current epoch, slot index over slots in the epoch (0-1)",
            None,
            eps.iter()
                .filter_map(|e| Some((label(e), e.readings.as_ref()?.epoch_progress_ratio?))),
        )?;
        gauge(
            out,
            "psyche_solana_slots_behind",
            "Slots the endpoint is behind: its own getHealth figure, else its confirmed slot against the highest of its cluster",
            None,
            eps.iter().filter_map(|e| Some((label(e), e.slots_behind?))),
        )?;
        gauge(
            out,
            "psyche_solana_transactions_per_second",
            "All transactions per second over the endpoint's latest performance sample",
            None,
            eps.iter()
                .filter_map(|e| Some((label(e), e.readings.as_ref()?.transactions_per_second?))),
        )?;
        gauge(
            out,
            "psyche_solana_rpc_info",
            "The endpoint's cluster (by genesis hash) and solana-core version; always 1",
            None,
            eps.iter().filter_map(|e| {
                let r = e.readings.as_ref()?;
                Some((
                    [
                        ("endpoint", e.endpoint.clone()),
                        ("cluster", r.cluster.to_owned()),
                        ("version", r.version.clone().unwrap_or_default()),
                    ],
                    1i64,
                ))
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(hash: &str, confirmed: Option<u64>, reported: Option<u64>) -> Answer {
        Answer {
            up: reported.is_none(),
            latency: None,
            reported_behind: reported,
            readings: Some(Readings {
                genesis_hash: Some(hash.into()),
                cluster: cluster_name(hash),
                slot_confirmed: confirmed,
                ..Readings::default()
            }),
            stale: false,
            error: None,
        }
    }

    #[test]
    fn clusters_by_genesis_hash() {
        assert_eq!(
            cluster_name("EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG"),
            "devnet"
        );
        assert_eq!(
            cluster_name("5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"),
            "mainnet-beta"
        );
        assert_eq!(
            cluster_name("4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY"),
            "testnet"
        );
        assert_eq!(cluster_name("x"), "unknown");
    }

    #[test]
    fn behind_is_reported_or_against_the_best_of_the_same_cluster() {
        let answers = vec![
            ("a".to_owned(), answer("devnet-hash", Some(100), None)),
            ("b".to_owned(), answer("devnet-hash", Some(90), None)),
            ("c".to_owned(), answer("mainnet-hash", Some(5), None)),
            ("d".to_owned(), answer("devnet-hash", Some(1), Some(42))),
            ("e".to_owned(), answer("devnet-hash", None, None)),
        ];
        assert_eq!(
            slots_behind(&answers),
            vec![Some(0), Some(10), Some(0), Some(42), None]
        );
    }
}
