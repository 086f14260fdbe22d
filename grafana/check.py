#!/usr/bin/env python3
"""Checks the bundled Grafana dashboards and prints every PromQL expression (stdlib only).

Usage:
  python3 grafana/check.py [options] [DASHBOARD.json ...]

With no files, every grafana/dashboards/*.json is checked. For each panel query it prints
one line, variables substituted:

  <dashboard uid>\t<panel title>\t<refId>\t<instant|range>\t<expr>

(`--json` prints a JSON list of {uid, panel, refId, instant, expr} instead.) Newlines inside
an expression are folded to spaces. Diagnostics go to stderr.

Variables (`$x`, `${x}`, `${x:fmt}`, `[[x]]`): `--var NAME=VALUE` (repeatable). Defaults:
datasource=prometheus, __rate_interval=2m, __interval=30s, __range=1h, __range_s=3600,
__range_ms=3600000. Dashboard variables without a value (program, run_id) are left as
written and reported on stderr; `--strict-vars` makes that an error.

Metric names: every name used by a query (and by template-variable queries) must be in
the allowlist, which is the union of
  - the names in the README's metric tables (`--readme PATH`; default ../README.md;
    `--no-readme` to skip),
  - recording rules (`record:`) of `--rules FILE` (repeatable; default: every
    deploy/prometheus/*.yml / *.yaml that exists),
  - `--allow NAME[,NAME...]` (repeatable),
  - `--allow-file FILE` (repeatable): one name per line, or a Prometheus exposition
    (e.g. a saved /metrics: sample names and `# TYPE` names are taken),
  - always `ALERTS`, `ALERTS_FOR_STATE` and `up`.

Structure checked: the JSON parses; uids are unique; schemaVersion 39; tag `psyche`; a
`datasource` variable of type datasource (query prometheus); every panel (rows included),
every target and every query variable uses {"type":"prometheus","uid":"${datasource}"} and
no other datasource appears anywhere; every target has an expression; panel ids and titles unique;
grafana.com import metadata (`__inputs` naming a Prometheus datasource, `__requires` listing
grafana, the prometheus datasource and every panel type used).

One exporter at a time: single-valued `job` and `instance` query variables, and every
selector of every panel query and query variable (but job's and instance's own) matches
`job` on `$job` and `instance` on `$instance`, so two exporters on one Prometheus are never
summed together. Rate windows: rate, irate, increase, deriv, delta, idelta and
predict_linear take `$__rate_interval` (or `$__range` / `$__interval`), never a fixed window.

Exit status: 0 when every check passes, 1 otherwise, 2 on bad usage.
"""
import argparse
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DS = {"type": "prometheus", "uid": "${datasource}"}
ALWAYS = {"ALERTS", "ALERTS_FOR_STATE", "up"}
DEFAULT_VARS = {
    "datasource": "prometheus",
    "__rate_interval": "2m",
    "__interval": "30s",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "inf", "nan", "atan2", "start", "end",
}
VAR_RE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]")
NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


# ------------------------------------------------------------------ allowlist


def readme_names(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|", line)
            if m and m.group(1).startswith(("psyche", "process_")):
                names.add(m.group(1))
    return names


def rule_names(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*-?\s*record:\s*['\"]?([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
            if m:
                names.add(m.group(1))
    return names


def file_names(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            m = re.match(r"#\s*TYPE\s+(\S+)", line)
            if m:
                names.add(m.group(1))
                continue
            if line.startswith("#"):
                continue
            m = NAME_RE.match(line)
            if m:
                names.add(m.group(0))
    return names


# ------------------------------------------------------------------ PromQL


def strip_strings(expr):
    out, i, n = [], 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            out.append('""')
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def metric_names(expr):
    """Metric names a PromQL expression selects (functions, keywords and labels excluded)."""
    s = strip_strings(expr)
    s = re.sub(r"#[^\n]*", " ", s)  # comments
    s = re.sub(r"\{[^}]*\}", "{}", s)  # label matchers
    s = re.sub(r"\[[^\]]*\]", "[]", s)  # ranges and subqueries
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in NAME_RE.finditer(s):
        start, end = m.span()
        if start and (s[start - 1].isalnum() or s[start - 1] in "._"):
            continue  # part of a number such as 1e9 or 0x1f
        word = m.group(0)
        if word.lower() in KEYWORDS:
            continue
        if re.match(r"\s*\(", s[end:]):
            continue  # function or aggregation
        names.add(word)
    return names


def variable_query_names(query):
    """Metric names of a Grafana Prometheus variable query such as label_values(m{..}, l)."""
    if isinstance(query, dict):
        query = query.get("query", "")
    query = query or ""
    m = re.match(r"\s*label_values\((.*),\s*\w+\s*\)\s*$", query, re.S)
    if m:
        return metric_names(m.group(1))
    m = re.match(r"\s*(?:label_names|metrics)\((.*)\)\s*$", query, re.S)
    if m:
        return metric_names(m.group(1)) if m.group(1).strip() else set()
    m = re.match(r"\s*query_result\((.*)\)\s*$", query, re.S)
    if m:
        return metric_names(m.group(1))
    return metric_names(query)


def substitute(expr, values, unresolved):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in values:
            return values[name]
        unresolved.add(name)
        return m.group(0)

    return VAR_RE.sub(repl, expr)


RATE_FUNCS = ("rate", "irate", "increase", "deriv", "delta", "idelta", "predict_linear")
SCOPE_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
                "topk", "quantile", "limitk", "limit_ratio"}


def selectors(expr):
    """(metric name, label matchers text) of every vector selector of a PromQL expression."""
    s = strip_strings_keep(expr)
    out, i, n, brace, bracket, lists = [], 0, len(s), 0, 0, 0
    while i < n:
        c = s[i]
        if c == "{":
            brace += 1
        elif c == "}":
            brace -= 1
        elif c == "[":
            bracket += 1
        elif c == "]":
            bracket -= 1
        elif c == ")" and lists:
            lists -= 1
        m = NAME_RE.match(s, i) if (c.isalpha() or c in "_:") else None
        if not m:
            i += 1
            continue
        word, end = m.group(0), m.end()
        rest = s[end:].lstrip()
        if brace or bracket or lists or (i and (s[i - 1].isalnum() or s[i - 1] in "._$")):
            i = end
            continue
        if word in SCOPE_WORDS and rest.startswith("("):
            lists += 1
            i = s.index("(", end) + 1
            continue
        if word.lower() in KEYWORDS or rest.startswith("(") or word in AGGREGATIONS:
            i = end
            continue
        matchers = ""
        if rest.startswith("{"):
            start = s.index("{", end)
            close = s.index("}", start)
            matchers = expr[start + 1:close]
        out.append((word, matchers))
        i = end
    return out


def strip_strings_keep(expr):
    """The expression with every string literal's content blanked (same length)."""
    out, i, n = list(expr), 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


def scope_problems(expr):
    """Selectors of `expr` not scoped to one exporter, and fixed rate windows."""
    problems = []
    for name, matchers in selectors(expr):
        if not re.search(r'\bjob\s*=~?\s*"\$\{?job\}?"', matchers):
            problems.append(f"selector {name} does not match job on $job")
        if not re.search(r'\binstance\s*=~?\s*"\$\{?instance\}?', matchers):
            problems.append(f"selector {name} does not match instance on $instance")
    for m in re.finditer(r"\b(" + "|".join(RATE_FUNCS) + r")\s*\(", expr):
        depth, j = 1, m.end()
        while j < len(expr) and depth:
            depth += {"(": 1, ")": -1}.get(expr[j], 0)
            j += 1
        for window in re.findall(r"\[([^\]]*)\]", expr[m.end():j]):
            if window.strip() not in ("$__rate_interval", "$__range", "$__interval"):
                problems.append(f"{m.group(1)}() over a fixed window [{window}]: use $__rate_interval")
    return problems


# ------------------------------------------------------------------ dashboards


def walk_panels(panels):
    for p in panels or []:
        yield p
        yield from walk_panels(p.get("panels"))


def walk_datasources(node, path="$"):
    """Yield (path, value) of every "datasource" key anywhere in the JSON."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource":
                yield f"{path}.{k}", v
            yield from walk_datasources(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_datasources(v, f"{path}[{i}]")


def check_dashboard(path, dash, errors):
    uid = dash.get("uid") or "?"

    def err(msg):
        errors.append(f"{os.path.basename(path)} ({uid}): {msg}")

    if not dash.get("uid"):
        err("no uid")
    if dash.get("schemaVersion") != 39:
        err(f"schemaVersion {dash.get('schemaVersion')!r}, want 39")
    if "psyche" not in (dash.get("tags") or []):
        err("no tag psyche")
    variables = (dash.get("templating") or {}).get("list") or []
    dsvars = [v for v in variables if v.get("name") == "datasource"]
    if not dsvars or dsvars[0].get("type") != "datasource" or dsvars[0].get("query") != "prometheus":
        err("no `datasource` variable of type datasource with query prometheus")
    for name in ("job", "instance"):
        v = [v for v in variables if v.get("name") == name]
        if not v or v[0].get("type") != "query":
            err(f"no `{name}` query variable (one exporter at a time)")
        elif v[0].get("multi") or v[0].get("includeAll"):
            err(f"variable `{name}` is multi-valued or has All: two exporters would be summed together")
    for v in variables:
        if v.get("type") == "query" and v.get("name") not in ("job", "instance"):
            query = v.get("query")
            query = query.get("query", "") if isinstance(query, dict) else (query or "")
            inner = re.match(r"\s*label_values\((.*),\s*\w+\s*\)\s*$", query, re.S)
            for p in scope_problems(inner.group(1) if inner else query):
                err(f"variable {v.get('name')!r}: {p}")
    inputs = dash.get("__inputs")
    if not isinstance(inputs, list) or not any(i.get("type") == "datasource" and i.get("pluginId") == "prometheus"
                                               for i in inputs):
        err("no __inputs naming a prometheus datasource (grafana.com import)")
    required = {(r.get("type"), r.get("id")) for r in dash.get("__requires") or []}
    kinds = {p.get("type") for p in walk_panels(dash.get("panels")) if p.get("type") != "row"}
    for need in {("grafana", "grafana"), ("datasource", "prometheus")} | {("panel", k) for k in kinds}:
        if need not in required:
            err(f"__requires lacks {need[0]} {need[1]}")
    for where, ds in walk_datasources(dash):
        if ds != DS:
            err(f"{where}: datasource {json.dumps(ds)}, want {json.dumps(DS)}")
    ids, titles = set(), set()
    for p in walk_panels(dash.get("panels")):
        title = p.get("title", "?")
        if p.get("type") != "row":
            if title in titles:
                err(f"panel {title!r}: duplicate title (queries are reported by title)")
            titles.add(title)
        if p.get("datasource") != DS:
            err(f"panel {title!r}: no datasource ${{datasource}}")
        if p.get("id") in ids:
            err(f"panel {title!r}: duplicate id {p.get('id')}")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            err(f"panel {title!r}: no gridPos")
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets:
            err(f"panel {title!r}: no targets")
        for t in targets:
            if t.get("datasource") != DS:
                err(f"panel {title!r} target {t.get('refId')}: no datasource ${{datasource}}")
            if not (t.get("expr") or "").strip():
                err(f"panel {title!r} target {t.get('refId')}: empty expr")
            for problem in scope_problems(t.get("expr") or ""):
                err(f"panel {title!r} target {t.get('refId')}: {problem}")
    return variables


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("dashboards", nargs="*", help="dashboard JSON files (default: grafana/dashboards/*.json)")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="variable value")
    ap.add_argument("--strict-vars", action="store_true", help="fail on a variable without a value")
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"), help="README with the metric tables")
    ap.add_argument("--no-readme", action="store_true", help="do not read the README")
    ap.add_argument("--rules", action="append", default=None, metavar="FILE",
                    help="Prometheus rules file whose `record:` names are allowed")
    ap.add_argument("--allow", action="append", default=[], metavar="NAME[,NAME]", help="allowed metric names")
    ap.add_argument("--allow-file", action="append", default=[], metavar="FILE",
                    help="allowed names: one per line, or a Prometheus exposition")
    ap.add_argument("--json", action="store_true", help="print the queries as a JSON list")
    ap.add_argument("--quiet", action="store_true", help="print no queries, only problems")
    args = ap.parse_args(argv)

    values = dict(DEFAULT_VARS)
    for kv in args.var:
        if "=" not in kv:
            ap.error(f"--var {kv!r}: want NAME=VALUE")
        k, v = kv.split("=", 1)
        values[k.lstrip("$")] = v

    allowed = set(ALWAYS)
    if not args.no_readme:
        names = readme_names(args.readme)
        if not names:
            ap.error(f"{args.readme}: no metric tables found")
        allowed |= names
    rules = args.rules
    if rules is None:
        rules = sorted(glob.glob(os.path.join(ROOT, "deploy", "prometheus", "*.y*ml")))
    for r in rules:
        allowed |= rule_names(r)
    for a in args.allow:
        allowed |= {n.strip() for n in a.split(",") if n.strip()}
    for f in args.allow_file:
        allowed |= file_names(f)

    files = args.dashboards or sorted(glob.glob(os.path.join(HERE, "dashboards", "*.json")))
    if not files:
        ap.error("no dashboards")

    errors, rows, uids = [], [], {}
    unresolved_all = set()
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                dash = json.load(f)
        except (OSError, ValueError) as e:
            errors.append(f"{path}: {e}")
            continue
        uid = dash.get("uid") or "?"
        if uid in uids:
            errors.append(f"{path}: uid {uid!r} also used by {uids[uid]}")
        uids[uid] = path
        variables = check_dashboard(path, dash, errors)
        for v in variables:
            if v.get("type") == "query":
                for name in sorted(variable_query_names(v.get("query")) - allowed):
                    errors.append(f"{uid}: variable {v.get('name')!r}: unknown metric {name!r}")
        for p in walk_panels(dash.get("panels")):
            for t in p.get("targets") or []:
                expr = t.get("expr") or ""
                if not expr.strip():
                    continue
                unresolved = set()
                concrete = " ".join(substitute(expr, values, unresolved).split())
                unresolved_all |= {f"{uid}:{n}" for n in unresolved}
                for name in sorted(metric_names(concrete) - allowed):
                    errors.append(f"{uid}: panel {p.get('title')!r} {t.get('refId')}: unknown metric {name!r}")
                rows.append({"uid": uid, "panel": p.get("title", ""), "refId": t.get("refId", ""),
                             "instant": bool(t.get("instant")) and not t.get("range"), "expr": concrete})

    if unresolved_all:
        msg = "variables without a value (pass --var NAME=VALUE): " + ", ".join(sorted(unresolved_all))
        if args.strict_vars:
            errors.append(msg)
        else:
            print("check.py: note: " + msg, file=sys.stderr)

    if not args.quiet:
        if args.json:
            json.dump(rows, sys.stdout, indent=1, ensure_ascii=False)
            print()
        else:
            for r in rows:
                kind = "instant" if r["instant"] else "range"
                print(f"{r['uid']}\t{r['panel']}\t{r['refId']}\t{kind}\t{r['expr']}")
    for e in errors:
        print("check.py: error: " + e, file=sys.stderr)
    print(f"check.py: {len(files)} dashboards, {len(rows)} queries, {len(errors)} problems", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
