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
        // Paths that collide with a route, or are route syntax (these panicked).
        (
            &["--web.telemetry-path=/healthz"],
            "--web.telemetry-path: /healthz is already the route of /healthz",
        ),
        (&["--web.telemetry-path=/"], "--web.telemetry-path"),
        (
            &["--web.telemetry-path=/readyz"],
            "already the route of /readyz",
        ),
        (
            &["--web.telemetry-path=/api/v1/runs/x"],
            "already the route of /api/v1/runs/{run_id}",
        ),
        (&["--web.telemetry-path=/api/v2"], "reserved"),
        (&["--web.telemetry-path=/m{x}"], "no {, }, *"),
        (&["--web.telemetry-path=/{*rest}"], "no {, }, *"),
        (&["--web.telemetry-path=metrics"], "must start with /"),
        // Durations whose multiples overflow (this one panicked after binding).
        (
            &["--coordinator.interval=2000000000000000h"],
            "longer than the longest duration accepted, 365 days",
        ),
        (&["--solana.max-age=400d"], "365 days"),
        (
            &["--web.idle-timeout=0s"],
            "--web.idle-timeout must be more than zero",
        ),
        (&["--web.max-connections=0"], "--web.max-connections"),
        // An endless token file is read up to a bound.
        (&["--hf.token-file=/dev/zero"], "larger than 4096 bytes"),
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

/// Each bad flag is one line on stderr (clap's `error:` line, then only its
/// usage hint), before anything starts: no log line, no listening.
#[test]
fn bad_flags_are_one_line_before_anything_starts() {
    let dir = std::env::temp_dir().join(format!("cli-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let two_lines = dir.join("two-lines");
    std::fs::write(&two_lines, "hf_SECRET\nhf_OTHER\n").unwrap();
    let spaced = dir.join("spaced");
    std::fs::write(&spaced, "hf_SECRET with\x1b[31m\n").unwrap();
    for (args, says) in [
        (
            vec![format!("--hf.token-file={}", two_lines.display())],
            "must hold exactly one line",
        ),
        (
            vec![format!("--hf.token-file={}", spaced.display())],
            "spaces, control or non-ASCII",
        ),
        (
            vec!["--web.telemetry-path=/healthz".to_owned()],
            "already the route",
        ),
        (
            vec!["--treasurer.interval=2000000000000000h".to_owned()],
            "365 days",
        ),
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .arg("--web.listen-address=127.0.0.1:0")
            .env_clear()
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {stderr}");
        assert!(errors[0].contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("SECRET"),
            "{args:?} echoed the token: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("msg=serving"), "{args:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
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

/// A JSON-RPC error message with `\r`, ESC and 200 KB of text reaches the log
/// line and the landing page escaped and capped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_error_text_is_escaped_and_capped() {
    let node = FakeRpc::start().await;
    let hostile = format!("node\r\x1b[2Jsick{}", "A".repeat(200_000));
    node.set(
        "getHealth",
        Reply::RpcError {
            code: -32000,
            message: hostile,
            data: None,
        },
    );
    // A timeout long enough to read 200 KB on a loaded machine.
    let mut child = solana_only(&node.endpoint, "5s", "4s");
    let logs = Logs::capture(&mut child);
    let serving = logs.wait_line("msg=serving").await;
    let address = serving
        .split(' ')
        .find_map(|kv| kv.strip_prefix("address="))
        .expect("serving line names the address")
        .to_owned();
    let down = logs.wait_line("RPC endpoint down").await;
    // The sanitised text, quoted by logfmt (which doubles the backslashes).
    assert!(
        down.contains(r#"JSON-RPC error -32000: node\\r\\u{1b}[2JsickAAA"#),
        "{down}"
    );
    assert!(!down.contains(['\r', '\x1b']), "{down:?}");
    assert!(down.contains("A…"), "{down}");
    assert!(down.len() < 1_000, "a log line of {} bytes", down.len());
    let page = reqwest::get(format!("http://{address}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r"JSON-RPC error -32000: node\r\u{1b}[2JsickAAA"),
        "the page shows the escaped error"
    );
    assert!(!page.contains(['\r', '\x1b']));
    assert!(
        !page.contains(&"A".repeat(300)),
        "the page shows the whole message"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let all = logs.all();
    assert!(
        !all.contains(['\r', '\x1b']),
        "a log line holds a raw control character"
    );
}

/// Send `signal` (`HUP`, `TERM`) to `child`.
fn signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// The exit status of `child` once it has exited, or `None` after `within`.
async fn exited_within(
    child: &mut std::process::Child,
    within: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGHUP is logged and ignored: the exporter goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_is_logged_and_ignored() {
    let node = FakeRpc::start().await;
    let mut child = solana_only(&node.endpoint, "200ms", "100ms");
    let logs = Logs::capture(&mut child);
    let serving = logs.wait_line("msg=serving").await;
    let address = serving
        .split(' ')
        .find_map(|kv| kv.strip_prefix("address="))
        .expect("serving line names the address")
        .to_owned();
    signal(&child, "HUP");
    let line = logs.wait_line("SIGHUP").await;
    assert!(
        line.contains("level=info") && line.contains("ignored"),
        "{line}"
    );
    assert_eq!(
        child.try_wait().unwrap(),
        None,
        "SIGHUP stopped the exporter"
    );
    let metrics = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("psyche_exporter_build_info")
    );
    signal(&child, "TERM");
    let status = exited_within(&mut child, Duration::from_secs(5))
        .await
        .expect("SIGTERM stops the exporter");
    assert!(status.success(), "{status:?}");
}

/// SIGTERM with a client that sent half a request: the exporter exits within
/// seconds instead of waiting for the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_promptly_despite_a_half_sent_request() {
    use tokio::io::AsyncWriteExt;
    let node = FakeRpc::start().await;
    let mut child = Command::new(BIN)
        .args(ONLY_SOLANA)
        .args([
            "--web.listen-address=127.0.0.1:0",
            "--web.read-header-timeout=5m",
            "--web.idle-timeout=5m",
        ])
        .arg(format!("--solana.rpc-url={}", node.endpoint))
        .env_clear()
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let logs = Logs::capture(&mut child);
    let serving = logs.wait_line("msg=serving").await;
    let address = serving
        .split(' ')
        .find_map(|kv| kv.strip_prefix("address="))
        .expect("serving line names the address")
        .to_owned();
    let mut half = tokio::net::TcpStream::connect(&address).await.unwrap();
    half.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Answered after the half request was accepted (the accept loop is in order).
    let healthz = reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap();
    assert_eq!(healthz.status(), 200);
    let started = Instant::now();
    signal(&child, "TERM");
    let status = exited_within(&mut child, Duration::from_secs(4)).await;
    if status.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let status = status.expect("the exporter exits within 4 s of SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    drop(half);
    assert!(logs.all().contains("shutting down"));
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
