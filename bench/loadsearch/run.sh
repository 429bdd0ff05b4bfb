#!/usr/bin/env bash
# Load-board search benchmark (issues 3 and 19): the in-process Rust index vs PostGIS
# (ST_DWithin, GiST) vs a plain SQL bounding box (btree) vs Redis (GEOSEARCH per equipment
# geo set, the other filters in a Lua script) on the same 1M generated loads and the same
# mixed query set, in one run. Prints the raw key/value results and a markdown table.
#
#   bash bench/loadsearch/run.sh                      # 1M loads, 10,000 queries everywhere
#   LOADS=100000 PG_QUERIES=500 bash bench/loadsearch/run.sh   # quick
#
# Needs PostgreSQL 15 at 127.0.0.1:5432 (trust auth, user postgres) and Redis 7 at
# REDIS_URL (default 127.0.0.1:6379, logical database 15, which is flushed before and
# after); installs PostGIS, psycopg and redis-py (into bench/.venv) when missing; uses the
# scratch database lr_bench_search.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
LOADS="${LOADS:-1000000}"
QUERIES="${QUERIES:-10000}"
PG_QUERIES="${PG_QUERIES:-$QUERIES}"
REDIS_QUERIES="${REDIS_QUERIES:-$PG_QUERIES}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
PGHOST="${PGHOST:-127.0.0.1}"
DB=lr_bench_search
VENV="$ROOT/bench/.venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/target-geo}"

if [ ! -f /usr/share/postgresql/15/extension/postgis.control ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import psycopg" 2>/dev/null || "$VENV/bin/pip" install -q "psycopg[binary]"
"$VENV/bin/python" -c "import redis" 2>/dev/null || "$VENV/bin/pip" install -q "redis[hiredis]"

cargo build -q --release -p lanerunner-loadsearch --example bench_search
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "== LaneRunner index (in-process, 1 thread)" >&2
"$CARGO_TARGET_DIR/release/examples/bench_search" --loads "$LOADS" --queries "$QUERIES" \
  --out "$WORK" --sample-every 10 | tee "$WORK/rust.tsv"

echo "== PostgreSQL peers" >&2
psql -h "$PGHOST" -U postgres -d test -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"$VENV/bin/python" bench/loadsearch/peers.py "$WORK" --queries "$PG_QUERIES" \
  --dsn "postgresql://postgres@$PGHOST:5432/$DB" | tee "$WORK/peers.tsv"

echo "== Redis peer" >&2
"$VENV/bin/python" bench/loadsearch/redis_peer.py "$WORK" --queries "$REDIS_QUERIES" \
  --url "$REDIS_URL" | tee "$WORK/redis.tsv"

"$VENV/bin/python" - "$WORK/rust.tsv" "$WORK/peers.tsv" "$WORK/redis.tsv" <<'PY'
import sys
kv = {}
for f in sys.argv[1:]:
    for line in open(f):
        k, _, v = line.rstrip("\n").partition("\t")
        kv.setdefault(k, v)
r = kv
print()
print(f"{r['loads']} loads; Rust: {r['queries']} queries; PostgreSQL: {r['postgis_queries']} queries; "
      f"Redis: {r['redis_queries']} queries (the first ones of the same set).\n")
print("| engine | p50 ms | p99 ms | mean ms | queries/s (1 client) | p99 vs LaneRunner | index bytes/load |")
print("|---|---:|---:|---:|---:|---:|---:|")
p99 = float(r["p99_ms"])
print(f"| LaneRunner index (in-process) | {r['p50_ms']} | {r['p99_ms']} | {r['mean_ms']} | {r['qps']} | 1x | {r['mem_bytes_per_load']} (all columns + id map) |")
print(f"| PostGIS ST_DWithin + GiST | {r['postgis_p50_ms']} | {r['postgis_p99_ms']} | {r['postgis_mean_ms']} | {r['postgis_qps']} | {float(r['postgis_p99_ms'])/p99:.0f}x slower | {r['pg_gist_bytes_per_load']} GiST + {r['pg_heap_bytes_per_load']} heap |")
print(f"| SQL bounding box + btree | {r['bbox_p50_ms']} | {r['bbox_p99_ms']} | {r['bbox_mean_ms']} | {r['bbox_qps']} | {float(r['bbox_p99_ms'])/p99:.0f}x slower | {r['pg_btree_bytes_per_load']} btree + {r['pg_heap_bytes_per_load']} heap |")
print(f"| Redis GEOSEARCH + Lua filters | {r['redis_p50_ms']} | {r['redis_p99_ms']} | {r['redis_mean_ms']} | {r['redis_qps']} | {float(r['redis_p99_ms'])/p99:.0f}x slower | {r['redis_bytes_per_load']} (geo sets + packed attributes) |")
print(f"\nFirst pages identical to the Rust index: PostGIS {r['postgis_identical']}/{r['postgis_checked']}, "
      f"bounding box {r['bbox_identical']}/{r['bbox_checked']}, Redis {r['redis_identical']}/{r['redis_checked']} "
      f"(and Redis's totals of matches {r['redis_totals_equal']}/{r['redis_totals_checked']}).")
PY
