#!/usr/bin/env python3
"""Generates grafana/dashboards/*.json (stdlib only).

The JSON files are the shipped artifact; this script is how they are written, so that
six dashboards share one set of conventions (datasource, job and instance variables,
units, mappings, colours). Edit here and run `python3 grafana/generate.py`, then
`python3 grafana/check.py`. `--out DIR` writes elsewhere (the test command writes to a
temporary directory and fails on any difference from grafana/dashboards/).

Every query is scoped to one exporter: `job="$job",instance="$instance"` is added to each
of its selectors (scope()), so two exporters on one Prometheus (replicas, or dev and prod)
are never summed together. Thresholds that alerts also use are read from
deploy/prometheus/alerts.yml (alert_figure()), so a panel turns red where the alert fires.
"""
import argparse
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "dashboards")
RULES = os.path.join(ROOT, "deploy", "prometheus", "alerts.yml")

DS = {"type": "prometheus", "uid": "${datasource}"}

# Run states, in the coordinator's order; the code is only used by the Run dashboard's
# single-row state timeline and is always mapped back to the name.
STATES = [
    ("uninitialized", "#8e8e8e"),
    ("waiting_for_members", "yellow"),
    ("warmup", "light-blue"),
    ("round_train", "green"),
    ("round_witness", "semi-dark-green"),
    ("cooldown", "purple"),
    ("finished", "blue"),
    ("paused", "orange"),
]
CLIENT_STATES = [
    ("healthy", "green"),
    ("dropped", "orange"),
    ("withdrawn", "blue"),
    ("ejected", "red"),
    ("unknown", "purple"),
]
REPO_STATES = [("ok", "green"), ("unauthorized", "orange"), ("not_found", "red")]
RUN = 'program="$program",run_id="$run_id"'


# ---------------------------------------------------------------- alert figures


def alert_figure(alert, pattern):
    """The number `pattern` (a regex with one group) captures in the expression of `alert`
    in deploy/prometheus/alerts.yml; fails loudly when the rule no longer has it."""
    with open(RULES, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"- alert: " + alert + r"\n\s+expr: \|?\n?(.*?)\n\s+for: ", text, re.S)
    if not m:
        raise SystemExit(f"generate.py: alert {alert} not found in {RULES}")
    found = re.search(pattern, m.group(1))
    if not found:
        raise SystemExit(f"generate.py: {alert}'s expression no longer matches {pattern!r}")
    v = float(found.group(1))
    return int(v) if v.is_integer() else v


SLOTS_BEHIND = alert_figure("PsycheSolanaRpcBehind", r"psyche_solana_slots_behind > (\d+)")
TREASURY_EPOCHS = alert_figure("PsycheTreasuryLow", r"psyche_treasurer_funded_epochs < (\d+)")
POOL_ALMOST_FULL = alert_figure("PsycheMiningPoolAlmostFull", r"psyche_pool_fill_ratio >= ([\d.]+)")
STALE_CADENCES = alert_figure("PsycheCheckpointStale", r"> (\d+) \* psyche:run_checkpoint_cadence_seconds")
LAG_EPOCHS = alert_figure("PsycheCheckpointLagging", r"> (\d+) \* psyche:run_steps_per_epoch")
OVERDUE = alert_figure("PsycheRunPhaseOverdue", r"psyche_run_phase_deadline_timestamp_seconds > (\d+)")
TELEMETRY_FLOOR = alert_figure("PsycheRunTelemetryStale", r"round_witness\"\}\), (\d+)\)")
STALE_INTERVALS = alert_figure("PsycheCollectorStale", r"> (\d+) \* psyche_exporter_collector_interval_seconds")
HF_QUOTA = alert_figure("PsycheHuggingFaceRateLimited", r"psyche_hf_rate_limit_remaining < (\d+)")


# ---------------------------------------------------------------- scope: one exporter

SCOPE = 'job="$job",instance="$instance"'
# Alerts without an instance label (PsycheExporterAbsent) still show.
ALERTS_SCOPE = 'job="$job",instance=~"$instance|"'
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
                "topk", "quantile", "limitk", "limit_ratio"}
_NOT_SELECTORS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "inf", "nan", "atan2",
}


def scope(expr):
    """`expr` with `job="$job",instance="$instance"` added to every vector selector."""
    m = re.match(r"\s*label_values\((.*),(\s*\w+\s*)\)\s*$", expr, re.S)
    if m:  # a variable query: the selector is the first argument
        return f"label_values({scope(m.group(1))},{m.group(2)})"
    out, i, n = [], 0, len(expr)
    depth_brace = depth_bracket = 0
    label_list = 0  # inside by (...), on (...), etc.
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" and c != "`" else 1
            out.append(expr[i:j + 1])
            i = j + 1
            continue
        if c == "{":
            depth_brace += 1
        elif c == "}":
            depth_brace -= 1
        elif c == "[":
            depth_bracket += 1
        elif c == "]":
            depth_bracket -= 1
        elif c == ")" and label_list:
            label_list -= 1
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr[i:]) if (c.isalpha() or c in "_:") else None
        if m and (depth_brace or depth_bracket or label_list or (i and (expr[i - 1].isalnum() or expr[i - 1] in "._$"))):
            out.append(m.group(0))
            i += len(m.group(0))
            continue
        if m:
            word = m.group(0)
            rest = expr[i + len(word):]
            after = len(rest) - len(rest.lstrip())
            if word.lower() in _NOT_SELECTORS:
                if word in ("by", "without", "on", "ignoring", "group_left", "group_right") and rest.lstrip().startswith("("):
                    label_list += 1
                    out.append(word + rest[:after] + "(")
                    i += len(word) + after + 1
                    continue
                out.append(word)
                i += len(word)
                continue
            if rest.lstrip().startswith("(") or word in AGGREGATIONS:
                out.append(word)  # a function or an aggregation
                i += len(word)
                continue
            sc = ALERTS_SCOPE if word in ("ALERTS", "ALERTS_FOR_STATE") else SCOPE
            if rest.lstrip().startswith("{"):
                inner = rest[after + 1:]
                sep = "" if inner.lstrip().startswith("}") else ","
                out.append(word + "{" + sc + sep)
                i += len(word) + after + 1
                depth_brace += 1
                continue
            out.append(word + "{" + sc + "}")
            i += len(word)
            continue
        out.append(c)
        i += 1
    return "".join(out)
# A run in a state whose witnesses report telemetry (the recording rule psyche:run_active, inline).
ACTIVE = 'psyche_run_state{state=~"warmup|round_train|round_witness|cooldown"} == 1'


# ---------------------------------------------------------------- field config helpers


def th(*steps):
    """th("green", (3600, "yellow"), (7200, "red"))"""
    out = []
    for s in steps:
        if isinstance(s, str):
            out.append({"color": s, "value": None})
        else:
            out.append({"color": s[1], "value": s[0]})
    return {"mode": "absolute", "steps": out}


def vmap(pairs):
    """Value mapping: {value: (text, colour)}; keys may be numbers or label strings."""
    opts = {}
    for i, (k, (text, color)) in enumerate(pairs.items()):
        o = {"text": text, "index": i}
        if color:
            o["color"] = color
        opts[str(k)] = o
    return {"type": "value", "options": opts}


def rmap(frm, to, text, color=None, index=0):
    r = {"text": text, "index": index}
    if color:
        r["color"] = color
    return {"type": "range", "options": {"from": frm, "to": to, "result": r}}


STATE_NAME_MAP = vmap({n: (n, c) for n, c in STATES})
CLIENT_STATE_MAP = vmap({n: (n, c) for n, c in CLIENT_STATES})
REPO_STATE_MAP = vmap({n: (n, c) for n, c in REPO_STATES})
UP_MAP = vmap({0: ("down", "red"), 1: ("up", "green")})


def color_overrides(pairs):
    return [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
        }
        for name, color in pairs
    ]


def col(name, *props, **kw):
    """Table column override by (display) name."""
    p = list(props)
    for k, v in kw.items():
        p.append({"id": k.replace("__", "."), "value": v})
    return {"matcher": {"id": "byName", "options": name}, "properties": p}


def cell(kind, **extra):
    d = {"type": kind}
    d.update(extra)
    return {"id": "custom.cellOptions", "value": d}


# ---------------------------------------------------------------- targets


def q(expr, legend="", instant=False, table=False):
    t = {"datasource": DS, "editorMode": "code", "expr": scope(expr), "legendFormat": legend}
    if table:
        t.update({"format": "table", "instant": True, "range": False})
    elif instant:
        t.update({"instant": True, "range": False})
    else:
        t.update({"instant": False, "range": True})
    return t


def with_refs(targets):
    out = []
    for i, t in enumerate(targets):
        t = dict(t)
        t["refId"] = chr(ord("A") + i)
        out.append(t)
    return out


# ---------------------------------------------------------------- panels


def base(kind, title, targets, desc, defaults, overrides=None, options=None, transformations=None):
    p = {
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": with_refs(targets),
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if transformations:
        p["transformations"] = transformations
    return p


def defaults(unit="short", thresholds=None, mappings=None, decimals=None, min=None, max=None,
             color="thresholds", custom=None, links=None):
    d = {
        "unit": unit,
        "color": {"mode": color},
        "thresholds": thresholds or th("green"),
        "mappings": mappings or [],
    }
    if decimals is not None:
        d["decimals"] = decimals
    if min is not None:
        d["min"] = min
    if max is not None:
        d["max"] = max
    if custom is not None:
        d["custom"] = custom
    if links:
        d["links"] = links
    return d


REDUCE_LAST = {"calcs": ["lastNotNull"], "fields": "", "values": False}


def stat(title, targets, desc="", unit="short", thresholds=None, mappings=None, decimals=None,
         text_mode="auto", color_mode="value", graph="none", overrides=None, min=None, max=None):
    return base(
        "stat", title, targets, desc,
        defaults(unit, thresholds, mappings, decimals, min, max),
        overrides,
        {
            "reduceOptions": REDUCE_LAST,
            "orientation": "auto",
            "textMode": text_mode,
            "colorMode": color_mode,
            "graphMode": graph,
            "justifyMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
    )


def gauge(title, targets, desc="", unit="percentunit", thresholds=None, min=0, max=1, decimals=None):
    return base(
        "gauge", title, targets, desc,
        defaults(unit, thresholds, None, decimals, min, max),
        None,
        {"reduceOptions": REDUCE_LAST, "orientation": "auto", "showThresholdLabels": False,
         "showThresholdMarkers": True, "sizing": "auto", "minVizHeight": 75, "minVizWidth": 75},
    )


def bargauge(title, targets, desc="", unit="short", thresholds=None, min=None, max=None,
             decimals=None, mappings=None, color="thresholds"):
    return base(
        "bargauge", title, targets, desc,
        defaults(unit, thresholds, mappings, decimals, min, max, color=color),
        None,
        {"reduceOptions": REDUCE_LAST, "orientation": "horizontal", "displayMode": "gradient",
         "valueMode": "color", "namePlacement": "auto", "showUnfilled": True, "sizing": "auto",
         "minVizHeight": 16, "minVizWidth": 8, "maxVizHeight": 300},
    )


def timeseries(title, targets, desc="", unit="short", thresholds=None, min=None, max=None,
               stack=False, draw="line", interp="linear", fill=10, overrides=None, decimals=None,
               threshold_style="off", legend_calcs=None, mappings=None, soft_min=None):
    custom = {
        "drawStyle": draw,
        "lineInterpolation": interp,
        "lineWidth": 1,
        "fillOpacity": fill,
        "gradientMode": "none",
        "showPoints": "never",
        "pointSize": 4,
        "spanNulls": False,
        "insertNulls": False,
        "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        "axisPlacement": "auto",
        "axisLabel": "",
        "axisCenteredZero": False,
        "axisColorMode": "text",
        "axisBorderShow": False,
        "scaleDistribution": {"type": "linear"},
        "barAlignment": 0,
        "hideFrom": {"legend": False, "tooltip": False, "viz": False},
        "thresholdsStyle": {"mode": threshold_style},
    }
    if soft_min is not None:
        custom["axisSoftMin"] = soft_min
    calcs = legend_calcs or []
    return base(
        "timeseries", title, targets, desc,
        defaults(unit, thresholds, mappings, decimals, min, max, color="palette-classic", custom=custom),
        overrides,
        {
            "legend": {"showLegend": True, "displayMode": "table" if calcs else "list",
                       "placement": "bottom", "calcs": calcs},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


def state_timeline(title, targets, mappings, desc="", thresholds=None, overrides=None):
    return base(
        "state-timeline", title, targets, desc,
        defaults("short", thresholds or th("text"), mappings, color="thresholds",
                 custom={"fillOpacity": 75, "lineWidth": 0, "hideFrom": {"legend": False, "tooltip": False, "viz": False}}),
        overrides,
        {"mergeValues": True, "showValue": "auto", "alignValue": "left", "rowHeight": 0.9,
         "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
         "tooltip": {"mode": "single", "sort": "none"}},
    )


def piechart(title, targets, desc="", overrides=None):
    return base(
        "piechart", title, targets, desc,
        defaults("short", color="palette-classic",
                 custom={"hideFrom": {"legend": False, "tooltip": False, "viz": False}}),
        overrides,
        {"reduceOptions": REDUCE_LAST, "pieType": "donut", "displayLabels": ["value"],
         "legend": {"showLegend": True, "displayMode": "table", "placement": "right", "values": ["value"]},
         "tooltip": {"mode": "single", "sort": "none"}},
    )


def table(title, targets, desc="", exclude=(), order=(), rename=None, overrides=None, sort=None,
          unit="none", merge=True, mappings=None, thresholds=None):
    """Instant table; with several targets the frames are merged on their common labels."""
    trans = []
    if merge and len(targets) > 1:
        trans.append({"id": "merge", "options": {}})
    excl = {"Time": True}
    for e in exclude:
        excl[e] = True
    trans.append({
        "id": "organize",
        "options": {
            "excludeByName": excl,
            "indexByName": {name: i for i, name in enumerate(order)},
            "renameByName": rename or {},
            "includeByName": {},
        },
    })
    opts = {"showHeader": True, "cellHeight": "sm",
            "footer": {"show": False, "reducer": ["sum"], "countRows": False, "fields": ""}}
    if sort:
        opts["sortBy"] = [{"displayName": sort[0], "desc": sort[1]}]
    return base(
        "table", title, targets, desc,
        defaults(unit, thresholds, mappings, custom={"align": "auto", "cellOptions": {"type": "auto"},
                                                     "inspect": False, "filterable": True}),
        overrides, opts, trans,
    )


# ---------------------------------------------------------------- dashboard


class Dash:
    def __init__(self, uid, title, description, variables=(), time_from="now-24h", refresh="1m"):
        self.uid, self.title, self.description = uid, title, description
        self.variables = list(variables)
        self.time_from, self.refresh = time_from, refresh
        self.panels = []
        self.x = self.y = self.h = 0

    def _newline(self):
        if self.x:
            self.y += self.h
            self.x = self.h = 0

    def row(self, title):
        self._newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "datasource": DS,
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}, "panels": []})
        self.y += 1

    def add(self, panel, w, h):
        if self.x + w > 24:
            self._newline()
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.panels.append(panel)
        self.x += w
        self.h = max(self.h, h)

    def json(self):
        for i, p in enumerate(self.panels, 1):
            p["id"] = i
        templating = [{
            "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {"selected": False, "text": "${DS_PROMETHEUS}", "value": "${DS_PROMETHEUS}"},
            "hide": 0, "includeAll": False, "multi": False, "options": [],
            "refresh": 1, "regex": "", "skipUrlSync": False,
        }, JOB_VAR, INSTANCE_VAR] + self.variables
        return {
            "__inputs": INPUTS,
            "__requires": requires(self.panels),
            "id": None,
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["psyche"],
            "editable": True,
            "graphTooltip": 1,
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "",
            "timezone": "",
            "schemaVersion": 39,
            "version": 1,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "annotations": {"list": []},
            "links": [{"title": "Psyche", "type": "dashboards", "tags": ["psyche"], "asDropdown": True,
                       "includeVars": False, "keepTime": True, "targetBlank": False, "icon": "external link",
                       "tooltip": "", "url": ""}],
            "templating": {"list": templating},
            "panels": self.panels,
        }


def query_var(name, label, query, hide=0):
    query = query if name in ("job", "instance") else scope(query)
    return {
        "name": name, "label": label, "type": "query", "datasource": DS,
        "query": query, "definition": query,
        "current": {}, "hide": hide, "includeAll": False, "multi": False, "options": [],
        "refresh": 2, "regex": "", "sort": 1, "skipUrlSync": False,
    }


# One exporter at a time: single-valued, no "All" (two exporters' series would add up).
JOB_VAR = query_var("job", "Job", "label_values(psyche_exporter_build_info, job)")
INSTANCE_VAR = query_var("instance", "Instance", 'label_values(psyche_exporter_build_info{job="$job"}, instance)')

# grafana.com import metadata: the Prometheus datasource to pick, and what the dashboards need.
GRAFANA_VERSION = "11.1.0"
INPUTS = [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description": "The Prometheus that scrapes psyche-exporter",
           "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}]
PANEL_NAMES = {"stat": "Stat", "gauge": "Gauge", "bargauge": "Bar gauge", "timeseries": "Time series",
               "state-timeline": "State timeline", "piechart": "Pie chart", "table": "Table"}


def requires(panels):
    kinds = sorted({p["type"] for p in panels if p["type"] != "row"})
    return ([{"type": "grafana", "id": "grafana", "name": "Grafana", "version": GRAFANA_VERSION},
             {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}]
            + [{"type": "panel", "id": k, "name": PANEL_NAMES[k], "version": ""} for k in kinds])


RUN_LINK = [{
    "title": "Open run ${__data.fields.run_id}",
    "url": "/d/psyche-run/psyche-run?${datasource:queryparam}&${job:queryparam}&${instance:queryparam}"
           "&var-program=${__data.fields.program}"
           "&var-run_id=${__data.fields.run_id}&${__url_time_range}",
}]
# Checkpoint age in expected checkpoint intervals (psyche:run_checkpoint_cadence_seconds):
# red where PsycheCheckpointStale fires; lag in epochs of the run's own steps: red where
# PsycheCheckpointLagging fires.
CKPT_AGE_RATIO = ("(time() - psyche_run_checkpoint_timestamp_seconds) / on(program, run_id) "
                  "psyche:run_checkpoint_cadence_seconds")
CKPT_AGE_TH = th("green", (1, "yellow"), (STALE_CADENCES, "red"))
LAG_EPOCHS_EXPR = "psyche_run_checkpoint_lag_steps / on(program, run_id) psyche:run_steps_per_epoch"
LAG_TH = th("green", (1, "yellow"), (LAG_EPOCHS, "red"))
SLOTS_TH = th("green", (SLOTS_BEHIND / 3, "yellow"), (SLOTS_BEHIND, "red"))
TREASURY_TH = th("red", (TREASURY_EPOCHS, "orange"), (TREASURY_EPOCHS * 3, "green"))
POOL_FILL_TH = th("blue", (POOL_ALMOST_FULL, "orange"), (1, "green"))
ALERTS = 'ALERTS{alertname=~"Psyche.*",alertstate="firing"}'


def alerts_table(h_desc="Psyche alerts firing now (from the rules in deploy/prometheus/)."):
    return table(
        "Alerts firing", [q(ALERTS, table=True)], h_desc,
        exclude=["Value", "__name__", "alertstate"],
        order=["alertname", "severity", "program", "run_id"],
        overrides=[col("severity", cell("color-text"),
                       mappings=[vmap({"critical": ("critical", "red"), "warning": ("warning", "orange"),
                                       "info": ("info", "blue")})])],
    )


# ================================================================ Overview


def overview():
    d = Dash("psyche-overview", "Psyche / Overview",
             "Every Psyche training run at a glance, network totals and the alerts firing.",
             time_from="now-24h")
    d.row("Network")
    d.add(stat("Tokens trained (all runs)", [q("sum(psyche_run_tokens_trained)")],
               "Sum of psyche_run_tokens_trained over every run the exporter sees.", graph="area"), 3, 4)
    d.add(stat("Training speed (active runs)",
               [q(f"sum(psyche_run_tokens_per_second and on (program, run_id) ({ACTIVE}))")],
               "Tokens per second summed over the runs in warmup, round_train, round_witness or cooldown "
               "(psyche.network's headline figure): each run's mean of its witnesses' estimates for its "
               "newest witnessed step. Self-reported by the runs' witnesses and not checked on chain.",
               graph="area", thresholds=th("blue")), 4, 4)
    d.add(stat("Active runs", [q("count(psyche:run_active == 1) or vector(0)")],
               "Runs in warmup, round_train, round_witness or cooldown (recording rule psyche:run_active).",
               thresholds=th("blue")), 2, 4)
    d.add(stat("Runs", [q("count(psyche_run_info)")], "Runs the coordinator collector exports.",
               thresholds=th("blue")), 2, 4)
    d.add(stat("Healthy clients", [q('sum(psyche_run_epoch_clients{state="healthy"})')],
               "Healthy clients in the current epoch, summed over runs (detail tier, every 5m).",
               graph="area"), 3, 4)
    d.add(stat("Pool fill", [q("sum(psyche_pool_deposited_tokens) / sum(psyche_pool_max_deposit_tokens)")],
               "Mining pool deposits against capacity, all pools "
               f"(orange from {POOL_ALMOST_FULL:.0%}, where PsycheMiningPoolAlmostFull fires for a pool).",
               unit="percentunit", thresholds=POOL_FILL_TH), 2, 4)
    d.add(stat("Alerts firing now", [q(f"count({ALERTS}) or vector(0)")], "Psyche* alerts firing now.",
               thresholds=th("green", (1, "red"))), 2, 4)
    d.add(stat("Collectors up", [q("sum(psyche_exporter_collector_up) / count(psyche_exporter_collector_up)")],
               "Share of the exporter's collectors whose last poll succeeded.", unit="percentunit",
               thresholds=th("red", (0.5, "orange"), (1, "green"))), 3, 4)
    d.add(stat("RPC endpoints up", [q("sum(psyche_solana_rpc_up) / count(psyche_solana_rpc_up)")],
               "Share of watched Solana RPC endpoints whose getHealth said ok.", unit="percentunit",
               thresholds=th("red", (0.5, "orange"), (1, "green"))), 3, 4)

    d.row("Runs")
    d.add(table(
        "Training runs",
        [
            q("psyche_run_info", table=True),
            q("psyche_run_state == 1", table=True),
            q("psyche_run_progress_ratio", table=True),
            q("psyche_run_step", table=True),
            q("psyche_run_total_steps", table=True),
            q("psyche_run_epoch", table=True),
            q('sum by (program, run_id) (psyche_run_epoch_clients{state="healthy"})', table=True),
            q("psyche_run_min_clients", table=True),
            q("psyche_run_tokens_trained", table=True),
            q(CKPT_AGE_RATIO, table=True),
            q(LAG_EPOCHS_EXPR, table=True),
            q("psyche_run_loss", table=True),
            q("psyche_run_tokens_per_second", table=True),
        ],
        "One row per run. Click a run id for its Run dashboard. Checkpoint age is the age of the "
        "Hub commit the chain records (needs the HuggingFace collector) in expected checkpoint intervals "
        f"(red from {STALE_CADENCES}, where PsycheCheckpointStale fires); checkpoint lag is in epochs of "
        f"the run's own steps per epoch (red from {LAG_EPOCHS}, PsycheCheckpointLagging). Loss and tokens/s are the "
        "means over the newest witnessed step of what the run's witnesses report (telemetry collector, "
        "active runs): self-reported and not checked on chain.",
        exclude=["Value #A", "Value #B", "account", "data_type", "client_version", "__name__",
                 "job", "instance"],
        order=["run_id", "name", "state", "Value #C", "Value #D", "Value #E", "Value #F", "Value #G",
               "Value #H", "Value #I", "Value #L", "Value #M", "Value #J", "Value #K", "layout",
               "architecture", "program"],
        rename={"Value #C": "progress", "Value #D": "step", "Value #E": "total steps",
                "Value #F": "epoch", "Value #G": "healthy clients", "Value #H": "min clients",
                "Value #I": "tokens trained", "Value #J": "checkpoint age (cadences)",
                "Value #K": "checkpoint lag (epochs)", "Value #L": "loss", "Value #M": "tokens/s"},
        sort=("run_id", False),
        overrides=[
            col("run_id", links=RUN_LINK),
            col("state", cell("color-background", mode="basic"), mappings=[STATE_NAME_MAP]),
            col("progress", cell("gauge", mode="basic", valueDisplayMode="text"), unit="percentunit",
                min=0, max=1, thresholds=th("blue"), **{"custom__width": 200}),
            col("healthy clients", cell("color-text"), thresholds=th("red", (1, "green"))),
            col("tokens trained", unit="short"),
            col("healthy clients", unit="none"),
            col("checkpoint age (cadences)", cell("color-text"), decimals=2, thresholds=CKPT_AGE_TH),
            col("checkpoint lag (epochs)", cell("color-text"), decimals=2, thresholds=LAG_TH),
            col("loss", decimals=3),
            col("tokens/s", unit="short"),
        ],
    ), 24, 10)

    d.add(piechart("Runs by state", [q("count by (state) (psyche_run_state == 1)", "{{state}}", instant=True)],
                   "How many runs are in each state.", overrides=color_overrides(STATES)), 6, 8)
    d.add(bargauge("Progress", [q("psyche_run_progress_ratio", "{{run_id}}", instant=True)],
                   "(step − 1) / total_steps per run.", unit="percentunit", min=0, max=1,
                   thresholds=th("blue", (1, "green"))), 9, 8)
    d.add(bargauge("Checkpoint age (cadences)", [q(CKPT_AGE_RATIO, "{{run_id}}", instant=True)],
                   "Age of each run's on-chain checkpoint commit on the Hub in expected checkpoint intervals "
                   f"(one epoch); PsycheCheckpointStale fires past {STALE_CADENCES} while the run trains.",
                   unit="suffix:×", decimals=2, thresholds=CKPT_AGE_TH), 9, 8)

    d.row("Trends")
    d.add(timeseries("Tokens trained by run", [q("psyche_run_tokens_trained", "{{run_id}}")],
                     "psyche_run_tokens_trained per run."), 8, 8)
    d.add(timeseries("Network throughput", [q("sum(deriv(psyche_run_tokens_trained[$__rate_interval]))", "tokens/s")],
                     "Tokens per second over all runs (slope of tokens trained).", min=0), 8, 8)
    d.add(timeseries("Mining pool fill", [q("psyche_pool_fill_ratio", "{{pool}}")],
                     "Deposited / max deposit per mining pool.", unit="percentunit", min=0, max=1,
                     thresholds=POOL_FILL_TH, threshold_style="dashed"), 8, 8)

    d.row("Alerts")
    d.add(alerts_table(), 24, 7)
    return d


# ================================================================ Run


SELF_REPORTED = ("Self-reported by the run's witnesses (the metadata of their witness transactions) "
                 "and not checked on chain.")


def telemetry_row(d, S):
    """Run dashboard: what the witnesses report (loss, speed, bandwidth, evals), the on-chain LR, the ETA."""
    d.row("Training telemetry")
    d.add(stat("Loss", [q(f"psyche_run_loss{{{S}}}")],
               "Mean of the finite losses the witnesses reported for the newest witnessed step. " + SELF_REPORTED,
               decimals=3, graph="area", thresholds=th("blue")), 4, 4)
    d.add(stat("Reported tokens per second", [q(f"psyche_run_tokens_per_second{{{S}}}")],
               "Mean of the witnesses' tokens-per-second estimates for the newest witnessed step "
               "(psyche.network's training speed). " + SELF_REPORTED, graph="area", thresholds=th("blue")), 4, 4)
    d.add(stat("Reported bandwidth", [q(f"psyche_run_bandwidth_bytes_per_second{{{S}}}")],
               "Mean of the witnesses' bandwidth for the newest witnessed step. " + SELF_REPORTED,
               unit="Bps", graph="area", thresholds=th("blue")), 4, 4)
    d.add(stat("Learning rate", [q(f"psyche_run_learning_rate{{{S}}}")],
               "Not self-reported: the run's on-chain lr_schedule at the step in progress, evaluated as "
               "Psyche's get_lr (the schedule alone, without the factor clients apply in a cold-start warmup).",
               unit="sci", thresholds=th("blue")), 4, 4)
    d.add(stat("ETA at reported speed", [q(f"psyche_run_eta_seconds{{{S}}}")],
               "(total tokens − tokens trained) / the witnesses' mean tokens per second: time to the end of "
               "the run at the speed they report. That speed is self-reported by the run's witnesses and "
               "not checked on chain.", unit="s", thresholds=th("blue")), 4, 4)
    d.add(stat("Telemetry age", [q(f"time() - psyche_run_witness_timestamp_seconds{{{S}}}")],
               "Since the block time of the newest witness report read. Witnesses report on each step "
               "during round_train; none arrive in cooldown, warmup or while waiting for members, so the "
               "age grows there. The reports' values are self-reported by the run's witnesses and not "
               "checked on chain. Orange from the floor of PsycheRunTelemetryStale's threshold.", unit="s",
               thresholds=th("green", (TELEMETRY_FLOOR, "orange"))), 4, 4)
    d.add(timeseries("Loss over time", [q(f"psyche_run_loss{{{S}}}", "loss")],
                     "Mean finite loss of the newest witnessed step (absent when no witness had a finite loss). "
                     + SELF_REPORTED, decimals=3), 12, 8)
    d.add(timeseries("Reported tokens per second over time",
                     [q(f"psyche_run_tokens_per_second{{{S}}}", "tokens/s")],
                     "Mean of the witnesses' throughput estimates per step; compare with the on-chain slope in "
                     "Progress. " + SELF_REPORTED, min=0), 12, 8)
    d.add(timeseries("Bandwidth over time", [q(f"psyche_run_bandwidth_bytes_per_second{{{S}}}", "bandwidth")],
                     "Mean of the witnesses' bandwidth per step. " + SELF_REPORTED, unit="Bps", min=0), 8, 8)
    d.add(timeseries("Eval scores", [q(f"psyche_run_eval_score{{{S}}}", "{{eval}}")],
                     "Mean score per eval over the reports of the newest witnessed step that carry it, one "
                     "series per eval. " + SELF_REPORTED, decimals=3), 8, 8)
    d.add(timeseries("Learning rate over time", [q(f"psyche_run_learning_rate{{{S}}}", "learning rate")],
                     "Not self-reported: the on-chain lr_schedule at the step in progress, evaluated as "
                     "Psyche's get_lr.", unit="sci", min=0), 8, 8)
    d.add(timeseries("ETA over time", [q(f"psyche_run_eta_seconds{{{S}}}", "ETA")],
                     "Time to the end of the run at the witnesses' reported speed. That speed is "
                     "self-reported by the run's witnesses and not checked on chain.", unit="s", min=0), 8, 8)
    d.add(timeseries("Witnessed step vs step",
                     [q(f"psyche_run_witness_step{{{S}}}", "witnessed step"),
                      q(f"psyche_run_step{{{S}}}", "step")],
                     "The newest step with a witness report read, against the step in progress on chain: "
                     "a widening gap means reports are not landing or not being read. The step a report "
                     "names is self-reported by the run's witnesses and not checked on chain.",
                     unit="none", interp="stepAfter"), 8, 8)
    d.add(timeseries("Witness reports",
                     [q(f"psyche_run_witness_reports{{{S}}}", "reports"),
                      q(f"psyche_run_witness_finite_loss_reports{{{S}}}", "finite-loss reports")],
                     "Reports of the newest witnessed step that were averaged, and how many had a finite loss "
                     "(a witness without a loss sends +inf). " + SELF_REPORTED,
                     interp="stepAfter", min=0, decimals=0), 8, 8)


def run():
    d = Dash("psyche-run", "Psyche / Run",
             "One training run: state, progress, throughput, clients, checkpoints, rewards, treasury.",
             variables=[
                 query_var("program", "Program", "label_values(psyche_run_info, program)"),
                 query_var("run_id", "Run", 'label_values(psyche_run_info{program="$program"}, run_id)'),
             ], time_from="now-24h")
    S = RUN
    d.row("State")
    d.add(stat("State", [q(f"psyche_run_state{{{S}}} == 1", "{{state}}")],
               "The run's current state (the one psyche_run_state series that is 1).",
               text_mode="name", color_mode="background", overrides=color_overrides(STATES)), 4, 4)
    d.add(stat("Step", [q(f"psyche_run_step{{{S}}}")], "The step in progress.", unit="none"), 3, 4)
    d.add(stat("Total steps", [q(f"psyche_run_total_steps{{{S}}}")], "Configured total steps.",
               unit="none", thresholds=th("blue")), 3, 4)
    d.add(gauge("Progress", [q(f"psyche_run_progress_ratio{{{S}}}")], "(step − 1) / total_steps.",
                thresholds=th("blue", (1, "green"))), 3, 4)
    d.add(stat("Epoch", [q(f"psyche_run_epoch{{{S}}}")], "Current epoch.", unit="none",
               thresholds=th("blue")), 2, 4)
    d.add(stat("Round height", [q(f"psyche_run_round_height{{{S}}}")], "Current round's height in the epoch.",
               thresholds=th("blue")), 2, 4)
    d.add(stat("Pause pending", [q(f"psyche_run_pending_pause{{{S}}}")],
               "Whether a pause takes effect at the end of the epoch.",
               mappings=[vmap({0: ("no", "green"), 1: ("at epoch end", "orange")})]), 3, 4)
    d.add(stat("Estimated time to finish",
               [q(f"(psyche_run_total_steps{{{S}}} - psyche_run_step{{{S}}} + 1) / deriv(psyche_run_step{{{S}}}[$__range])",
                  instant=True)],
               "Remaining steps at the pace over the dashboard's time range.", unit="s",
               mappings=[rmap(None, 0, "—", index=0), rmap(10 * 365 * 86400, None, "no progress", "orange", 1),
                         {"type": "special", "options": {"match": "nan", "result": {"text": "—", "index": 2}}}],
               thresholds=th("blue")), 4, 4)

    d.add(state_timeline(
        "State timeline",
        [q("sum(\n  " + "\n  or ".join(f'psyche_run_state{{{S},state="{n}"}} * {i + 1}'
                                        for i, (n, _) in enumerate(STATES)) + "\n)", "state")],
        [vmap({**{0: ("unknown", "red")}, **{i + 1: (n, c) for i, (n, c) in enumerate(STATES)}})],
        "The run's state over time (one row; a state this exporter does not know shows as unknown)."), 24, 4)

    d.add(table("Run", [q(f"psyche_run_info{{{S}}}", table=True),
                        q(f"psyche_run_parameters{{{S}}}", table=True),
                        q(f"psyche_run_sequence_length{{{S}}}", table=True),
                        q(f"psyche_run_tokens_per_step{{{S}}}", table=True),
                        q(f"psyche_run_registered_clients{{{S}}}", table=True)],
                "The run's metadata.",
                exclude=["Value #A", "__name__", "job", "instance"],
                order=["run_id", "name", "program", "account", "layout", "architecture", "data_type",
                       "client_version"],
                rename={"Value #B": "parameters", "Value #C": "sequence length",
                        "Value #D": "tokens per step", "Value #E": "registered clients"}), 24, 4)

    d.row("Progress")
    d.add(timeseries("Step over time", [q(f"psyche_run_step{{{S}}}", "step"),
                              q(f"psyche_run_total_steps{{{S}}}", "total steps")],
                     "Step in progress against the configured total.", interp="stepAfter",
                     overrides=[col("total steps", {"id": "custom.lineStyle",
                                                    "value": {"fill": "dash", "dash": [10, 10]}})]), 8, 8)
    d.add(timeseries("Tokens over time", [q(f"psyche_run_tokens_trained{{{S}}}", "trained"),
                                q(f"psyche_run_total_tokens{{{S}}}", "total")],
                     "Tokens trained against the run's total.",
                     overrides=[col("total", {"id": "custom.lineStyle",
                                              "value": {"fill": "dash", "dash": [10, 10]}})]), 8, 8)
    d.add(stat("Steps in range",
               [q(f"max_over_time(psyche_run_step{{{S}}}[$__range]) - min_over_time(psyche_run_step{{{S}}}[$__range])",
                  instant=True)],
               "Steps completed within the dashboard's time range.", thresholds=th("blue")), 4, 4)
    d.add(stat("Tokens in range",
               [q(f"max_over_time(psyche_run_tokens_trained{{{S}}}[$__range]) - min_over_time(psyche_run_tokens_trained{{{S}}}[$__range])",
                  instant=True)],
               "Tokens trained within the dashboard's time range.", thresholds=th("blue")), 4, 4)
    d.add(stat("Time in state", [q(f"time() - psyche_run_state_start_timestamp_seconds{{{S}}}")],
               "Since the current state was entered (cluster clock).", unit="s", thresholds=th("blue")), 4, 4)
    d.add(stat("Epoch started", [q(f"psyche_run_epoch_start_timestamp_seconds{{{S}}} * 1000")],
               "When the current epoch started (v1 layout).", unit="dateTimeFromNow", thresholds=th("blue")), 4, 4)
    d.add(timeseries("Throughput: steps per hour",
                     [q(f"deriv(psyche_run_step{{{S}}}[$__rate_interval]) * 3600", "steps/h")],
                     "Slope of psyche_run_step.", min=0, decimals=1), 12, 8)
    d.add(timeseries("Throughput: tokens per second",
                     [q(f"deriv(psyche_run_tokens_trained{{{S}}}[$__rate_interval])", "tokens/s")],
                     "Slope of psyche_run_tokens_trained.", min=0), 12, 8)

    telemetry_row(d, S)

    d.row("Phase")
    d.add(stat("Phase deadline", [q(f"psyche_run_phase_deadline_timestamp_seconds{{{S}}} * 1000")],
               "State start + that phase's timeout (warmup, round_train, round_witness, cooldown only).",
               unit="dateTimeFromNow", thresholds=th("blue")), 5, 4)
    d.add(stat("Time left in phase", [q(f"psyche_run_phase_deadline_timestamp_seconds{{{S}}} - time()")],
               f"Negative: the deadline has passed and nobody has ticked the run (red past −{OVERDUE} s, "
               "where PsycheRunPhaseOverdue fires).", unit="s",
               thresholds=th("red", (-OVERDUE, "orange"), (0, "green"))), 5, 4)
    d.add(stat("Epoch time", [q(f"psyche_run_epoch_time_seconds{{{S}}}")],
               "Configured epoch duration (v1 layout): one checkpoint per epoch.", unit="s",
               thresholds=th("blue")), 4, 4)
    d.add(bargauge("Phase timeouts", [q(f"psyche_run_phase_timeout_seconds{{{S}}}", "{{phase}}", instant=True)],
                   "Configured timeout of each phase.", unit="s", thresholds=th("blue")), 10, 4)
    d.add(timeseries("Phase deadline vs now",
                     [q(f"psyche_run_phase_deadline_timestamp_seconds{{{S}}} - time()", "seconds to deadline")],
                     "Seconds until the current phase's deadline; below zero the run is overdue.",
                     unit="s", thresholds=th("red", (-OVERDUE, "orange"), (0, "green")), threshold_style="line+area",
                     interp="linear"), 24, 7)

    d.row("Clients")
    d.add(timeseries("Clients by health", [q(f"psyche_run_epoch_clients{{{S}}}", "{{state}}"),
                                           q(f"psyche_run_min_clients{{{S}}}", "min clients"),
                                           q(f"psyche_run_init_min_clients{{{S}}}", "init min clients")],
                     "The current epoch's clients by health (detail tier) against min_clients.",
                     interp="stepAfter", min=0, decimals=0,
                     overrides=color_overrides(CLIENT_STATES) + [
                         col(n, {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                             {"id": "color", "value": {"mode": "fixed", "fixedColor": c}})
                         for n, c in (("min clients", "red"), ("init min clients", "orange"))]), 12, 8)
    d.add(timeseries("Exited, pending and registered clients",
                     [q(f"psyche_run_exited_clients{{{S}}}", "exited {{state}}"),
                      q(f"psyche_run_pending_clients{{{S}}}", "pending"),
                      q(f"psyche_run_registered_clients{{{S}}}", "registered")],
                     "Clients that left the epoch, waiting joiners, and everyone ever registered.",
                     interp="stepAfter", min=0, decimals=0), 12, 8)
    d.add(timeseries("Witnesses and round height", [q(f"psyche_run_witnesses{{{S}}}", "witnesses"),
                                   q(f"psyche_run_round_height{{{S}}}", "round height")],
                     "Witnesses received in the current round, and the round's height.",
                     interp="stepAfter", min=0, decimals=0), 12, 7)
    d.add(stat("Healthy clients", [q(f'psyche_run_epoch_clients{{{S},state="healthy"}}')],
               "Healthy clients in the current epoch (detail tier).", graph="area",
               thresholds=th("red", (1, "green"))), 4, 7)
    d.add(stat("Min clients", [q(f"psyche_run_min_clients{{{S}}}")], "Clients needed to keep training.",
               thresholds=th("blue")), 4, 7)
    d.add(stat("Witnesses this round", [q(f"psyche_run_witnesses{{{S}}}")], "Witnesses received this round.",
               thresholds=th("blue")), 4, 7)

    d.row("Checkpoints")
    d.add(stat("Checkpoint step", [q(f"psyche_run_checkpoint_step{{{S}}}")],
               "Step N of the Hub commit the chain records.", unit="none", thresholds=th("blue")), 4, 4)
    d.add(stat("Checkpoint lag (steps)", [q(f"psyche_run_checkpoint_lag_steps{{{S}}}")],
               "psyche_run_step − psyche_run_checkpoint_step.", unit="none", thresholds=th("blue")), 4, 4)
    d.add(stat("On the Hub", [q(f"psyche_run_checkpoint_verified{{{S}}}")],
               "Whether the on-chain revision exists in the repo.", color_mode="background",
               mappings=[vmap({0: ("missing", "red"), 1: ("verified", "green")})]), 4, 4)
    d.add(stat("Checkpoint age", [q(f"time() - psyche_run_checkpoint_timestamp_seconds{{{S}}}")],
               "Age of the checkpoint commit.", unit="s", thresholds=CKPT_AGE_TH), 4, 4)
    d.add(stat("Expected cadence", [q(f"psyche:run_checkpoint_cadence_seconds{{{S}}}")],
               "Expected seconds between checkpoints (recording rule, from the epoch time and timeouts).",
               unit="s", thresholds=th("blue")), 4, 4)
    d.add(stat("Age / cadence",
               [q(f"(time() - psyche_run_checkpoint_timestamp_seconds{{{S}}}) / on(program, run_id) "
                  f"psyche:run_checkpoint_cadence_seconds{{{S}}}")],
               f"Checkpoint age in expected checkpoint intervals; PsycheCheckpointStale fires past {STALE_CADENCES} "
               "while the run trains (counted from the end of a pause when that is later).", unit="suffix:×",
               decimals=2, thresholds=CKPT_AGE_TH), 4, 4)
    d.add(timeseries("Checkpoint history",
                     [q(f"psyche_run_step{{{S}}}", "step"), q(f"psyche_run_checkpoint_step{{{S}}}", "checkpoint step")],
                     "The step in progress and the step of the checkpoint on the Hub.", interp="stepAfter"), 8, 8)
    d.add(timeseries("Checkpoint lag over time",
                     [q(f"psyche_run_checkpoint_lag_steps{{{S}}}", "lag (steps)"),
                      q(f"{LAG_EPOCHS} * psyche:run_steps_per_epoch{{{S}}}", "alert threshold")],
                     "Steps since the checkpoint the chain records, against PsycheCheckpointLagging's threshold: "
                     f"{LAG_EPOCHS} × the run's own steps per epoch (recording rule psyche:run_steps_per_epoch).",
                     interp="stepAfter", min=0,
                     overrides=[col("alert threshold", {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}})]), 8, 8)
    d.add(timeseries("Checkpoint age vs cadence",
                     [q(f"time() - psyche_run_checkpoint_timestamp_seconds{{{S}}}", "age"),
                      q(f"psyche:run_checkpoint_cadence_seconds{{{S}}}", "expected cadence"),
                      q(f"{STALE_CADENCES} * psyche:run_checkpoint_cadence_seconds{{{S}}}", "alert threshold")],
                     "Age of the checkpoint commit against the expected time between checkpoints and "
                     f"PsycheCheckpointStale's threshold ({STALE_CADENCES} × the cadence, while the run trains).",
                     unit="s", min=0,
                     overrides=[col("expected cadence", {"id": "custom.lineStyle",
                                                         "value": {"fill": "dash", "dash": [10, 10]}}),
                                col("alert threshold", {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}})]), 8, 8)
    d.add(table("Checkpoint on chain",
                [q(f"psyche_run_checkpoint_info{{{S}}}", table=True),
                 q(f"psyche_run_checkpoint_verified{{{S}}}", table=True)],
                "The checkpoint the chain records (repo and revision) and whether the Hub has it.",
                exclude=["Value #A", "__name__", "job", "instance", "program"],
                order=["run_id", "kind", "repo", "revision", "Value #B"],
                rename={"Value #B": "on the Hub"},
                overrides=[col("on the Hub", cell("color-background", mode="basic"),
                               mappings=[vmap({0: ("missing", "red"), 1: ("verified", "green")})])]), 24, 4)

    d.row("Rewards and treasury")
    d.add(timeseries("Reward points", [q(f"psyche_run_rewards_earned_points{{{S}}}", "earned"),
                                       q(f"psyche_run_rewards_slashed_points{{{S}}}", "slashed")],
                     "Points earned and slashed by all registered clients (detail tier).",
                     overrides=color_overrides([("earned", "green"), ("slashed", "red")])), 8, 8)
    d.add(timeseries("Earning rate", [q(f"psyche_run_epoch_earning_rate_points{{{S}}}", "per epoch"),
                                      q(f"deriv(psyche_run_rewards_earned_points{{{S}}}[$__rate_interval]) * 3600", "earned per hour")],
                     "Points shared among each epoch's healthy finishers, and points earned per hour.", min=0), 8, 8)
    d.add(stat("Funded epochs", [q('psyche_treasurer_funded_epochs{run_id="$run_id"}')],
               "Epochs the run's treasury can still fund (treasurer series are matched on run_id only: "
               "their program label is the treasurer program). Red below PsycheTreasuryLow's threshold.",
               thresholds=TREASURY_TH), 4, 4)
    d.add(stat("Treasury runway",
               [q('psyche_treasurer_funded_epochs{run_id="$run_id"} * on(run_id) group_left() '
                  f"psyche_run_epoch_time_seconds{{{S}}}")],
               "Funded epochs × epoch time.", unit="s",
               thresholds=th("red", (86400, "orange"), (7 * 86400, "green"))), 4, 4)
    d.add(stat("Treasury vault balance", [q('psyche_treasurer_vault_balance_tokens{run_id="$run_id"}')],
               "Collateral tokens in the treasury's vault.", thresholds=th("blue")), 4, 4)
    d.add(stat("Points claimed / unclaimed",
               [q('psyche_treasurer_claimed_points{run_id="$run_id"}', "claimed"),
                q('psyche_treasurer_unclaimed_points{run_id="$run_id"}', "unclaimed")],
               "Reward points claimed from the treasury and still unclaimed.", thresholds=th("blue"),
               text_mode="value_and_name"), 4, 4)
    d.add(timeseries("Treasury runway over time",
                     [q('psyche_treasurer_funded_epochs{run_id="$run_id"}', "funded epochs")],
                     "Funded epochs left in the run's treasury.", min=0, decimals=0,
                     thresholds=th("red", (TREASURY_EPOCHS, "green")), threshold_style="line"), 8, 7)
    d.add(timeseries("Treasury vault over time",
                     [q('psyche_treasurer_vault_balance_tokens{run_id="$run_id"}', "vault")],
                     "Collateral tokens in the treasury's vault.", min=0), 8, 7)
    d.add(timeseries("Treasury points",
                     [q('psyche_treasurer_claimed_points{run_id="$run_id"}', "claimed"),
                      q('psyche_treasurer_unclaimed_points{run_id="$run_id"}', "unclaimed")],
                     "Reward points claimed and unclaimed.", min=0), 8, 7)

    d.row("Alerts")
    d.add(table("Alerts firing for this run",
                [q('ALERTS{alertname=~"Psyche.*",alertstate="firing",run_id="$run_id"}', table=True)],
                "Psyche alerts firing for this run.",
                exclude=["Value", "__name__", "alertstate"], order=["alertname", "severity"]), 24, 5)
    return d


# ================================================================ Checkpoints & models


def checkpoints():
    d = Dash("psyche-checkpoints", "Psyche / Checkpoints & models",
             "HuggingFace repos of Psyche models and runs: pushes, checkpoints, downloads, likes, storage; "
             "and each run's on-chain checkpoint checked against the Hub.", time_from="now-7d", refresh="5m")
    d.row("Hub")
    d.add(stat("Repo count", [q("count(psyche_hf_model_info)")], "Models the Hub answered for.",
               thresholds=th("blue")), 4, 4)
    d.add(stat("Repos not readable", [q('count(psyche_hf_model_state{state!="ok"} == 1) or vector(0)')],
               "Repos the Hub answered 401/403/404 for.", thresholds=th("green", (1, "orange"))), 4, 4)
    d.add(stat("Downloads (30 days, all repos)", [q("sum(psyche_hf_model_downloads)")],
               "Downloads in the last 30 days, summed over repos.", thresholds=th("blue")), 4, 4)
    d.add(stat("Likes (all repos)", [q("sum(psyche_hf_model_likes)")], "Likes, summed over repos.",
               thresholds=th("blue")), 4, 4)
    d.add(stat("Storage (all repos)", [q("sum(psyche_hf_model_storage_bytes)")], "Storage of every revision of every repo.",
               unit="bytes", thresholds=th("blue")), 4, 4)
    d.add(stat("Hub rate-limited",
               [q('sum(rate(psyche_exporter_collector_poll_errors_total{collector="huggingface",kind="rate_limited"}[$__rate_interval]))')],
               "HTTP 429 answers from the Hub per second.", unit="reqps",
               thresholds=th("green", (1e-9, "orange"))), 4, 4)

    d.add(table(
        "Repos",
        [
            q("psyche_hf_model_info", table=True),
            q("psyche_hf_model_state == 1", table=True),
            q("psyche_hf_model_last_modified_timestamp_seconds * 1000", table=True),
            q("psyche_hf_checkpoint_step", table=True),
            q("psyche_hf_checkpoint_timestamp_seconds * 1000", table=True),
            q("psyche_hf_model_downloads", table=True),
            q("psyche_hf_model_likes", table=True),
            q("psyche_hf_model_storage_bytes", table=True),
            q("psyche_hf_model_parameters", table=True),
            q("psyche_hf_model_commits", table=True),
        ],
        "One row per repo. Checkpoint = newest `step <N>` commit on main.",
        exclude=["Value #A", "Value #B", "__name__", "job", "instance"],
        order=["repo", "state", "Value #C", "Value #D", "Value #E", "Value #F", "Value #G", "Value #H",
               "Value #I", "Value #J", "pipeline_tag", "library"],
        rename={"Value #C": "last push", "Value #D": "checkpoint step", "Value #E": "checkpoint time",
                "Value #F": "downloads (30d)", "Value #G": "likes", "Value #H": "storage",
                "Value #I": "parameters", "Value #J": "commits"},
        sort=("last push", True),
        overrides=[
            col("state", cell("color-background", mode="basic"), mappings=[REPO_STATE_MAP]),
            col("last push", unit="dateTimeFromNow"),
            col("checkpoint time", unit="dateTimeFromNow"),
            col("storage", unit="bytes"),
            col("parameters", unit="short"),
        ],
    ), 24, 10)

    d.add(timeseries("Newest checkpoint step", [q("psyche_hf_checkpoint_step", "{{repo}}")],
                     "N of the newest `step <N>` commit on main, per repo.", interp="stepAfter"), 12, 8)
    d.add(timeseries("Time since last push", [q("time() - psyche_hf_model_last_modified_timestamp_seconds", "{{repo}}")],
                     "Seconds since each repo's lastModified.", unit="s", min=0), 12, 8)
    d.add(timeseries("Downloads (30 days)", [q("psyche_hf_model_downloads", "{{repo}}")],
                     "Downloads in the last 30 days as the Hub counts them.", min=0), 8, 8)
    d.add(timeseries("Likes", [q("psyche_hf_model_likes", "{{repo}}")], "Likes per repo.", min=0,
                     interp="stepAfter", decimals=0), 8, 8)
    d.add(bargauge("Storage", [q("psyche_hf_model_storage_bytes", "{{repo}}", instant=True)],
                   "usedStorage: every revision of the repo.", unit="bytes", thresholds=th("blue")), 8, 8)
    d.add(bargauge("Parameters", [q("psyche_hf_model_parameters", "{{repo}}", instant=True)],
                   "safetensors.total (absent without safetensors).", thresholds=th("purple")), 12, 7)
    d.add(state_timeline("Repo state", [q("psyche_hf_model_state == 1", "{{repo}} {{state}}")],
                         [vmap({1: ("", None)})],
                         "What the Hub said about each repo over time (ok, unauthorized, not_found).",
                         overrides=[{"matcher": {"id": "byRegexp", "options": f".* {n}$"},
                                     "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": c}},
                                                    {"id": "mappings", "value": [vmap({1: (n, c)})]}]}
                                    for n, c in REPO_STATES]), 12, 7)

    d.row("Runs against the Hub")
    d.add(table(
        "Run checkpoints",
        [
            q("psyche_run_checkpoint_info", table=True),
            q("psyche_run_checkpoint_verified", table=True),
            q("psyche_run_checkpoint_step", table=True),
            q("psyche_run_step", table=True),
            q(LAG_EPOCHS_EXPR, table=True),
            q(CKPT_AGE_RATIO, table=True),
        ],
        "Each run's checkpoint as recorded on chain, checked against the Hub. Lag in epochs of the run's own "
        f"steps per epoch (red from {LAG_EPOCHS}, PsycheCheckpointLagging); age in expected checkpoint "
        f"intervals (red from {STALE_CADENCES}, PsycheCheckpointStale).",
        exclude=["Value #A", "__name__", "job", "instance"],
        order=["run_id", "kind", "repo", "revision", "Value #B", "Value #C", "Value #D", "Value #E",
               "Value #F", "program"],
        rename={"Value #B": "on the Hub", "Value #C": "checkpoint step", "Value #D": "run step",
                "Value #E": "lag (epochs)", "Value #F": "age (cadences)"},
        overrides=[
            col("run_id", links=RUN_LINK),
            col("on the Hub", cell("color-background", mode="basic"),
                mappings=[vmap({0: ("missing", "red"), 1: ("verified", "green")})]),
            col("lag (epochs)", cell("color-text"), decimals=2, thresholds=LAG_TH),
            col("age (cadences)", cell("color-text"), decimals=2, thresholds=CKPT_AGE_TH),
        ],
    ), 24, 8)
    d.add(timeseries("Checkpoint age by run", [q("time() - psyche_run_checkpoint_timestamp_seconds", "{{run_id}}")],
                     "Age of each run's checkpoint commit.", unit="s", min=0), 12, 8)
    d.add(timeseries("Checkpoint lag by run", [q("psyche_run_checkpoint_lag_steps", "{{run_id}}")],
                     "Steps since each run's checkpoint.", min=0, interp="stepAfter"), 12, 8)
    return d


# ================================================================ Funding


def funding():
    d = Dash("psyche-funding", "Psyche / Funding",
             "The mining pool (mainnet-beta) that funds training, and each run's treasury.",
             time_from="now-7d", refresh="5m")
    d.row("Mining pool")
    d.add(stat("Pool count", [q("count(psyche_pool_info)")], "Mining pools the exporter reads.",
               thresholds=th("blue")), 3, 4)
    d.add(stat("Deposited", [q("sum(psyche_pool_deposited_tokens)")], "Collateral deposited, all pools.",
               thresholds=th("blue"), graph="area"), 4, 4)
    d.add(stat("Capacity", [q("sum(psyche_pool_max_deposit_tokens)")], "Maximum deposits, all pools.",
               thresholds=th("blue")), 4, 4)
    d.add(stat("Remaining capacity (all pools)", [q("sum(psyche_pool_remaining_tokens)")],
               "Deposits still accepted, all pools.", thresholds=th("blue")), 4, 4)
    d.add(stat("Lenders (all pools)", [q("sum(psyche_pool_lenders)")], "Lenders, all pools.", thresholds=th("blue"),
               graph="area"), 3, 4)
    d.add(stat("Frozen pools", [q("sum(psyche_pool_frozen)")], "Pools whose deposits are frozen.",
               thresholds=th("green", (1, "orange"))), 3, 4)
    d.add(stat("Claiming open", [q("sum(psyche_pool_claiming_enabled)")], "Pools where lenders can claim.",
               thresholds=th("blue")), 3, 4)

    d.add(table(
        "Pools",
        [
            q("psyche_pool_info", table=True),
            q("psyche_pool_fill_ratio", table=True),
            q("psyche_pool_max_deposit_tokens", table=True),
            q("psyche_pool_deposited_tokens", table=True),
            q("psyche_pool_remaining_tokens", table=True),
            q("psyche_pool_extracted_tokens", table=True),
            q("psyche_pool_vault_balance_tokens", table=True),
            q("psyche_pool_claimed_redeemable_tokens", table=True),
            q("psyche_pool_lenders", table=True),
            q("psyche_pool_frozen", table=True),
            q("psyche_pool_claiming_enabled", table=True),
        ],
        "One row per pool. Amounts are collateral tokens (UI units).",
        exclude=["Value #A", "__name__", "job", "instance"],
        order=["pool", "index", "Value #B", "Value #C", "Value #D", "Value #E", "Value #F", "Value #G",
               "Value #H", "Value #I", "Value #J", "Value #K", "collateral_mint", "program"],
        rename={"Value #B": "fill", "Value #C": "capacity", "Value #D": "deposited", "Value #E": "remaining",
                "Value #F": "extracted", "Value #G": "vault", "Value #H": "claimed redeemable",
                "Value #I": "lenders", "Value #J": "deposits", "Value #K": "claiming"},
        overrides=[
            col("fill", cell("gauge", mode="basic", valueDisplayMode="text"), unit="percentunit", min=0, max=1,
                thresholds=POOL_FILL_TH, **{"custom__width": 200}),
            col("deposits", cell("color-background", mode="basic"),
                mappings=[vmap({0: ("open", "green"), 1: ("frozen", "orange")})]),
            col("claiming", cell("color-background", mode="basic"),
                mappings=[vmap({0: ("closed", "text"), 1: ("enabled", "blue")})]),
        ],
    ), 24, 6)
    d.add(bargauge("Fill", [q("psyche_pool_fill_ratio", "{{pool}}", instant=True)],
                   f"Deposited / max deposit (orange from {POOL_ALMOST_FULL:.0%}: PsycheMiningPoolAlmostFull).",
                   unit="percentunit", min=0, max=1, thresholds=POOL_FILL_TH), 8, 7)
    d.add(timeseries("Deposits against capacity",
                     [q("psyche_pool_deposited_tokens", "{{pool}} deposited"),
                      q("psyche_pool_max_deposit_tokens", "{{pool}} capacity")],
                     "Deposited collateral against each pool's maximum.", min=0,
                     overrides=[{"matcher": {"id": "byRegexp", "options": ".* capacity$"},
                                 "properties": [{"id": "custom.lineStyle",
                                                 "value": {"fill": "dash", "dash": [10, 10]}}]}]), 8, 7)
    d.add(timeseries("Remaining capacity", [q("psyche_pool_remaining_tokens", "{{pool}}")],
                     "Deposits each pool still accepts.", min=0), 8, 7)
    d.add(timeseries("Vault and extracted",
                     [q("psyche_pool_vault_balance_tokens", "{{pool}} vault"),
                      q("psyche_pool_extracted_tokens", "{{pool}} extracted"),
                      q("psyche_pool_claimed_redeemable_tokens", "{{pool}} claimed redeemable")],
                     "Collateral in the vault, extracted to fund training, and redeemable tokens claimed.",
                     min=0), 8, 7)
    d.add(timeseries("Lenders", [q("psyche_pool_lenders", "{{pool}}")], "Lenders per pool.", min=0,
                     decimals=0, interp="stepAfter"), 8, 7)
    d.add(state_timeline("Pool flags",
                         [q("psyche_pool_frozen", "{{pool}} deposits"),
                          q("psyche_pool_claiming_enabled", "{{pool}} claiming")],
                         [],
                         "Whether deposits are frozen and claiming is enabled, over time.",
                         overrides=[
                             {"matcher": {"id": "byRegexp", "options": ".* deposits$"},
                              "properties": [{"id": "mappings", "value": [vmap({0: ("open", "green"),
                                                                                1: ("frozen", "orange")})]}]},
                             {"matcher": {"id": "byRegexp", "options": ".* claiming$"},
                              "properties": [{"id": "mappings", "value": [vmap({0: ("closed", "text"),
                                                                                1: ("enabled", "blue")})]}]},
                         ]), 8, 7)

    d.row("Run treasuries")
    d.add(table(
        "Treasuries",
        [
            q("psyche_treasurer_run_info", table=True),
            q("psyche_treasurer_funded_epochs", table=True),
            q("psyche_treasurer_vault_balance_tokens", table=True),
            q("psyche_treasurer_claimed_points", table=True),
            q("psyche_treasurer_unclaimed_points", table=True),
        ],
        "One row per run treasury (treasurer program, devnet).",
        exclude=["Value #A", "__name__", "job", "instance"],
        order=["run_id", "Value #B", "Value #C", "Value #D", "Value #E", "treasurer_run", "collateral_mint",
               "program"],
        rename={"Value #B": "funded epochs", "Value #C": "vault", "Value #D": "points claimed",
                "Value #E": "points unclaimed"},
        overrides=[col("funded epochs", cell("color-background", mode="basic"),
                       thresholds=TREASURY_TH)],
    ), 24, 6)
    d.add(bargauge("Funded epochs", [q("psyche_treasurer_funded_epochs", "{{run_id}}", instant=True)],
                   "Epochs each treasury can still fund.", decimals=0,
                   thresholds=TREASURY_TH), 8, 7)
    d.add(timeseries("Treasury vaults", [q("psyche_treasurer_vault_balance_tokens", "{{run_id}}")],
                     "Collateral tokens in each treasury's vault.", min=0), 8, 7)
    d.add(timeseries("Treasury points",
                     [q("psyche_treasurer_claimed_points", "{{run_id}} claimed"),
                      q("psyche_treasurer_unclaimed_points", "{{run_id}} unclaimed")],
                     "Reward points claimed and unclaimed per treasury.", min=0), 8, 7)
    return d


# ================================================================ Solana RPC


def solana():
    d = Dash("psyche-solana", "Psyche / Solana RPC",
             "Health of every Solana RPC endpoint the exporter reads from or watches.", time_from="now-6h",
             refresh="30s")
    d.row("Endpoints")
    d.add(stat("Endpoints up", [q("sum(psyche_solana_rpc_up)")], "Endpoints whose getHealth answered ok.",
               thresholds=th("red", (1, "green"))), 4, 4)
    d.add(stat("Endpoints down", [q("count(psyche_solana_rpc_up == 0) or vector(0)")],
               "Endpoints that did not answer ok.", thresholds=th("green", (1, "red"))), 4, 4)
    d.add(stat("Worst latency", [q("max(psyche_solana_rpc_latency_seconds)")], "Slowest getHealth round trip.",
               unit="s", thresholds=th("green", (0.5, "yellow"), (2, "red"))), 4, 4)
    d.add(stat("Most slots behind", [q("max(psyche_solana_slots_behind)")],
               "The endpoint furthest behind its cluster.",
               thresholds=SLOTS_TH), 4, 4)
    d.add(stat("Clusters", [q("count(count by (cluster) (psyche_solana_rpc_info))")],
               "Distinct clusters among the watched endpoints.", thresholds=th("blue")), 4, 4)
    d.add(stat("Epoch", [q("max(psyche_solana_epoch)")], "Highest current epoch among endpoints.",
               thresholds=th("blue")), 4, 4)
    d.add(table(
        "Endpoints",
        [
            q("psyche_solana_rpc_info", table=True),
            q("psyche_solana_rpc_up", table=True),
            q("psyche_solana_rpc_latency_seconds", table=True),
            q('max by (endpoint) (psyche_solana_slot{commitment="confirmed"})', table=True),
            q("psyche_solana_slots_behind", table=True),
            q("psyche_solana_transactions_per_second", table=True),
            q("psyche_solana_epoch", table=True),
            q("psyche_solana_epoch_progress_ratio", table=True),
        ],
        "One row per endpoint (scheme://host[:port] only; never the full URL).",
        exclude=["Value #A", "__name__", "job", "instance"],
        order=["endpoint", "cluster", "version", "Value #B", "Value #C", "Value #D", "Value #E", "Value #F",
               "Value #G", "Value #H"],
        rename={"Value #B": "health", "Value #C": "latency", "Value #D": "confirmed slot",
                "Value #E": "slots behind", "Value #F": "TPS", "Value #G": "epoch", "Value #H": "epoch progress"},
        overrides=[
            col("health", cell("color-background", mode="basic"), mappings=[UP_MAP]),
            col("latency", cell("color-text"), unit="s", thresholds=th("green", (0.5, "yellow"), (2, "red"))),
            col("confirmed slot", unit="none"),
            col("slots behind", cell("color-text"), thresholds=SLOTS_TH),
            col("epoch progress", cell("gauge", mode="basic", valueDisplayMode="text"), unit="percentunit",
                min=0, max=1, thresholds=th("blue")),
        ],
    ), 24, 7)
    d.add(state_timeline("Up", [q("psyche_solana_rpc_up", "{{endpoint}}")], [UP_MAP],
                         "getHealth ok (up) or not (down) per endpoint."), 24, 5)

    d.row("Latency and slots")
    d.add(timeseries("getHealth latency", [q("psyche_solana_rpc_latency_seconds", "{{endpoint}}")],
                     "Round trip of getHealth.", unit="s", min=0,
                     thresholds=th("green", (0.5, "yellow"), (2, "red")), threshold_style="dashed"), 12, 8)
    d.add(timeseries("Slots behind", [q("psyche_solana_slots_behind", "{{endpoint}}")],
                     "Slots behind the cluster (the node's own numSlotsBehind, else against the highest watched "
                     "endpoint of its cluster).", min=0, thresholds=SLOTS_TH,
                     threshold_style="dashed"), 12, 8)
    d.add(timeseries("Slots by commitment", [q("psyche_solana_slot", "{{endpoint}} {{commitment}}")],
                     "Latest slot at processed, confirmed and finalized.", unit="none"), 8, 8)
    d.add(timeseries("Slot rate", [q('rate(psyche_solana_slot{commitment="confirmed"}[$__rate_interval])',
                                     "{{endpoint}}")],
                     "Confirmed slots per second (≈2.5 on a healthy cluster).", min=0, decimals=2), 8, 8)
    d.add(timeseries("Finalization depth",
                     [q('psyche_solana_slot{commitment="processed"} - ignoring(commitment) '
                        'psyche_solana_slot{commitment="finalized"}', "{{endpoint}}")],
                     "Processed slot − finalized slot.", min=0, unit="none"), 8, 8)

    d.row("Cluster")
    d.add(timeseries("Transactions per second", [q("psyche_solana_transactions_per_second", "{{endpoint}}")],
                     "From the latest getRecentPerformanceSamples sample.", min=0), 8, 8)
    d.add(timeseries("Epoch progress", [q("psyche_solana_epoch_progress_ratio", "{{endpoint}}")],
                     "Slot index / slots in the epoch.", unit="percentunit", min=0, max=1), 8, 8)
    d.add(timeseries("Block height", [q("psyche_solana_block_height", "{{endpoint}}")],
                     "Block height (getEpochInfo, confirmed).", unit="none"), 8, 8)
    d.add(table("Cluster and version", [q("psyche_solana_rpc_info", table=True),
                                        q("psyche_solana_epoch", table=True),
                                        q("psyche_solana_block_height", table=True)],
                "Cluster (from the genesis hash) and solana-core version per endpoint.",
                exclude=["Value #A", "__name__", "job", "instance"],
                order=["endpoint", "cluster", "version"],
                rename={"Value #B": "epoch", "Value #C": "block height"},
                overrides=[col("block height", unit="none")]), 24, 6)
    return d


# ================================================================ Exporter


def exporter():
    d = Dash("psyche-exporter", "Psyche / Exporter",
             "psyche-exporter itself: collector health, poll durations, upstream errors, requests and bytes.",
             time_from="now-6h", refresh="30s")
    d.row("Collectors")
    d.add(stat("Exporter scrape", [q("up and on(job, instance) last_over_time(psyche_exporter_build_info[1d])")],
               "Prometheus' up for the exporter's target(s).", color_mode="background",
               mappings=[UP_MAP]), 4, 4)
    d.add(stat("Collectors up", [q("sum(psyche_exporter_collector_up)")],
               "Collectors whose latest poll succeeded completely.", thresholds=th("blue")), 4, 4)
    d.add(stat("Collectors failing", [q("count(psyche_exporter_collector_up == 0) or vector(0)")],
               "Collectors whose latest poll failed, entirely or in part.", thresholds=th("green", (1, "red"))), 4, 4)
    d.add(stat("Collectors not serving", [q("count(psyche_exporter_collector_serving == 0) or vector(0)")],
               "Collectors whose data was dropped after max age.", thresholds=th("green", (1, "red"))), 4, 4)
    d.add(stat("Upstream errors in range", [q("sum(increase(psyche_exporter_collector_poll_errors_total[$__range]))",
                                              instant=True)],
               "Failed upstream requests and polls within the time range.", decimals=0,
               thresholds=th("green", (1, "yellow"), (50, "red"))), 4, 4)
    d.add(stat("Upstream bytes in range", [q("sum(increase(psyche_exporter_upstream_bytes_total[$__range]))",
                                             instant=True)],
               "Response bytes received from upstreams within the time range.", unit="bytes",
               thresholds=th("blue")), 4, 4)
    d.add(table(
        "Collectors",
        [
            q("psyche_exporter_collector_up", table=True),
            q("psyche_exporter_collector_serving", table=True),
            q("(time() - psyche_exporter_collector_last_success_timestamp_seconds) "
              "/ psyche_exporter_collector_interval_seconds", table=True),
            q("psyche_exporter_collector_poll_duration_seconds", table=True),
            q("sum by (collector) (increase(psyche_exporter_collector_poll_errors_total[$__range]))", table=True),
        ],
        "One row per collector. Last success in poll intervals: red from "
        f"{STALE_INTERVALS}, where PsycheCollectorStale fires.",
        exclude=["__name__", "job", "instance"],
        order=["collector", "Value #A", "Value #B", "Value #C", "Value #D", "Value #E"],
        rename={"Value #A": "last poll", "Value #B": "data", "Value #C": "since success (intervals)",
                "Value #D": "poll duration", "Value #E": "errors in range"},
        overrides=[
            col("last poll", cell("color-background", mode="basic"),
                mappings=[vmap({0: ("failing", "red"), 1: ("ok", "green")})]),
            col("data", cell("color-background", mode="basic"),
                mappings=[vmap({0: ("dropped", "red"), 1: ("serving", "green")})]),
            col("since success (intervals)", cell("color-text"), decimals=1,
                thresholds=th("green", (1.5, "yellow"), (STALE_INTERVALS, "red"))),
            col("poll duration", unit="s"),
            col("errors in range", cell("color-text"), decimals=0, thresholds=th("green", (1, "yellow"), (50, "red"))),
        ],
    ), 24, 6)
    d.add(state_timeline("Collector up", [q("psyche_exporter_collector_up", "{{collector}}")],
                         [vmap({0: ("failing", "red"), 1: ("ok", "green")})],
                         "Whether each collector's latest poll succeeded."), 12, 6)
    d.add(state_timeline("Collector serving", [q("psyche_exporter_collector_serving", "{{collector}}")],
                         [vmap({0: ("dropped", "red"), 1: ("serving", "green")})],
                         "Whether each collector's data is exported (last good snapshot within max age)."), 12, 6)

    d.row("Polls")
    d.add(timeseries("Poll duration", [q("psyche_exporter_collector_poll_duration_seconds", "{{collector}}")],
                     "Duration of each collector's latest poll.", unit="s", min=0), 12, 8)
    d.add(timeseries("Time since last success",
                     [q("time() - psyche_exporter_collector_last_success_timestamp_seconds", "{{collector}}")],
                     "Seconds since each collector last published a snapshot.", unit="s", min=0), 12, 8)
    d.add(timeseries("Errors by kind", [q("rate(psyche_exporter_collector_poll_errors_total[$__rate_interval])",
                                          "{{collector}} {{kind}}")],
                     "Failed upstream requests and polls per second, by collector and kind "
                     "(timeout, http, status, rate_limited, decode, rpc, missing).",
                     unit="reqps", min=0, draw="bars", fill=80, stack=True, legend_calcs=["max", "lastNotNull"]), 16, 9)
    d.add(table("Errors in range",
                [q("sum by (collector, kind) (increase(psyche_exporter_collector_poll_errors_total[$__range]))",
                   table=True)],
                "Errors per collector and kind within the time range.",
                rename={"Value": "errors"}, sort=("errors", True),
                overrides=[col("errors", cell("color-text"), decimals=0,
                               thresholds=th("green", (1, "yellow"), (50, "red")))]), 8, 9)

    d.row("Upstreams")
    d.add(timeseries("Upstream requests",
                     [q("sum by (collector, method) (rate(psyche_exporter_upstream_requests_total[$__rate_interval]))",
                        "{{collector}} {{method}}")],
                     "Upstream requests per second by collector and method.", unit="reqps", min=0,
                     stack=True, fill=30), 12, 8)
    d.add(timeseries("Upstream bytes",
                     [q("sum by (collector) (rate(psyche_exporter_upstream_bytes_total[$__rate_interval]))",
                        "{{collector}}")],
                     "Response body bytes received per second.", unit="Bps", min=0, stack=True, fill=30), 12, 8)

    d.row("Telemetry")
    d.add(timeseries("Telemetry signatures by outcome",
                     [q("sum by (outcome) (rate(psyche_exporter_telemetry_signatures_total[$__rate_interval]))",
                        "{{outcome}}")],
                     "Signatures of active runs per second by what became of them: witness (a report read), "
                     "other (a tick or another instruction), failed (err set, never fetched), malformed "
                     "(a witness that does not decode), unsupported_version (-32015), not_found (null twice), "
                     "dropped (listed, never fetched: older than the newest witnessed step, or over the backlog "
                     "cap).", unit="short", min=0, stack=True, fill=30, legend_calcs=["max", "lastNotNull"]),
          16, 8)
    d.add(timeseries("Telemetry backlog", [q("psyche_exporter_telemetry_pending_signatures", "{{instance}}")],
                     "Signatures listed and not fetched yet: grows when new witness transactions outpace "
                     "--telemetry.max-transactions per poll.", min=0, decimals=0), 8, 8)

    d.row("Process")
    d.add(timeseries("Resident memory", [q("process_resident_memory_bytes", "resident"),
                                         q("process_virtual_memory_bytes", "virtual")],
                     "The exporter's resident and virtual memory (process_*, from /proc/self; Linux only).",
                     unit="bytes", min=0), 8, 7)
    d.add(timeseries("CPU", [q("rate(process_cpu_seconds_total[$__rate_interval])", "CPU")],
                     "CPU seconds per second the exporter uses (1 = one core).", unit="percentunit", min=0), 8, 7)
    d.add(timeseries("File descriptors", [q("process_open_fds", "open"), q("process_max_fds", "limit")],
                     "Open file descriptors (sockets included) against the soft limit.", min=0, decimals=0,
                     overrides=[col("limit", {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
                                    {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}})]), 8, 7)

    d.row("Build")
    d.add(table("Build", [q("psyche_exporter_build_info", table=True)], "Version and git revision running.",
                exclude=["Value", "__name__"], order=["instance", "job", "version", "revision"]), 20, 4)
    d.add(stat("Uptime", [q("time() - process_start_time_seconds")], "Since the exporter process started.",
               unit="s", thresholds=th("blue")), 4, 4)
    return d


def main():
    ap = argparse.ArgumentParser(description="Writes the dashboards.")
    ap.add_argument("--out", default=OUT, help="directory to write to (default: grafana/dashboards)")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    for name, fn in [("overview", overview), ("run", run), ("checkpoints", checkpoints),
                     ("funding", funding), ("solana", solana), ("exporter", exporter)]:
        path = os.path.join(out, f"psyche-{name}.json")
        with open(path, "w") as f:
            json.dump(fn().json(), f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(path)


if __name__ == "__main__":
    main()
