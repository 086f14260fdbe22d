//! The rules of ARCHITECTURE.md that a machine can check on the source tree:
//! no cycle in the module graph, and no source file over 1,000 lines outside
//! its tests.
//!
//! The module graph: every file under `src/` is a module; module A depends on
//! B when A names a path in B (`use`, or a `crate::`/`super::` path in code;
//! comments and test modules do not count). For each pair of sibling modules
//! the dependencies of their whole subtrees are added up, and the resulting
//! graph among the siblings must have no cycle. A parent and its own children
//! may name each other (that is one module's namespace, e.g. a `mod.rs` that
//! re-exports); siblings may not, in both directions, however indirectly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// The longest a source file may be, counting the lines before its tests.
const MAX_LINES: usize = 1_000;

type Module = Vec<String>;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → `[a, b]`; `src/a/mod.rs` → `[a]`; `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file's code before its test module, without comments.
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        out.push_str(line.split(" //").next().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Lines before the test module (a whole `tests.rs` file is tests).
fn lines_outside_tests(file: &Path, text: &str) -> usize {
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return 0;
    }
    let mut count = 0;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        count += 1;
    }
    count
}

/// Expand a `use` tree (`a::{b, c::{d, e}}`) into paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.split(" as ").next().unwrap_or(&tree).to_owned()];
    };
    let prefix = &tree[..open];
    let inner = tree[open + 1..]
        .strip_suffix('}')
        .unwrap_or(&tree[open + 1..]);
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// The module a path names from inside `from`, if it is one of ours.
fn resolve(from: &Module, path: &str, modules: &BTreeSet<Module>) -> Option<Module> {
    let mut segments = path.split("::").filter(|s| !s.is_empty()).peekable();
    let mut at: Module = match segments.peek().copied() {
        Some("crate") => {
            segments.next();
            Vec::new()
        }
        Some("self") => {
            segments.next();
            from.clone()
        }
        Some("super") => {
            let mut at = from.clone();
            while segments.peek() == Some(&"super") {
                segments.next();
                at.pop();
            }
            at
        }
        Some(first) => {
            // A child module named without `self::` (`use account::X`).
            let mut child = from.clone();
            child.push(first.to_owned());
            if !modules.contains(&child) {
                return None;
            }
            from.clone()
        }
        None => return None,
    };
    for segment in segments {
        let mut next = at.clone();
        next.push(segment.to_owned());
        if modules.contains(&next) {
            at = next;
        } else {
            break;
        }
    }
    Some(at)
}

/// Every module's dependencies on other modules.
fn graph(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    source_files(src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(src, f)).collect();
    let use_re = Regex::new(r"(?s)\buse\s+([^;]+);").unwrap();
    let path_re = Regex::new(r"\b(?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+").unwrap();
    let mut out = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        let code = code(&std::fs::read_to_string(file).unwrap());
        let mut paths: Vec<String> = use_re
            .captures_iter(&code)
            .flat_map(|c| expand(&c[1]))
            .collect();
        paths.extend(path_re.find_iter(&code).map(|m| m.as_str().to_owned()));
        let deps: BTreeSet<Module> = paths
            .iter()
            .filter_map(|p| resolve(&from, p, &modules))
            .filter(|m| *m != from)
            .collect();
        out.insert(from, deps);
    }
    out
}

/// Cycles among siblings: for every edge A → B, the edge between the children
/// of their common ancestor that contain A and B (none when one contains the
/// other).
fn sibling_cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (a, deps) in graph {
        for b in deps {
            let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            if common == a.len() || common == b.len() {
                continue; // ancestor and descendant
            }
            edges
                .entry(a[..=common].to_vec())
                .or_default()
                .insert(b[..=common].to_vec());
        }
    }
    // Depth-first search for a back edge, reporting each cycle's path.
    let mut cycles = Vec::new();
    let mut state: BTreeMap<&Module, u8> = BTreeMap::new();
    fn visit<'a>(
        node: &'a Module,
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        state: &mut BTreeMap<&'a Module, u8>,
        stack: &mut Vec<&'a Module>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(node, 1);
        stack.push(node);
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let at = stack.iter().position(|m| *m == next).unwrap_or(0);
                    let path: Vec<String> = stack[at..]
                        .iter()
                        .chain([&next])
                        .map(|m| m.join("::"))
                        .collect();
                    cycles.push(path.join(" -> "));
                }
                Some(_) => {}
                None => visit(next, edges, state, stack, cycles),
            }
        }
        stack.pop();
        state.insert(node, 2);
    }
    for node in edges.keys() {
        if !state.contains_key(node) {
            visit(node, &edges, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    cycles
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = graph(&src());
    assert!(graph.len() > 10, "found the modules: {graph:?}");
    let cycles = sibling_cycles(&graph);
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn no_source_file_is_over_the_limit() {
    let mut files = Vec::new();
    source_files(&src(), &mut files);
    let over: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = lines_outside_tests(f, &std::fs::read_to_string(f).unwrap());
            (n > MAX_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        over.is_empty(),
        "over {MAX_LINES} lines outside tests:\n{}",
        over.join("\n")
    );
}

/// The checker itself finds what it must.
#[test]
fn the_checker_sees_cycles_and_ignores_the_hierarchy() {
    let m = |s: &str| -> Module {
        s.split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let modules: BTreeSet<Module> = ["", "a", "a::x", "a::y", "b"].map(m).into();
    assert_eq!(
        resolve(&m("a::x"), "super::y::Thing", &modules),
        Some(m("a::y"))
    );
    assert_eq!(resolve(&m("a"), "x::Thing", &modules), Some(m("a::x")));
    assert_eq!(resolve(&m("a"), "serde::Serialize", &modules), None);
    assert_eq!(
        resolve(&m("b"), "crate::a::x::f", &modules),
        Some(m("a::x"))
    );
    assert_eq!(
        expand("crate::a::{x::{One, Two}, y}"),
        ["crate::a::x::One", "crate::a::x::Two", "crate::a::y"]
    );
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(m(a)).or_default().insert(m(b));
        }
        g
    };
    // Parent and child naming each other: fine.
    assert!(sibling_cycles(&graph(&[("a", "a::x"), ("a::x", "a")])).is_empty());
    // Siblings through a child: a cycle of `a` and `b`.
    let found = sibling_cycles(&graph(&[("a::x", "b"), ("b", "a::y")]));
    assert_eq!(found, ["a -> b -> a"]);
    // Children of one parent.
    let found = sibling_cycles(&graph(&[("a::x", "a::y"), ("a::y", "a::x")]));
    assert_eq!(found, ["a::x -> a::y -> a::x"]);
    assert_eq!(
        lines_outside_tests(Path::new("x.rs"), "a\nb\n#[cfg(test)]\nmod tests {\nc\n}\n"),
        2
    );
    assert_eq!(lines_outside_tests(Path::new("tests.rs"), "a\nb\n"), 0);
}
