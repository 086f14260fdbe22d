//! HuggingFace: the huggingface collector against a fake Hub, and the per-run
//! checkpoint join against the account fixtures served by a fake RPC node.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use psyche_exporter::collectors::coordinator::{PROGRAM_LEGACY, PROGRAM_V1};
use serde_json::json;

use crate::support::exporter::{Exporter, assert_golden, has_family, mask, value};
use crate::support::fake_hub::{FakeHub, Fault, commit, model, sibling};
use crate::support::fake_rpc::FakeRpc;
use crate::support::fixtures;
use crate::support::logs::Logs;

const WAIT: Duration = Duration::from_secs(15);
const CONSILIENCE: &str = "PsycheFoundation/consilience-40b-7Y9v38s5";
const HERMES: &str = "PsycheFoundation/hermes-p2p-test";
const TOKENIZER: &str = "PsycheFoundation/psyche-tokenizer";
const FINISHED: &str = "NousResearch/finished-small-model";
const GATED: &str = "emozilla/llama2-1.1b-gqa-init";
/// The revision `coord_waiting_hub` records on chain.
const WAITING_REV: &str = "3f9c2a1b7d04e5c6a8b9d0e1f2a3b4c5d6e7f809";
/// The revision Psyche's legacy v0 dump records on chain.
const LEGACY_REV: &str = "98cf7b01fb5a1367916e2d9c06984098ff1f0cc5";

const UP: &str = "psyche_exporter_collector_up{collector=\"huggingface\"}";

fn errors(kind: &str) -> String {
    format!(
        "psyche_exporter_collector_poll_errors_total{{collector=\"huggingface\",kind=\"{kind}\"}}"
    )
}

fn requests(method: &str) -> String {
    format!(
        "psyche_exporter_upstream_requests_total{{collector=\"huggingface\",method=\"{method}\"}}"
    )
}

fn repo(name: &str, id: &str) -> String {
    format!("{name}{{repo=\"{id}\"}}")
}

fn run(name: &str, program: &str, run_id: &str) -> String {
    format!("{name}{{program=\"{program}\",run_id=\"{run_id}\"}}")
}

fn consilience_commits() -> Vec<serde_json::Value> {
    vec![
        commit(WAITING_REV, "step 18431", "2025-03-25T00:00:00.000Z"),
        commit(
            "5e1f0c9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e",
            "Update README.md",
            "2025-03-24T12:00:00.000Z",
        ),
        commit(
            "77aa4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d",
            "step 18000",
            "2025-03-20T00:00:00.000Z",
        ),
        commit(LEGACY_REV, "step 11264", "2025-02-01T00:00:00.000Z"),
        commit(
            "0000c0de00000000000000000000000000000001",
            "initial commit",
            "2024-12-01T00:00:00.000Z",
        ),
    ]
}

/// The Hub the fixture runs expect: three PsycheFoundation models (two list
/// pages), a repo of another author that a run names, and nothing for the gated
/// repo another run names (the Hub answers 401).
pub fn populate(hub: &FakeHub) {
    let mut consilience = model(CONSILIENCE, WAITING_REV, "2025-03-25T00:00:00.000Z");
    consilience["downloads"] = json!(1234);
    consilience["likes"] = json!(56);
    consilience["usedStorage"] = json!(161_061_273_600u64);
    consilience["safetensors"] =
        json!({"parameters": {"BF16": 40_000_000_000u64}, "total": 40_000_000_000u64});
    consilience["pipeline_tag"] = json!("text-generation");
    consilience["library_name"] = json!("transformers");
    hub.put_model(consilience);
    hub.put_commits(CONSILIENCE, consilience_commits());
    hub.put_files(
        CONSILIENCE,
        WAITING_REV,
        vec![
            sibling(".gitattributes", 1_570, false),
            sibling("config.json", 1_113, false),
            sibling("model-00001-of-00002.safetensors", 4_983_245_352, true),
            sibling("model-00002-of-00002.safetensors", 1_342_177_280, true),
            sibling("tokenizer.json", 9_085_657, false),
        ],
    );

    let mut hermes = model(
        HERMES,
        "c0ffee0000000000000000000000000000000001",
        "2025-03-01T00:00:00.000Z",
    );
    hermes["downloads"] = json!(7);
    hermes["usedStorage"] = json!(1000);
    hermes["library_name"] = json!("transformers");
    hub.put_model(hermes);
    hub.put_commits(
        HERMES,
        vec![commit(
            "c0ffee0000000000000000000000000000000001",
            "Upload folder using huggingface_hub",
            "2025-03-01T00:00:00.000Z",
        )],
    );

    // No commits on main: the Hub answers 404 for the branch.
    hub.put_model(model(
        TOKENIZER,
        "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0",
        "2024-11-11T11:11:11.000Z",
    ));

    let mut finished = model(
        FINISHED,
        "f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1",
        "2025-01-02T00:00:00.000Z",
    );
    finished["downloads"] = json!(3);
    finished["likes"] = json!(1);
    finished["safetensors"] =
        json!({"parameters": {"BF16": 1_100_000_000u64}, "total": 1_100_000_000u64});
    finished["pipeline_tag"] = json!("text-generation");
    finished["library_name"] = json!("transformers");
    hub.put_model(finished);
    hub.put_files(
        FINISHED,
        "f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1",
        vec![
            sibling("config.json", 654, false),
            sibling("model.safetensors", 2_200_000_000, true),
        ],
    );
    hub.put_commits(
        FINISHED,
        vec![
            commit(
                "f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1",
                "step 10000",
                "2025-01-02T00:00:00.000Z",
            ),
            commit(
                "f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2",
                "step 9000",
                "2024-12-25T00:00:00.000Z",
            ),
        ],
    );
}

/// The exporter with only the huggingface collector, plus the coordinator when
/// `rpc` is given.
async fn exporter(hub: &FakeHub, rpc: Option<&FakeRpc>, extra: &[String]) -> Exporter {
    let mut args: Vec<String> = [
        "--no-collector.solana",
        "--no-collector.pool",
        "--no-collector.treasurer",
        "--hf.interval=300ms",
        "--hf.timeout=250ms",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--hf.endpoint={}", hub.endpoint));
    match rpc {
        Some(rpc) => args.extend([
            format!("--coordinator.rpc-url={}", rpc.endpoint),
            "--coordinator.interval=300ms".into(),
            "--coordinator.timeout=250ms".into(),
        ]),
        None => args.push("--no-collector.coordinator".into()),
    }
    args.extend(extra.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Exporter::start(&refs).await
}

/// Only the families this collector and the join serve.
fn hf_lines(text: &str) -> String {
    const JOIN: [&str; 4] = [
        "psyche_run_checkpoint_timestamp_seconds",
        "psyche_run_checkpoint_step",
        "psyche_run_checkpoint_lag_steps",
        "psyche_run_checkpoint_verified",
    ];
    let mut out = String::new();
    for line in text.lines() {
        let name = match line.strip_prefix("# ") {
            Some(meta) => meta.split(' ').nth(1).unwrap_or(""),
            None => line.split(['{', ' ']).next().unwrap_or(""),
        };
        if name.starts_with("psyche_hf_") || JOIN.contains(&name) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Every request the exporter made was an API request carrying `token`.
fn assert_api_only(hub: &FakeHub, token: Option<&str>) {
    let seen = hub.seen();
    assert!(!seen.is_empty());
    for s in &seen {
        assert!(
            !s.uri.contains("/resolve/") && s.path.starts_with("/api/models"),
            "{}",
            s.uri
        );
        assert_eq!(
            s.authorization.as_deref(),
            token.map(|t| format!("Bearer {t}")).as_deref(),
            "{}",
            s.uri
        );
    }
}

fn ready(t: &str) -> bool {
    value(
        t,
        &run(
            "psyche_run_checkpoint_verified",
            PROGRAM_V1,
            "consilience-40b-waiting-01",
        ),
    )
    .is_some()
        && value(
            t,
            &run("psyche_run_checkpoint_verified", PROGRAM_V1, "test"),
        )
        .is_some()
        && value(t, &repo("psyche_hf_model_commits", FINISHED)).is_some()
        && value(t, &repo("psyche_hf_model_commits", CONSILIENCE)).is_some()
        && value(t, &repo("psyche_hf_model_commits", HERMES)).is_some()
}

#[tokio::test]
async fn models_and_the_run_join_have_exact_values() {
    const TOKEN: &str = "hf_fileTOKENsecret42";
    let hub = FakeHub::start().await;
    populate(&hub);
    hub.set_remaining(Some(4321));
    let rpc = FakeRpc::start().await;
    fixtures::serve_all(&rpc);
    let dir = std::env::temp_dir().join(format!("psyche-hf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let exp = exporter(
        &hub,
        Some(&rpc),
        &[format!("--hf.token-file={}", token_file.display())],
    )
    .await;
    let text = exp.metrics_until("repos and the join", WAIT, ready).await;

    // Per repo, straight from the Hub's JSON.
    let v = |name: &str, id: &str| value(&text, &repo(name, id));
    assert!(text.contains(&format!(
        "psyche_hf_model_info{{repo=\"{CONSILIENCE}\",pipeline_tag=\"text-generation\",library=\"transformers\"}} 1"
    )));
    assert!(text.contains(&format!(
        "psyche_hf_model_info{{repo=\"{HERMES}\",pipeline_tag=\"\",library=\"transformers\"}} 1"
    )));
    assert_eq!(
        v(
            "psyche_hf_model_last_modified_timestamp_seconds",
            CONSILIENCE
        ),
        Some(1_742_860_800.0)
    );
    assert_eq!(v("psyche_hf_model_downloads", CONSILIENCE), Some(1234.0));
    assert_eq!(v("psyche_hf_model_likes", CONSILIENCE), Some(56.0));
    assert_eq!(
        v("psyche_hf_model_storage_bytes", CONSILIENCE),
        Some(161_061_273_600.0)
    );
    assert_eq!(
        v("psyche_hf_model_parameters", CONSILIENCE),
        Some(40_000_000_000.0)
    );
    assert_eq!(v("psyche_hf_model_parameters", HERMES), None);
    // Five commits over three pages.
    assert_eq!(v("psyche_hf_model_commits", CONSILIENCE), Some(5.0));
    assert_eq!(v("psyche_hf_checkpoint_step", CONSILIENCE), Some(18431.0));
    assert_eq!(
        v("psyche_hf_checkpoint_timestamp_seconds", CONSILIENCE),
        Some(1_742_860_800.0)
    );
    // No `step N` commit: no checkpoint series.
    assert_eq!(v("psyche_hf_model_commits", HERMES), Some(1.0));
    assert_eq!(v("psyche_hf_checkpoint_step", HERMES), None);
    assert_eq!(v("psyche_hf_checkpoint_timestamp_seconds", HERMES), None);
    assert_eq!(v("psyche_hf_model_commits", TOKENIZER), Some(0.0));
    // A repo of another author, watched because a run names it.
    assert_eq!(v("psyche_hf_checkpoint_step", FINISHED), Some(10000.0));
    // The gated repo a run names is a state, not an error.
    let state = |id: &str, s: &str| {
        value(
            &text,
            &format!("psyche_hf_model_state{{repo=\"{id}\",state=\"{s}\"}}"),
        )
    };
    assert_eq!(state(GATED, "unauthorized"), Some(1.0));
    assert_eq!(state(GATED, "ok"), Some(0.0));
    assert_eq!(state(CONSILIENCE, "ok"), Some(1.0));
    assert_eq!(v("psyche_hf_model_downloads", GATED), None);
    assert_eq!(value(&text, "psyche_hf_rate_limit_remaining"), Some(4321.0));
    assert_eq!(value(&text, UP), Some(1.0), "{}", exp.get("/").await.body);
    for kind in ["status", "decode", "rate_limited", "http", "timeout"] {
        assert_eq!(value(&text, &errors(kind)), Some(0.0), "{kind}");
    }

    // The join: on-chain revision → Hub commit.
    let j = |name: &str, program: &str, id: &str| value(&text, &run(name, program, id));
    for (program, id, ts, step, lag) in [
        // Hub{revision 3f9c…} at step 18432: the newest checkpoint.
        (
            PROGRAM_V1,
            "consilience-40b-waiting-01",
            1_742_860_800.0,
            Some(18431.0),
            Some(1.0),
        ),
        // The legacy run's P2P{revision 98cf…} at step 11265: an older commit.
        (
            PROGRAM_LEGACY,
            "consilience-40b-1",
            1_738_368_000.0,
            Some(11264.0),
            Some(1.0),
        ),
        // Revision "main": the head of main.
        (
            PROGRAM_V1,
            "consilience-40b-7Y9v38s5",
            1_742_860_800.0,
            Some(18431.0),
            Some(654_321.0 - 18431.0),
        ),
        // No revision: the head of main.
        (
            PROGRAM_V1,
            "finished-run-2025",
            1_735_776_000.0,
            Some(10000.0),
            Some(0.0),
        ),
        (PROGRAM_V1, "hermes-p2p-warmup", 1_740_787_200.0, None, None),
    ] {
        assert_eq!(
            j("psyche_run_checkpoint_timestamp_seconds", program, id),
            Some(ts),
            "{id}"
        );
        assert_eq!(j("psyche_run_checkpoint_step", program, id), step, "{id}");
        assert_eq!(
            j("psyche_run_checkpoint_lag_steps", program, id),
            lag,
            "{id}"
        );
        assert_eq!(
            j("psyche_run_checkpoint_verified", program, id),
            Some(1.0),
            "{id}"
        );
    }
    // The gated repo: unverifiable, so 0, and no commit to show.
    assert_eq!(
        j("psyche_run_checkpoint_verified", PROGRAM_V1, "test"),
        Some(0.0)
    );
    assert_eq!(
        j(
            "psyche_run_checkpoint_timestamp_seconds",
            PROGRAM_V1,
            "test"
        ),
        None
    );
    // An ephemeral checkpoint takes no part.
    assert!(!hf_lines(&text).contains("fresh-run-0001"));

    // Two list pages per poll were followed; never a resolve/ URL; the token
    // went with every request and shows nowhere.
    assert!(hub.seen().iter().any(|s| s.uri.contains("p=1")));
    assert_api_only(&hub, Some(TOKEN));
    let landing = exp.get("/").await.body;
    assert!(!text.contains(TOKEN) && !landing.contains(TOKEN));
    assert!(landing.contains("huggingface"));
    std::fs::remove_dir_all(&dir).unwrap();

    assert_golden("huggingface.txt", &mask(&hf_lines(&text), &[]));

    // This collector's families and the join pass promtool's lint.
    let path = dir.with_extension("metrics.txt");
    std::fs::write(&path, hf_lines(&text)).unwrap();
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".to_owned());
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{promtool} check metrics < {}", path.display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
}

#[tokio::test]
async fn a_revision_missing_from_the_hub_is_unverified() {
    let hub = FakeHub::start().await;
    populate(&hub);
    // Main moved on and the commit the chain names is not in its history.
    let mut commits = consilience_commits();
    commits.remove(0);
    hub.put_commits(CONSILIENCE, commits);
    hub.patch_model(
        CONSILIENCE,
        json!({"sha": "5e1f0c9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"}),
    );
    let rpc = FakeRpc::start().await;
    fixtures::serve_all(&rpc);
    let exp = exporter(&hub, Some(&rpc), &[]).await;
    let text = exp.metrics_until("the join", WAIT, ready).await;
    let j = |name: &str, program: &str, id: &str| value(&text, &run(name, program, id));
    assert_eq!(
        j(
            "psyche_run_checkpoint_verified",
            PROGRAM_V1,
            "consilience-40b-waiting-01"
        ),
        Some(0.0)
    );
    assert_eq!(
        j(
            "psyche_run_checkpoint_timestamp_seconds",
            PROGRAM_V1,
            "consilience-40b-waiting-01"
        ),
        None
    );
    assert_eq!(
        j(
            "psyche_run_checkpoint_lag_steps",
            PROGRAM_V1,
            "consilience-40b-waiting-01"
        ),
        None
    );
    // The same repo, a revision it does hold.
    assert_eq!(
        j(
            "psyche_run_checkpoint_verified",
            PROGRAM_LEGACY,
            "consilience-40b-1"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&text, &repo("psyche_hf_checkpoint_step", CONSILIENCE)),
        Some(18000.0)
    );
    assert_eq!(value(&text, UP), Some(1.0));
}

#[tokio::test]
async fn repo_401_and_404_are_states_not_failures() {
    let hub = FakeHub::start().await;
    populate(&hub);
    hub.fail(&format!("/api/models/{FINISHED}"), Fault::Status(404));
    let rpc = FakeRpc::start().await;
    fixtures::serve_all(&rpc);
    let exp = exporter(&hub, Some(&rpc), &[]).await;
    let text = exp
        .metrics_until("404 state", WAIT, |t| {
            value(
                t,
                &format!("psyche_hf_model_state{{repo=\"{FINISHED}\",state=\"not_found\"}}"),
            ) == Some(1.0)
                && ready_but_finished(t)
        })
        .await;
    assert_eq!(
        value(
            &text,
            &format!("psyche_hf_model_state{{repo=\"{GATED}\",state=\"unauthorized\"}}")
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            &run(
                "psyche_run_checkpoint_verified",
                PROGRAM_V1,
                "finished-run-2025"
            )
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&text, &repo("psyche_hf_model_commits", FINISHED)),
        None
    );
    assert_eq!(value(&text, UP), Some(1.0), "{}", exp.get("/").await.body);
    for kind in ["status", "decode", "rate_limited", "missing"] {
        assert_eq!(value(&text, &errors(kind)), Some(0.0), "{kind}");
    }
    // No commits are asked of a repo that answered 404.
    assert_eq!(
        hub.count(&format!("/api/models/{FINISHED}/commits/main")),
        0
    );
    assert_api_only(&hub, None);
}

fn ready_but_finished(t: &str) -> bool {
    value(
        t,
        &run("psyche_run_checkpoint_verified", PROGRAM_V1, "test"),
    )
    .is_some()
        && value(t, &repo("psyche_hf_model_commits", CONSILIENCE)).is_some()
}

/// Hub only: the author's models.
async fn hub_only() -> (FakeHub, Exporter) {
    let hub = FakeHub::start().await;
    populate(&hub);
    let exp = exporter(&hub, None, &[]).await;
    (hub, exp)
}

#[tokio::test]
async fn commits_are_read_only_when_the_sha_changes() {
    let (hub, exp) = hub_only().await;
    let commits_path = format!("/api/models/{CONSILIENCE}/commits/main");
    exp.metrics_until("several polls", WAIT, |t| {
        value(t, &requests("models")).unwrap_or(0.0) >= 10.0
    })
    .await;
    // Five polls (two list pages each), one read of three commit pages, and one read
    // of the newest checkpoint's files, with their sizes (blobs=true).
    assert_eq!(hub.count(&commits_path), 3);
    let files_path = format!("/api/models/{CONSILIENCE}/revision/{WAITING_REV}");
    assert_eq!(hub.count(&files_path), 1);
    assert!(
        hub.seen()
            .iter()
            .any(|s| s.path == files_path && s.uri.ends_with("?blobs=true")),
        "{:?}",
        hub.seen()
    );
    assert_eq!(
        hub.count("/api/models/PsycheFoundation/psyche-tokenizer/commits/main"),
        1
    );

    // A new checkpoint: new sha, one more commit.
    let mut commits = consilience_commits();
    commits.insert(
        0,
        commit(
            "abcdef0123456789abcdef0123456789abcdef01",
            "step 18500",
            "2025-03-26T00:00:00.000Z",
        ),
    );
    hub.put_commits(CONSILIENCE, commits);
    hub.put_files(
        CONSILIENCE,
        "abcdef0123456789abcdef0123456789abcdef01",
        vec![sibling("model.safetensors", 5, true)],
    );
    hub.patch_model(
        CONSILIENCE,
        json!({"sha": "abcdef0123456789abcdef0123456789abcdef01", "lastModified": "2025-03-26T00:00:00.000Z"}),
    );
    let text = exp
        .metrics_until("the new checkpoint", WAIT, |t| {
            value(t, &repo("psyche_hf_checkpoint_step", CONSILIENCE)) == Some(18500.0)
        })
        .await;
    assert_eq!(
        value(&text, &repo("psyche_hf_model_commits", CONSILIENCE)),
        Some(6.0)
    );
    let text = exp
        .metrics_until("the new checkpoint's files", WAIT, |t| {
            value(t, &repo("psyche_hf_model_files", CONSILIENCE)) == Some(1.0)
        })
        .await;
    assert_eq!(
        value(&text, &repo("psyche_hf_model_files", CONSILIENCE)),
        Some(1.0)
    );
    let models = value(&text, &requests("models")).unwrap();
    exp.metrics_until("more polls", WAIT, |t| {
        value(t, &requests("models")).unwrap_or(0.0) >= models + 6.0
    })
    .await;
    assert_eq!(
        hub.count(&commits_path),
        4,
        "one more page: the new commit, then the old head, where reading stops"
    );
    assert_eq!(
        hub.count(&files_path),
        1,
        "the old checkpoint's files not read again"
    );
    assert_eq!(
        hub.count(&format!(
            "/api/models/{CONSILIENCE}/revision/abcdef0123456789abcdef0123456789abcdef01"
        )),
        1
    );
    assert_eq!(
        hub.count("/api/models/PsycheFoundation/psyche-tokenizer/commits/main"),
        1
    );

    // A force-push: the old head is gone, so the history is read again in full.
    hub.put_commits(
        CONSILIENCE,
        vec![
            commit(
                "1111111111111111111111111111111111111111",
                "step 1",
                "2025-03-27T00:00:00.000Z",
            ),
            commit(
                "2222222222222222222222222222222222222222",
                "initial",
                "2025-03-20T00:00:00.000Z",
            ),
        ],
    );
    hub.patch_model(
        CONSILIENCE,
        json!({"sha": "1111111111111111111111111111111111111111", "lastModified": "2025-03-27T00:00:00.000Z"}),
    );
    let text = exp
        .metrics_until("the rewritten history", WAIT, |t| {
            value(t, &repo("psyche_hf_checkpoint_step", CONSILIENCE)) == Some(1.0)
        })
        .await;
    assert_eq!(
        value(&text, &repo("psyche_hf_model_commits", CONSILIENCE)),
        Some(2.0)
    );
    assert_api_only(&hub, None);
}

#[tokio::test]
async fn rate_limited_waits_for_the_ratelimit_reset() {
    let hub = FakeHub::start().await;
    populate(&hub);
    // Nothing left, window resets in 1s (so we wait 2s); Retry-After says less.
    hub.fail(
        "/api/models",
        Fault::RateLimited {
            remaining: 0,
            reset: 1,
            retry_after: 1,
        },
    );
    let exp = exporter(&hub, None, &[]).await;
    let text = exp
        .metrics_until("the 429", WAIT, |t| {
            value(t, &errors("rate_limited")) == Some(1.0)
                && value(t, "psyche_hf_rate_limit_remaining") == Some(0.0)
        })
        .await;
    assert_eq!(value(&text, UP), Some(0.0));
    hub.heal();
    let text = exp
        .metrics_until("recovery", WAIT, |t| {
            value(t, UP) == Some(1.0)
                && value(t, &repo("psyche_hf_model_commits", CONSILIENCE)).is_some()
        })
        .await;
    assert_eq!(
        value(&text, &errors("rate_limited")),
        Some(1.0),
        "waiting is not counted as more errors"
    );
    let seen = hub.seen();
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(
        gap >= Duration::from_millis(1900),
        "the next request came {gap:?} after the 429, before the RateLimit reset"
    );
    assert_api_only(&hub, None);
}

#[tokio::test]
async fn server_errors_are_status_and_bad_json_is_decode() {
    let (hub, exp) = hub_only().await;
    exp.metrics_until("first poll", WAIT, |t| value(t, UP) == Some(1.0))
        .await;
    // One repo's commits fail: counted, the rest is served.
    hub.fail(
        &format!("/api/models/{CONSILIENCE}/commits/main"),
        Fault::Status(500),
    );
    hub.patch_model(
        CONSILIENCE,
        json!({"sha": "abcdef0123456789abcdef0123456789abcdef01"}),
    );
    let text = exp
        .metrics_until("a 500", WAIT, |t| {
            value(t, &errors("status")).unwrap_or(0.0) >= 1.0 && value(t, UP) == Some(0.0)
        })
        .await;
    assert_eq!(
        value(&text, &repo("psyche_hf_model_downloads", CONSILIENCE)),
        Some(1234.0)
    );
    assert_eq!(
        value(&text, &repo("psyche_hf_model_commits", CONSILIENCE)),
        Some(5.0),
        "the last history read is kept"
    );
    // The listing answers garbage: the poll fails as decode, data kept.
    hub.heal();
    hub.fail("/api/models", Fault::Malformed);
    let text = exp
        .metrics_until("malformed JSON", WAIT, |t| {
            value(t, &errors("decode")).unwrap_or(0.0) >= 1.0
        })
        .await;
    assert!(has_family(&text, "psyche_hf_model_downloads"));
    assert_eq!(value(&text, UP), Some(0.0));
    hub.heal();
    exp.metrics_until("recovery", WAIT, |t| value(t, UP) == Some(1.0))
        .await;
    assert_api_only(&hub, None);
}

#[tokio::test]
async fn a_hub_that_does_not_answer_is_a_timeout_and_data_is_kept() {
    let (hub, exp) = hub_only().await;
    exp.metrics_until("first poll", WAIT, |t| value(t, UP) == Some(1.0))
        .await;
    // The listing answers after 5s; the exporter gives up at --hf.timeout.
    hub.fail("/api/models", Fault::Slow(Duration::from_secs(5)));
    let text = exp
        .metrics_until("a timeout", WAIT, |t| {
            value(t, &errors("timeout")).unwrap_or(0.0) >= 1.0 && value(t, UP) == Some(0.0)
        })
        .await;
    assert_eq!(
        value(&text, &repo("psyche_hf_model_downloads", CONSILIENCE)),
        Some(1234.0),
        "the last good models are served until max age"
    );
    assert_eq!(value(&text, &errors("status")), Some(0.0));
    hub.heal();
    exp.metrics_until("recovery", WAIT, |t| value(t, UP) == Some(1.0))
        .await;
}

/// The real binary with `HF_TOKEN` in its environment: the token goes to the
/// Hub and into no log line, at debug level, through failure and recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_sends_hf_token_and_never_logs_it() {
    const TOKEN: &str = "hf_envTOKENsecret77";
    let hub = FakeHub::start().await;
    populate(&hub);
    let mut child = Command::new(env!("CARGO_BIN_EXE_psyche-exporter"))
        .args([
            "--no-collector.solana",
            "--no-collector.coordinator",
            "--no-collector.pool",
            "--no-collector.treasurer",
            "--web.listen-address=127.0.0.1:0",
            "--log.level=debug",
            "--hf.interval=200ms",
            "--hf.timeout=150ms",
        ])
        .arg(format!("--hf.endpoint={}", hub.endpoint))
        .env_clear()
        .env("HF_TOKEN", TOKEN)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let logs = Logs::capture(&mut child);
    let deadline = Instant::now() + WAIT;
    while hub.count(&format!("/api/models/{CONSILIENCE}/commits/main")) == 0 {
        assert!(Instant::now() < deadline, "no request reached the hub");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hub.fail("/api/models", Fault::Status(500));
    logs.wait_line("poll failed").await;
    hub.heal();
    logs.wait_line("collector recovered").await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_api_only(&hub, Some(TOKEN));
    let all = logs.all();
    assert!(!all.contains(TOKEN), "a log line shows the token:\n{all}");
    assert!(all.contains("level=debug"));
}

/// The Hub collector depends on the coordinator: in server mode its first poll
/// waits for the coordinator's first poll, so the repos the runs name (of other
/// authors) are there from the first Hub snapshot, not one Hub interval later.
#[tokio::test]
async fn the_first_hub_poll_already_sees_the_runs() {
    let hub = FakeHub::start().await;
    populate(&hub);
    let rpc = FakeRpc::start().await;
    fixtures::serve_all(&rpc);
    // One Hub poll in the test's lifetime.
    let args = [
        "--no-collector.solana".to_owned(),
        "--no-collector.pool".to_owned(),
        "--no-collector.treasurer".to_owned(),
        "--hf.interval=1h".to_owned(),
        "--hf.timeout=20s".to_owned(),
        format!("--hf.endpoint={}", hub.endpoint),
        format!("--coordinator.rpc-url={}", rpc.endpoint),
    ];
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let exp = Exporter::start(&refs).await;
    let text = exp
        .metrics_until("the first Hub poll", WAIT, |t| value(t, UP).is_some())
        .await;
    assert_eq!(
        hub.count(&format!("/api/models/{FINISHED}")),
        1,
        "the first poll asked for the repo a run names"
    );
    assert_eq!(
        value(&text, &repo("psyche_hf_model_commits", FINISHED)),
        Some(2.0),
        "{}",
        hf_lines(&text)
    );
}
