//! The whole loop: a simulated Psyche network, the real exporter, a real
//! Prometheus evaluating the shipped rules and a real Alertmanager delivering
//! to a webhook. One run's checkpoints stall while it keeps training; its
//! `PsycheCheckpointStale` must reach the webhook, and no alert may fire for
//! the healthy runs. Every run's witnesses report healthy telemetry on every
//! step, so no telemetry alert may fire for any run. Then every dashboard
//! query must return data.
//!
//! Time is compressed: the runs step twice a second and Prometheus scrapes
//! and evaluates every second, against a copy of `deploy/prometheus/alerts.yml`
//! whose durations (and the two duration-valued constants of the cadence rule)
//! are divided by 60. The rule logic is the shipped one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;

use crate::support::exporter::Exporter;
use crate::support::simnet::SimNet;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A child process killed on drop (also used by `tls.rs`, with the helpers below).
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn binary(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/usr/sbin"] {
        let p = format!("{dir}/{name}");
        if Path::new(&p).exists() {
            return p;
        }
    }
    panic!(
        "{name} is missing: run the README's test command, which installs Debian's prometheus and prometheus-alertmanager"
    );
}

/// The shipped rules with every duration divided by 60 (`15m` → `15s`,
/// `1h` → `60s`) and the cadence rule's fallback (7200 s) and floor (600 s)
/// likewise. Fails if the shipped file no longer has what is replaced.
pub fn compress_rules(shipped: &str) -> String {
    let mut out = shipped.to_owned();
    for (from, to) in [
        (
            "(psyche_run_total_steps * 0 + 7200)",
            "(psyche_run_total_steps * 0 + 120)",
        ),
        ("            600\n", "            10\n"),
    ] {
        assert!(
            out.contains(from),
            "the cadence rule changed: update compress_rules ({from:?})"
        );
        out = out.replace(from, to);
    }
    let re = regex::Regex::new(r"(for: |\[|offset )(\d+)([mh])").unwrap();
    re.replace_all(&out, |c: &regex::Captures| {
        let n: u64 = c[2].parse().unwrap();
        let secs = if &c[3] == "h" { n * 60 } else { n };
        format!("{}{}s", &c[1], secs)
    })
    .into_owned()
}

#[test]
fn compressed_rules_keep_the_logic() {
    let shipped = std::fs::read_to_string(format!("{ROOT}/deploy/prometheus/alerts.yml")).unwrap();
    let fast = compress_rules(&shipped);
    assert!(
        fast.contains("for: 15s")
            && fast.contains("changes(psyche_run_step[60s])")
            && fast.contains("offset 60s")
    );
    assert!(
        !regex::Regex::new(r"(for: |\[|offset )\d+[mh]")
            .unwrap()
            .is_match(&fast)
    );
    assert_eq!(shipped.lines().count(), fast.lines().count());
}

async fn webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let app = Router::new()
        .route(
            "/alerts",
            post(
                |State(seen): State<Arc<Mutex<Vec<Value>>>>, body: axum::body::Bytes| async move {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        seen.lock().unwrap().push(v);
                    }
                    "ok"
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("psyche-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn start_alertmanager(dir: &Path, port: u16, webhook: &str) -> Proc {
    let config = format!(
        "route:\n  receiver: hook\n  group_by: [alertname, run_id]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {webhook}\n        send_resolved: false\n"
    );
    std::fs::write(dir.join("alertmanager.yml"), config).unwrap();
    let child = Command::new(binary("prometheus-alertmanager"))
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("alertmanager.log")).unwrap())
        .spawn()
        .unwrap();
    Proc(child)
}

fn start_prometheus(dir: &Path, port: u16, exporter: &str, alertmanager_port: u16) -> Proc {
    let shipped = std::fs::read_to_string(format!("{ROOT}/deploy/prometheus/alerts.yml")).unwrap();
    std::fs::write(dir.join("alerts.yml"), compress_rules(&shipped)).unwrap();
    let target = exporter.trim_start_matches("http://");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [alerts.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{alertmanager_port}']\nscrape_configs:\n  - job_name: psyche\n    static_configs:\n      - targets: ['{target}']\n"
    );
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let child = Command::new(binary("prometheus"))
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("prom-data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    Proc(child)
}

/// An instant query's result vector.
pub async fn query(http: &reqwest::Client, prometheus: &str, expr: &str) -> Vec<Value> {
    let resp = http
        .get(format!("{prometheus}/api/v1/query"))
        .query(&[("query", expr)])
        .send()
        .await;
    let Ok(resp) = resp else { return Vec::new() };
    let Ok(body) = resp.json::<Value>().await else {
        return Vec::new();
    };
    assert_ne!(body["status"], "error", "query {expr} failed: {body}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub async fn until<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_checkpoints_page_through_prometheus_and_alertmanager() {
    let dir = tempdir("loop");
    let sim = SimNet::start(3, Duration::from_millis(500), 4).await;
    let exporter = Exporter::start(&[
        &format!("--coordinator.rpc-url={}", sim.rpc.endpoint),
        &format!("--pool.rpc-url={}", sim.rpc.endpoint),
        "--pool.program-id=CQy5JKR2Lrm16pqSY5nkMaMYSazRk2aYx99pJDNGupR7",
        "--pool.index=1",
        "--pool.interval=1s",
        "--pool.timeout=800ms",
        "--treasurer.interval=1s",
        "--treasurer.timeout=800ms",
        &format!(
            "--coordinator.program-id={}",
            psyche_exporter::collectors::coordinator::PROGRAM_V1
        ),
        "--coordinator.interval=1s",
        "--coordinator.timeout=800ms",
        "--coordinator.detail-interval=2s",
        &format!("--hf.endpoint={}", sim.hub.endpoint),
        "--hf.interval=1s",
        "--hf.timeout=800ms",
        "--solana.interval=1s",
        "--solana.timeout=500ms",
        "--telemetry.interval=1s",
        "--telemetry.timeout=800ms",
    ])
    .await;
    let (hook, received) = webhook().await;
    let am_port = free_port();
    let _am = start_alertmanager(&dir, am_port, &hook);
    let prom_port = free_port();
    let _prom = start_prometheus(&dir, prom_port, &exporter.base, am_port);
    let prometheus = format!("http://127.0.0.1:{prom_port}");
    let http = reqwest::Client::new();

    // Prometheus scrapes all three runs and their checkpoints.
    until(
        "Prometheus to see three runs with checkpoints",
        Duration::from_secs(60),
        || async {
            query(
                &http,
                &prometheus,
                "psyche_run_checkpoint_timestamp_seconds",
            )
            .await
            .len()
                == 3
        },
    )
    .await;

    // ... and every run's telemetry, read from its witness transactions.
    until(
        "Prometheus to see telemetry of three runs",
        Duration::from_secs(60),
        || async {
            query(&http, &prometheus, "psyche_run_witness_step")
                .await
                .len()
                == 3
        },
    )
    .await;

    sim.stall_checkpoints(1);
    let stalled = "sim-run-1";
    until(
        "PsycheCheckpointStale for the stalled run at the webhook",
        Duration::from_secs(150),
        || async {
            received.lock().unwrap().iter().any(|batch| {
                batch["alerts"].as_array().into_iter().flatten().any(|a| {
                    a["labels"]["alertname"] == "PsycheCheckpointStale"
                        && a["labels"]["run_id"] == stalled
                        && a["status"] == "firing"
                })
            })
        },
    )
    .await;

    // The stalled run kept training, and nothing fired for the healthy ones.
    let steps = query(
        &http,
        &prometheus,
        &format!("changes(psyche_run_step{{run_id=\"{stalled}\"}}[30s])"),
    )
    .await;
    assert!(
        steps
            .first()
            .and_then(|s| s["value"][1].as_str())
            .is_some_and(|v| v != "0"),
        "the stalled run kept stepping: {steps:?}"
    );
    let healthy_alerts = query(
        &http,
        &prometheus,
        "ALERTS{alertstate=\"firing\",run_id=~\"sim-run-2|consilience-40b-7Y9v38s5\"}",
    )
    .await;
    assert!(
        healthy_alerts.is_empty(),
        "alerts for healthy runs: {healthy_alerts:?}"
    );
    let delivered: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|b| b["alerts"].as_array().cloned().unwrap_or_default())
        .map(|a| format!("{}/{}", a["labels"]["alertname"], a["labels"]["run_id"]))
        .collect();
    assert!(
        delivered
            .iter()
            .all(|d| !d.contains("sim-run-2") && !d.contains("consilience-40b-7Y9v38s5")),
        "delivered for healthy runs: {delivered:?}"
    );
    // Healthy telemetry pages for no run, the stalled one included.
    let telemetry = [
        "PsycheRunLossNotFinite",
        "PsycheRunThroughputCollapsed",
        "PsycheRunTelemetryStale",
    ];
    let firing = query(
        &http,
        &prometheus,
        &format!(
            "ALERTS{{alertstate=\"firing\",alertname=~\"{}\"}}",
            telemetry.join("|")
        ),
    )
    .await;
    assert!(firing.is_empty(), "telemetry alerts firing: {firing:?}");
    assert!(
        delivered
            .iter()
            .all(|d| telemetry.iter().all(|t| !d.starts_with(&format!("{t}/")))),
        "telemetry alerts delivered: {delivered:?}"
    );

    let instance = exporter.base.trim_start_matches("http://");
    dashboards_return_data(&http, &prometheus, instance).await;
}

/// Every panel query of every dashboard, with variables substituted (the
/// exporter's `job` and `instance` as this Prometheus scrapes it), returns
/// data from this Prometheus. `grafana/check.py --print` lists them.
async fn dashboards_return_data(http: &reqwest::Client, prometheus: &str, instance: &str) {
    let checker = format!("{ROOT}/grafana/check.py");
    if !Path::new(&checker).exists() {
        return;
    }
    let out = Command::new("python3")
        .args([
            &checker,
            "--var",
            "program=4SHugWqSXwKE5fqDchkJcPEqnoZE22VYKtSTVm7axbT7",
            "--var",
            "run_id=consilience-40b-7Y9v38s5",
            "--var",
            "job=psyche",
            "--var",
            &format!("instance={instance}"),
            "--strict-vars",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).unwrap();
    let mut empty = Vec::new();
    let mut count = 0;
    for line in listing.lines().filter(|l| !l.trim().is_empty()) {
        // uid, panel title, refId, instant|range, expression
        let fields: Vec<&str> = line.split('\t').collect();
        let [uid, title, _, _, expr] = fields[..] else {
            panic!("unexpected checker line {line:?}")
        };
        if expr.contains("ALERTS") {
            continue;
        }
        let panel = format!("{uid} / {title}");
        count += 1;
        if query(http, prometheus, expr).await.is_empty() {
            empty.push((panel, expr.to_owned()));
        }
    }
    assert!(count > 20, "only {count} panel queries listed");
    // A series can be briefly absent on a loaded machine (a poll past its
    // deadline, then max age): ask again for a while before calling it empty.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !empty.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut still = Vec::new();
        for (panel, expr) in empty {
            if query(http, prometheus, &expr).await.is_empty() {
                still.push((panel, expr));
            }
        }
        empty = still;
    }
    let empty: Vec<String> = empty
        .into_iter()
        .map(|(panel, expr)| format!("{panel}: {expr}"))
        .collect();
    assert!(
        empty.is_empty(),
        "panel queries without data:\n{}",
        empty.join("\n")
    );
}
