//! The real exporter, started in-process on 127.0.0.1:0, and scrape helpers.

use std::time::{Duration, Instant};

use psyche_exporter::{Cli, RunError, run};

/// Flags that switch off every collector not under test, so nothing reaches
/// the internet.
pub const ONLY_SOLANA: [&str; 4] = [
    "--no-collector.coordinator",
    "--no-collector.pool",
    "--no-collector.treasurer",
    "--no-collector.huggingface",
];

/// A running exporter; it shuts down when dropped.
pub struct Exporter {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), RunError>>>,
    http: reqwest::Client,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A response, reduced to what tests look at.
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Exporter {
    /// Start with these flags (after the program name).
    pub async fn start(args: &[&str]) -> Exporter {
        let mut argv = vec!["psyche-exporter".to_owned()];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        let cli = Cli::try_parse_validated(argv).expect("test flags are valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run(cli, listener, async {
            let _ = rx.await;
        }));
        Exporter {
            base,
            shutdown: Some(tx),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// `127.0.0.1:PORT`, for raw connections.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Signal shutdown and wait for `run` to return, at most `within`: `None`
    /// when it did not (the task is then aborted).
    pub async fn stop(mut self, within: Duration) -> Option<Result<(), RunError>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let task = self.task.take()?;
        let abort = task.abort_handle();
        match tokio::time::timeout(within, task).await {
            Ok(joined) => Some(joined.expect("run did not panic")),
            Err(_) => {
                abort.abort();
                None
            }
        }
    }

    /// GET `path` with an optional `Accept` header.
    pub async fn get_with(&self, path: &str, accept: Option<&str>) -> Page {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let resp = req.send().await.expect("exporter answers");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp.text().await.unwrap();
        Page {
            status,
            content_type,
            body,
        }
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Page {
        self.get_with(path, None).await
    }

    /// `/metrics` in the 0.0.4 text format.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.body
    }

    /// Scrape until `ready(text)` holds, or fail after `within`.
    pub async fn metrics_until(
        &self,
        what: &str,
        within: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = self.metrics().await;
            if ready(&text) {
                return text;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; last scrape:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The value of the sample written exactly as `series` (name plus labels in
/// exposition order), if present.
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        let v = rest.strip_prefix(' ')?;
        v.split(' ').next()?.parse().ok()
    })
}

/// Whether any sample line of `text` belongs to the family `name`.
pub fn has_family(text: &str, name: &str) -> bool {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
}

/// Make an exposition comparable: endpoints renamed, volatile values masked.
pub fn mask(text: &str, endpoints: &[(&str, &str)]) -> String {
    const VOLATILE: [&str; 11] = [
        "psyche_solana_rpc_latency_seconds",
        "psyche_exporter_collector_last_success_timestamp_seconds",
        "psyche_exporter_collector_poll_duration_seconds",
        "psyche_exporter_upstream_bytes_total",
        "psyche_exporter_upstream_requests_total",
        // The process' own figures (read from /proc/self on Linux).
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
    ];
    let mut out = String::new();
    for line in text.lines() {
        let mut line = line.to_owned();
        for (endpoint, name) in endpoints {
            line = line.replace(endpoint, name);
        }
        if let Some(rest) = line.strip_prefix("psyche_exporter_build_info{") {
            // The revision changes with every commit.
            let version = rest.split(',').next().unwrap_or("");
            line = format!("psyche_exporter_build_info{{{version},revision=\"<masked>\"}} 1");
        }
        let name = line.split(['{', ' ']).next().unwrap_or("");
        let volatile = !line.starts_with('#') && VOLATILE.contains(&name);
        if volatile && let Some(i) = line.rfind(' ') {
            line.truncate(i);
            line.push_str(" <masked>");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Compare with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites it.
pub fn assert_golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{path} missing: run with UPDATE_GOLDEN=1 to create it"));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .filter(|(e, a)| e != a)
            .take(10)
            .map(|(e, a)| format!("- {e}\n+ {a}"))
            .collect();
        panic!(
            "{name} differs from the golden file (UPDATE_GOLDEN=1 to accept):\n{}\n(expected {} lines, got {})\n--- actual ---\n{actual}",
            diff.join("\n"),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

/// `promtool check metrics` accepts `text` with no warning. The README's test
/// command installs Debian's `prometheus` package, which ships promtool;
/// `$PROMTOOL` overrides where it is.
pub fn assert_promtool_accepts(text: &str) {
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_owned());
    let mut child = match std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run {promtool} ({e}): run the README's test command, which installs Debian's prometheus package"
        ),
    };
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics:\n{said}"
    );
}
