//! Run treasuries: the treasurer collector against a fake RPC node serving the
//! treasurer fixture, the coordinator run it pays for, its vault and mint.

use std::str::FromStr;
use std::time::Duration;

use psyche_exporter::collectors::coordinator::PROGRAM_V1;
use psyche_exporter::collectors::coordinator::account::{self, AccountData, Instance, Layout};
use psyche_exporter::collectors::token;
use psyche_exporter::collectors::treasurer::{self, TreasurerRun};
use solana_pubkey::Pubkey;

use crate::support::exporter::{
    Exporter, assert_golden, assert_promtool_accepts, has_family, mask, value,
};
use crate::support::fake_rpc::FakeRpc;
use crate::support::fixtures;

const WAIT: Duration = Duration::from_secs(15);
const UP: &str = "psyche_exporter_collector_up{collector=\"treasurer\"}";
const RUN_ID: &str = "consilience-40b-7Y9v38s5";

async fn exporter(fake: &FakeRpc, with_coordinator: bool) -> Exporter {
    let mut args: Vec<String> = [
        "--no-collector.solana",
        "--no-collector.pool",
        "--no-collector.huggingface",
        "--treasurer.interval=400ms",
        "--treasurer.timeout=300ms",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if with_coordinator {
        args.extend(
            [
                "--coordinator.interval=400ms",
                "--coordinator.timeout=300ms",
                "--coordinator.detail-interval=400ms",
            ]
            .map(String::from),
        );
        // The treasurer's RPC defaults to the coordinator's.
        args.push(format!("--coordinator.rpc-url={}", fake.endpoint));
    } else {
        args.push("--no-collector.coordinator".into());
        args.push(format!("--treasurer.rpc-url={}", fake.endpoint));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Exporter::start(&refs).await
}

fn key(s: &str) -> Pubkey {
    Pubkey::from_str(s).unwrap()
}

fn series(name: &str, run_id: &str) -> String {
    format!("{name}{{program=\"{PROGRAM_V1}\",run_id=\"{run_id}\"}}")
}

fn errors(kind: &str) -> String {
    format!(
        "psyche_exporter_collector_poll_errors_total{{collector=\"treasurer\",kind=\"{kind}\"}}"
    )
}

/// Σ earned over coord_train_37's registered clients, from its expected.json.
fn earned_sum() -> u64 {
    let e = fixtures::expected("coord_train_37");
    let n = e["state.clients_state.clients.len"].as_u64().unwrap();
    (0..n)
        .map(|k| {
            e[format!("state.clients_state.clients[{k}].earned")]
                .as_u64()
                .unwrap()
        })
        .sum()
}

fn earning_rate() -> u64 {
    fixtures::expected("coord_train_37")
        ["state.clients_state.current_epoch_rates.earning_rate_total_shared"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn treasury_joined_with_its_run_golden() {
    let fake = FakeRpc::start().await;
    fixtures::serve_all(&fake);
    let claimed = fixtures::expected("treasurer_run")["total_claimed_earned_points"]
        .as_u64()
        .unwrap();
    let unclaimed = earned_sum() - claimed;
    // Three epochs' worth of surplus over what is owed.
    let vault = unclaimed + 3 * earning_rate();
    let (address, mint, _) = fixtures::serve_treasurer_run(&fake, Some(vault));
    let exp = exporter(&fake, true).await;
    let text = exp
        .metrics_until("the joined treasury", WAIT, |t| {
            value(t, &series("psyche_treasurer_funded_epochs", RUN_ID)).is_some()
                && value(t, UP) == Some(1.0)
        })
        .await;
    assert!(text.contains(&format!(
        "psyche_treasurer_run_info{{program=\"{PROGRAM_V1}\",run_id=\"{RUN_ID}\",treasurer_run=\"{address}\",collateral_mint=\"{mint}\"}} 1"
    )));
    let v = |name: &str| value(&text, &series(name, RUN_ID));
    assert_eq!(v("psyche_treasurer_claimed_points"), Some(2_718_281.0));
    assert_eq!(v("psyche_treasurer_unclaimed_points"), Some(44_775_299.0));
    assert_eq!(unclaimed, 44_775_299);
    assert_eq!(
        v("psyche_treasurer_vault_balance_tokens"),
        Some(vault as f64 / 1e6)
    );
    assert_eq!(v("psyche_treasurer_funded_epochs"), Some(3.0));
    // Same labels as the run series of the same run.
    assert!(value(&text, &series("psyche_run_step", RUN_ID)).is_some());

    let golden: String = mask(&text, &[])
        .lines()
        .filter(|l| l.contains("psyche_treasurer_") || l.contains("collector=\"treasurer\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_golden("treasurer.txt", &golden);
    assert_promtool_accepts(&text);
}

/// Without the coordinator collector the run is still named (from its instance), but
/// what needs earned points is absent.
#[tokio::test]
async fn without_the_coordinator_only_points_owed_are_unknown() {
    let fake = FakeRpc::start().await;
    fixtures::serve_all(&fake);
    fixtures::serve_treasurer_run(&fake, Some(1_000_000));
    let exp = exporter(&fake, false).await;
    let text = exp
        .metrics_until("the treasury", WAIT, |t| {
            has_family(t, "psyche_treasurer_run_info")
        })
        .await;
    assert_eq!(
        value(
            &text,
            &series("psyche_treasurer_vault_balance_tokens", RUN_ID)
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&text, &series("psyche_treasurer_claimed_points", RUN_ID)),
        Some(2_718_281.0)
    );
    assert!(!has_family(&text, "psyche_treasurer_unclaimed_points"));
    assert!(!has_family(&text, "psyche_treasurer_funded_epochs"));
    assert_eq!(value(&text, UP), Some(1.0));
}

/// A run whose epoch pays nothing (no funded epochs), a treasury whose vault is gone
/// (`missing`), and a treasurer Run its instance does not name (not linked, no error).
#[tokio::test]
async fn zero_rate_missing_vault_and_unlinked_run() {
    let fake = FakeRpc::start().await;
    fixtures::serve_all(&fake);
    let (_, mint, _) = fixtures::serve_treasurer_run(&fake, None);
    let program = key(treasurer::PROGRAM);

    // A coordinator run with a zero earning rate, paid by treasurer Run 7.
    let mut run =
        account::decode_run(&AccountData::full(fixtures::bytes("coord_train_37"))).unwrap();
    run.run_id = "zero-rate".into();
    run.clients_state
        .current_epoch_rates
        .earning_rate_total_shared = 0;
    let coordinator_account = Pubkey::new_from_array([0x31; 32]);
    let instance = Pubkey::new_from_array([0x32; 32]);
    let run_7 = treasurer::run_address(&program, 7);
    fake.put_account(
        &coordinator_account.to_string(),
        PROGRAM_V1,
        account::encode_run(&run, Layout::V1),
    );
    fake.put_account(
        &instance.to_string(),
        PROGRAM_V1,
        account::encode_instance(&Instance {
            bump: 250,
            main_authority: run_7.to_bytes(),
            join_authority: [9; 32],
            coordinator_account: coordinator_account.to_bytes(),
            run_id: "zero-rate".into(),
        }),
    );
    let treasury = |index: u64, account: Pubkey, instance: Pubkey| TreasurerRun {
        bump: 255,
        index,
        main_authority: Pubkey::new_from_array([1; 32]),
        join_authority: Pubkey::new_from_array([2; 32]),
        coordinator_account: account,
        coordinator_instance: instance,
        collateral_mint: mint,
        total_claimed_collateral_amount: 1_000,
        total_claimed_earned_points: 1_000,
    };
    fake.put_account(
        &run_7.to_string(),
        treasurer::PROGRAM,
        treasurer::encode_run(&treasury(7, coordinator_account, instance)),
    );
    fake.put_account(
        &token::associated_token_address(&run_7, &mint).to_string(),
        &token::TOKEN_PROGRAM.to_string(),
        token::encode_token_account(&mint, &run_7, 50_000_000),
    );
    // Treasurer Run 8 claims coord_train_37, whose instance names the fixture Run.
    let e = fixtures::expected("coord_train_37");
    let run_8 = treasurer::run_address(&program, 8);
    fake.put_account(
        &run_8.to_string(),
        treasurer::PROGRAM,
        treasurer::encode_run(&treasury(
            8,
            key(e["account_address"].as_str().unwrap()),
            key(e["coordinator_instance_address"].as_str().unwrap()),
        )),
    );

    let exp = exporter(&fake, true).await;
    let text = exp
        .metrics_until("both treasuries joined", WAIT, |t| {
            value(t, &series("psyche_treasurer_unclaimed_points", RUN_ID)).is_some()
                && value(t, &series("psyche_treasurer_unclaimed_points", "zero-rate")).is_some()
                && value(t, &errors("missing")).unwrap_or(0.0) >= 1.0
        })
        .await;
    assert_eq!(
        value(
            &text,
            &series("psyche_treasurer_unclaimed_points", "zero-rate")
        ),
        Some((earned_sum() - 1_000) as f64)
    );
    assert_eq!(
        value(
            &text,
            &series("psyche_treasurer_vault_balance_tokens", "zero-rate")
        ),
        Some(50.0)
    );
    assert_eq!(
        value(
            &text,
            &series("psyche_treasurer_funded_epochs", "zero-rate")
        ),
        None
    );
    // The fixture treasury: no vault, so no balance and no funded epochs.
    assert_eq!(
        value(
            &text,
            &series("psyche_treasurer_vault_balance_tokens", RUN_ID)
        ),
        None
    );
    assert!(
        !has_family(&text, "psyche_treasurer_funded_epochs"),
        "{text}"
    );
    assert!(!text.contains(&run_8.to_string()), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("psyche_treasurer_run_info{"))
            .count(),
        2
    );
    assert_eq!(value(&text, UP), Some(0.0));
    assert_eq!(value(&text, &errors("decode")), Some(0.0));
    assert_promtool_accepts(&text);
}
