//! The MCP server, driven by a client nobody here wrote: the official MCP Python SDK
//! (`mcp` from PyPI), which `tests/run-all.sh` installs into a throw-away venv and
//! hands over as `$MCP_PYTHON`. `tests/mcp/client.py` connects, lists the tools,
//! calls every one against the fake upstreams, an unknown run, a wrong-typed argument,
//! then a last call, and prints what it saw; the checks are here.
//!
//! Both transports (stdio: `psyche-exporter mcp`; streamable HTTP: `/mcp` on the
//! serving binary), each at three protocol revisions: the SDK's handshake
//! (2025-11-25), the per-request revision (2026-07-28, via `server/discover`) and an
//! older handshake revision.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::exporter::Exporter;
use crate::support::fake_hub::Fault;
use crate::views::{BIN, NOW, TRAINING, Upstreams, at_now, body_until, golden, schema, serve};

const UNKNOWN: &str = "consilience-40b-7Y9v38s6";
const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/client.py");

/// The tools, in order, with the view (golden file stem) each answers with.
const TOOLS: [(&str, &str); 6] = [
    ("list_runs", "runs"),
    ("run_details", "run"),
    ("checkpoints", "checkpoints"),
    ("pool_status", "pool"),
    ("network_stats", "network"),
    ("contribute", "contribute"),
];

/// The calls the client makes, in order, and the golden answer of each.
const CALLS: [(&str, &str); 7] = [
    ("list_runs", "runs"),
    ("run_details", "run"),
    ("checkpoints", "checkpoints"),
    ("checkpoints", "checkpoints-run"),
    ("pool_status", "pool"),
    ("network_stats", "network"),
    ("contribute", "contribute"),
];

/// Revisions asked for (the client's `mode`) and the revision that must be agreed.
const MODES: [(&str, &str); 3] = [
    ("legacy", "2025-11-25"),
    ("auto", "2026-07-28"),
    ("2025-03-26", "2025-03-26"),
];

/// The SDK's interpreter: `$MCP_PYTHON` (set by `tests/run-all.sh`), else the venv
/// that script makes in the target directory.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("MCP_PYTHON") {
        return p.into();
    }
    // <target>/debug/deps/it-<hash>
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .unwrap()
        .join("mcp-venv")
        .join("bin")
        .join("python")
}

/// Run `tests/mcp/client.py` with `config`; its JSON report.
async fn client(config: Value) -> Value {
    let python = python();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(CLIENT)
            .arg(config.to_string())
            .env_remove("PYTHONPATH")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}): run tests/run-all.sh, which installs the MCP Python SDK into a venv (or set MCP_PYTHON)",
                    python.display()
                )
            })
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "client.py failed:\n{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "client.py printed no report ({e}):\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `value` as the golden files write it (pretty JSON), masked, parsed back.
fn masked(up: &Upstreams, value: &Value) -> Value {
    let text = serde_json::to_string_pretty(value).unwrap();
    serde_json::from_str(&up.mask(&text)).unwrap()
}

fn golden_json(name: &str) -> Value {
    serde_json::from_str(&golden(&format!("cli-{name}.json"))).unwrap()
}

/// The input schema each tool must declare.
fn input_schema(tool: &str) -> Value {
    let run_id = json!({
        "type": "string",
        "description": "A run id as list_runs shows it, e.g. consilience-40b-1",
    });
    match tool {
        "run_details" => json!({
            "type": "object",
            "properties": {"run_id": run_id},
            "required": ["run_id"],
            "additionalProperties": false,
        }),
        "checkpoints" => json!({
            "type": "object",
            "properties": {"run_id": run_id},
            "additionalProperties": false,
        }),
        _ => json!({"type": "object", "properties": {}, "additionalProperties": false}),
    }
}

/// The listing: the six tools in order, each read-only, with a title, a description
/// that explains states and sources, the input schema above and, as output schema,
/// its view's definition in `schema/api-v1.json` with the definitions it refers to.
fn check_tools(report: &Value) {
    let file = schema();
    let tools = report["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, TOOLS.map(|(n, _)| n));
    for ((name, kind), tool) in TOOLS.iter().zip(tools) {
        assert!(
            tool["title"].as_str().is_some_and(|t| t.len() > 10),
            "{tool}"
        );
        assert_eq!(tool["annotations"]["readOnlyHint"], true, "{name}");
        assert_eq!(tool["annotations"]["destructiveHint"], false, "{name}");
        let description = tool["description"].as_str().unwrap();
        assert!(description.contains("`sources`"), "{name}: {description}");
        if matches!(*name, "list_runs" | "run_details" | "contribute") {
            assert!(
                description.contains("`waiting_for_members` (needs `init_min_clients`"),
                "{name}: {description}"
            );
        }
        assert_eq!(tool["inputSchema"], input_schema(name), "{name}");
        let mut output = tool["outputSchema"].clone();
        let out = output.as_object_mut().unwrap();
        assert_eq!(out.remove("$schema").unwrap(), file["$schema"]);
        let defs = out.remove("$defs").unwrap_or(json!({}));
        assert_eq!(output, file["$defs"][kind], "{name}");
        for (def, body) in defs.as_object().unwrap() {
            assert_eq!(body, &file["$defs"][def], "{name}: {def}");
        }
    }
    // Only what a view refers to comes along.
    let pool = &tools[3]["outputSchema"]["$defs"];
    let refs: Vec<&String> = pool.as_object().unwrap().keys().collect();
    assert_eq!(refs, ["pool_entry", "source"]);
}

/// The same answers, the unknown run as a tool error with the closest ids, bad
/// arguments as invalid-params errors, and a working server afterwards.
/// `structured` maps a served answer to what the golden file holds; `text` whether
/// a text table must equal the golden one (it does when no age is in it, or when the
/// clock is pinned).
fn check_calls(
    up: &Upstreams,
    report: &Value,
    structured: impl Fn(&Value) -> Value,
    text: impl Fn(&str) -> bool,
) {
    let calls = report["calls"].as_array().unwrap();
    assert_eq!(calls.len(), CALLS.len());
    for ((tool, name), call) in CALLS.iter().zip(calls) {
        assert_eq!(call["tool"], *tool);
        assert_eq!(call["isError"], false, "{name}: {call}");
        assert_eq!(
            structured(&call["structuredContent"]),
            golden_json(name),
            "{tool} {}",
            call["arguments"]
        );
        let table = call["text"].as_array().unwrap();
        assert_eq!(table.len(), 1, "{name}");
        if text(name) {
            assert_eq!(
                up.mask(table[0].as_str().unwrap()),
                golden(&format!("cli-{name}.txt")),
                "{name}"
            );
        }
    }

    let unknown = &report["unknown_run"];
    assert_eq!(unknown["isError"], true, "{unknown}");
    assert_eq!(
        unknown["text"],
        json!([format!(
            "no run with id \"{UNKNOWN}\"; closest run ids: {TRAINING}, consilience-40b-1, consilience-40b-waiting-01\n"
        )])
    );
    let body = &unknown["structuredContent"];
    assert_eq!(body["kind"], "run");
    assert_eq!(body["run"], Value::Null);
    assert_eq!(body["sources"], golden_json("run")["sources"]);

    assert_eq!(
        report["wrong_type"],
        json!({"code": -32602, "message": "run_details: run_id must be a string, not a number"})
    );
    assert_eq!(
        report["missing_argument"],
        json!({"code": -32602, "message": "run_details: run_id is required (a string)"})
    );
    assert_eq!(report["unknown_tool"]["code"], -32602, "{report}");
    assert_eq!(report["after"]["isError"], false);
    assert_eq!(
        structured(&report["after"]["structuredContent"]),
        golden_json("runs")
    );
}

/// `psyche-exporter mcp` with the upstream flags, its clock pinned as the one-shot
/// commands' is: every answer equals the golden CLI answer, JSON and table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_stdio_answers_every_tool_at_each_revision() {
    let up = Upstreams::start().await;
    let mut args = up.args();
    args.push("mcp".into());
    for (mode, agreed) in MODES {
        let report = client(json!({
            "transport": "stdio",
            "command": BIN,
            "args": args,
            "env": {"PSYCHE_EXPORTER_NOW": NOW},
            "mode": mode,
            "run_id": TRAINING,
            "unknown_run_id": UNKNOWN,
        }))
        .await;
        assert_eq!(report["protocol_version"], agreed, "{mode}");
        assert_eq!(report["server_name"], "psyche-exporter");
        check_tools(&report);
        check_calls(&up, &report, |v| masked(&up, v), |_| true);
    }
}

/// `/mcp` on the serving binary answers from its live snapshots: the same JSON as
/// `/api/v1/` (moved to the pinned clock as the HTTP view test does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_http_answers_every_tool_at_each_revision() {
    let up = Upstreams::start().await;
    let served = serve(&up).await;
    // Every view has its data before the client asks.
    for (path, name) in [
        ("/api/v1/runs".to_owned(), "runs"),
        (format!("/api/v1/runs/{TRAINING}"), "run"),
        ("/api/v1/checkpoints".to_owned(), "checkpoints"),
        ("/api/v1/pool".to_owned(), "pool"),
        ("/api/v1/network".to_owned(), "network"),
        ("/api/v1/contribute".to_owned(), "contribute"),
    ] {
        let expected = golden(&format!("cli-{name}.json"));
        let (_, body, _) = body_until(&up, &format!("{}{path}", served.base), &expected).await;
        assert_eq!(body, expected, "{path}");
    }
    let structured = |v: &Value| {
        let text = up.mask(&serde_json::to_string_pretty(v).unwrap());
        serde_json::from_str(&at_now(&text).0).unwrap()
    };
    for (mode, agreed) in [
        ("legacy", "2025-11-25"),
        ("auto", "2026-07-28"),
        ("2024-11-05", "2024-11-05"),
    ] {
        let report = client(json!({
            "transport": "http",
            "url": format!("{}/mcp", served.base),
            "mode": mode,
            "run_id": TRAINING,
            "unknown_run_id": UNKNOWN,
        }))
        .await;
        assert_eq!(report["protocol_version"], agreed, "{mode}");
        assert_eq!(report["server_name"], "psyche-exporter");
        check_tools(&report);
        check_calls(&up, &report, structured, |name| {
            matches!(name, "pool" | "network" | "contribute")
        });
    }
    // Still serving everything else.
    let metrics = reqwest::get(format!("{}/metrics", served.base))
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
}

/// Over stdio, stdout carries JSON-RPC and nothing else, even at debug level; the
/// logs are on stderr. With the Hub failing, `list_runs` is the partial answer, as
/// the CLI gives it: the runs, and `sources` naming the failure; not a tool error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_stdio_writes_only_protocol_to_stdout() {
    let up = Upstreams::start().await;
    up.hub.fail("/api/models", Fault::Status(500));
    let mut args = up.args();
    args.extend(["--log.level=debug".to_owned(), "mcp".to_owned()]);
    let (stdout, stderr) = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(BIN)
            .args(&args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for message in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"}}}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                "name": "list_runs", "arguments": {}}}),
        ] {
            writeln!(stdin, "{message}").unwrap();
        }
        // Read the two answers, then close stdin: the session ends.
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        while lines.len() < 2 {
            let mut line = String::new();
            assert!(out.read_line(&mut line).unwrap() > 0, "stdout closed early");
            lines.push(line);
        }
        drop(stdin);
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        lines.extend(rest.lines().map(str::to_owned));
        let status = child.wait().unwrap();
        assert!(status.success(), "{status}");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (lines, stderr)
    })
    .await
    .unwrap();
    assert_eq!(stdout.len(), 2, "{stdout:?}");
    let answers: Vec<Value> = stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(answers[1]["id"], 2);
    let result = &answers[1]["result"];
    assert_eq!(result["isError"], false, "{result}");
    let runs = &result["structuredContent"];
    assert_eq!(runs["kind"], "runs");
    assert_eq!(runs["runs"].as_array().unwrap().len(), 7);
    assert_eq!(runs["latest_models"], json!([]));
    assert_eq!(runs["sources"][0]["state"], "ok");
    assert_eq!(runs["sources"][1]["collector"], "huggingface");
    assert_eq!(runs["sources"][1]["state"], "failing");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("! huggingface: failing"),
        "{result}"
    );
    assert!(stderr.contains("msg=\"serving MCP on stdio\""), "{stderr}");
    assert!(stderr.contains("collector=coordinator"), "{stderr}");
}

/// `--no-web.mcp` removes the endpoint, `--web.mcp-path` moves it; it answers POSTs
/// only (stateless: no stream to GET).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_http_path_is_configurable() {
    let none = [
        "--no-collector.solana",
        "--no-collector.coordinator",
        "--no-collector.pool",
        "--no-collector.treasurer",
        "--no-collector.huggingface",
    ];
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}});
    let post = |base: &str, path: &str| {
        reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize)
            .send()
    };

    let default = Exporter::start(&none).await;
    let resp = post(&default.base, "/mcp").await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["result"]["protocolVersion"], "2025-03-26", "{body}");
    assert_eq!(body["result"]["serverInfo"]["name"], "psyche-exporter");
    assert_eq!(default.get("/mcp").await.status, 405);

    let mut moved = none.to_vec();
    moved.push("--web.mcp-path=/agents/mcp");
    let moved = Exporter::start(&moved).await;
    assert_eq!(
        post(&moved.base, "/agents/mcp").await.unwrap().status(),
        200
    );
    assert_eq!(post(&moved.base, "/mcp").await.unwrap().status(), 404);

    let mut off = none.to_vec();
    off.push("--no-web.mcp");
    let off = Exporter::start(&off).await;
    assert_eq!(post(&off.base, "/mcp").await.unwrap().status(), 404);
    assert_eq!(off.get("/healthz").await.status, 200);
}
