"""The rate-model benchmark's peer: LightGBM (PyPI `lightgbm`) on the very features, target
and time split LaneRunner's benchmark wrote (features.csv), with the same settings where
the two share one (leaves, learning rate, minimum leaf size, L2, bins, early stopping on
the calibration rows, the three categorical columns), and the same split-conformal 80 %
interval from the calibration residuals, so its coverage is comparable.

    python3 bench/ratemodel/lightgbm_peer.py OUT/features.csv OUT/lightgbm.json [LEARNING_RATE]
"""
import json
import sys
import time

import lightgbm as lgb
import numpy as np
import pandas as pd

CATEGORICAL = ["origin_market", "dest_market", "equipment"]


def conformal(sorted_r, q):
    n = len(sorted_r)
    k = int(np.ceil((n + 1) * q))
    return sorted_r[min(max(k, 1), n) - 1]


def mape_shift(r):
    """The shift c minimizing sum |1 - exp(c - r)| on the grid LaneRunner searches."""
    n = len(r)
    lo, hi = r[n // 20], r[n - 1 - n // 20]
    grid = lo + (hi - lo) * np.arange(201) / 200.0
    cost = [np.abs(1.0 - np.exp(c - r)).sum() for c in grid]
    return grid[int(np.argmin(cost))]


def main(features_csv, out_json, learning_rate=0.05):
    df = pd.read_csv(features_csv)
    feats = [c for c in df.columns if c not in ("y", "split")]
    for c in CATEGORICAL:
        df[c] = df[c].astype("Int64").astype("category")
    train, cal, test = (df[df.split == s] for s in ("train", "cal", "test"))
    params = {
        "objective": "regression",
        "learning_rate": learning_rate,
        "num_leaves": 63,
        "min_data_in_leaf": 40,
        "lambda_l2": 1.0,
        "max_bin": 255,
        "cat_smooth": 10.0,
        "cat_l2": 10.0,
        "min_data_per_group": 50,
        "max_cat_threshold": 32,
        "verbose": -1,
        "num_threads": 1,
        "seed": 7,
    }
    dtrain = lgb.Dataset(train[feats], train.y, categorical_feature=CATEGORICAL)
    dcal = lgb.Dataset(cal[feats], cal.y, reference=dtrain)
    started = time.perf_counter()
    booster = lgb.train(
        params,
        dtrain,
        num_boost_round=1000,
        valid_sets=[dcal],
        callbacks=[lgb.early_stopping(30, verbose=False)],
    )
    train_seconds = time.perf_counter() - started
    r = np.sort(cal.y.to_numpy() - booster.predict(cal[feats], num_iteration=booster.best_iteration))
    lo, hi = conformal(r, 0.1), conformal(r, 0.9)
    shift = mape_shift(r)
    pred = booster.predict(test[feats], num_iteration=booster.best_iteration)
    actual = np.exp(test.y.to_numpy())
    ape = np.abs(np.exp(pred) - actual) / actual
    inside = (np.exp(pred + lo) <= actual) & (actual <= np.exp(pred + hi))
    ape_shifted = np.abs(np.exp(pred + shift) - actual) / actual
    # One row at a time, as a service prices one load (Python call overhead included).
    rows = test[feats].iloc[:2000].astype("float64").to_numpy()
    lat = []
    for i in range(len(rows)):
        one = rows[i : i + 1]
        t = time.perf_counter()
        booster.predict(one, num_iteration=booster.best_iteration)
        lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    report = {
        "trees": booster.best_iteration,
        "train_seconds": train_seconds,
        "lightgbm": {
            "rows": int(len(test)),
            "mape": float(ape.mean()),
            "median_ape": float(np.median(ape)),
            "coverage": float(inside.mean()),
        },
        # The same learner with LaneRunner's MAPE-optimal point shift from the calibration
        # residuals, to separate the trees from the calibration.
        "lightgbm_shifted": {"mape": float(ape_shifted.mean()), "shift": float(shift)},
        "predict_us": {"p50": lat[len(lat) // 2], "p99": lat[int(0.99 * (len(lat) - 1))], "n": len(lat)},
        "version": lgb.__version__,
    }
    with open(out_json, "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(float(a) for a in sys.argv[3:4]))
