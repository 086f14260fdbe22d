//! Every metric name the shipped dashboards and rules use exists in what the
//! exporter serves (the golden expositions), so a rename cannot silently
//! break a panel or an alert.

use std::collections::BTreeSet;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn goldens() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(format!("{ROOT}/tests/golden"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".txt"))
        .collect();
    files.sort();
    files
}

/// Sample names served (with `_total`, `_info` as written).
fn served() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in goldens() {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                out.insert(rest.split(' ').next().unwrap().to_owned());
            }
        }
    }
    out
}

#[test]
fn rules_use_only_served_metrics() {
    let rules = std::fs::read_to_string(format!("{ROOT}/deploy/prometheus/alerts.yml")).unwrap();
    let recorded: BTreeSet<String> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(|s| s.trim().to_owned())
        .collect();
    let served = served();
    let name = regex::Regex::new(r"\b(psyche_[a-z0-9_]+|psyche:[a-z0-9_:]+)").unwrap();
    let mut used = BTreeSet::new();
    for line in rules.lines().filter(|l| !l.trim_start().starts_with('#')) {
        // Only PromQL: skip annotation text.
        let t = line.trim_start();
        if t.starts_with("summary:") || t.starts_with("description:") {
            continue;
        }
        for m in name.find_iter(line) {
            used.insert(m.as_str().to_owned());
        }
    }
    assert!(used.len() > 15, "{used:?}");
    let unknown: Vec<_> = used
        .iter()
        .filter(|n| !served.contains(*n) && !recorded.contains(*n))
        .collect();
    assert!(
        unknown.is_empty(),
        "rules use metrics the exporter does not serve: {unknown:?}"
    );
}

#[test]
fn dashboards_use_only_served_metrics() {
    let mut cmd = Command::new("python3");
    cmd.arg(format!("{ROOT}/grafana/check.py"))
        .args([
            "--no-readme",
            "--quiet",
            "--var",
            "program=P",
            "--var",
            "run_id=r",
        ])
        .arg("--rules")
        .arg(format!("{ROOT}/deploy/prometheus/alerts.yml"));
    for g in goldens() {
        cmd.arg("--allow-file").arg(g);
    }
    let out = cmd.output().expect("python3 runs");
    assert!(
        out.status.success(),
        "dashboards use metrics the exporter does not serve:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
