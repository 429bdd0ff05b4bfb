#!/usr/bin/env bash
# The web console in a real browser: installs Debian's Chromium if it is missing and the
# test tools from npm (crates/console/e2e, locked), builds and serves LaneRunner on embedded
# defaults on a free loopback port, and runs the Playwright tests (with axe-core checks)
# against it. CI runs it from scripts/test.sh.
#
#   bash scripts/console-e2e.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lanerunner-target}"

if ! command -v chromium >/dev/null; then
    echo "installing Debian's chromium for the browser tests"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi

(cd crates/console/e2e && npm ci --no-audit --no-fund --loglevel=error)

cargo build -p lanerunner
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
DEMO_PORT="$(free_port)"
DATA="$(mktemp -d)"
DEMO_DATA="$(mktemp -d)"
# The emails' links point at this server (the mail spool is where the tests read them).
# The webhooks page's test runs its receiver on loopback, so this server may deliver there,
# and retries a failed delivery after half a second rather than five. Every test's browser
# signs up from 127.0.0.1, like a whole office behind one NAT address: the per-address cap on
# sign-ups and other account flows is raised for the suite (the per-email caps stay).
LANERUNNER_PUBLIC_URL="http://127.0.0.1:$PORT" \
LANERUNNER_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true LANERUNNER_WEBHOOKS__RETRY_BASE_MS=500 \
LANERUNNER_AUTH__MAX_ACCOUNT_FLOWS_PER_ADDRESS=1000 \
    "$CARGO_TARGET_DIR/debug/lanerunner" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$DATA/serve.log" 2>&1 &
SERVER=$!
# A second instance with the demo market (a trained rate model, lanes with history) for the
# rates page.
"$CARGO_TARGET_DIR/debug/lanerunner" serve --listen "127.0.0.1:$DEMO_PORT" --data-dir "$DEMO_DATA" --demo >"$DEMO_DATA/serve.log" 2>&1 &
DEMO=$!
# The servers are stopped and waited for before their data goes: a server still writing a
# file while the directory is removed makes `rm` fail, and the run with it.
trap 'kill "$SERVER" "$DEMO" 2>/dev/null || true; wait "$SERVER" "$DEMO" 2>/dev/null || true; rm -rf "$DATA" "$DEMO_DATA" 2>/dev/null || true' EXIT
wait_for() {
    for _ in $(seq 1 240); do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    cat "$2"
    return 1
}
wait_for "http://127.0.0.1:$PORT/healthz" "$DATA/serve.log"
wait_for "http://127.0.0.1:$DEMO_PORT/healthz" "$DEMO_DATA/serve.log"
# The demo signs its accounts up and activates its rate model in the background.
for _ in $(seq 1 240); do
    grep -q "sign in as any of these" "$DEMO_DATA/serve.log" && grep -q "rate model trained on simulated history is active" "$DEMO_DATA/serve.log" && break
    sleep 0.5
done

cd crates/console/e2e
LANERUNNER_URL="http://127.0.0.1:$PORT" LANERUNNER_DEMO_URL="http://127.0.0.1:$DEMO_PORT" \
    LANERUNNER_MAIL_DIR="$DATA/mail" E2E_DATA_DIR="$DATA" CHROMIUM="$(command -v chromium)" npx playwright test "$@"
