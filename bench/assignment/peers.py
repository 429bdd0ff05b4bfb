#!/usr/bin/env python3
"""Run the peer solvers on LaneRunner assignment instance files.

Reads the binary format documented in crates/algo/assignment/src/instance.rs and prints one
tab-separated line per (instance, solver):

    name  solver  median_ms  best_ms  objective  pairs

Dense: scipy.optimize.linear_sum_assignment, lap.lapjv (extend_cost=True when rectangular).
Sparse: scipy.sparse.csgraph.min_weight_full_bipartite_matching (weights shifted by a
constant so that zero costs are not dropped; see run_sparse). lap.lapmod needs a square
matrix, so it is reported as not applicable for rectangular sparse instances.

Timing covers the solver call plus what the peer needs to build its input from arrays in
memory (e.g. the csr_matrix for SciPy); reading the file does not count.
"""
import argparse
import os
import struct
import sys
import time

import numpy as np

MAGIC = b"LRASGN01"


def load(path):
    with open(path, "rb") as f:
        head = f.read(40)
        if head[:8] != MAGIC:
            raise ValueError(f"{path}: not an LRASGN01 file")
        kind, rows, cols, nnz = struct.unpack("<4Q", head[8:40])
        if kind == 0:
            c = np.fromfile(f, dtype="<f8", count=rows * cols).reshape(rows, cols)
            return "dense", rows, cols, c
        indptr = np.fromfile(f, dtype="<u8", count=rows + 1).astype(np.int64)
        indices = np.fromfile(f, dtype="<u4", count=nnz).astype(np.int32)
        data = np.fromfile(f, dtype="<f8", count=nnz)
        return "sparse", rows, cols, (indptr, indices, data)


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return times[len(times) // 2], times[0], out


def emit(name, solver, med, best, obj, pairs):
    print(f"{name}\t{solver}\t{med:.2f}\t{best:.2f}\t{obj:.10f}\t{pairs}", flush=True)


def fail(name, solver, why):
    print(f"{name}\t{solver}\tNA\tNA\tNA\t{why}", flush=True)


def run_dense(name, c, repeats, lap):
    from scipy.optimize import linear_sum_assignment

    def scipy_solve():
        r, k = linear_sum_assignment(c)
        return float(c[r, k].sum()), len(r)

    med, best, (obj, n) = timed(scipy_solve, repeats)
    emit(name, "scipy", med, best, obj, n)
    if lap is None:
        fail(name, "lap", "lap not installed")
        return
    rect = c.shape[0] != c.shape[1]

    def lap_solve():
        _, x, _ = lap.lapjv(c, extend_cost=rect)
        rows = np.nonzero(x >= 0)[0]
        return float(c[rows, x[rows]].sum()), len(rows)

    med, best, (obj, n) = timed(lap_solve, repeats)
    emit(name, "lap", med, best, obj, n)


def run_sparse(name, rows, cols, arrays, repeats, lap):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    indptr, indices, data = arrays
    # min_weight_full_bipartite_matching drops explicit zeros (and zero deadhead is common:
    # truck and load in the same town), so every weight is shifted by SHIFT; a full
    # matching has exactly min(rows, cols) pairs, so the objective shifts by a constant.
    SHIFT = 1.0 - min(0.0, float(data.min())) if len(data) else 1.0

    def scipy_solve():
        m = csr_matrix((data + SHIFT, indices, indptr), shape=(rows, cols))
        r, k = min_weight_full_bipartite_matching(m)
        return float(np.asarray(m[r, k]).sum() - SHIFT * len(r)), len(r)

    try:
        med, best, (obj, n) = timed(scipy_solve, repeats)
        emit(name, "scipy", med, best, obj, n)
    except ValueError as e:  # SciPy raises when no full matching exists
        fail(name, "scipy", str(e).replace("\t", " "))
    if lap is None:
        fail(name, "lap", "lap not installed")
    elif rows != cols:
        fail(name, "lap", "lapmod needs a square matrix")
    else:
        def lap_solve():
            _, x, _ = lap.lapmod(rows, data, indptr, indices)
            m = csr_matrix((data, indices, indptr), shape=(rows, cols))
            return float(np.asarray(m[np.arange(rows), x]).sum()), rows

        med, best, (obj, n) = timed(lap_solve, repeats)
        emit(name, "lap", med, best, obj, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sparse-repeats", type=int, default=1)
    args = ap.parse_args()
    try:
        import lap
    except ImportError:
        lap = None
    for path in args.files:
        name = os.path.splitext(os.path.basename(path))[0]
        kind, rows, cols, payload = load(path)
        if kind == "dense":
            run_dense(name, payload, args.repeats, lap)
        else:
            run_sparse(name, rows, cols, payload, args.sparse_repeats, lap)
        del payload


if __name__ == "__main__":
    sys.exit(main())
