#!/usr/bin/env bash
# The lane index against DuckDB on the same Parquet file, in one run:
#   1. the Rust benchmark simulates BOOKINGS bookings (default 10 million; the market of
#      `lanerunner simulate --seed SEED`), writes bookings.parquet, ingests every booking
#      into the lane index (events/s on one core, validation included), answers QUERIES
#      lane questions (p50/p99) and writes the questions with its answers;
#   2. DuckDB (PyPI `duckdb`, one thread) loads the same Parquet file, answers the same
#      questions, and every answer is compared.
#
#   bash bench/analytics/run.sh                          # 10M bookings, 20,000 questions
#   BOOKINGS=1000000 QUERIES=5000 bash bench/analytics/run.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

BOOKINGS="${BOOKINGS:-10000000}"
QUERIES="${QUERIES:-20000}"
DAYS="${DAYS:-365}"
SEED="${SEED:-7}"
WORK="${WORK:-/tmp/lanerunner-bench-analytics}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lanerunner-target}"

python3 -c 'import duckdb' 2>/dev/null || pip install --quiet duckdb
per_day=$(( (BOOKINGS + DAYS - 1) / DAYS ))
cargo run --release -q -p lanerunner-laneindex --example bench_laneindex -- \
    "$WORK" "$SEED" "$DAYS" "$per_day" "$QUERIES"
python3 bench/analytics/duckdb_peer.py "$WORK/bookings.parquet" "$WORK/answers.csv"
