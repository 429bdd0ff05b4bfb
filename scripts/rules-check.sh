#!/usr/bin/env bash
# Checks the observability configuration: the Prometheus rules (deploy/prometheus/rules),
# their unit tests (deploy/prometheus/tests), the Prometheus configuration
# (deploy/prometheus/prometheus.yml), the Grafana dashboards (deploy/grafana), the runbook
# anchors (docs/runbooks.md), and that every metric the rules and dashboards read is
# emitted somewhere in crates/ (scripts/rules_check.py). Runs every step, then exits
# non-zero if any failed.
#
# promtool comes from Debian's `prometheus` package, but only the promtool binary is taken
# out of it (apt-get download, dpkg-deb): installing the package would also install the
# Prometheus server, whose postinst starts it (listening on :9090) wherever invoke-rc.d is
# allowed to. It goes to /usr/local/bin (~/.local/bin when not root) once; later runs find
# it. PROMTOOL=/path/to/promtool uses another one.
#
# Debian builds Prometheus without Kubernetes service discovery, so its promtool refuses
# `kubernetes_sd_configs`: prometheus.yml is then checked as a copy whose discovery blocks
# are static (the blocks' own shape is checked by rules_check.py config). A promtool built
# with Kubernetes discovery checks the file itself.
#
# The unit tests take ~15 s; a run whose rules, tests and promtool are the same as at the
# last passing run skips them (outside CI; RULES_CHECK_NO_CACHE=1 runs them anyway).
#
#   bash scripts/rules-check.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

failed=()
step() { echo "== $1"; }
mark() { # mark NAME STATUS
    if [ "$2" -ne 0 ]; then failed+=("$1"); fi
}

install_promtool() {
    local dest tmp
    command -v apt-get >/dev/null || {
        echo "promtool is missing and this is no Debian machine: install Prometheus' promtool and set PROMTOOL" >&2
        return 1
    }
    if [ -w /usr/local/bin ]; then dest=/usr/local/bin; else dest="$HOME/.local/bin"; fi
    mkdir -p "$dest"
    tmp="$(mktemp -d)"
    chown _apt "$tmp" 2>/dev/null || true # apt downloads as _apt where it can
    echo "installing promtool from Debian's prometheus package (the binary only) into $dest"
    if ! (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1); then
        apt-get update -qq >/dev/null 2>&1 || true
        (cd "$tmp" && apt-get download -q prometheus >/dev/null) || { rm -rf "$tmp"; return 1; }
    fi
    dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool &&
        install -m 0755 "$tmp/usr/bin/promtool" "$dest/promtool"
    local status=$?
    rm -rf "$tmp"
    [ $status -eq 0 ] && PROMTOOL="$dest/promtool"
    return $status
}

if [ -z "${PROMTOOL:-}" ]; then
    PROMTOOL="$(command -v promtool || true)"
    [ -n "$PROMTOOL" ] || { [ -x "$HOME/.local/bin/promtool" ] && PROMTOOL="$HOME/.local/bin/promtool"; }
    [ -n "$PROMTOOL" ] || install_promtool || { echo "FAILED: no promtool" >&2; exit 1; }
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
echo "promtool: $PROMTOOL ($("$PROMTOOL" --version 2>&1 | head -1))"

RULES=(deploy/prometheus/rules/*.yml)
TESTS=(deploy/prometheus/tests/*.yml)

step "promtool check rules"
"$PROMTOOL" check rules --lint=all --lint-fatal "${RULES[@]}"
mark "check rules" $?

step "promtool test rules"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/lanerunner-rules-check"
stamp="$({ "$PROMTOOL" --version 2>&1 | head -1; cat "${RULES[@]}" "${TESTS[@]}"; } | sha256sum | cut -d' ' -f1)"
if [ -z "${CI:-}" ] && [ -z "${RULES_CHECK_NO_CACHE:-}" ] && [ -f "$cache_dir/tests-passed" ] &&
    [ "$(cat "$cache_dir/tests-passed")" = "$stamp" ]; then
    echo "  SUCCESS: rules, tests and promtool unchanged since the last passing run (RULES_CHECK_NO_CACHE=1 runs them)"
else
    "$PROMTOOL" test rules "${TESTS[@]}"
    status=$?
    mark "test rules" $status
    if [ $status -eq 0 ]; then
        mkdir -p "$cache_dir" && echo "$stamp" >"$cache_dir/tests-passed"
    fi
fi

step "promtool check config"
out="$("$PROMTOOL" check config deploy/prometheus/prometheus.yml 2>&1)"
status=$?
if [ $status -ne 0 ] && grep -q "field kubernetes_sd_configs not found" <<<"$out"; then
    echo "  (this promtool has no Kubernetes discovery: checking a copy with static discovery)"
    if config="$(python3 scripts/rules_check.py config)"; then
        "$PROMTOOL" check config "$config"
        status=$?
        rm -rf "$(dirname "$config")"
    else
        echo "$config"
        status=1
    fi
else
    echo "$out"
fi
mark "check config" $status

step "dashboards (JSON, variables, every expr parsed by promtool)"
python3 scripts/rules_check.py dashboards "$PROMTOOL"
mark "dashboards" $?

step "metric names: emitted in crates/, labels, histograms; recording rules defined"
python3 scripts/rules_check.py metrics
mark "metric names" $?

step "alerts: severity, annotations, runbook sections in docs/runbooks.md"
python3 scripts/rules_check.py alerts
mark "alerts" $?

step "tests: group order, every alert fires in one, SLO alerts also stay silent"
python3 scripts/rules_check.py tests
mark "tests" $?

if [ ${#failed[@]} -ne 0 ]; then
    echo "rules-check: FAILED: ${failed[*]}"
    exit 1
fi
echo "rules-check: all passed"
