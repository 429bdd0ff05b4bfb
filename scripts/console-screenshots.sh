#!/usr/bin/env bash
# Refreshes the screenshots in docs/console/ (docs/console.md shows them): serves LaneRunner
# on embedded defaults with the demo market on a free port and runs
# scripts/console-screenshots.js in headless Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lanerunner-target}"
command -v chromium >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
(cd crates/console/e2e && npm ci --no-audit --no-fund --loglevel=error)
cargo build -p lanerunner
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DATA="$(mktemp -d)"
# The demo market gives the rates page a trained model and the board other brokers' loads.
LANERUNNER_PUBLIC_URL="http://127.0.0.1:$PORT" \
    "$CARGO_TARGET_DIR/debug/lanerunner" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --demo >"$DATA/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do sleep 0.5; done
for _ in $(seq 1 240); do
    grep -q "rate model trained on simulated history is active" "$DATA/serve.log" && break
    sleep 0.5
done
mkdir -p docs/console
LANERUNNER_URL="http://127.0.0.1:$PORT" node scripts/console-screenshots.js
ls -la docs/console
