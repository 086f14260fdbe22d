//! The HTTP surface: formats, promtool, landing page, paths.

use std::process::Command;
use std::time::Duration;

use crate::support::exporter::{Exporter, ONLY_SOLANA, value};
use crate::support::fake_rpc::{FakeRpc, Reply};

const WAIT: Duration = Duration::from_secs(10);

/// An exporter over one healthy and one failing fake, so every family shows.
async fn busy_exporter(extra: &[&str]) -> (Exporter, FakeRpc, FakeRpc) {
    let good = FakeRpc::start().await;
    let bad = FakeRpc::start().await;
    bad.set("getVersion", Reply::Status(500));
    let mut args: Vec<String> = ONLY_SOLANA.iter().map(|s| (*s).to_owned()).collect();
    args.push(format!("--solana.rpc-url={}", good.endpoint));
    args.push(format!("--solana.rpc-url={}", bad.endpoint));
    args.extend([
        "--solana.interval=300ms".into(),
        "--solana.timeout=200ms".into(),
    ]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let exp = Exporter::start(&refs).await;
    (exp, good, bad)
}

async fn settled(exp: &Exporter, path: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let body = exp.get(path).await.body;
        if value(
            &body,
            "psyche_exporter_collector_poll_errors_total{collector=\"solana\",kind=\"status\"}",
        )
        .is_some_and(|n| n >= 1.0)
        {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no poll finished:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn openmetrics_when_asked_text_otherwise() {
    let (exp, _g, _b) = busy_exporter(&[]).await;
    settled(&exp, "/metrics").await;
    let om = exp
        .get_with("/metrics", Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"))
        .await;
    assert_eq!(om.status, 200);
    assert_eq!(
        om.content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(om.body.ends_with("# EOF\n"));
    assert!(om.body.contains("# TYPE psyche_exporter_build info\n"));
    assert!(
        om.body
            .contains("# TYPE psyche_exporter_collector_poll_errors counter\n")
    );
    assert!(
        om.body
            .contains("# UNIT psyche_solana_rpc_latency_seconds seconds\n")
    );

    let text = exp.get("/metrics").await;
    assert_eq!(
        text.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(!text.body.contains("# EOF"));
    assert!(!text.body.contains("# UNIT"));
    assert!(
        text.body
            .contains("# TYPE psyche_exporter_build_info gauge\n")
    );
    assert!(
        text.body
            .contains("# TYPE psyche_exporter_collector_poll_errors_total counter\n")
    );
    assert!(
        text.body
            .contains("# TYPE psyche_exporter_upstream_bytes_total counter\n")
    );
}

#[tokio::test]
async fn family_names_are_unique() {
    let (exp, _g, _b) = busy_exporter(&[]).await;
    let body = settled(&exp, "/metrics").await;
    let mut seen = std::collections::BTreeSet::new();
    for line in body.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).unwrap();
        assert!(seen.insert(name.to_owned()), "{name} twice");
        // The client libraries' standard process_* families are the only others.
        assert!(
            name.starts_with("psyche_") || name.starts_with("process_"),
            "{name} lacks the prefix"
        );
    }
    assert!(seen.len() >= 15, "{seen:?}");
}

/// Where promtool is: `$PROMTOOL`, else on PATH. The README's test command
/// installs Debian's `prometheus` package, which ships it.
fn promtool() -> String {
    std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_owned())
}

#[tokio::test]
async fn promtool_accepts_the_text_format() {
    let (exp, _g, _b) = busy_exporter(&[]).await;
    let body = settled(&exp, "/metrics").await;
    let path = std::env::temp_dir().join(format!("psyche-metrics-{}.txt", std::process::id()));
    std::fs::write(&path, &body).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{} check metrics < {}", promtool(), path.display()))
        .output()
        .expect("sh runs");
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("not found"),
        "promtool is missing: run the README's test command (it installs Debian's prometheus package)"
    );
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{stdout}{stderr}\n{body}"
    );
    assert_eq!(
        format!("{stdout}{stderr}").trim(),
        "",
        "promtool warned:\n{stdout}{stderr}"
    );
}

#[tokio::test]
async fn landing_page_shows_each_collector() {
    let (exp, _g, bad) = busy_exporter(&[]).await;
    settled(&exp, "/metrics").await;
    let page = exp.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains(env!("CARGO_PKG_VERSION")));
    assert!(page.body.contains("href=\"/metrics\""));
    assert!(
        page.body
            .contains("<td>solana</td><td class=\"partial\">partial</td>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("{} getVersion: HTTP status 500", bad.endpoint)),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn telemetry_path_is_configurable() {
    let (exp, _g, _b) = busy_exporter(&["--web.telemetry-path=/prom"]).await;
    settled(&exp, "/prom").await;
    assert_eq!(exp.get("/metrics").await.status, 404);
    assert!(exp.get("/").await.body.contains("href=\"/prom\""));
}

/// `Accept-Encoding: gzip` (as Prometheus sends it): one valid gzip member whose
/// content is the same exposition in both formats; without it, plain text. The
/// bodies of the snapshots are compressed once: a second gzip scrape of the same
/// snapshot sends the same compressed bytes for them.
#[tokio::test]
async fn gzip_when_the_scraper_accepts_it() {
    use std::io::Read as _;
    let (exp, _g, _b) = busy_exporter(&[]).await;
    settled(&exp, "/metrics").await;
    // Raw HTTP/1.0 (a close-delimited body): reqwest without its gzip feature does
    // not send our Accept-Encoding as given.
    let addr = exp.base.trim_start_matches("http://").to_owned();
    let get = |accept: &'static str, encoding: Option<&'static str>| {
        let addr = addr.clone();
        async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let mut request =
                format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\nAccept: {accept}\r\n");
            if let Some(e) = encoding {
                request.push_str(&format!("Accept-Encoding: {e}\r\n"));
            }
            request.push_str("\r\n");
            conn.write_all(request.as_bytes()).await.unwrap();
            let mut raw = Vec::new();
            conn.read_to_end(&mut raw).await.unwrap();
            let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let head = String::from_utf8(raw[..split].to_vec())
                .unwrap()
                .to_ascii_lowercase();
            let headers: std::collections::HashMap<String, String> = head
                .lines()
                .skip(1)
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect();
            (headers, raw[split + 4..].to_vec())
        }
    };
    let stable = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("psyche_solana_slot") || l.starts_with("# TYPE"))
            .map(str::to_owned)
            .collect()
    };
    for accept in [
        "text/plain;version=0.0.4",
        "application/openmetrics-text;version=1.0.0",
    ] {
        let (plain_headers, plain) = get(accept, None).await;
        assert_eq!(plain_headers.get("content-encoding"), None);
        assert_eq!(plain_headers["vary"], "accept-encoding");
        let (headers, wire) = get(accept, Some("gzip, deflate, br")).await;
        assert_eq!(
            headers.get("content-encoding").map(String::as_str),
            Some("gzip"),
            "{headers:?}"
        );
        assert_eq!(headers["content-type"], plain_headers["content-type"]);
        let mut decoded = String::new();
        flate2::read::GzDecoder::new(&wire[..])
            .read_to_string(&mut decoded)
            .unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert_eq!(stable(&decoded), stable(&plain), "{accept}");
        assert!(!stable(&plain).is_empty());
        if accept.starts_with("application/openmetrics") {
            assert!(decoded.ends_with("# EOF\n"));
        }
        // Refused by name: plain.
        let (headers, _) = get(accept, Some("gzip;q=0")).await;
        assert_eq!(headers.get("content-encoding"), None);
    }
}
