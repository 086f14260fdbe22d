//! Training runs: the coordinator collector against a fake RPC node serving
//! the account fixtures.

use std::time::Duration;

use psyche_exporter::collectors::coordinator::{PROGRAM_LEGACY, PROGRAM_V1};

use crate::support::exporter::{
    Exporter, assert_golden, assert_promtool_accepts, has_family, mask, value,
};
use crate::support::fake_rpc::{FakeRpc, Reply};
use crate::support::fixtures::{self, Served};

const WAIT: Duration = Duration::from_secs(15);

async fn exporter(fake: &FakeRpc, extra: &[&str]) -> Exporter {
    let mut args: Vec<String> = [
        "--no-collector.solana",
        "--no-collector.pool",
        "--no-collector.treasurer",
        "--no-collector.huggingface",
        "--no-collector.telemetry",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if !extra
        .iter()
        .any(|a| a.starts_with("--coordinator.interval"))
    {
        args.extend(
            [
                // Deadlines a loaded 2-core machine meets: the golden holds the
                // error counters, and a missed deadline is a timeout counted.
                "--coordinator.interval=1s",
                "--coordinator.timeout=900ms",
                "--coordinator.detail-interval=1s",
            ]
            .map(String::from),
        );
    }
    args.push(format!("--coordinator.rpc-url={}", fake.endpoint));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Exporter::start(&refs).await
}

fn series(name: &str, run: &Served) -> String {
    format!(
        "{name}{{program=\"{}\",run_id=\"{}\"}}",
        run.program, run.run_id
    )
}

fn errors(kind: &str) -> String {
    format!(
        "psyche_exporter_collector_poll_errors_total{{collector=\"coordinator\",kind=\"{kind}\"}}"
    )
}

const UP: &str = "psyche_exporter_collector_up{collector=\"coordinator\"}";

#[tokio::test]
async fn every_fixture_run_golden() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_all(&fake);
    let exp = exporter(&fake, &[]).await;
    let text = exp
        .metrics_until("all runs", WAIT, |t| {
            runs.iter()
                .all(|r| value(t, &series("psyche_run_step", r)).is_some())
        })
        .await;
    let consilience = runs
        .iter()
        .find(|r| r.run_id == "consilience-40b-1")
        .unwrap();
    assert_eq!(consilience.program, PROGRAM_LEGACY);
    assert_eq!(
        value(&text, &series("psyche_run_epoch", consilience)),
        Some(97.0)
    );
    assert_eq!(
        value(&text, &series("psyche_run_step", consilience)),
        Some(11265.0)
    );
    let clients: f64 = ["healthy", "dropped", "withdrawn", "ejected"]
        .iter()
        .filter_map(|s| {
            value(
                &text,
                &format!("psyche_run_epoch_clients{{program=\"{PROGRAM_LEGACY}\",run_id=\"consilience-40b-1\",state=\"{s}\"}}"),
            )
        })
        .sum();
    assert_eq!(clients, 63.0);
    assert!(text.contains(&format!(
        "psyche_run_checkpoint_info{{program=\"{PROGRAM_LEGACY}\",run_id=\"consilience-40b-1\",kind=\"p2p\",repo=\"PsycheFoundation/consilience-40b-7Y9v38s5\",revision=\"98cf7b01fb5a1367916e2d9c06984098ff1f0cc5\"}} 1"
    )));
    assert_eq!(value(&text, UP), Some(1.0), "{}", exp.get("/").await.body);
    assert_golden("coordinator.txt", &mask(&text, &[]));
    assert_promtool_accepts(&text);
}

/// Every state of every fixture run against its expected.json: the state
/// gauge is 1 exactly for the fixture's state.
#[tokio::test]
async fn state_and_progress_match_expected_json() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_all(&fake);
    let exp = exporter(&fake, &[]).await;
    let text = exp
        .metrics_until("all runs", WAIT, |t| {
            runs.iter()
                .all(|r| value(t, &series("psyche_run_step", r)).is_some())
        })
        .await;
    for name in fixtures::COORD {
        let e = fixtures::expected(name);
        let run = runs
            .iter()
            .find(|r| r.run_id == e["state.coordinator.run_id"])
            .unwrap();
        let state = e["state.coordinator.run_state"].as_str().unwrap();
        let snake = match state {
            "Uninitialized" => "uninitialized",
            "WaitingForMembers" => "waiting_for_members",
            "Warmup" => "warmup",
            "RoundTrain" => "round_train",
            "RoundWitness" => "round_witness",
            "Cooldown" => "cooldown",
            "Finished" => "finished",
            "Paused" => "paused",
            other => panic!("{other}"),
        };
        let on = format!(
            "psyche_run_state{{program=\"{}\",run_id=\"{}\",state=\"{snake}\"}}",
            run.program, run.run_id
        );
        assert_eq!(value(&text, &on), Some(1.0), "{name}");
        let ones = text
            .lines()
            .filter(|l| {
                l.starts_with(&format!(
                    "psyche_run_state{{program=\"{}\",run_id=\"{}\",",
                    run.program, run.run_id
                )) && l.ends_with(" 1")
            })
            .count();
        assert_eq!(ones, 1, "{name}: exactly one state");
        let num = |k: &str| e[k].as_f64().unwrap_or_else(|| panic!("{name}: {k}"));
        assert_eq!(
            value(&text, &series("psyche_run_step", run)),
            Some(num("state.coordinator.progress.step")),
            "{name}"
        );
        assert_eq!(
            value(&text, &series("psyche_run_epoch", run)),
            Some(num("state.coordinator.progress.epoch")),
            "{name}"
        );
        assert_eq!(
            value(&text, &series("psyche_run_total_steps", run)),
            Some(num("state.coordinator.config.total_steps")),
            "{name}"
        );
        assert_eq!(
            value(
                &text,
                &series("psyche_run_state_start_timestamp_seconds", run)
            ),
            Some(num("state.coordinator.run_state_start_unix_timestamp")).filter(|t| *t > 0.0),
            "{name}"
        );
        assert_eq!(
            value(&text, &series("psyche_run_nonce", run)),
            Some(num("nonce")),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_freed_run_disappears_at_the_next_poll() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_all(&fake);
    let exp = exporter(&fake, &[]).await;
    let gone = &runs[0];
    let kept = &runs[1];
    exp.metrics_until("all runs", WAIT, |t| {
        runs.iter()
            .all(|r| value(t, &series("psyche_run_step", r)).is_some())
    })
    .await;
    fake.remove_account(&gone.instance);
    fake.remove_account(&gone.account);
    let text = exp
        .metrics_until("the run gone", WAIT, |t| {
            value(t, &series("psyche_run_step", gone)).is_none()
        })
        .await;
    assert!(
        !text.contains(&format!("run_id=\"{}\"", gone.run_id)),
        "no series of the freed run remain"
    );
    assert!(value(&text, &series("psyche_run_step", kept)).is_some());
    assert_eq!(
        value(&text, &errors("decode")),
        Some(0.0),
        "freeing a run is not an error"
    );
}

#[tokio::test]
async fn foreign_and_truncated_accounts_are_decode_errors_for_that_run_only() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_all(&fake);
    // A run whose coordinator account holds a foreign account (a mining-pool
    // lender) of another program.
    let foreign = fixtures::serve_run(
        &fake,
        PROGRAM_V1,
        solana_pubkey::Pubkey::new_from_array([0x31; 32]),
        solana_pubkey::Pubkey::new_from_array([0x32; 32]),
        {
            use psyche_exporter::collectors::coordinator::account::{
                AccountData, Layout, decode_run, encode_run,
            };
            let mut run =
                decode_run(&AccountData::full(fixtures::bytes("coord_finished"))).unwrap();
            run.run_id = "soon-foreign".into();
            encode_run(&run, Layout::V1)
        },
    );
    let exp = exporter(&fake, &["--coordinator.max-age=1500ms"]).await;
    exp.metrics_until("all runs", WAIT, |t| {
        value(t, &series("psyche_run_step", &foreign)).is_some()
    })
    .await;
    fake.put_account(
        &foreign.account,
        "PsyMP8fXEEMo2C6C84s8eXuRUrvzQnZyquyjipDRohf",
        fixtures::bytes("lender_a"),
    );
    // Truncate another run's account.
    let truncated = &runs[1];
    let mut data = fixtures::bytes("coord_train_37");
    data.truncate(60_000);
    fake.put_account(&truncated.account, &truncated.program, data);

    let text = exp
        .metrics_until("two decode errors", WAIT, |t| {
            value(t, &errors("decode")).is_some_and(|n| n >= 2.0) && value(t, UP) == Some(0.0)
        })
        .await;
    assert_eq!(value(&text, UP), Some(0.0), "the poll was incomplete");
    // Last good values are kept for a while, then the runs disappear.
    let text = exp
        .metrics_until("stale runs dropped", WAIT, |t| {
            value(t, &series("psyche_run_step", &foreign)).is_none()
                && value(t, &series("psyche_run_step", truncated)).is_none()
        })
        .await;
    for r in runs.iter().filter(|r| r.account != truncated.account) {
        assert!(
            value(&text, &series("psyche_run_step", r)).is_some(),
            "{} unaffected",
            r.run_id
        );
    }
    let page = exp.get("/").await.body;
    assert!(page.contains("cannot decode"), "{page}");
}

#[tokio::test]
async fn rpc_failure_mid_poll_keeps_the_last_snapshot() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_all(&fake);
    let exp = exporter(&fake, &["--coordinator.max-age=1h"]).await;
    let step = series("psyche_run_step", &runs[0]);
    exp.metrics_until("runs", WAIT, |t| value(t, &step).is_some())
        .await;
    // Discovery still works; reading the windows fails.
    fake.set("getMultipleAccounts", Reply::Status(500));
    let text = exp
        .metrics_until("collector down", WAIT, |t| value(t, UP) == Some(0.0))
        .await;
    assert!(value(&text, &errors("status")).is_some_and(|n| n >= 1.0));
    assert!(value(&text, &step).is_some(), "last good runs still served");
    assert_eq!(
        value(
            &text,
            "psyche_exporter_collector_serving{collector=\"coordinator\"}"
        ),
        Some(1.0)
    );
    fake.heal();
    exp.metrics_until("recovered", WAIT, |t| value(t, UP) == Some(1.0))
        .await;
}

#[tokio::test]
async fn a_hundred_and_fifty_runs_are_read_in_batches() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_generated(&fake, 150);
    let exp = exporter(
        &fake,
        &[
            "--coordinator.interval=10s",
            "--coordinator.timeout=5s",
            "--coordinator.detail-interval=1h",
        ],
    )
    .await;
    let text = exp
        .metrics_until("150 runs", WAIT, |t| value(t, UP).is_some())
        .await;
    assert_eq!(value(&text, UP), Some(1.0));
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(
            value(&text, &series("psyche_run_step", r)),
            Some(100.0 + i as f64),
            "{}",
            r.run_id
        );
    }
    // One poll: one discovery call per program, then per 100 runs one call per
    // state window, and one per non-empty client list for the detail tier.
    assert_eq!(fake.calls("getProgramAccounts"), 2);
    let windows = psyche_exporter::collectors::coordinator::account::Layout::V1
        .state_windows()
        .len() as u64;
    let detail_lists = 3;
    assert_eq!(
        fake.calls("getMultipleAccounts"),
        2 * windows + 2 * detail_lists
    );
    let bytes = value(
        &text,
        "psyche_exporter_upstream_bytes_total{collector=\"coordinator\"}",
    )
    .unwrap();
    assert!(bytes > 0.0);
}

#[tokio::test]
async fn run_id_filter_and_unknown_state() {
    let fake = FakeRpc::start().await;
    let runs = fixtures::serve_all(&fake);
    // An unknown run state (a variant newer than this exporter).
    let mut odd = fixtures::bytes("coord_warmup_p2p");
    let e = fixtures::expected("coord_warmup_p2p");
    let at = e["offsets"]["state.coordinator.run_state"]
        .as_u64()
        .unwrap() as usize;
    odd[at] = 200;
    let target = runs
        .iter()
        .find(|r| r.run_id == e["state.coordinator.run_id"])
        .unwrap();
    fake.put_account(&target.account, &target.program, odd);
    let exp = exporter(
        &fake,
        &[
            &format!("--coordinator.run-id={}", target.run_id),
            "--coordinator.run-id=consilience-40b-[0-9]",
        ],
    )
    .await;
    let text = exp
        .metrics_until("filtered runs", WAIT, |t| {
            value(t, &series("psyche_run_step", target)).is_some()
        })
        .await;
    let exported: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("psyche_run_step{"))
        .filter_map(|l| l.split("run_id=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        exported,
        [target.run_id.as_str(), "consilience-40b-1"]
            .into_iter()
            .collect()
    );
    let states: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with(&format!(
                "psyche_run_state{{program=\"{}\",run_id=\"{}\",",
                target.program, target.run_id
            ))
        })
        .collect();
    assert_eq!(states.len(), 8);
    assert!(
        states.iter().all(|l| l.ends_with(" 0")),
        "an unknown state sets none: {states:?}"
    );
    assert!(
        !has_family(&text, "psyche_run_phase_deadline_timestamp_seconds")
            || !text.contains(&format!(
                "psyche_run_phase_deadline_timestamp_seconds{{program=\"{}\",run_id=\"{}\"}}",
                target.program, target.run_id
            ))
    );
}
