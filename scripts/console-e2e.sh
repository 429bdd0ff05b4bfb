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
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DATA="$(mktemp -d)"
LOG="$DATA/serve.log"
"$CARGO_TARGET_DIR/debug/lanerunner" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$LOG"; exit 1; }

cd crates/console/e2e
LANERUNNER_URL="http://127.0.0.1:$PORT" CHROMIUM="$(command -v chromium)" npx playwright test
