//! The README documents exactly what the exporter serves and accepts.

use std::collections::BTreeSet;
use std::process::Command;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// Family names in every golden exposition.
fn golden_families() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
            out.insert(line.split(' ').next().unwrap().to_owned());
        }
    }
    out
}

#[test]
fn readme_metric_table_matches_the_exposition() {
    let readme = readme();
    let documented: BTreeSet<String> = readme
        .lines()
        .filter_map(|l| {
            l.strip_prefix("| `psyche_")
                .map(|rest| format!("psyche_{}", rest.split('`').next().unwrap()))
                .or_else(|| {
                    l.strip_prefix("| `process_")
                        .map(|rest| format!("process_{}", rest.split('`').next().unwrap()))
                })
        })
        .collect();
    let served = golden_families();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in the README's metric tables: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "in the README but in no golden exposition: {unserved:?}"
    );
}

#[test]
fn readme_help_matches_the_binary() {
    let out = Command::new(env!("CARGO_BIN_EXE_psyche-exporter"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let readme = readme();
    let start = readme
        .find("<!-- help:start -->\n```text\n")
        .expect("help block")
        + "<!-- help:start -->\n```text\n".len();
    let end = readme
        .find("```\n<!-- help:end -->")
        .expect("help block end");
    assert_eq!(
        &readme[start..end],
        help,
        "update the README's --help block"
    );
}

#[test]
fn readme_test_command_is_what_ci_runs() {
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(ci.contains("exec bash tests/run-all.sh"));
    assert!(readme().contains("```sh\nbash tests/run-all.sh\n```"));
    assert!(readme().contains("```sh\ncargo run --release\n```"));
}

/// Each alert of the shipped rules with the annotations and labels it
/// carries: (name, lines of its rule).
fn alert_rules() -> Vec<(String, Vec<String>)> {
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/alerts.yml"
    ))
    .unwrap();
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in rules.lines() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("- alert: ") {
            out.push((name.trim().to_owned(), Vec::new()));
        } else if trimmed.starts_with("- record: ") || trimmed.starts_with("- name: ") {
            out.push((String::new(), Vec::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push(trimmed.to_owned());
        }
    }
    out.retain(|(name, _)| !name.is_empty());
    out
}

#[test]
fn every_alert_has_a_runbook_section_and_a_readme_row() {
    let runbook =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/runbook.md")).unwrap();
    let sections: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    let readme = readme();
    let rows: BTreeSet<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("| `Psyche"))
        .map(|rest| format!("Psyche{}", rest.split('`').next().unwrap()))
        .collect();
    let alerts = alert_rules();
    assert!(alerts.len() >= 20, "only {} alerts found", alerts.len());
    let mut names = BTreeSet::new();
    for (name, body) in &alerts {
        assert!(names.insert(name.clone()), "{name} defined twice");
        let anchor = name.to_lowercase();
        for key in ["severity: ", "summary: ", "description: "] {
            assert!(
                body.iter().any(|l| l.starts_with(key)),
                "{name} has no {key}"
            );
        }
        assert!(
            body.iter()
                .any(|l| l == &format!("runbook_url: \"docs/runbook.md#{anchor}\"")),
            "{name}: runbook_url must be \"docs/runbook.md#{anchor}\""
        );
        assert!(
            sections.contains(&anchor),
            "docs/runbook.md has no section `## {name}`"
        );
        assert!(
            readme.contains(&format!("(docs/runbook.md#{anchor})")),
            "the README's Alerts table does not link {name}'s runbook"
        );
    }
    let stray: Vec<_> = rows.difference(&names).collect();
    assert!(stray.is_empty(), "README rows without an alert: {stray:?}");
    let missing: Vec<_> = names.difference(&rows).collect();
    assert!(
        missing.is_empty(),
        "alerts without a README row: {missing:?}"
    );
    let orphans: Vec<_> = sections
        .iter()
        .filter(|s| s.starts_with("psyche") && !names.iter().any(|n| n.to_lowercase() == **s))
        .collect();
    assert!(
        orphans.is_empty(),
        "runbook sections without an alert: {orphans:?}"
    );
}
