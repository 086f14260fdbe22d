#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need
# (Debian's prometheus package for promtool, chromium for the landing-page test),
# then lints and runs every test.
# `.ci/run` calls exactly this; so does the README.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to install: $*" >&2; return 1; fi
}

# Install Debian packages without letting them start their own services: the
# tests start their own instances on free ports.
apt_install() {
  log "installing $*"
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    created=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  [ "$created" = 1 ] && as_root rm -f "$policy"
  # Belt and braces: never leave a packaged instance running on the test ports.
  as_root systemctl stop prometheus prometheus-alertmanager 2>/dev/null || true
  as_root pkill -x prometheus 2>/dev/null || true
}

command -v promtool >/dev/null || apt_install prometheus
[ -x /usr/bin/prometheus-alertmanager ] || apt_install prometheus-alertmanager
promtool --version 2>&1 | head -1 >&2
# The landing page is checked in headless Chromium (tests/it/views.rs); its
# screenshot is kept in tests/artifacts/ (gitignored).
command -v chromium >/dev/null || apt_install chromium
chromium --version 2>&1 | head -1 >&2

# The MCP tests (tests/it/mcp.rs) drive the server with the official MCP Python SDK,
# pinned, in a throw-away venv under the target directory, made only when missing.
# The test finds its interpreter in MCP_PYTHON; without it, it fails.
MCP_SDK_VERSION=2.3.0
mcp_venv="${CARGO_TARGET_DIR:-target}/mcp-venv"
if ! "$mcp_venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$MCP_SDK_VERSION')" 2>/dev/null; then
  log "MCP Python SDK $MCP_SDK_VERSION into $mcp_venv"
  rm -rf "$mcp_venv"
  python3 -m venv "$mcp_venv"
  "$mcp_venv/bin/pip" install --quiet --disable-pip-version-check "mcp==$MCP_SDK_VERSION"
fi
MCP_PYTHON="$(cd "$mcp_venv/bin" && pwd)/python"
export MCP_PYTHON
"$MCP_PYTHON" -c "import mcp, importlib.metadata as m; print('mcp', m.version('mcp'))" >&2

# The Kubernetes manifests are validated with kubernetes-validate (and PyYAML),
# pinned, in a throw-away venv under the target directory, made only when missing.
K8S_VALIDATE_VERSION=1.37.0
k8s_venv="${CARGO_TARGET_DIR:-target}/k8s-venv"
if ! "$k8s_venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$K8S_VALIDATE_VERSION')" 2>/dev/null; then
  log "kubernetes-validate $K8S_VALIDATE_VERSION into $k8s_venv"
  rm -rf "$k8s_venv"
  python3 -m venv "$k8s_venv"
  "$k8s_venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$K8S_VALIDATE_VERSION"
fi

log "promtool check rules / test rules"
promtool check rules deploy/prometheus/alerts.yml
# The scenario tests are generated (complete series sets from a model of each run).
python3 deploy/prometheus/scenarios.py --check
(cd deploy/prometheus && promtool test rules alerts.test.yml alerts.scenarios.test.yml)

log "generated dashboards match grafana/generate.py"
gen=$(mktemp -d)
python3 grafana/generate.py --out "$gen/dashboards" >/dev/null
diff -ru grafana/dashboards "$gen/dashboards"
rm -rf "$gen"
python3 grafana/check.py --quiet --strict-vars --var job=psyche --var instance=exporter:10580 \
  --var program=P --var run_id=r

log "kubernetes manifests: generated, valid"
python3 deploy/kubernetes/generate.py --check
k8s_tmp=$(mktemp -d)
"$k8s_venv/bin/python" deploy/kubernetes/validate.py "$k8s_tmp/prometheusrule-spec.yml"
promtool check rules "$k8s_tmp/prometheusrule-spec.yml"
rm -rf "$k8s_tmp"

log "deploy configs"
tmp=$(mktemp -d)
cp deploy/compose/prometheus.yml deploy/prometheus/alerts.yml "$tmp"/
promtool check config "$tmp/prometheus.yml"
amtool check-config deploy/compose/alertmanager.yml
rm -rf "$tmp"

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --locked --all-targets -- -D warnings

log "cargo test"
cargo test --locked --all-targets
