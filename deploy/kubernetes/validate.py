#!/usr/bin/env python3
"""Validates the manifests of deploy/kubernetes/kustomization.yaml (tests/run-all.sh).

Runs with PyYAML and kubernetes-validate (pinned in tests/run-all.sh, installed in a
throw-away venv):

- core kinds (Secret, ServiceAccount, Deployment, Service, ConfigMap): kubernetes-validate
  --strict against the Kubernetes OpenAPI schemas of the pinned version (unknown fields fail);
- ServiceMonitor and PrometheusRule (Prometheus Operator CRDs, which kubernetes-validate has
  no schema for, and no pinned package ships offline): a structural check of the fields this
  repository uses against the CRDs' monitoring.coreos.com/v1 schema — required fields, the
  allowed keys and their types — and the PrometheusRule's spec written to RULES_OUT for
  `promtool check rules`;
- references: the ServiceMonitor selects the Service and names one of its ports, the
  Deployment's ServiceAccount exists with automountServiceAccountToken false, its Secret
  exists, every dashboard ConfigMap holds dashboard JSON and carries grafana_dashboard: "1".

    python validate.py RULES_OUT
"""
import json
import os
import sys

import kubernetes_validate
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
K8S_VERSION = "1.33.0"

# The monitoring.coreos.com/v1 fields used here (a subset of the CRDs' schemas).
SERVICE_MONITOR_SPEC = {"selector": dict, "endpoints": list, "jobLabel": str, "namespaceSelector": dict,
                        "targetLabels": list, "podTargetLabels": list, "sampleLimit": int}
ENDPOINT = {"port": str, "path": str, "interval": str, "scrapeTimeout": str, "scheme": str,
            "honorLabels": bool, "relabelings": list, "metricRelabelings": list, "basicAuth": dict,
            "tlsConfig": dict, "bearerTokenSecret": dict, "params": dict}
RULE_GROUP = {"name": str, "rules": list, "interval": str, "limit": int, "partial_response_strategy": str,
              "labels": dict, "query_offset": str}
RULE = {"alert": str, "record": str, "expr": str, "for": str, "keep_firing_for": str, "labels": dict,
        "annotations": dict}


def fields(where, obj, allowed, required, errors):
    if not isinstance(obj, dict):
        errors.append(f"{where}: not a mapping")
        return
    for k, v in obj.items():
        if k not in allowed:
            errors.append(f"{where}: unknown field {k!r}")
        elif not isinstance(v, allowed[k]) or (allowed[k] is int and isinstance(v, bool)):
            errors.append(f"{where}.{k}: want {allowed[k].__name__}, got {type(v).__name__}")
    for k in required:
        if k not in obj:
            errors.append(f"{where}: missing {k!r}")


def main(rules_out):
    with open(os.path.join(HERE, "kustomization.yaml"), encoding="utf-8") as f:
        kust = yaml.safe_load(f)
    docs = []
    for res in kust["resources"]:
        with open(os.path.join(HERE, res), encoding="utf-8") as f:
            docs += [(res, d) for d in yaml.safe_load_all(f) if d]
    errors = []
    by_kind = {}
    for res, d in docs:
        name = f"{res}: {d.get('kind')}/{(d.get('metadata') or {}).get('name')}"
        by_kind.setdefault(d.get("kind"), []).append(d)
        if d.get("apiVersion", "").startswith("monitoring.coreos.com/"):
            continue
        try:
            kubernetes_validate.validate(d, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{name}: {e.message} at {'.'.join(str(p) for p in e.path)}")
        except Exception as e:  # noqa: BLE001 - a schema missing for a kind is an error too
            errors.append(f"{name}: {e}")

    services = by_kind.get("Service", [])
    for sm in by_kind.get("ServiceMonitor", []):
        w = f"ServiceMonitor/{sm['metadata'].get('name')}"
        if sm.get("apiVersion") != "monitoring.coreos.com/v1":
            errors.append(f"{w}: apiVersion {sm.get('apiVersion')}")
        spec = sm.get("spec") or {}
        fields(f"{w}.spec", spec, SERVICE_MONITOR_SPEC, ["selector", "endpoints"], errors)
        want = (spec.get("selector") or {}).get("matchLabels") or {}
        matched = [s for s in services if want and want.items() <= (s["metadata"].get("labels") or {}).items()]
        if not matched:
            errors.append(f"{w}: selector {want} matches no Service")
        ports = {p.get("name") for s in matched for p in s["spec"].get("ports", [])}
        for i, ep in enumerate(spec.get("endpoints") or []):
            fields(f"{w}.spec.endpoints[{i}]", ep, ENDPOINT, ["port"], errors)
            if ep.get("port") not in ports:
                errors.append(f"{w}: endpoint port {ep.get('port')!r} is not a port of the Service")
    if not by_kind.get("ServiceMonitor"):
        errors.append("no ServiceMonitor")

    rules = by_kind.get("PrometheusRule", [])
    if len(rules) != 1:
        errors.append(f"want one PrometheusRule, found {len(rules)}")
    for pr in rules:
        w = f"PrometheusRule/{pr['metadata'].get('name')}"
        if pr.get("apiVersion") != "monitoring.coreos.com/v1":
            errors.append(f"{w}: apiVersion {pr.get('apiVersion')}")
        spec = pr.get("spec") or {}
        fields(f"{w}.spec", spec, {"groups": list}, ["groups"], errors)
        for g in spec.get("groups") or []:
            fields(f"{w} group {g.get('name')}", g, RULE_GROUP, ["name", "rules"], errors)
            for r in g.get("rules") or []:
                rw = f"{w} rule {r.get('alert') or r.get('record')}"
                fields(rw, r, RULE, ["expr"], errors)
                if ("alert" in r) == ("record" in r):
                    errors.append(f"{rw}: needs exactly one of alert and record")
                for k in ("labels", "annotations"):
                    for lk, lv in (r.get(k) or {}).items():
                        if not isinstance(lv, str):
                            errors.append(f"{rw}.{k}.{lk}: want a string")
        with open(rules_out, "w", encoding="utf-8") as f:
            yaml.safe_dump(spec, f, sort_keys=False)

    accounts = {a["metadata"]["name"]: a for a in by_kind.get("ServiceAccount", [])}
    secrets = {s["metadata"]["name"] for s in by_kind.get("Secret", [])}
    for dep in by_kind.get("Deployment", []):
        pod = dep["spec"]["template"]["spec"]
        sa = pod.get("serviceAccountName")
        if sa not in accounts:
            errors.append(f"Deployment/{dep['metadata']['name']}: ServiceAccount {sa!r} not defined")
        elif accounts[sa].get("automountServiceAccountToken") is not False:
            errors.append(f"ServiceAccount/{sa}: automountServiceAccountToken must be false")
        if pod.get("automountServiceAccountToken") is not False:
            errors.append(f"Deployment/{dep['metadata']['name']}: automountServiceAccountToken must be false")
        for c in pod["containers"]:
            for ef in c.get("envFrom", []):
                ref = (ef.get("secretRef") or {}).get("name")
                if ref and ref not in secrets:
                    errors.append(f"Deployment: Secret {ref!r} not defined")

    dashboards = 0
    for cm in by_kind.get("ConfigMap", []):
        if (cm["metadata"].get("labels") or {}).get("grafana_dashboard") != "1":
            continue
        for key, value in (cm.get("data") or {}).items():
            try:
                dash = json.loads(value)
                assert dash.get("uid") and key.endswith(".json")
                dashboards += 1
            except (ValueError, AssertionError):
                errors.append(f"ConfigMap/{cm['metadata']['name']}: {key} is not dashboard JSON")
    if dashboards == 0:
        errors.append("no dashboard ConfigMap")

    for e in errors:
        print(f"validate.py: {e}", file=sys.stderr)
    print(f"validate.py: {len(docs)} manifests ({dashboards} dashboards), {len(errors)} problems", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
