//! `--web.config.file`: TLS, client certificates, basic auth and headers on the
//! real exporter, then a real Prometheus (Debian's, as in `e2e.rs`) scraping
//! it over TLS with basic auth. Certificates are made here, at test time
//! (a CA, a server certificate for 127.0.0.1, a client certificate).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::{Value, json};

use crate::e2e::{Proc, binary, free_port, query, tempdir, until};
use crate::support::exporter::{Exporter, ONLY_SOLANA};
use crate::support::fake_rpc::FakeRpc;

const BIN: &str = env!("CARGO_BIN_EXE_psyche-exporter");
const USER: &str = "prometheus";
const PASSWORD: &str = "s3cret-scrape";

/// A test CA and what it signed, written into `dir`: `ca.crt`, `server.crt`,
/// `server.key`, `client.crt`, `client.key`, and `client.pem` (both).
fn make_certs(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "psyche-exporter test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
    for (name, sans, usage) in [
        (
            "server",
            vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        (
            "client",
            vec!["scraper".to_owned()],
            ExtendedKeyUsagePurpose::ClientAuth,
        ),
    ] {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &ca).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        std::fs::write(
            dir.join(format!("{name}.pem")),
            format!("{}{}", cert.pem(), key.serialize_pem()),
        )
        .unwrap();
    }
}

/// A directory with the certificates and a web config: TLS with relative paths
/// (resolved against the file's directory), `extra` lines under
/// `tls_server_config`, one user (bcrypt, cost 4 for speed) and two headers.
fn web_config(name: &str, extra_tls: &str) -> (PathBuf, PathBuf) {
    let dir = tempdir(&format!("tls-{name}"));
    make_certs(&dir);
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let config = format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n{extra_tls}http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=63072000\nbasic_auth_users:\n  {USER}: {hash}\n"
    );
    let path = dir.join("web.yml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

async fn exporter(node: &FakeRpc, config: &Path) -> Exporter {
    let rpc = format!("--solana.rpc-url={}", node.endpoint);
    let web = format!("--web.config.file={}", config.display());
    let mut args: Vec<&str> = ONLY_SOLANA.to_vec();
    args.push(&rpc);
    args.push(&web);
    Exporter::start(&args).await
}

fn https(exp: &Exporter) -> String {
    format!("https://{}", exp.addr())
}

/// A client trusting only the test CA, optionally with the client certificate.
fn client(dir: &Path, with_cert: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.crt")).unwrap()).unwrap();
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(10));
    if with_cert {
        let pem = std::fs::read(dir.join("client.pem")).unwrap();
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

/// GET `url`, with basic auth when given.
async fn get(
    http: &reqwest::Client,
    url: &str,
    auth: Option<(&str, &str)>,
) -> reqwest::Result<reqwest::Response> {
    let mut req = http.get(url);
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    req.send().await
}

#[tokio::test]
async fn tls_and_basic_auth_guard_every_path() {
    let node = FakeRpc::start().await;
    let (dir, config) = web_config("auth", "");
    let exp = exporter(&node, &config).await;
    let base = https(&exp);
    let http = client(&dir, false);
    let good = Some((USER, PASSWORD));

    for path in ["/metrics", "/", "/api/v1/network", "/healthz", "/nowhere"] {
        let url = format!("{base}{path}");
        let ok = get(&http, &url, good).await.unwrap();
        assert_ne!(ok.status(), 401, "{path} refused the right credentials");
        assert_eq!(ok.headers()["x-frame-options"], "deny", "{path}");
        assert_eq!(
            ok.headers()["strict-transport-security"],
            "max-age=63072000"
        );
        for (why, auth) in [
            ("no credentials", None),
            ("a wrong password", Some((USER, "wrong"))),
            ("an unknown user", Some(("someone", PASSWORD))),
        ] {
            let refused = get(&http, &url, auth).await.unwrap();
            assert_eq!(refused.status(), 401, "{path} with {why}");
            assert_eq!(refused.headers()["www-authenticate"], "Basic");
            assert_eq!(refused.headers()["x-frame-options"], "deny");
            assert_eq!(refused.text().await.unwrap(), "Unauthorized\n");
        }
    }
    for path in ["/metrics", "/", "/healthz"] {
        let ok = get(&http, &format!("{base}{path}"), good).await.unwrap();
        assert_eq!(ok.status(), 200, "{path}");
    }
    let metrics = get(&http, &format!("{base}/metrics"), good)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("psyche_exporter_build_info"), "{metrics}");

    // The MCP endpoint is behind the same auth.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}});
    let mcp = |auth: Option<(&str, &str)>| {
        let mut req = http
            .post(format!("{base}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        req.send()
    };
    assert_eq!(mcp(None).await.unwrap().status(), 401);
    assert_eq!(mcp(Some((USER, "nope"))).await.unwrap().status(), 401);
    let answered = mcp(good).await.unwrap();
    assert_eq!(answered.status(), 200);
    let body: Value = answered.json().await.unwrap();
    assert_eq!(body["result"]["serverInfo"]["name"], "psyche-exporter");

    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/metrics", exp.addr()))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    // A client that does not trust the CA refuses the server.
    let untrusting = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(
        get(&untrusting, &format!("{base}/healthz"), good)
            .await
            .is_err()
    );
    // And the server is still fine.
    assert_eq!(
        get(&http, &format!("{base}/healthz"), good)
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn client_certificates_are_required_when_configured() {
    let node = FakeRpc::start().await;
    let (dir, config) = web_config(
        "mtls",
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS12\n",
    );
    let exp = exporter(&node, &config).await;
    let url = format!("{}/metrics", https(&exp));
    let good = Some((USER, PASSWORD));
    let without = get(&client(&dir, false), &url, good).await;
    assert!(
        without.is_err(),
        "served without a client certificate: {without:?}"
    );
    let with = client(&dir, true);
    assert_eq!(get(&with, &url, good).await.unwrap().status(), 200);
    // A certificate does not replace the password.
    assert_eq!(get(&with, &url, None).await.unwrap().status(), 401);
    // A certificate from another CA is refused.
    let other = tempdir("tls-mtls-other");
    make_certs(&other);
    let stranger = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.crt")).unwrap()).unwrap(),
        )
        .identity(
            reqwest::Identity::from_pem(&std::fs::read(other.join("client.pem")).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    assert!(get(&stranger, &url, good).await.is_err());
}

/// A handshake that never starts is cut at the header-read timeout, like a
/// half-sent request, and holds up nobody.
#[tokio::test]
async fn a_stalled_handshake_is_cut_at_the_header_timeout() {
    use tokio::io::AsyncReadExt;
    let node = FakeRpc::start().await;
    let (dir, config) = web_config("stall", "");
    let rpc = format!("--solana.rpc-url={}", node.endpoint);
    let web = format!("--web.config.file={}", config.display());
    let mut args: Vec<&str> = ONLY_SOLANA.to_vec();
    args.extend([rpc.as_str(), web.as_str(), "--web.read-header-timeout=1s"]);
    let exp = Exporter::start(&args).await;
    let mut silent = tokio::net::TcpStream::connect(exp.addr()).await.unwrap();
    // Meanwhile, a real client is served.
    let url = format!("{}/healthz", https(&exp));
    let http = client(&dir, false);
    assert_eq!(
        get(&http, &url, Some((USER, PASSWORD)))
            .await
            .unwrap()
            .status(),
        200
    );
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "the silent connection is still open: {closed:?}"
    );
}

/// A real Prometheus scrapes over TLS with basic auth: `up` is 1 with the
/// right password, 0 with a wrong one or none (the target's error says 401).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_over_tls_with_basic_auth() {
    let node = FakeRpc::start().await;
    let (dir, config) = web_config("prometheus", "");
    let exp = exporter(&node, &config).await;
    let target = exp.addr();
    let job = |name: &str, auth: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config:\n      ca_file: {ca}\n{auth}    static_configs:\n      - targets: ['{target}']\n",
            ca = dir.join("ca.crt").display()
        )
    };
    let basic = |password: &str| {
        format!("    basic_auth:\n      username: {USER}\n      password: {password}\n")
    };
    let prom_config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}",
        job("tls-good", &basic(PASSWORD)),
        job("tls-wrong", &basic("not-the-password")),
        job("tls-none", ""),
    );
    std::fs::write(dir.join("prometheus.yml"), prom_config).unwrap();
    let port = free_port();
    let _prom = Proc(
        Command::new(binary("prometheus"))
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
            .unwrap(),
    );
    let prometheus = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let up = |job: &'static str| {
        let http = http.clone();
        let prometheus = prometheus.clone();
        async move {
            query(&http, &prometheus, &format!("up{{job=\"{job}\"}}"))
                .await
                .first()
                .and_then(|s| s["value"][1].as_str().map(str::to_owned))
        }
    };
    until(
        "Prometheus to scrape the TLS exporter (up == 1)",
        Duration::from_secs(60),
        || async { up("tls-good").await.as_deref() == Some("1") },
    )
    .await;
    for job in ["tls-wrong", "tls-none"] {
        until(
            &format!("{job} to be scraped (up == 0)"),
            Duration::from_secs(30),
            || async { up(job).await.as_deref() == Some("0") },
        )
        .await;
    }
    // The failed targets' errors name the 401; the good one has none.
    let targets: Value = http
        .get(format!("{prometheus}/api/v1/targets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    for t in active {
        let job = t["labels"]["job"].as_str().unwrap();
        let error = t["lastError"].as_str().unwrap_or("");
        match job {
            "tls-good" => assert_eq!(error, "", "{t}"),
            _ => assert!(error.contains("401"), "{job}: {error}"),
        }
    }
    assert_eq!(active.len(), 3, "{targets}");
    // What Prometheus stored is the exporter's: a series only a scrape brings.
    let info = query(
        &http,
        &prometheus,
        "psyche_exporter_build_info{job=\"tls-good\"}",
    )
    .await;
    assert_eq!(info.len(), 1, "{info:?}");
}

/// Bad web config files: exit 2, one `error:` line naming the problem, before
/// anything starts; no hash or key is echoed.
#[test]
fn bad_web_config_files_exit_2_with_one_line() {
    let dir = tempdir("tls-cli");
    make_certs(&dir);
    let cases = [
        ("missing", None, "the file ("),
        ("yaml", Some("tls_server_config: [x"), "tls_server_config"),
        (
            "unknown",
            Some("tls_server_config:\n  certfile: x\n"),
            "unknown field `certfile`",
        ),
        (
            "hash",
            Some("basic_auth_users:\n  u: $2y$10$SECRETbutbroken\n"),
            "the password is not a bcrypt hash",
        ),
        (
            "cert",
            Some("tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n"),
            "tls_server_config.cert_file (",
        ),
        (
            "key",
            Some("tls_server_config:\n  cert_file: server.crt\n  key_file: nope.key\n"),
            "tls_server_config.key_file (",
        ),
        (
            "ca",
            Some(
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: nope.crt\n",
            ),
            "tls_server_config.client_ca_file (",
        ),
        (
            "version",
            Some(
                "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS10\n",
            ),
            "TLS10 is not supported",
        ),
        (
            "mismatch",
            Some("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n"),
            "do not go together",
        ),
    ];
    for (name, text, says) in cases {
        let path = dir.join(format!("{name}.yml"));
        if let Some(text) = text {
            std::fs::write(&path, text).unwrap();
        }
        let out = Command::new(BIN)
            .arg(format!("--web.config.file={}", path.display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .env_clear()
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{name}: {stderr}");
        assert!(
            errors[0].contains("--web.config.file") && errors[0].contains(says),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("SECRET"), "{name} echoed a hash: {stderr}");
        assert!(!stderr.contains("PRIVATE"), "{name} echoed a key: {stderr}");
        assert!(!stderr.contains("msg=serving"), "{name}: {stderr}");
    }
    // The environment variable works the same way.
    let out = Command::new(BIN)
        .env_clear()
        .env("PSYCHE_EXPORTER_WEB_CONFIG_FILE", dir.join("missing.yml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The README's example web config loads (with a certificate and key beside
/// it), so the documented keys stay the accepted ones.
#[test]
fn the_readme_example_loads() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### TLS, basic auth and headers: `--web.config.file`")
        .nth(1)
        .expect("the README's web config section");
    let example = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("its first yaml block");
    let dir = tempdir("tls-readme");
    make_certs(&dir);
    let config = psyche_exporter::http::web_config::WebConfig::parse(example, &dir)
        .unwrap_or_else(|e| panic!("the README's example: {e}\n{example}"));
    assert!(config.tls.is_some());
    assert_eq!(config.access.user_count(), 1);
    assert_eq!(config.access.header_count(), 2);
}
