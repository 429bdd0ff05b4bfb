"""What every peer of the load-board search benchmark prints the same way: latency
percentiles and throughput, and how its first pages compare with the Rust index's
(`expected.tsv`). Shared by peers.py (PostgreSQL) and redis_peer.py.
"""
import statistics


def latency(variant, lat_ms, wall):
    """Prints `<variant>_queries`, `_p50_ms`, `_p99_ms`, `_mean_ms`, `_qps`."""
    lat_ms = sorted(lat_ms)
    pct = lambda x: lat_ms[min(len(lat_ms) - 1, round((len(lat_ms) - 1) * x))]
    print(f"{variant}_queries\t{len(lat_ms)}")
    print(f"{variant}_p50_ms\t{pct(0.5):.3f}\n{variant}_p99_ms\t{pct(0.99):.3f}")
    print(f"{variant}_mean_ms\t{statistics.fmean(lat_ms):.3f}\n{variant}_qps\t{len(lat_ms) / wall:.1f}")


def pages(variant, got, expected):
    """Prints `<variant>_checked`, `_identical`, `_same_set`; returns notes on mismatches."""
    same = same_set = checked = 0
    notes = []
    for i, (total, ids) in expected.items():
        if i not in got:
            continue
        checked += 1
        if got[i] == ids:
            same += 1
        elif set(got[i]) == set(ids):
            same_set += 1
            notes.append(f"q{i}: same ids, order differs (ties)")
        else:
            notes.append(f"q{i}: {len(set(got[i]) ^ set(ids))} ids differ "
                         f"({variant} {len(got[i])} vs rust {len(ids)} of {total})")
    print(f"{variant}_checked\t{checked}\n{variant}_identical\t{same}\n{variant}_same_set\t{same_set}")
    return notes


def expected(work):
    """The Rust index's sampled first pages: {query index: (total, [ids])}."""
    pages = {}
    for line in open(f"{work}/expected.tsv"):
        i, total, ids = line.rstrip("\n").split("\t")
        pages[int(i)] = (int(total), ids.split(",") if ids else [])
    return pages
