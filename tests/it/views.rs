//! Answers for people and agents: the one-shot commands (golden output in both
//! formats, exit codes, no progress when piped), the JSON schema, the `/api/v1/`
//! views (the same JSON as the CLI) and the landing page in headless Chromium.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use psyche_exporter::collectors::telemetry::witness::{WitnessReport, encode_witness};

use crate::support::exporter::assert_golden;
use crate::support::fake_hub::{FakeHub, Fault};
use crate::support::fake_rpc::{FakeRpc, MAINNET, Reply};
use crate::support::fixtures;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_psyche-exporter");
/// 2025-10-24T00:00:00Z, just after the fixtures' newest timestamps: the clock every
/// answer here is computed against.
pub(crate) const NOW: &str = "1761264000";
pub(crate) const TRAINING: &str = "consilience-40b-7Y9v38s5";
const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/api-v1.json");

/// Two fake RPC nodes (the coordinator's, holding the seven fixture runs, and an extra
/// mainnet one) and a fake Hub holding the repos the runs name.
pub(crate) struct Upstreams {
    pub(crate) rpc: FakeRpc,
    pub(crate) extra: FakeRpc,
    pub(crate) hub: FakeHub,
}

impl Upstreams {
    pub(crate) async fn start() -> Upstreams {
        let rpc = FakeRpc::start().await;
        let runs = fixtures::serve_all(&rpc);
        // The training run's witnesses reported steps 654319 and 654320: three
        // reports of the newest (one without a loss), a tick after them. One report
        // of the older step, so that whatever the timing every signature is read (a
        // reader stops at the first report of an older step).
        let training = runs.iter().find(|r| r.run_id == TRAINING).unwrap();
        let now: i64 = NOW.parse().unwrap();
        let report = |step: u32, loss: f32, tps: f32, evals: &[(&str, f32)]| {
            encode_witness(&WitnessReport {
                step,
                tokens_per_sec: tps,
                bandwidth_per_sec: 2.5e7,
                loss,
                evals: evals.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect(),
                efficiency: 0.9,
            })
        };
        for (slot, from, data) in [
            (11, 2, report(654_319, 2.75, 42_000.0, &[])),
            (
                20,
                1,
                report(654_320, 2.25, 40_000.0, &[("hellaswag", 0.5)]),
            ),
            (
                21,
                2,
                report(654_320, f32::INFINITY, 44_000.0, &[("hellaswag", 0.75)]),
            ),
            (
                22,
                3,
                report(654_320, 2.5, 42_000.0, &[("arc_easy", 0.625)]),
            ),
            (23, 4, vec![0x5c, 0x4f, 0x2c, 0x08, 0x65, 0x50, 0x3f, 0x0f]),
        ] {
            rpc.put_transaction(fixtures::run_instruction(
                training,
                350_000_000 - 100 + slot,
                now - 120 + slot as i64,
                from,
                data,
            ));
        }
        fixtures::serve_pool_open(&rpc);
        fixtures::serve_treasurer_run(&rpc, Some(250_000_000_000_000));
        let extra = FakeRpc::start().await;
        extra.set_genesis(MAINNET);
        let hub = FakeHub::start().await;
        crate::huggingface::populate(&hub);
        Upstreams { rpc, extra, hub }
    }

    /// Upstream flags; nothing reaches the internet (the pool is the `pool_open`
    /// fixture on the coordinator's fake node).
    pub(crate) fn args(&self) -> Vec<String> {
        vec![
            format!("--coordinator.rpc-url={}", self.rpc.endpoint),
            format!("--pool.rpc-url={}", self.rpc.endpoint),
            "--pool.program-id=CQy5JKR2Lrm16pqSY5nkMaMYSazRk2aYx99pJDNGupR7".into(),
            "--pool.index=1".into(),
            format!("--solana.rpc-url={}", self.extra.endpoint),
            format!("--hf.endpoint={}", self.hub.endpoint),
        ]
    }

    /// Ports renamed to fixed names of the same width (ports here are five digits),
    /// so columns stay aligned; the wall-clock time the client lists were read
    /// (the one time not computed against the pinned clock) zeroed.
    pub(crate) fn mask(&self, text: &str) -> String {
        let detail = regex::Regex::new(r#""detail_timestamp": \d+"#).unwrap();
        let mut out = detail
            .replace_all(text, r#""detail_timestamp": 0"#)
            .into_owned();
        for (endpoint, name) in [
            (&self.rpc.endpoint, "http://rpc-a.test:8899"),
            (&self.extra.endpoint, "http://rpc-b.test:8899"),
            (&self.hub.endpoint, "http://hub-1.test:8000"),
        ] {
            out = out.replace(endpoint.as_str(), name);
        }
        out
    }

    /// The binary with `args` after the upstream flags, clock pinned, stderr a pipe.
    async fn cli(&self, args: &[&str]) -> Output {
        let mut all = self.args();
        all.extend(args.iter().map(|a| (*a).to_owned()));
        run_bin(all).await
    }
}

async fn run_bin(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .env_clear()
            .env("PSYCHE_EXPORTER_NOW", NOW)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Each command in both formats against the fake upstreams: exit 0, nothing on stderr
/// (not a terminal, so no progress line), stdout as in `tests/golden/cli-*`; every JSON
/// answer valid under `schema/api-v1.json`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_print_the_golden_answers() {
    let up = Upstreams::start().await;
    let cases: [(&str, &[&str]); 7] = [
        ("runs", &["runs"]),
        ("run", &["run", TRAINING]),
        ("checkpoints", &["checkpoints"]),
        ("checkpoints-run", &["checkpoints", "--run", TRAINING]),
        ("pool", &["pool"]),
        ("network", &["network"]),
        ("contribute", &["contribute"]),
    ];
    let schema = schema();
    for (name, args) in cases {
        for (format, ext) in [("table", "txt"), ("json", "json")] {
            let mut argv = args.to_vec();
            argv.extend(["--output", format]);
            let out = up.cli(&argv).await;
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{argv:?}: {stderr}");
            assert!(stderr.is_empty(), "{argv:?} wrote to stderr: {stderr}");
            let stdout = up.mask(&text(&out.stdout));
            assert_golden(&format!("cli-{name}.{ext}"), &stdout);
            if ext == "json" {
                let value: Value = serde_json::from_str(&stdout).unwrap();
                if let Err(e) = validate(&schema, &schema, &value, "$") {
                    panic!("cli-{name}.json does not match the schema: {e}");
                }
            }
        }
    }
}

/// The table names every fixture run, active first; the run view answers the
/// issue's questions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_hold_the_facts() {
    let up = Upstreams::start().await;
    let runs: Value =
        serde_json::from_slice(&up.cli(&["runs", "-o", "json"]).await.stdout).unwrap();
    let ids: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 7, "{ids:?}");
    assert!(ids.contains(&TRAINING), "{ids:?}");
    let states: Vec<&str> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states[..2],
        ["round_train", "round_train"],
        "training first: {ids:?}"
    );
    assert_eq!(states.last(), Some(&"finished"), "{states:?}");

    let run: Value =
        serde_json::from_slice(&up.cli(&["run", TRAINING, "-o", "json"]).await.stdout).unwrap();
    let r = &run["run"];
    for key in [
        "model",
        "data",
        "lr_schedule",
        "optimizer",
        "config",
        "progress",
        "clients",
        "witnesses",
        "checkpoint",
        "rewards",
        "phase",
    ] {
        assert!(r[key].is_object(), "{key} missing: {r}");
    }
    assert!(r["phase"]["overdue"].is_boolean());
    assert!(r["learning_rate"].is_number(), "{r}");
    assert_eq!(r["checkpoint"]["hub_state"], "ok");
    assert!(r["model"]["parameters"].as_u64().unwrap() > 0);

    // `network` polls only the health collector, yet still watches the URLs of the
    // collectors it does not poll.
    let out = run_bin(vec![
        "network".into(),
        "-o".into(),
        "json".into(),
        "--no-collector.pool".into(),
        "--no-collector.treasurer".into(),
        format!("--coordinator.rpc-url={}", up.rpc.endpoint),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let net: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(net["endpoints"][0]["endpoint"], up.rpc.endpoint.as_str());

    let contribute = text(&up.cli(&["contribute"]).await.stdout);
    assert!(contribute.contains("https://docs.psyche.network"));
    assert!(
        contribute.contains("bFRswcjkehwLJLmxgA54NdLfrzZBbM7C7YaPJmPgGAp"),
        "{contribute}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_name_the_failure() {
    let up = Upstreams::start().await;

    // The Hub fails: the runs are still printed, the failure is named, exit 1.
    up.hub.fail("/api/models", Fault::Status(500));
    let out = up.cli(&["runs"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(text(&out.stdout).contains(TRAINING));
    assert!(text(&out.stdout).contains("! huggingface: failing"));
    assert!(stderr.contains("error: huggingface failing"), "{stderr}");
    let json: Value =
        serde_json::from_slice(&up.cli(&["runs", "-o", "json"]).await.stdout).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 7);
    assert_eq!(json["sources"][1]["state"], "failing");
    up.hub.heal();

    // The chain fails: nothing to list, exit 1, the coordinator named.
    up.rpc.set_all(Reply::Status(503));
    let out = up.cli(&["runs", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("error: coordinator failing"));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["runs"], Value::Array(Vec::new()));
    // One of two endpoints down is a partial answer: exit 1, the other still shown.
    let out = up.cli(&["network"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&up.extra.endpoint) && stdout.contains("NO"),
        "{stdout}"
    );
    up.rpc.heal();

    let out = up.cli(&["run", "no-such-run"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no run with id \"no-such-run\""));

    for args in [
        &["run"][..],
        &["runs", "--output", "xml"],
        &["runs", "--no-collector.coordinator"],
        &["network", "--no-collector.solana"],
        &["checkpoints", "--no-collector.huggingface"],
        &["nonsense"],
        &["runs", "--solana.interval=soon"],
    ] {
        let out = up.cli(args).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

/// A poll over a second with stderr piped shows no progress line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_progress_when_piped() {
    let up = Upstreams::start().await;
    up.rpc.set(
        "getProgramAccounts",
        Reply::Slow(Duration::from_millis(1500)),
    );
    let started = Instant::now();
    let out = up.cli(&["runs"]).await;
    assert!(started.elapsed() > Duration::from_secs(1));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

// ---------------------------------------------------------------------------------
// The server: same JSON, and the landing page in a real browser.

/// The binary serving on port 0; killed when dropped. `PSYCHE_EXPORTER_NOW` is set as
/// for the CLI, and the server must ignore it: its answers use the system clock.
pub(crate) struct Served {
    child: std::process::Child,
    pub(crate) base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn serve(up: &Upstreams) -> Served {
    let mut child = Command::new(BIN)
        .args(up.args())
        .args([
            "--web.listen-address=127.0.0.1:0",
            // Deadlines generous enough for a loaded 2-core CI machine: a missed
            // one shows as a failing source and the answer differs until the
            // next poll.
            "--coordinator.interval=1s",
            "--coordinator.timeout=900ms",
            "--hf.interval=1s",
            "--hf.timeout=900ms",
            "--solana.interval=1s",
            "--solana.timeout=900ms",
            "--telemetry.interval=1s",
            "--telemetry.timeout=900ms",
        ])
        .env_clear()
        .env("PSYCHE_EXPORTER_NOW", NOW)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let lines = Arc::clone(&lines);
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let address = loop {
        let found = lines.lock().unwrap().iter().find_map(|l| {
            l.contains("msg=serving").then(|| {
                l.split(' ')
                    .find_map(|kv| kv.strip_prefix("address="))
                    .map(str::to_owned)
            })?
        });
        if let Some(a) = found {
            break a;
        }
        assert!(Instant::now() < deadline, "no serving line");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Served {
        child,
        base: format!("http://{address}"),
    }
}

/// GET `path` until its body, masked and moved to the pinned clock ([`at_now`]), equals
/// `expected`, or fail after 15 s. Also returns the `generated_at` the server sent.
pub(crate) async fn body_until(
    up: &Upstreams,
    url: &str,
    expected: &str,
) -> (u16, String, Option<i64>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resp = reqwest::get(url).await.unwrap();
        let status = resp.status().as_u16();
        let (body, generated_at) = at_now(&up.mask(&resp.text().await.unwrap()));
        if body == expected || Instant::now() > deadline {
            return (status, body, generated_at);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A served answer as the CLI prints it at [`NOW`]. The server computes against its
/// real clock, so with d = `generated_at` − NOW: `generated_at` becomes NOW and every
/// `*_age_seconds` (now − t) loses d. The one other field that reads the clock,
/// `phase.overdue` (now > `deadline_timestamp`), must first agree with the served
/// `generated_at`, and is then recomputed at NOW. Every other byte is left as served.
/// Returns the text unchanged (and no `generated_at`) when it is not an answer.
pub(crate) fn at_now(body: &str) -> (String, Option<i64>) {
    let Some(served) = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["generated_at"].as_i64())
    else {
        return (body.to_owned(), None);
    };
    let now: i64 = NOW.parse().unwrap();
    let d = served - now;
    let generated = regex::Regex::new(r#""generated_at": -?\d+"#).unwrap();
    let age = regex::Regex::new(r#"("[a-z_]+_age_seconds": )(-?\d+)"#).unwrap();
    let overdue =
        regex::Regex::new(r#"("deadline_timestamp": (-?\d+),\n\s*"overdue": )(true|false)"#)
            .unwrap();
    let out = generated.replace_all(body, format!(r#""generated_at": {now}"#));
    let out = age.replace_all(&out, |c: &regex::Captures| {
        format!("{}{}", &c[1], c[2].parse::<i64>().unwrap() - d)
    });
    let mut rewritten = 0;
    let out = overdue.replace_all(&out, |c: &regex::Captures| {
        let deadline: i64 = c[2].parse().unwrap();
        assert_eq!(
            &c[3],
            (served > deadline).to_string(),
            "overdue disagrees with generated_at {served} and deadline {deadline}"
        );
        rewritten += 1;
        format!("{}{}", &c[1], now > deadline)
    });
    assert_eq!(
        out.matches(r#""overdue": true"#).count() + out.matches(r#""overdue": false"#).count(),
        rewritten,
        "an overdue flag not right after its deadline_timestamp:\n{body}"
    );
    (out.into_owned(), Some(served))
}

pub(crate) fn golden(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/golden/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_views_return_the_cli_json_and_the_page_renders() {
    let up = Upstreams::start().await;
    let served = serve(&up).await;
    for (path, name) in [
        ("/api/v1/runs".to_owned(), "cli-runs.json"),
        (format!("/api/v1/runs/{TRAINING}"), "cli-run.json"),
        ("/api/v1/checkpoints".to_owned(), "cli-checkpoints.json"),
        (
            format!("/api/v1/checkpoints?run={TRAINING}"),
            "cli-checkpoints-run.json",
        ),
        ("/api/v1/pool".to_owned(), "cli-pool.json"),
        ("/api/v1/network".to_owned(), "cli-network.json"),
        ("/api/v1/contribute".to_owned(), "cli-contribute.json"),
    ] {
        let expected = golden(name);
        let (status, body, generated_at) =
            body_until(&up, &format!("{}{path}", served.base), &expected).await;
        assert_eq!(body, expected, "{path} differs from {name}");
        assert_eq!(status, 200, "{path}");
        // The server's clock is the system's, whatever PSYCHE_EXPORTER_NOW says.
        let wall = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let generated_at = generated_at.unwrap();
        assert!(
            (wall - 60..=wall).contains(&generated_at),
            "{path}: generated_at {generated_at}, system clock {wall}"
        );
    }
    let missing = reqwest::get(format!("{}/api/v1/runs/no-such-run", served.base))
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // The page without JavaScript: every fixture run, a progress bar, the pool and RPC
    // sections, a link to each JSON view.
    let page = reqwest::get(format!("{}/", served.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script"));
    for needle in [
        "<progress",
        "id=\"pool\"",
        "id=\"rpc\"",
        "href=\"/api/v1/runs\"",
        "href=\"/api/v1/checkpoints\"",
        "href=\"/api/v1/pool\"",
        "href=\"/api/v1/network\"",
        &format!("href=\"/api/v1/runs/{TRAINING}\""),
        // The training run's loss over its two witnessed steps, as an inline SVG
        // line with a text alternative, and its latest mean loss.
        "aria-label=\"loss 2.750 to 2.375 over steps 654319-654320\"",
        "points=\"0.0,1.0 120.0,23.0\"",
        "2.375</td><td>42.0k</td>",
    ] {
        assert!(page.contains(needle), "{needle} missing:\n{page}");
    }

    // And in Chromium: the rendered DOM holds the fixture runs; keep a screenshot.
    let url = format!("{}/", served.base);
    let dom = chromium(&["--dump-dom".to_owned(), url.clone()]).await;
    let dom = text(&dom.stdout);
    let served_runs: Vec<String> = runs_of(&golden("cli-runs.json"));
    assert_eq!(served_runs.len(), 7);
    for id in &served_runs {
        assert!(dom.contains(id.as_str()), "{id} not rendered:\n{dom}");
    }
    assert!(dom.contains("<progress"), "{dom}");
    assert!(
        dom.contains("<polyline"),
        "no loss sparkline rendered:\n{dom}"
    );
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/artifacts");
    std::fs::create_dir_all(dir).unwrap();
    let shot = format!("{dir}/landing.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&[
        format!("--screenshot={shot}"),
        "--window-size=1400,1000".into(),
        url,
    ])
    .await;
    let png = std::fs::read(&shot).unwrap_or_else(|_| {
        panic!(
            "no screenshot; chromium said: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        png.len()
    );
}

fn runs_of(json: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(json).unwrap();
    v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Debian's headless Chromium, which `tests/run-all.sh` installs; `$CHROMIUM`
/// overrides where it is.
async fn chromium(args: &[String]) -> Output {
    let bin = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let profile = std::env::temp_dir().join(format!(
        "views-chromium-{}-{}",
        std::process::id(),
        next_profile()
    ));
    let mut argv: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .map(String::from)
    .to_vec();
    argv.push(format!("--user-data-dir={}", profile.display()));
    argv.extend(args.iter().cloned());
    let out = tokio::task::spawn_blocking(move || {
        let out = Command::new(&bin)
            .args(&argv)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {bin} ({e}): run tests/run-all.sh, which installs Debian's chromium"
                )
            });
        let _ = std::fs::remove_dir_all(&profile);
        out
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Distinct per call, so two browsers never share a profile directory.
fn next_profile() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------
// The schema, and a validator for the subset of JSON Schema it uses.

pub(crate) fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(SCHEMA).unwrap()).unwrap()
}

/// `value` against `schema` (`root` resolves `$ref`s): `type`, `const`, `enum`,
/// `properties`, `required`, `additionalProperties`, `items`, `oneOf`, `minimum`,
/// `$ref` to `#/$defs/…`. Any other keyword is an error, so the schema cannot use
/// one this check ignores.
fn validate(root: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    const KNOWN: [&str; 14] = [
        "$schema",
        "$defs",
        "title",
        "description",
        "type",
        "const",
        "enum",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "oneOf",
        "minimum",
        "$ref",
    ];
    let s = schema
        .as_object()
        .ok_or(format!("{at}: schema not an object"))?;
    if let Some(k) = s.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("{at}: unsupported keyword {k}"));
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").ok_or(format!("bad $ref {r}"))?;
        return validate(root, &root["$defs"][name], value, at);
    }
    if let Some(options) = s.get("oneOf").and_then(Value::as_array) {
        let ok = options
            .iter()
            .filter(|o| validate(root, o, value, at).is_ok())
            .count();
        if ok != 1 {
            let why: Vec<String> = options
                .iter()
                .filter_map(|o| validate(root, o, value, at).err())
                .collect();
            return Err(format!("{at}: {ok} of oneOf match: {}", why.join(" | ")));
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => return Err(format!("{at}: bad type")),
        };
        let fits = |t: &str| match t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        };
        if !types.iter().any(|t| fits(t)) {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(c) = s.get("const")
        && c != value
    {
        return Err(format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(value)
    {
        return Err(format!("{at}: {value} not in {e:?}"));
    }
    if let Some(min) = s.get("minimum").and_then(Value::as_f64)
        && value.as_f64().is_some_and(|v| v < min)
    {
        return Err(format!("{at}: {value} < {min}"));
    }
    if let Some(obj) = value.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for req in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(req) {
                return Err(format!("{at}: {req} missing"));
            }
        }
        for (k, v) in obj {
            let here = format!("{at}.{k}");
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(p), _) => validate(root, p, v, &here)?,
                (None, Some(Value::Bool(false))) => {
                    return Err(format!("{here}: not in the schema"));
                }
                (None, Some(extra)) if extra.is_object() => validate(root, extra, v, &here)?,
                (None, _) => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            validate(root, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The validator rejects what the schema forbids, so the golden check means something;
/// and every object in the schema lists all its properties as required.
#[test]
fn schema_is_strict() {
    let schema = schema();
    let good: Value = serde_json::from_str(&golden("cli-runs.json")).unwrap();
    validate(&schema, &schema, &good, "$").unwrap();
    let mut extra = good.clone();
    extra["runs"][0]["surprise"] = Value::Bool(true);
    assert!(validate(&schema, &schema, &extra, "$").is_err());
    let mut missing = good.clone();
    missing["runs"][0].as_object_mut().unwrap().remove("step");
    assert!(validate(&schema, &schema, &missing, "$").is_err());
    let mut wrong = good;
    wrong["kind"] = Value::String("run".into());
    assert!(validate(&schema, &schema, &wrong, "$").is_err());

    fn all_required(v: &Value, at: &str) {
        if let Some(o) = v.as_object() {
            if let Some(props) = o.get("properties").and_then(Value::as_object) {
                let req: Vec<&str> = o["required"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: no required"))
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                for k in props.keys() {
                    assert!(req.contains(&k.as_str()), "{at}.{k} not required");
                }
                assert_eq!(o["additionalProperties"], Value::Bool(false), "{at}");
            }
            for (k, child) in o {
                all_required(child, &format!("{at}/{k}"));
            }
        } else if let Some(a) = v.as_array() {
            for c in a {
                all_required(c, at);
            }
        }
    }
    all_required(&schema, "#");
}
