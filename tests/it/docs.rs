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
        .filter_map(|l| l.strip_prefix("| `psyche_"))
        .map(|rest| format!("psyche_{}", rest.split('`').next().unwrap()))
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
