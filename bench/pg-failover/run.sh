#!/usr/bin/env bash
# PostgreSQL failover under write load: RPO (acknowledged writes lost) and RTO (from the
# kill of the primary to the first write acknowledged by the new primary), with synchronous
# and with asynchronous streaming replication. Each run is the failover test
# (crates/lanerunner/tests/pg_failover.rs) on a pair rebuilt by scripts/pg-ha.sh
# (127.0.0.1:5442/5443): one LaneRunner app, 4 writers creating loads with an
# Idempotency-Key and posting them, the primary killed (`pg_ctl stop -m immediate`) and the
# replica promoted (`pg_ctl promote`) at once.
#
#   bash bench/pg-failover/run.sh          # PG_FAILOVER_RUNS=5 runs per mode
#
# Runs as root (the clusters belong to the postgres user). Prints one line per run and a
# summary per mode.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RUNS="${PG_FAILOVER_RUNS:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lanerunner-target}"
cargo test -q -p lanerunner --test pg_failover --no-run 2>/dev/null
results="$(mktemp)"
trap 'rm -f "$results"' EXIT

for mode in sync async; do
    for run in $(seq 1 "$RUNS"); do
        line="$(LANERUNNER_PG_FAILOVER_MODE=$mode cargo test -q -p lanerunner --test pg_failover \
            -- --nocapture 2>/dev/null | grep '^pg-failover:' || true)"
        [[ -n "$line" ]] || { echo "run $run ($mode) failed" >&2; exit 1; }
        echo "$line"
        echo "$line" >> "$results"
    done
done
bash scripts/pg-ha.sh stop

python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    fields = dict(f.split("=", 1) for f in line.split()[1:])
    runs.setdefault(fields["mode"], []).append(fields)
print("\n| replication | runs | acknowledged | lost (RPO) | failed attempts | promotion ms median | RTO ms median (min–max) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for mode, rs in runs.items():
    rto = [int(r["rto_ms"]) for r in rs]
    promoted = [int(r["promoted_ms"]) for r in rs]
    print(f"| {mode} | {len(rs)} | {sum(int(r['acknowledged']) for r in rs)} "
          f"| {sum(int(r['lost']) for r in rs)} | {sum(int(r['failed_attempts']) for r in rs)} "
          f"| {statistics.median(promoted):.0f} | {statistics.median(rto):.0f} ({min(rto)}–{max(rto)}) |")
PY
