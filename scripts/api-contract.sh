#!/usr/bin/env bash
# The API contract check: serve LaneRunner on embedded defaults on a loopback port, then let
# schemathesis (PyPI) generate requests from the served OpenAPI document and check every
# answer against it: no 5xx, every status documented, every content type and body as
# declared. Once with a signed-in broker's token, once without a credential.
#
#   bash scripts/api-contract.sh                 # builds the binary if needed
#   LANERUNNER_BIN=target/release/lanerunner bash scripts/api-contract.sh
#   CONTRACT_MAX_EXAMPLES=50 bash scripts/api-contract.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lanerunner-target}"
MAX_EXAMPLES="${CONTRACT_MAX_EXAMPLES:-30}"

# Run through the interpreter, so a fresh install works without a shell rehash.
# ... from the scratch directory, so its cache (`.schemathesis/`) never lands in the tree.
st() { (cd "$DATA" && python3 -m schemathesis.cli "$@"); }
if ! python3 -c 'import schemathesis' 2>/dev/null; then
    echo "schemathesis not found; installing it from PyPI"
    python3 -m pip install --quiet 'schemathesis>=4,<5'
fi

BIN="${LANERUNNER_BIN:-}"
# Not a configuration key: the binary reads every LANERUNNER_* variable as one.
unset LANERUNNER_BIN
if [[ -z "$BIN" ]]; then
    cargo build --quiet -p lanerunner --bin lanerunner
    BIN="$CARGO_TARGET_DIR/debug/lanerunner"
fi

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
DATA="$(mktemp -d)"
LOG="$DATA/serve.log"
cleanup() {
    [[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT

# A deployment with a rate model active, as operators run one: trained on a small simulated
# market and published into the served data directory (the rate routes are then checked
# answering, not only refusing).
"$BIN" simulate --out "$DATA/market" --days 30 --loads-per-day 200 --format csv >/dev/null 2>&1
"$BIN" ml train --data "$DATA/market" --out "$DATA/rate-model.lrm" >/dev/null 2>&1
LANERUNNER_DATA_DIR="$DATA/state" LANERUNNER_LOG__LEVEL=warn \
    "$BIN" ml publish --file "$DATA/rate-model.lrm" --activate >/dev/null

# Generated traffic is many requests from one principal and one address: the limits that
# protect a real deployment from that would only turn the run into 429s. Argon2 at test cost.
# Generated requests add webhook endpoints with made-up URLs and send them tests: every
# delivery goes to a closed loopback port (the egress proxy), so none leaves this machine.
LANERUNNER_HTTP__RATE_LIMIT_PER_MINUTE=0 \
LANERUNNER_AUTH__MAX_FAILED_LOGINS_PER_ADDRESS=1000000 \
LANERUNNER_AUTH__MAX_ACCOUNT_FLOWS_PER_ADDRESS=1000000 \
LANERUNNER_AUTH__ARGON2_MEMORY_KIB=256 \
LANERUNNER_AUTH__ARGON2_ITERATIONS=1 \
LANERUNNER_LOG__LEVEL=warn \
LANERUNNER_WEBHOOKS__PROXY=http://127.0.0.1:9 \
    "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA/state" >"$LOG" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
    curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG"; echo "lanerunner serve exited" >&2; exit 1; }
    sleep 0.2
done
curl -fsS "$BASE/readyz" >/dev/null

TERMS="$(curl -fsS "$BASE/v1/legal" | python3 -c 'import json,sys; print(json.load(sys.stdin)["terms_version"])')"
TOKEN="$(curl -fsS -H 'content-type: application/json' "$BASE/v1/auth/signup" -d '{
  "organization": {"name": "Contract Brokerage", "kind": "broker"},
  "name": "Contract Tester", "email": "contract@broker.example",
  "password": "correct horse battery staple", "terms_version": "'"$TERMS"'"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["access_token"])')"

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
# The WebSocket upgrade is not an HTTP operation schemathesis can drive.
COMMON=(--checks "$CHECKS" --exclude-path /v1/realtime --max-examples "$MAX_EXAMPLES"
        --phases examples,coverage,fuzzing --workers 1 --request-timeout 30
        --suppress-health-check all --seed 1 --no-color)

echo "== schemathesis, signed in as a broker"
# Signing out or changing the password would end the session the run is signed in with.
st run "$BASE/v1/openapi.json" -H "Authorization: Bearer $TOKEN" "${COMMON[@]}" \
    --exclude-path /v1/auth/logout --exclude-path /v1/me/password
echo "== schemathesis, without a credential"
st run "$BASE/v1/openapi.json" "${COMMON[@]}" --max-examples 3

kill -0 "$SERVER" 2>/dev/null || { cat "$LOG"; echo "lanerunner serve died during the run" >&2; exit 1; }
