#!/usr/bin/env bash
# Assignment solver benchmark (issue 4): LaneRunner vs SciPy vs lap on the same instance
# files, in one run. Prints a markdown table.
#
#   bash bench/assignment/run.sh            # all sizes (needs ~2 GB disk, ~8 GB RAM)
#   SIZES=500,1000 NO_SPARSE=1 bash bench/assignment/run.sh   # quick
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
VENV="$ROOT/bench/.venv"
REPEATS="${REPEATS:-3}"
SIZES="${SIZES:-500,1000,2000,5000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/root/target-assignment}"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q numpy scipy || { echo "pip install numpy scipy failed" >&2; exit 1; }
"$VENV/bin/pip" install -q lap || echo "WARNING: lap failed to install; its column will be NA" >&2

cargo build -q --release -p lanerunner-assignment --examples
BIN="$CARGO_TARGET_DIR/release/examples"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

GEN_ARGS=(--sizes "$SIZES")
[ -n "${NO_SPARSE:-}" ] && GEN_ARGS+=(--no-sparse)
"$BIN/gen_instances" "$WORK" data/places_us_ca.csv bench "${GEN_ARGS[@]}" 2> "$WORK/gen.log"

FILES=()
for n in ${SIZES//,/ }; do FILES+=("$WORK/dense_uniform_$n.lra" "$WORK/dense_geo_$n.lra"); done
[ -z "${NO_SPARSE:-}" ] && FILES+=("$WORK/sparse_geo_20000x100000.lra")

"$BIN/bench_instances" --repeats "$REPEATS" "${FILES[@]}" > "$WORK/rust.tsv"
"$VENV/bin/python" -W ignore bench/assignment/peers.py --repeats "$REPEATS" "${FILES[@]}" > "$WORK/peers.tsv"

"$VENV/bin/python" - "$WORK/rust.tsv" "$WORK/peers.tsv" "$REPEATS" <<'PY'
import sys
rust = {l.split("\t")[0]: l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()}
peers = {}
for l in open(sys.argv[2]):
    f = l.rstrip("\n").split("\t")
    if len(f) >= 6:
        peers[(f[0], f[1])] = f
def eq(a, b):
    try:
        a, b = float(a), float(b)
    except ValueError:
        return "n/a"
    return "yes" if abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b)) else "NO"
print(f"Times: median of {sys.argv[3]} runs (ms); objectives equal = relative difference <= 1e-9.\n")
print("| instance | rows x cols (nnz) | LaneRunner ms | SciPy ms | lap ms | LaneRunner objective | SciPy objective | lap objective | equal to SciPy? |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
for name, r in rust.items():
    s = peers.get((name, "scipy"), [name, "scipy", "NA", "NA", "NA", ""])
    p = peers.get((name, "lap"), [name, "lap", "NA", "NA", "NA", ""])
    size = f"{r[1]} x {r[2]}" + (f" ({int(r[3]):,})" if name.startswith("sparse") else "")
    lap_ms = p[2] if p[2] != "NA" else f"n/a ({p[5]})"
    print(f"| {name} | {size} | {r[4]} | {s[2]} | {lap_ms} | {float(r[6]):.6f} | {s[4]} | {p[4]} | {eq(r[6], s[4])} |")
PY
