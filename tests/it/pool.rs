//! The mining pool: the pool collector against a fake RPC node serving the pool and
//! lender fixtures, their vault and mints.

use std::str::FromStr;
use std::time::Duration;

use psyche_exporter::collectors::pool::{self, Pool};
use psyche_exporter::collectors::token;
use solana_pubkey::Pubkey;

use crate::support::exporter::{
    Exporter, assert_golden, assert_promtool_accepts, has_family, mask, value,
};
use crate::support::fake_rpc::{FakeRpc, Reply};
use crate::support::fixtures;

const WAIT: Duration = Duration::from_secs(15);
const UP: &str = "psyche_exporter_collector_up{collector=\"pool\"}";

async fn exporter(fake: &FakeRpc, extra: &[&str]) -> Exporter {
    let mut args: Vec<String> = [
        "--no-collector.solana",
        "--no-collector.coordinator",
        "--no-collector.treasurer",
        "--no-collector.huggingface",
        "--pool.interval=400ms",
        "--pool.timeout=300ms",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("--pool.rpc-url={}", fake.endpoint));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Exporter::start(&refs).await
}

fn key(s: &str) -> Pubkey {
    Pubkey::from_str(s).unwrap()
}

fn errors(kind: &str) -> String {
    format!("psyche_exporter_collector_poll_errors_total{{collector=\"pool\",kind=\"{kind}\"}}")
}

fn series(name: &str, s: &fixtures::PoolServed) -> String {
    format!("{name}{{pool=\"{}\",index=\"1\"}}", s.address)
}

#[tokio::test]
async fn open_pool_exact_values_golden() {
    let fake = FakeRpc::start().await;
    let served = fixtures::serve_pool_open(&fake);
    let program_flag = format!("--pool.program-id={}", served.program);
    let exp = exporter(&fake, &[&program_flag, "--pool.index=1"]).await;
    let text = exp
        .metrics_until("the pool and its lenders", WAIT, |t| {
            has_family(t, "psyche_pool_lenders") && value(t, UP).is_some()
        })
        .await;
    let v = |name: &str| value(&text, &series(name, &served));
    assert!(text.contains(&format!(
        "psyche_pool_info{{pool=\"{}\",index=\"1\",collateral_mint=\"{}\",program=\"{}\"}} 1",
        served.address, served.collateral_mint, served.program
    )));
    // Raw amounts from pool_open.expected.json over 10^6.
    assert_eq!(v("psyche_pool_max_deposit_tokens"), Some(5_000_000.0));
    assert_eq!(v("psyche_pool_deposited_tokens"), Some(1_234_567.890123));
    assert_eq!(v("psyche_pool_extracted_tokens"), Some(1_000_000.0));
    assert_eq!(v("psyche_pool_remaining_tokens"), Some(3_765_432.109877));
    assert_eq!(
        v("psyche_pool_fill_ratio"),
        Some(1_234_567_890_123.0 / 5_000_000_000_000.0)
    );
    assert_eq!(v("psyche_pool_full"), Some(0.0));
    assert_eq!(v("psyche_pool_vault_balance_tokens"), Some(234_567.890123));
    assert_eq!(v("psyche_pool_claimed_redeemable_tokens"), Some(0.0));
    assert_eq!(v("psyche_pool_frozen"), Some(0.0));
    assert_eq!(v("psyche_pool_claiming_enabled"), Some(0.0));
    assert_eq!(
        value(
            &text,
            &format!("psyche_pool_lenders{{program=\"{}\"}}", served.program)
        ),
        Some(1.0)
    );
    assert_eq!(value(&text, UP), Some(1.0), "{}", exp.get("/").await.body);

    // The lender count transfers no data: dataSize + discriminator, zero-length slice.
    let gpa = fake.params("getProgramAccounts");
    let config = &gpa.last().unwrap()[1];
    assert_eq!(config["dataSlice"]["length"], 0, "{config}");
    let filters = config["filters"].as_array().unwrap();
    assert_eq!(filters[0]["dataSize"], 32);
    assert_eq!(filters[1]["memcmp"]["offset"], 0);
    // The PDA and the ATA were derived, not configured: the fake only answers those.
    let asked: Vec<String> = fake
        .params("getMultipleAccounts")
        .iter()
        .flat_map(|p| p[0].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert!(asked.contains(&served.address));
    assert!(asked.contains(&served.vault.to_string()));

    let golden: String = mask(&text, &[])
        .lines()
        .filter(|l| l.contains("psyche_pool_") || l.contains("collector=\"pool\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_golden("pool.txt", &golden);
    assert_promtool_accepts(&text);
}

#[tokio::test]
async fn mint_decimals_are_read_once() {
    let fake = FakeRpc::start().await;
    let served = fixtures::serve_pool_open(&fake);
    let program_flag = format!("--pool.program-id={}", served.program);
    let exp = exporter(&fake, &[&program_flag, "--pool.index=1"]).await;
    exp.metrics_until("the pool", WAIT, |t| {
        value(t, &series("psyche_pool_deposited_tokens", &served)).is_some()
    })
    .await;
    // Gone from the chain, the mint is not asked for again: amounts stay in tokens.
    fake.remove_account(&served.collateral_mint.to_string());
    let before = fake.calls("getMultipleAccounts");
    let text = exp
        .metrics_until("two more polls", WAIT, |_| {
            fake.calls("getMultipleAccounts") >= before + 4
        })
        .await;
    assert_eq!(
        value(&text, &series("psyche_pool_deposited_tokens", &served)),
        Some(1_234_567.890123)
    );
    assert_eq!(value(&text, &errors("missing")), Some(0.0));
    let mint = served.collateral_mint.to_string();
    let late = fake.params("getMultipleAccounts");
    assert!(
        late.iter()
            .rev()
            .take(2)
            .all(|p| !p.to_string().contains(&mint)),
        "{late:?}"
    );
}

/// A pool that does not exist, a vault that does not exist, and a failed lender count:
/// each drops only its own series and is counted.
#[tokio::test]
async fn missing_pool_vault_and_failed_lender_count() {
    let fake = FakeRpc::start().await;
    let served = fixtures::serve_pool_open(&fake);
    fake.remove_account(&served.vault.to_string());
    fake.set(
        "getProgramAccounts",
        Reply::RpcError {
            code: -32010,
            message: "excluded from account secondary indexes".into(),
            data: None,
        },
    );
    let program_flag = format!("--pool.program-id={}", served.program);
    let exp = exporter(&fake, &[&program_flag, "--pool.index=1", "--pool.index=5"]).await;
    let text = exp
        .metrics_until("errors counted", WAIT, |t| {
            value(t, &errors("missing")).unwrap_or(0.0) >= 2.0
                && value(t, &errors("rpc")).unwrap_or(0.0) >= 1.0
                && has_family(t, "psyche_pool_info")
        })
        .await;
    assert_eq!(value(&text, UP), Some(0.0));
    assert!(!text.contains("index=\"5\""), "{text}");
    assert!(!has_family(&text, "psyche_pool_vault_balance_tokens"));
    assert!(!has_family(&text, "psyche_pool_lenders"));
    assert_eq!(
        value(&text, &series("psyche_pool_deposited_tokens", &served)),
        Some(1_234_567.890123)
    );

    // The pool is freed: its series go at the next poll, and that is a `missing` error.
    fake.remove_account(&served.address);
    exp.metrics_until("the pool gone", WAIT, |t| {
        !has_family(t, "psyche_pool_info")
    })
    .await;
}

#[tokio::test]
async fn foreign_owner_and_wrong_size_are_decode_errors() {
    let fake = FakeRpc::start().await;
    let served = fixtures::serve_pool_open(&fake);
    // The fixture's bytes under another owner, and a truncated pool at index 2.
    fake.put_account(
        &served.address,
        "11111111111111111111111111111111",
        fixtures::bytes("pool_open"),
    );
    let program = key(&served.program);
    let short = pool::pool_address(&program, 2);
    fake.put_account(
        &short.to_string(),
        &served.program,
        fixtures::bytes("pool_open")[..500].to_vec(),
    );
    let program_flag = format!("--pool.program-id={}", served.program);
    let exp = exporter(&fake, &[&program_flag, "--pool.index=1", "--pool.index=2"]).await;
    let text = exp
        .metrics_until("two decode errors", WAIT, |t| {
            value(t, &errors("decode")).unwrap_or(0.0) >= 2.0
        })
        .await;
    assert!(!has_family(&text, "psyche_pool_info"), "{text}");
    assert_eq!(value(&text, UP), Some(0.0));
    let page = exp.get("/").await.body;
    assert!(
        page.contains("not the pool program") || page.contains("unexpected account size"),
        "{page}"
    );
}

/// A frozen pool at capacity, with claiming on: states, not errors.
#[tokio::test]
async fn frozen_pool_at_capacity() {
    let fake = FakeRpc::start().await;
    let program = pool::PROGRAM_MAINNET;
    let address = pool::pool_address(&key(program), 0);
    let collateral_mint = Pubkey::new_from_array([0xc0; 32]);
    let redeemable_mint = Pubkey::new_from_array([0xd0; 32]);
    let frozen = Pool {
        bump: 253,
        index: 0,
        authority: Pubkey::new_from_array([0xa0; 32]),
        collateral_mint,
        max_deposit_collateral_amount: 2_000_000_000,
        total_deposited_collateral_amount: 2_000_000_000,
        total_extracted_collateral_amount: 500_000_000,
        claiming_enabled: true,
        redeemable_mint,
        total_claimed_redeemable_amount: 7_500_000_000,
        freeze: true,
        metadata: b"{}".to_vec(),
    };
    fake.put_account(&address.to_string(), program, pool::encode_pool(&frozen));
    let token_program = token::TOKEN_PROGRAM.to_string();
    fake.put_account(
        &collateral_mint.to_string(),
        &token_program,
        token::encode_mint(6, 0),
    );
    fake.put_account(
        &redeemable_mint.to_string(),
        &token_program,
        token::encode_mint(9, 0),
    );
    fake.put_account(
        &token::associated_token_address(&address, &collateral_mint).to_string(),
        &token_program,
        token::encode_token_account(&collateral_mint, &address, 1_500_000_000),
    );
    // Defaults: the mainnet program and pool index 0.
    let exp = exporter(&fake, &[]).await;
    let text = exp
        .metrics_until("the frozen pool", WAIT, |t| {
            has_family(t, "psyche_pool_lenders") && has_family(t, "psyche_pool_frozen")
        })
        .await;
    let s = |name: &str| format!("{name}{{pool=\"{address}\",index=\"0\"}}");
    assert_eq!(value(&text, &s("psyche_pool_frozen")), Some(1.0));
    assert_eq!(value(&text, &s("psyche_pool_claiming_enabled")), Some(1.0));
    assert_eq!(value(&text, &s("psyche_pool_remaining_tokens")), Some(0.0));
    assert_eq!(value(&text, &s("psyche_pool_full")), Some(1.0));
    assert_eq!(value(&text, &s("psyche_pool_fill_ratio")), Some(1.0));
    assert_eq!(
        value(&text, &s("psyche_pool_vault_balance_tokens")),
        Some(1_500.0)
    );
    assert_eq!(
        value(&text, &s("psyche_pool_claimed_redeemable_tokens")),
        Some(7.5)
    );
    assert_eq!(
        value(
            &text,
            &format!("psyche_pool_lenders{{program=\"{program}\"}}")
        ),
        Some(0.0)
    );
    assert_eq!(value(&text, UP), Some(1.0));
    assert_promtool_accepts(&text);
}
