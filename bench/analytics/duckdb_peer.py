"""DuckDB, the named peer of the lane index: the same aggregates from the same Parquet file.

Reads bookings.parquet (written by `lanerunner simulate` / the market crate), loads it into
an in-memory DuckDB table (timed: DuckDB's ingestion), then answers every question in
queries.csv (written by the Rust benchmark: lane, rate kind, window first/last day) one
query at a time (timed: p50/p99), and checks each answer against the lane index's answer
in answers.csv: report count, company count and — where the index showed the aggregate —
the 25th/50th/75th percentile of the rate per mile.

    python3 duckdb_peer.py BOOKINGS_PARQUET ANSWERS_CSV
"""

import csv
import math
import sys
import time

import duckdb


def pct(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main():
    parquet, answers_path = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET threads = 1")
    t0 = time.perf_counter()
    con.execute(
        """CREATE TABLE b AS SELECT origin_market, dest_market, equipment, rate_kind,
               CAST(booked_at AS DATE) AS day, broker_org_id, rate_cents / miles AS rpm
           FROM read_parquet(?)""",
        [parquet],
    )
    load_s = time.perf_counter() - t0
    rows = con.execute("SELECT count(*) FROM b").fetchone()[0]
    print(f"duckdb: loaded {rows:,} bookings in {load_s:.2f} s ({rows / load_s:,.0f} rows/s, 1 thread)")

    with open(answers_path) as f:
        answers = list(csv.DictReader(f))
    stmt = """SELECT count(*), count(DISTINCT broker_org_id),
                     quantile_cont(rpm, 0.25), quantile_cont(rpm, 0.5), quantile_cont(rpm, 0.75)
              FROM b WHERE origin_market = $1 AND dest_market = $2 AND equipment = $3
                AND rate_kind = $4 AND day BETWEEN CAST($5 AS DATE) AND CAST($6 AS DATE)"""
    latencies, mismatches, shown, max_diff = [], 0, 0, 0.0
    for a in answers:
        args = [a["origin"], a["dest"], a["equipment"], a["kind"], a["first"], a["last"]]
        t = time.perf_counter()
        n, companies, p25, p50, p75 = con.execute(stmt, args).fetchone()
        latencies.append(time.perf_counter() - t)
        ok = n == int(a["reports"]) and companies == int(a["companies"])
        if a["status"] == "shown":
            shown += 1
            for ours, theirs in ((a["p25"], p25), (a["median"], p50), (a["p75"], p75)):
                d = abs(float(ours) - theirs)
                max_diff = max(max_diff, d)
                ok = ok and d <= 1e-9 * max(1.0, abs(theirs))
        if not ok:
            mismatches += 1
            if mismatches <= 5:
                print("  differs:", a, (n, companies, p25, p50, p75))
    latencies.sort()
    print(
        f"duckdb: {len(answers):,} lane queries, p50 {pct(latencies, 0.5) * 1e3:.3f} ms, "
        f"p99 {pct(latencies, 0.99) * 1e3:.3f} ms"
    )
    print(
        f"answers: {len(answers) - mismatches:,} of {len(answers):,} equal "
        f"({shown:,} shown, largest quartile difference {max_diff:.3g} cents/mile)"
    )
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
