//! Full-range numbers: u64 values above 2^63 in the exposition are the nearest
//! f64 (exact up to 2^53), never clamped to i64::MAX nor wrapped negative.

use std::time::Duration;

use psyche_exporter::collectors::coordinator::PROGRAM_V1;
use psyche_exporter::collectors::coordinator::account::{self, AccountData, Layout};
use serde_json::json;
use solana_pubkey::Pubkey;

use crate::support::exporter::{Exporter, ONLY_SOLANA, assert_promtool_accepts, value};
use crate::support::fake_rpc::{FakeRpc, Reply};
use crate::support::fixtures;

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn run_values_above_2_pow_63_are_exported_in_full() {
    let fake = FakeRpc::start().await;
    let mut run =
        account::decode_run(&AccountData::full(fixtures::bytes("coord_train_37"))).unwrap();
    run.run_id = "huge".to_owned();
    let nonce = u64::MAX;
    let parameters = (1u64 << 63) + 12_345;
    run.nonce = nonce;
    run.metadata.num_parameters = parameters;
    let served = fixtures::serve_run(
        &fake,
        PROGRAM_V1,
        Pubkey::new_from_array([0x31; 32]),
        Pubkey::new_from_array([0x32; 32]),
        account::encode_run(&run, Layout::V1),
    );
    let exp = Exporter::start(&[
        "--no-collector.solana",
        "--no-collector.pool",
        "--no-collector.treasurer",
        "--no-collector.huggingface",
        "--no-collector.telemetry",
        "--coordinator.interval=400ms",
        "--coordinator.timeout=300ms",
        &format!("--coordinator.rpc-url={}", fake.endpoint),
    ])
    .await;
    let series = |name: &str| {
        format!(
            "{name}{{program=\"{}\",run_id=\"{}\"}}",
            served.program, served.run_id
        )
    };
    let text = exp
        .metrics_until("the run", WAIT, |t| {
            value(t, &series("psyche_run_nonce")).is_some()
        })
        .await;
    assert_eq!(
        value(&text, &series("psyche_run_nonce")),
        Some(nonce as f64)
    );
    assert_eq!(
        value(&text, &series("psyche_run_parameters")),
        Some(parameters as f64)
    );
    assert!(
        text.contains(&format!("{} {nonce}\n", series("psyche_run_nonce"))),
        "written as the exact integer"
    );
    assert_promtool_accepts(&text);
}

#[tokio::test]
async fn slots_near_u64_max_are_not_wrapped() {
    let fake = FakeRpc::start().await;
    fake.set_slot(u64::MAX - 2);
    fake.set(
        "getHealth",
        Reply::RpcError {
            code: -32005,
            message: format!("Node is behind by {} slots", u64::MAX),
            data: Some(json!({ "numSlotsBehind": u64::MAX })),
        },
    );
    let mut args: Vec<String> = ONLY_SOLANA.iter().map(|s| (*s).to_owned()).collect();
    args.push(format!("--solana.rpc-url={}", fake.endpoint));
    args.extend(["--solana.interval=300ms", "--solana.timeout=200ms"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let exp = Exporter::start(&refs).await;
    let e = &fake.endpoint;
    let slot = |c: &str| format!("psyche_solana_slot{{endpoint=\"{e}\",commitment=\"{c}\"}}");
    let behind = format!("psyche_solana_slots_behind{{endpoint=\"{e}\"}}");
    let text = exp
        .metrics_until("the readings", WAIT, |t| {
            value(t, &slot("processed")).is_some() && value(t, &behind).is_some()
        })
        .await;
    assert_eq!(value(&text, &slot("processed")), Some(u64::MAX as f64));
    assert_eq!(
        value(&text, &slot("confirmed")),
        Some((u64::MAX - 2) as f64)
    );
    assert_eq!(value(&text, &behind), Some(u64::MAX as f64));
    assert_eq!(
        value(
            &text,
            &format!("psyche_solana_block_height{{endpoint=\"{e}\"}}")
        ),
        Some((u64::MAX - 2 - 12_345) as f64)
    );
    assert!(!text.contains(" -1\n"), "a wrapped value:\n{text}");
    assert_promtool_accepts(&text);
}
