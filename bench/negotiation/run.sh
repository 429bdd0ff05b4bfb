#!/usr/bin/env bash
# LaneRunner's negotiation agent against negmas's standard agents (time-based Boulware,
# Conceder and Linear, naive tit-for-tat, aspiration), in both seats, over SCENARIOS
# freight scenarios, in one run (see tournament.py for the scenarios and the measures).
#
#   bash bench/negotiation/run.sh
#   SCENARIOS=30 bash bench/negotiation/run.sh     # a quick look
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

SCENARIOS="${SCENARIOS:-400}"
SEED="${SEED:-7}"
OUT="${OUT:-/tmp/lanerunner-bench-negotiation.json}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lanerunner-target}"

python3 -c 'import negmas' 2>/dev/null || python3 -m pip install --quiet 'negmas==0.16.*'
cargo build --release -q -p lanerunner-negotiation --example bridge
python3 bench/negotiation/tournament.py "$CARGO_TARGET_DIR/release/examples/bridge" \
    "$SCENARIOS" "$SEED" "$OUT" 2>/dev/null
python3 - "$OUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['scenarios']} scenarios, seed {r['seed']}; each agent against the five negmas agents in the other seat")
print(f"{'seat':8} {'agent':15} {'agreement':>9} {'mean gain':>9} {'Nash dist':>9}")
for key, v in r["results"].items():
    seat, agent = key.split("/")
    d = v["mean_nash_distance"]
    print(f"{seat:8} {agent:15} {v['agreement_rate']*100:8.1f}% {v['mean_gain']:9.4f} {d if d is None else round(d, 4):>9}")
PY
