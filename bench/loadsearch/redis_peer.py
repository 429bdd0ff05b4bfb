"""Redis peer for the load-board search benchmark (issue 19).

Loads the Rust generator's loads.csv into a scratch Redis logical database -- one geo set
per equipment bit (a load with several bits is in each of their sets) and one hash whose
field per load is the load id and whose value is its filter attributes packed into 57
bytes -- then runs the same queries (queries.jsonl) as a server-side Lua script called by
EVALSHA: GEOSEARCH FROMLONLAT BYRADIUS over each geo set the query accepts, every other
filter applied to the returned members from their packed attributes, and the first page
plus the total number of matches returned. One connection, one query at a time (like the
in-process Rust loop). Prints `key<TAB>value` lines; compares a sample of first pages
with the Rust index's (expected.tsv) and, when rust_latency_us.txt is there, the totals
of every query run.

The script decides membership and deadhead order itself, from the exact coordinates in
the packed attributes and with the index's arithmetic, so GEOSEARCH is asked for neither
WITHDIST nor ASC. Redis's own answer differs at the edges: it measures quantised (52-bit
geohash) positions on a larger sphere and replies distances rounded to 0.0001 mi. Trusting
GEOSEARCH's membership and WITHDIST order instead, 84 of 2,000 totals came out short on
100k loads (loads within ~0.03% of the radius, outside Redis's circle) and one first page
in another order (two loads 0.1 m apart in deadhead, both at 1.5643 mi).

    python redis_peer.py WORKDIR [--queries N] [--url redis://127.0.0.1:6379/15]

The database given by --url is flushed before loading and after the run.
"""
import argparse
import json
import math
import statistics
import struct
import sys
import time
import uuid

import redis

import report

R_MILES = 3958.7613  # lanerunner_geo::EARTH_RADIUS_MILES
# The sphere Redis measures geo distances on (geohash_helper.c), in metres.
REDIS_EARTH_M = 6372797.560856
BITS = 10  # equipment bits in lanerunner_loadsearch::equipment
ATTRS = "attrs"
# The fields the cheap filters test first -- pickup start, pickup end (unix seconds, u32
# until 2106), rate per mile (the index's f32, so that a minimum compares as it does
# there), weight, full -- so that the script unpacks the rest only for loads that pass
# them; then posted at, destination state and market, and the exact f64 destination and
# origin as generated. 57 bytes, which with the 4 bytes of sds header and terminator fill
# a 64-byte jemalloc slot exactly; the origin's unit vector (24 bytes instead of 16) would
# not.
PACK = struct.Struct("<IIfIBI2sHdddd")  # '<I4I4fI4B' then '<I4c2Hdddd' in the script
assert PACK.size == 57

# KEYS[1] is the attribute hash, KEYS[2..] the geo sets of the equipment bits the query
# accepts: every key the script touches is declared.
SEARCH_LUA = r"""
local rad, cos, sin, unpackv = math.rad, math.cos, math.sin, struct.unpack
local A = ARGV
local lon, lat, radius_m = A[1], A[2], A[3]
local ux, uy, uz, hav_max = tonumber(A[4]), tonumber(A[5]), tonumber(A[6]), tonumber(A[7])
local from, to, min_rpm, max_w = tonumber(A[8]), tonumber(A[9]), tonumber(A[10]), tonumber(A[11])
local ok_full, ok_partial = A[12] == '1', A[13] == '1'
local sort, limit, dkind = A[14], tonumber(A[15]), A[16]
local dlat, dlon, dcos, dhav, dspan
local dset = {}
if dkind == 'radius' then
  dlat, dlon, dcos, dhav, dspan =
    tonumber(A[17]), tonumber(A[18]), tonumber(A[19]), tonumber(A[20]), tonumber(A[21])
elseif dkind == 'states' then
  for i = 17, #A do dset[A[i]] = true end
elseif dkind == 'markets' then
  for i = 17, #A do dset[tonumber(A[i])] = true end
end

-- Candidates: the union of the accepted sets' members within the (widened) radius.
-- A load with two accepted bits comes back from both sets and must count once.
local members
if #KEYS == 2 then
  members = redis.call('GEOSEARCH', KEYS[2], 'FROMLONLAT', lon, lat, 'BYRADIUS', radius_m, 'm')
else
  members = {}
  local seen, n = {}, 0
  for k = 2, #KEYS do
    local ms = redis.call('GEOSEARCH', KEYS[k], 'FROMLONLAT', lon, lat, 'BYRADIUS', radius_m, 'm')
    for i = 1, #ms do
      local m = ms[i]
      if not seen[m] then seen[m] = true; n = n + 1; members[n] = m end
    end
  end
end

-- Page: a bounded max-heap of the best `limit` (key, id) pairs, the worst on top, so a
-- match costs one comparison once the page is full; ids are 16 big-endian bytes, whose
-- byte order is the index's u128 order (the client checks that the server's string
-- comparison is byte order).
local hk, hi, hn = {}, {}, 0
local function worse(k1, i1, k2, i2)
  return k1 > k2 or (k1 == k2 and i1 > i2)
end
local function offer(k, id)
  if hn < limit then
    hn = hn + 1
    local j = hn
    while j > 1 do
      local p = (j - j % 2) / 2
      if not worse(k, id, hk[p], hi[p]) then break end
      hk[j], hi[j] = hk[p], hi[p]
      j = p
    end
    hk[j], hi[j] = k, id
  elseif worse(hk[1], hi[1], k, id) then
    local j = 1
    while true do
      local c = 2 * j
      if c > hn then break end
      if c < hn and worse(hk[c + 1], hi[c + 1], hk[c], hi[c]) then c = c + 1 end
      if not worse(hk[c], hi[c], k, id) then break end
      hk[j], hi[j] = hk[c], hi[c]
      j = c
    end
    hk[j], hi[j] = k, id
  end
end

local total = 0
-- HMGET in batches: Lua 5.1's unpack() is limited by its C stack (8,000 values).
local B = 4000
for b0 = 1, #members, B do
  local b1 = math.min(b0 + B - 1, #members)
  local vals = redis.call('HMGET', KEYS[1], unpack(members, b0, b1))
  for i = 1, b1 - b0 + 1 do
    local v = vals[i]
    local ps, pe, rpm, w, full = unpackv('<I4I4fI4B', v)
    if ps <= to and pe >= from and rpm >= min_rpm and w <= max_w
        and ((full == 1 and ok_full) or (full == 0 and ok_partial)) then
      local posted, dst, dm, la, lo, olat, olon = unpackv('<I4c2Hdddd', v, 18)
      local dest_ok
      if dkind == 'any' then
        dest_ok = true
      elseif dkind == 'radius' then
        -- lanerunner_loadsearch::Circle::contains, same operations in the same order;
        -- the latitude band first, wider than the circle, as the index does.
        dest_ok = false
        if math.abs(la - dlat) <= dspan then
          local s1 = sin(rad(la - dlat) * 0.5)
          local s2 = sin(rad(lo - dlon) * 0.5)
          dest_ok = s1 * s1 + dcos * cos(rad(la)) * s2 * s2 <= dhav
        end
      elseif dkind == 'states' then
        dest_ok = dset[dst] == true
      else
        dest_ok = dset[dm] == true
      end
      if dest_ok then
        -- The exact origin test: GEOSEARCH measured quantised coordinates on another
        -- sphere with a widened radius. Circle::hav_unit on unit_vector(origin), as the
        -- index computes it, so boundary cases and deadhead ties are decided alike.
        local p, l = rad(olat), rad(olon)
        local c = cos(p)
        local dx, dy, dz = c * cos(l) - ux, c * sin(l) - uy, sin(p) - uz
        local h = (dx * dx + dy * dy + dz * dz) * 0.25
        if h <= hav_max then
          total = total + 1
          local key
          if sort == 'age' then key = -posted
          elseif sort == 'rpm' then key = -rpm
          elseif sort == 'deadhead' then key = h
          else key = ps end
          offer(key, members[b0 + i - 1])
        end
      end
    end
  end
end

local order = {}
for j = 1, hn do order[j] = j end
table.sort(order, function(a, b) return worse(hk[b], hi[b], hk[a], hi[a]) end)
local out = {total}
for j = 1, hn do out[j + 1] = hi[order[j]] end
return out
"""


def f32(x):
    """The nearest f32, as the index stores rates per mile and their minimum."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def unit_vector(lat, lon):
    # lanerunner_loadsearch::circle::unit_vector; math.radians is x * (pi / 180) as
    # f64::to_radians, and both call the C library's sin and cos.
    p, l = math.radians(lat), math.radians(lon)
    c = math.cos(p)
    return c * math.cos(l), c * math.sin(l), math.sin(p)


def geo_key(bit):
    return f"geo:{bit}"


def search_args(q):
    """(keys, argv) of one query for SEARCH_LUA."""
    eq = q["equipment"] or (1 << BITS) - 1
    keys = [ATTRS] + [geo_key(b) for b in range(BITS) if eq >> b & 1]
    # Redis keeps a point as a 52-bit geohash (its cell's centre is up to ~0.3 m from the
    # point) and measures on a sphere of 6372797.56 m where the index uses 3958.7613 mi
    # (6371008.8 m): at the same radius in miles it would miss points the index counts.
    # Ask for the index's angle on Redis's sphere, plus 2 m; the script's exact test
    # then drops what this lets in beyond the index's circle.
    radius_m = q["air_miles"] / R_MILES * REDIS_EARTH_M * (1 + 1e-9) + 2.0
    ux, uy, uz = unit_vector(q["lat"], q["lon"])
    size = q["size"]
    argv = [
        repr(q["lon"]), repr(q["lat"]), repr(radius_m),
        repr(ux), repr(uy), repr(uz), repr(q["hav_max"]),
        str(q["from"]) if q["from"] is not None else "-1e300",
        str(q["to"]) if q["to"] is not None else "1e300",
        repr(f32(q["min_rpm"])) if q["min_rpm"] is not None else "-1e300",
        str(q["max_weight"]) if q["max_weight"] is not None else "1e300",
        "1" if size != "partial" else "0", "1" if size != "full" else "0",
        q["sort"], str(q["limit"]),
    ]
    d = q["dest"]
    if d and "radius" in d:
        r = d["radius"]
        span = math.degrees(r["air_miles"] / R_MILES) * (1 + 1e-9) + 1e-9
        cos_lat = math.cos(math.radians(r["lat"]))  # Circle::cos_lat of the centre
        argv += ["radius", repr(r["lat"]), repr(r["lon"]), repr(cos_lat), repr(r["hav_max"]),
                 repr(span)]
    elif d and "states" in d:
        argv += ["states"] + d["states"]
    elif d and "markets" in d:
        argv += ["markets"] + [str(m) for m in d["markets"]]
    else:
        argv += ["any"]
    return keys, argv


def used_memory(r):
    return r.info("memory")["used_memory"]


def load(r, work):
    r.flushdb()
    before = used_memory(r)
    t = time.perf_counter()
    n = 0
    batch = 5000
    pipe = r.pipeline(transaction=False)
    with open(f"{work}/loads.csv") as f:
        while True:
            rows = [line for _, line in zip(range(batch), f)]
            if not rows:
                break
            geo = [[] for _ in range(BITS)]
            attrs = {}
            for line in rows:
                (lid, olat, olon, dlat, dlon, _ostate, dstate, dmarket, equipment, pstart, pend,
                 _rate, _miles, rpm, weight, full, posted) = line.rstrip("\n").split(",")
                key = uuid.UUID(lid).bytes
                olat, olon = float(olat), float(olon)
                eq = int(equipment)
                for b in range(BITS):
                    if eq >> b & 1:
                        geo[b] += (olon, olat, key)
                attrs[key] = PACK.pack(int(pstart), int(pend), float(rpm), int(weight),
                                       full == "true", int(posted), dstate.encode(),
                                       int(dmarket), float(dlat), float(dlon), olat, olon)
            for b in range(BITS):
                if geo[b]:
                    pipe.execute_command("GEOADD", geo_key(b), *geo[b])
            pipe.hset(ATTRS, mapping=attrs)
            pipe.execute()
            n += len(rows)
    load_s = time.perf_counter() - t
    after = used_memory(r)
    assert r.hlen(ATTRS) == n, "duplicate load ids"
    print(f"redis_loads\t{n}")
    print(f"redis_load_s\t{load_s:.1f}")
    print(f"redis_bytes_per_load\t{(after - before) / n:.1f}")


def check_string_order(r):
    # The page's tie-break compares 16-byte ids with Lua's `<`, which is strcoll(): byte
    # order only under the C locale (and past embedded zeros only as Lua 5.1 handles them).
    got = r.eval("return {tostring('a' < 'B'), tostring('\\0\\1' < '\\0\\2'),"
                 " tostring('\\127' < '\\128'), tostring('\\0' < '\\0\\0')}", 0)
    if got != [b"false", b"true", b"true", b"true"]:
        sys.exit(f"redis_peer: the server's Lua string comparison is not byte order: {got}")


def search(r, sha, keys, argv):
    reply = r.evalsha(sha, len(keys), *keys, *argv)
    return reply[0], reply[1:]


def run(r, sha, queries, args):
    lat_ms, pages, totals = [], {}, {}
    start = time.perf_counter()
    for i, (keys, argv) in enumerate(args):
        t = time.perf_counter()
        total, ids = search(r, sha, keys, argv)
        lat_ms.append((time.perf_counter() - t) * 1e3)
        totals[i] = total
        pages[i] = ids
    wall = time.perf_counter() - start
    report.latency("redis", lat_ms, wall)
    pages = {i: [str(uuid.UUID(bytes=b)) for b in ids] for i, ids in pages.items()}
    return pages, totals


def compare(pages, totals, expected, rust_totals):
    notes = report.pages("redis", pages, expected)
    # Totals of every query run, not only the sampled pages.
    if rust_totals:
        n = min(len(rust_totals), len(totals))
        diff = [i for i in range(n) if totals[i] != rust_totals[i]]
        print(f"redis_totals_checked\t{n}\nredis_totals_equal\t{n - len(diff)}")
        notes += [f"q{i}: total {totals[i]} vs rust {rust_totals[i]}" for i in diff]
    for note in notes[:10]:
        print(f"redis_note\t{note}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--url", default="redis://127.0.0.1:6379/15")
    a = ap.parse_args()
    queries = [json.loads(l) for l in open(f"{a.work}/queries.jsonl")][: a.queries]
    expected = report.expected(a.work)
    try:
        rust_totals = [int(l.split("\t")[1]) for l in open(f"{a.work}/rust_latency_us.txt")]
    except FileNotFoundError:
        rust_totals = None
    r = redis.Redis.from_url(a.url)
    check_string_order(r)
    try:
        load(r, a.work)
        sha = r.script_load(SEARCH_LUA)
        # Argument lists are built outside the timed loop, as peers.py binds parameters
        # outside its timing.
        args = [search_args(q) for q in queries]
        # Warm up the same way as the PostgreSQL peers.
        for keys, argv in args[:100]:
            search(r, sha, keys, argv)
        # The floor under every search's latency: a round trip through this client.
        ping = []
        for _ in range(1000):
            t = time.perf_counter()
            r.ping()
            ping.append((time.perf_counter() - t) * 1e3)
        print(f"redis_ping_p50_ms\t{statistics.median(ping):.3f}")
        pages, totals = run(r, sha, queries, args)
        compare(pages, totals, expected, rust_totals)
    finally:
        r.flushdb()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
