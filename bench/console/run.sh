#!/usr/bin/env bash
# The console benchmark (issue 18): seeds a data directory with LOADS generated posted public
# loads (default 1,000,000), serves it with a release build, and measures the load board in
# headless Chromium (bench/console/measure.js). Results go in docs/benchmarks.md.
#
#   bash bench/console/run.sh             # LOADS=1000000 RUNS=7
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
LOADS="${LOADS:-1000000}"
command -v chromium >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
(cd crates/console/e2e && npm ci --no-audit --no-fund --loglevel=error)
cargo build --release -p lanerunner --features bench
BIN="${CARGO_TARGET_DIR:-target}/release/lanerunner"
DATA="$(mktemp -d)"
trap 'kill "${SERVER:-0}" 2>/dev/null || true; rm -rf "$DATA"' EXIT
/usr/bin/time -f "seeding: %e s, peak RSS %M KB" "$BIN" bench seed-board --loads "$LOADS" --data-dir "$DATA"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$DATA/serve.log" 2>&1 &
SERVER=$!
started=$(date +%s)
until curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
    kill -0 "$SERVER" || { cat "$DATA/serve.log"; exit 1; }
    sleep 1
done
echo "served $LOADS loads; ready after $(( $(date +%s) - started )) s"
LANERUNNER_URL="http://127.0.0.1:$PORT" node bench/console/measure.js
