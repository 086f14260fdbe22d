//! `/metrics` encode time for the Solana collector's snapshot: the work a
//! scrape does (the snapshot is already built; no upstream is touched).
//!
//! `cargo bench --bench encode`

use std::fmt;

use criterion::{Criterion, criterion_group, criterion_main};
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;
use psyche_exporter::collectors::solana::{EndpointStatus, Readings, SolanaRpc, SolanaSnapshot};
use psyche_exporter::exposition::Format;
use psyche_exporter::poller::Collector;

#[derive(Debug)]
struct Fixed(SolanaSnapshot);

impl prometheus_client::collector::Collector for Fixed {
    fn encode(&self, mut out: DescriptorEncoder) -> fmt::Result {
        SolanaRpc::encode(&self.0, &mut out)
    }
}

fn snapshot(endpoints: usize) -> SolanaSnapshot {
    SolanaSnapshot {
        endpoints: (0..endpoints)
            .map(|i| EndpointStatus {
                endpoint: format!("https://rpc-{i}.example.com"),
                up: i % 5 != 0,
                latency_seconds: Some(0.042),
                slots_behind: Some(i as u64),
                readings: Some(Readings {
                    genesis_hash: Some("EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG".into()),
                    cluster: "devnet",
                    version: Some("2.3.6".into()),
                    slot_processed: Some(350_000_002),
                    slot_confirmed: Some(350_000_000),
                    slot_finalized: Some(349_999_969),
                    block_height: Some(349_987_655),
                    epoch: Some(810),
                    epoch_progress_ratio: Some(0.25),
                    transactions_per_second: Some(4000.0),
                }),
                stale: false,
                error: None,
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    for (n, format) in [
        (3, Format::Text),
        (3, Format::OpenMetrics),
        (50, Format::Text),
    ] {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Fixed(snapshot(n))));
        c.bench_function(
            &format!("encode solana snapshot, {n} endpoints, {format:?}"),
            |b| b.iter(|| format.encode(&registry).map(|s| s.len())),
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
