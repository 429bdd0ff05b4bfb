"""PostgreSQL peers for the load-board search benchmark (issue 3).

Loads the Rust generator's loads.csv into a scratch database, then runs the same queries
(queries.jsonl) two ways -- PostGIS ST_DWithin on a GiST-indexed geography column, and a
plain SQL latitude/longitude bounding box on a btree index plus an exact haversine -- with
server-side prepared statements, one connection, one query at a time (like the in-process
Rust loop). Prints `key<TAB>value` lines; compares a sample of first pages with the Rust
index's (expected.tsv).

    python peers.py WORKDIR [--queries N] [--dsn postgresql://...] [--skip-load]
"""
import argparse
import json
import math
import sys
import time

import psycopg

import report

R_MILES = 3958.7613
M_PER_MILE = 1609.344

SCHEMA = """
DROP TABLE IF EXISTS loads;
CREATE TABLE loads (
    id uuid PRIMARY KEY,
    olat float8 NOT NULL, olon float8 NOT NULL,
    dlat float8 NOT NULL, dlon float8 NOT NULL,
    ostate char(2) NOT NULL, dstate char(2) NOT NULL, dmarket int NOT NULL,
    equipment int NOT NULL,
    pstart bigint NOT NULL, pend bigint NOT NULL,
    rate_cents bigint NOT NULL, loaded_miles real NOT NULL, rpm real NOT NULL,
    weight int NOT NULL, full_tl bool NOT NULL, posted_at bigint NOT NULL,
    origin geography(Point, 4326)
        GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(olon, olat), 4326)::geography) STORED,
    dest geography(Point, 4326)
        GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(dlon, dlat), 4326)::geography) STORED
);
"""
COLUMNS = ("id, olat, olon, dlat, dlon, ostate, dstate, dmarket, equipment, pstart, pend, "
           "rate_cents, loaded_miles, rpm, weight, full_tl, posted_at")

COMMON = """(equipment & %(eq)s) <> 0 AND pstart <= %(to)s AND pend >= %(from)s
  AND rpm >= %(min_rpm)s::real AND weight <= %(max_w)s AND full_tl = ANY(%(sizes)s)"""

def hav_sql(lat_col, lon_col, lat_p, lon_p):
    # Same operations, same order, as lanerunner_loadsearch::Circle::hav.
    s1 = f"sin(radians({lat_col} - %({lat_p})s) * 0.5)"
    s2 = f"sin(radians({lon_col} - %({lon_p})s) * 0.5)"
    return f"({s1} * {s1} + cos(radians(%({lat_p})s)) * cos(radians({lat_col})) * {s2} * {s2})"

def dest_sql(kind, variant):
    if kind == "any":
        return "TRUE"
    if kind == "states":
        return "dstate = ANY(%(states)s)"
    if kind == "markets":
        return "dmarket = ANY(%(markets)s)"
    if variant == "postgis":
        return ("ST_DWithin(dest, ST_SetSRID(ST_MakePoint(%(dlon)s, %(dlat)s), 4326)::geography,"
                " %(dmeters)s, false)")
    return (f"dlat BETWEEN %(dlat_lo)s AND %(dlat_hi)s AND "
            f"{hav_sql('dlat', 'dlon', 'dlat', 'dlon')} <= %(dhav)s")

def build_sql(variant, kind, sort):
    if variant == "postgis":
        pt = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography"
        origin = f"ST_DWithin(origin, {pt}, %(meters)s, false)"
        dist = f"ST_Distance(origin, {pt}, false)"
    else:
        origin = ("olat BETWEEN %(lat_lo)s AND %(lat_hi)s AND olon BETWEEN %(lon_lo)s AND %(lon_hi)s"
                  f" AND {hav_sql('olat', 'olon', 'lat', 'lon')} <= %(hav)s")
        dist = hav_sql("olat", "olon", "lat", "lon")
    order = {"age": "posted_at DESC", "rpm": "rpm DESC", "deadhead": f"{dist} ASC",
             "pickup": "pstart ASC"}[sort]
    return (f"SELECT id FROM loads WHERE {origin} AND {COMMON} AND {dest_sql(kind, variant)} "
            f"ORDER BY {order}, id LIMIT %(limit)s")

def bbox(lat, lon, air_miles):
    span = math.degrees(air_miles / R_MILES)
    lo, hi = max(lat - span, -90.0), min(lat + span, 90.0)
    max_abs = max(abs(lo), abs(hi))
    s = math.sin(math.radians(span) / 2) / math.cos(math.radians(max_abs))
    if s >= 1 or max_abs >= 89.9:
        return lo, hi, -180.0, 180.0
    dlon = math.degrees(2 * math.asin(s)) + 1e-9
    return lo - 1e-9, hi + 1e-9, max(lon - dlon, -180.0), min(lon + dlon, 180.0)

def params(q):
    p = {
        "lat": q["lat"], "lon": q["lon"], "meters": q["air_miles"] * M_PER_MILE,
        "hav": q["hav_max"], "eq": q["equipment"] or 0xFFFF,
        "from": q["from"] if q["from"] is not None else -(2 ** 63),
        "to": q["to"] if q["to"] is not None else 2 ** 63 - 1,
        "min_rpm": q["min_rpm"] if q["min_rpm"] is not None else "-Infinity",
        "max_w": q["max_weight"] if q["max_weight"] is not None else 2 ** 31 - 1,
        "sizes": {"any": [True, False], "full": [True], "partial": [False]}[q["size"]],
        "limit": q["limit"],
    }
    p["lat_lo"], p["lat_hi"], p["lon_lo"], p["lon_hi"] = bbox(q["lat"], q["lon"], q["air_miles"])
    d = q["dest"]
    kind = "any"
    if d and "radius" in d:
        kind, r = "radius", d["radius"]
        span = math.degrees(r["air_miles"] / R_MILES) * (1 + 1e-9) + 1e-9
        p.update(dlat=r["lat"], dlon=r["lon"], dmeters=r["air_miles"] * M_PER_MILE,
                 dhav=r["hav_max"], dlat_lo=r["lat"] - span, dlat_hi=r["lat"] + span)
    elif d and "states" in d:
        kind, p["states"] = "states", d["states"]
    elif d and "markets" in d:
        kind, p["markets"] = "markets", d["markets"]
    return kind, p

def load(conn, work):
    t = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute(SCHEMA)
        with open(f"{work}/loads.csv", "rb") as f, \
                cur.copy(f"COPY loads ({COLUMNS}) FROM STDIN WITH (FORMAT csv)") as cp:
            while chunk := f.read(1 << 20):
                cp.write(chunk)
        copy_s = time.perf_counter() - t
        t = time.perf_counter()
        cur.execute("CREATE INDEX loads_origin_gist ON loads USING gist (origin)")
        gist_s = time.perf_counter() - t
        t = time.perf_counter()
        cur.execute("CREATE INDEX loads_olat_olon ON loads (olat, olon)")
        btree_s = time.perf_counter() - t
        # Best case for the peers: rows physically ordered by origin, so that one search
        # reads few heap pages.
        t = time.perf_counter()
        cur.execute("CLUSTER loads USING loads_origin_gist")
        cluster_s = time.perf_counter() - t
        cur.execute("VACUUM ANALYZE loads")
        cur.execute("SELECT pg_relation_size('loads'), pg_relation_size('loads_origin_gist'),"
                    " pg_relation_size('loads_olat_olon')")
        heap, gist, btree = cur.fetchone()
        cur.execute("SELECT count(*) FROM loads")
        n = cur.fetchone()[0]
    print(f"pg_loads\t{n}")
    print(f"pg_copy_s\t{copy_s:.1f}\npg_gist_build_s\t{gist_s:.1f}\npg_btree_build_s\t{btree_s:.1f}")
    print(f"pg_cluster_s\t{cluster_s:.1f}")
    print(f"pg_heap_bytes_per_load\t{heap / n:.1f}")
    print(f"pg_gist_bytes_per_load\t{gist / n:.1f}\npg_btree_bytes_per_load\t{btree / n:.1f}")

def run(conn, variant, queries):
    lat_ms, pages = [], {}
    with conn.cursor() as cur:
        start = time.perf_counter()
        for i, q in enumerate(queries):
            kind, p = params(q)
            sql = build_sql(variant, kind, q["sort"])
            t = time.perf_counter()
            cur.execute(sql, p, prepare=True)
            rows = cur.fetchall()
            lat_ms.append((time.perf_counter() - t) * 1e3)
            pages[i] = [str(r[0]) for r in rows]
        wall = time.perf_counter() - start
    report.latency(variant, lat_ms, wall)
    return pages

def compare(variant, pages, expected):
    for n in report.pages(variant, pages, expected)[:10]:
        print(f"{variant}_note\t{n}")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/lr_bench_search")
    ap.add_argument("--skip-load", action="store_true")
    a = ap.parse_args()
    queries = [json.loads(l) for l in open(f"{a.work}/queries.jsonl")][: a.queries]
    expected = report.expected(a.work)
    with psycopg.connect(a.dsn, autocommit=True, prepare_threshold=None) as conn:
        # JIT compilation costs hundreds of ms per execution of these short queries.
        conn.execute("SET jit = off")
        if not a.skip_load:
            load(conn, a.work)
        # Warm the caches the same way the Rust loop is warmed.
        for variant in ("postgis", "bbox"):
            run_quiet = queries[: min(100, len(queries))]
            with conn.cursor() as cur:
                for q in run_quiet:
                    kind, p = params(q)
                    cur.execute(build_sql(variant, kind, q["sort"]), p, prepare=True)
                    cur.fetchall()
        for variant in ("postgis", "bbox"):
            compare(variant, run(conn, variant, queries), expected)
    sys.stdout.flush()

if __name__ == "__main__":
    main()
