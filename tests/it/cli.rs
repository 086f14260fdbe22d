//! The real binary: flags, exit codes, logs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::exporter::ONLY_SOLANA;
use crate::support::fake_rpc::{FakeRpc, Reply};
use crate::support::logs::Logs;

const BIN: &str = env!("CARGO_BIN_EXE_psyche-exporter");

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    for (args, says) in [
        (&["--solana.interval=soon"][..], "--solana.interval"),
        (&["--web.listen-address=nowhere"], "--web.listen-address"),
        (
            &["--solana.rpc-url=ftp://x/SECRET"],
            "scheme must be http or https",
        ),
        (&["--coordinator.rpc-url=not a url"], "not a valid URL"),
        (&["--solana.timeout=30s"], "shorter than --solana.interval"),
        (&["--log.level=loud"], "--log.level"),
        (&["--no-such-flag"], "--no-such-flag"),
    ] {
        let out = Command::new(BIN).args(args).env_clear().output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("SECRET"),
            "{args:?} echoed a secret: {stderr}"
        );
    }
}

#[test]
fn env_vars_set_flags() {
    let out = Command::new(BIN)
        .env_clear()
        .env("PSYCHE_EXPORTER_SOLANA_INTERVAL", "never")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("never"));
}

#[test]
fn help_lists_every_flag_with_its_env_var() {
    let out = Command::new(BIN)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--web.listen-address",
        "--web.telemetry-path",
        "--solana.rpc-url",
        "--solana.interval",
        "--solana.timeout",
        "--no-collector.solana",
        "--no-collector.coordinator",
        "--coordinator.rpc-url",
        "--pool.rpc-url",
        "--log.level",
        "--log.format",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
        let env = format!(
            "PSYCHE_EXPORTER_{}",
            flag.trim_start_matches("--")
                .replace(['.', '-'], "_")
                .to_uppercase()
        );
        assert!(help.contains(&env), "{env} missing from --help");
    }
}

/// The binary on port 0, logs captured, a secret in the RPC URL: the secret
/// must not appear in any log line, at debug level, through failure and
/// recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_logs_never_show_a_secret() {
    const SECRET: &str = "topSECRETkey123";
    let node = FakeRpc::start().await;
    let mut child = solana_only(&node.secret_url(SECRET), "200ms", "100ms");
    let logs = Logs::capture(&mut child);
    let serving = logs.wait_line("msg=serving").await;
    let address = serving
        .split(' ')
        .find_map(|kv| kv.strip_prefix("address="))
        .expect("serving line names the address");
    let metrics = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("psyche_exporter_build_info"));
    node.set_all(Reply::Status(500));
    let down = logs.wait_line("RPC endpoint down").await;
    assert!(
        down.contains("level=warn") && down.contains(&node.endpoint),
        "{down}"
    );
    node.heal();
    logs.wait_line("RPC endpoint recovered").await;
    child.kill().unwrap();
    child.wait().unwrap();
    let all = logs.all();
    assert!(!all.contains(SECRET), "a log line shows the secret:\n{all}");
    assert!(all.contains("level=debug"), "debug lines were logged");
}

/// Whoever reads the exporter's stderr can go away (a restarted journald, a
/// closed pipe): the exporter keeps polling and serving, dropping log lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_survives_its_stderr_closing() {
    let node = FakeRpc::start().await;
    let mut child = solana_only(&node.endpoint, "100ms", "50ms");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // Lines before it say which collectors are off (telemetry without the runs).
    let mut serving = String::new();
    while !serving.contains("address=") {
        serving.clear();
        assert!(
            stderr.read_line(&mut serving).unwrap() > 0,
            "no serving line"
        );
    }
    let address = serving
        .split(' ')
        .find_map(|kv| kv.strip_prefix("address="))
        .expect("the serving line names the address")
        .trim()
        .to_owned();
    drop(stderr);
    // A failure and a recovery: each logs a line into the closed pipe.
    let up = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("psyche_solana_rpc_up{"))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
    };
    let metrics = || async {
        reqwest::get(format!("http://{address}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()
    };
    for (reply, want) in [(Some(Reply::Status(500)), "0"), (None, "1")] {
        match reply {
            Some(r) => node.set_all(r),
            None => node.heal(),
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            assert_eq!(child.try_wait().unwrap(), None, "the exporter exited");
            let text = metrics().await.expect("the exporter answers /metrics");
            if up(&text).as_deref() == Some(want) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "psyche_solana_rpc_up never became {want}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(child.try_wait().unwrap(), None, "the exporter exited");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The binary with only the Solana collector on `rpc_url`, on port 0, logging
/// at debug level to a pipe.
fn solana_only(rpc_url: &str, interval: &str, timeout: &str) -> std::process::Child {
    Command::new(BIN)
        .args(ONLY_SOLANA)
        .args(["--web.listen-address=127.0.0.1:0", "--log.level=debug"])
        .arg(format!("--solana.interval={interval}"))
        .arg(format!("--solana.timeout={timeout}"))
        .arg(format!("--solana.rpc-url={rpc_url}"))
        .env_clear()
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn version_prints_version_and_revision() {
    let out = Command::new(BIN)
        .arg("--version")
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let revision = psyche_exporter::health::REVISION;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "psyche-exporter {} (revision {revision})\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert!(!revision.is_empty() && !revision.contains(char::is_whitespace));
}

/// The image passes its `REVISION` build argument to build.rs and labels
/// itself with the same version as the crate.
#[test]
fn dockerfile_passes_the_revision_and_labels_the_image() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    for needle in [
        "PSYCHE_EXPORTER_REVISION=\"$REVISION\" cargo build",
        "org.opencontainers.image.revision=\"$REVISION\"",
        "org.opencontainers.image.version=\"$VERSION\"",
        &format!("ARG VERSION={}", env!("CARGO_PKG_VERSION")),
    ] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks {needle:?}");
    }
    let compose = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/compose/docker-compose.yml"
    ))
    .unwrap();
    assert!(compose.contains("REVISION: ${PSYCHE_EXPORTER_REVISION:-unknown}"));
}
