#!/usr/bin/env bash
# The rate model against LightGBM and the lane average, in one run, on one time split:
#   1. the Rust benchmark simulates DAYS days of the market (`lanerunner simulate --seed
#      SEED`; at the default size about 544,000 booked loads), replays it into features as
#      the market stood at each booking, holds the last TEST_DAYS days out, trains
#      LaneRunner's model on the rest (its newest 15 % stopping the trees and calibrating
#      the intervals), scores it and the lane average on the held-out weeks, times single
#      predictions in-process, and writes the very features, targets and split;
#   2. LightGBM (PyPI `lightgbm`, one thread, the same settings and early stopping, the
#      same conformal interval) trains and scores on that file.
#
#   bash bench/ratemodel/run.sh
#   DAYS=120 PER_DAY=800 bash bench/ratemodel/run.sh       # a quick look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DAYS="${DAYS:-420}"
PER_DAY="${PER_DAY:-1300}"
TEST_DAYS="${TEST_DAYS:-28}"
SEED="${SEED:-7}"
LR="${LEARNING_RATE:-0.1}"
WORK="${WORK:-/tmp/lanerunner-bench-ratemodel}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lanerunner-target}"

python3 -c 'import lightgbm, pandas' 2>/dev/null || pip install --quiet lightgbm pandas
cargo run --release -q -p lanerunner-ratemodel --example bench_ratemodel -- \
    "$WORK" "$SEED" "$DAYS" "$PER_DAY" "$TEST_DAYS" "$LR" >/dev/null
python3 bench/ratemodel/lightgbm_peer.py "$WORK/features.csv" "$WORK/lightgbm.json" "$LR" >/dev/null
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
ours = json.load(open(f"{w}/lanerunner.json"))
lgb = json.load(open(f"{w}/lightgbm.json"))
print(f"{ours['examples']:,} booked loads; train {ours['train_rows']:,} + calibration {ours['calibration_rows']:,}; "
      f"test {ours['test_rows']:,} (from {ours['test_from'][:10]}); learning rate {ours['learning_rate']}\n")
print("| model | test MAPE | median APE | 80 % interval coverage | trees | training (1 core) | single prediction p50 / p99 |")
print("|---|---:|---:|---:|---:|---:|---:|")
o, l, b = ours["lanerunner"], lgb["lightgbm"], ours["lane_average"]
p = ours["predict_us"]
print(f"| LaneRunner (own GBDT) | {o['mape']*100:.2f} % | {o['median_ape']*100:.2f} % | {o['coverage']*100:.1f} % | {ours['trees']} | {ours['train_seconds']:.1f} s | {p['p50']:.1f} / {p['p99']:.1f} µs (in-process, features included) |")
q = lgb["predict_us"]
print(f"| LightGBM {lgb['version']} | {l['mape']*100:.2f} % | {l['median_ape']*100:.2f} % | {l['coverage']*100:.1f} % | {lgb['trees']} | {lgb['train_seconds']:.1f} s | {q['p50']:.0f} / {q['p99']:.0f} µs (Python call, one row) |")
print(f"| lane average | {b['mape']*100:.2f} % | {b['median_ape']*100:.2f} % | — | — | — | — |")
print(f"\nWithout the point shift, LaneRunner's trees alone: MAPE {ours['lanerunner_unshifted']['mape']*100:.2f} %, median APE {ours['lanerunner_unshifted']['median_ape']*100:.2f} %. "
      f"LightGBM with LaneRunner's point shift: MAPE {lgb['lightgbm_shifted']['mape']*100:.2f} %.")
PY
