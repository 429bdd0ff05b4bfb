#!/usr/bin/env bash
# Failover under load: two LaneRunner instances (one PostgreSQL database, one RabbitMQ
# namespace, one Redis prefix, a shared keyring) behind HAProxy, which health-checks
# /readyz and retries what is safe to retry. A load generator (loadgen.py: searches and
# load creations with Idempotency-Key, retried by the client like a real integration)
# runs while instance A is stopped with SIGTERM (a rolling deploy), started again, and
# instance B is killed with SIGKILL (a crash). Prints, per phase, what clients saw first
# and after their retries, latencies, and whether any load was created twice.
#
#   cargo build --release -p lanerunner
#   bash bench/failover/run.sh            # FAILOVER_BIN=… to use another binary
#
# FAILOVER_KEEP=1 keeps the working directory (instance logs a.log/b.log, HAProxy's request
# log haproxy.log with each request's server, retries and Idempotency-Key, out.json) and
# prints its path, to trace a refusal the report lists; FAILOVER_LOG_LEVEL=info (default
# warn) makes the instances log every request.
#
# Needs PostgreSQL, RabbitMQ and Redis on loopback (as scripts/test.sh leaves them) and
# HAProxy (Debian `haproxy`; installed when missing). Listens on 127.0.0.1:18080-18082.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

BIN="${FAILOVER_BIN:-target/release/lanerunner}"
[[ -x "$BIN" ]] || { echo "no binary at $BIN: cargo build --release -p lanerunner" >&2; exit 1; }
command -v haproxy >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >/dev/null
SECONDS_TOTAL="${FAILOVER_SECONDS:-40}"
THREADS="${FAILOVER_THREADS:-8}"

work="$(mktemp -d /tmp/lanerunner-failover.XXXXXX)"
ns="lrfo$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
db="lr_failover_$ns"
admin="postgres://postgres@127.0.0.1:5432/postgres"
# Each instance opens a pool per service (16, up to database.max_connections = 10 each), and
# pools grow under load: with PostgreSQL's default of 100 the second instance, or A's
# restart, fails with "too many clients". scripts/test.sh raises it to 400.
max_conn="$(psql "$admin" -Atc 'show max_connections')"
if (( max_conn < 400 )) && [[ -z "${LANERUNNER_DATABASE__MAX_CONNECTIONS:-}" ]]; then
    echo "PostgreSQL allows $max_conn connections; two instances may need more: raise it" \
        "(scripts/test.sh sets 400) or set LANERUNNER_DATABASE__MAX_CONNECTIONS (3 fits 100)" >&2
fi
psql "$admin" -qc "CREATE DATABASE $db"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [[ -f "$work/haproxy.pid" ]] && kill "$(cat "$work/haproxy.pid")" 2>/dev/null || true
    sleep 0.5
    psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    if [[ -n "${FAILOVER_KEEP:-}" ]]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

export LANERUNNER_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export LANERUNNER_BUS__BACKEND=rabbitmq LANERUNNER_BUS_URL="amqp://guest:guest@127.0.0.1:5672/%2f" LANERUNNER_BUS__NAMESPACE="$ns"
export LANERUNNER_CACHE__BACKEND=redis LANERUNNER_CACHE_URL="redis://127.0.0.1:6379" LANERUNNER_CACHE__PREFIX="$ns:"
export LANERUNNER_STORAGE__KEYRING_FILE="$work/keyring.json"
export LANERUNNER_HTTP__RATE_LIMIT_PER_MINUTE=0 LANERUNNER_LOG_LEVEL="${FAILOVER_LOG_LEVEL:-warn}"
export LANERUNNER_AUTH__MAX_ACCOUNT_FLOWS_PER_ADDRESS=1000

declare -A pid_of
start() { # start NAME PORT
    mkdir -p "$work/$1"
    # Appended: a restarted instance keeps the log of its first life.
    echo "--- starting $1 at $(date -u +%T.%N)" >>"$work/$1.log"
    LANERUNNER_LISTEN="127.0.0.1:$2" LANERUNNER_DATA_DIR="$work/$1" "$BIN" serve >>"$work/$1.log" 2>&1 &
    pid_of[$1]=$!
    pids+=($!)
    for _ in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "instance $1 did not become ready:" >&2; tail -20 "$work/$1.log" >&2; exit 1
}
start a 18081
start b 18082

cat >"$work/haproxy.cfg" <<CFG
global
    maxconn 4096
    log stdout format raw local0
defaults
    mode http
    log global
    # Which server answered, after how many retries (+ when redispatched), and the key.
    option httplog
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    # Retry on another instance what never reached one, or what an instance dropped
    # without answering. Beyond conn-failure HAProxy resends any request it buffered, POSTs
    # included (its manual: the application must protect against replays): creations are
    # safe here because they carry an Idempotency-Key, searches because they only read.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout 503
    option http-server-close
frontend api
    bind 127.0.0.1:18080
    http-request capture req.hdr(idempotency-key) len 40
    default_backend lanerunner
backend lanerunner
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
    server a 127.0.0.1:18081 check
    server b 127.0.0.1:18082 check
CFG
# In the foreground (in the background of this script) so its log can go to a file.
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
echo $! >"$work/haproxy.pid"
for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:18080/readyz >/dev/null 2>&1 && break; sleep 0.1; done

phase="$work/phase"
echo steady >"$phase"
python3 bench/failover/loadgen.py http://127.0.0.1:18080 "$SECONDS_TOTAL" "$THREADS" "$phase" "$work/out.json" &
gen=$!
step=$(( SECONDS_TOTAL / 5 ))
sleep "$step"
echo "sigterm" >"$phase"; kill -TERM "${pid_of[a]}"; wait "${pid_of[a]}" || true
sleep "$step"
echo "restarted" >"$phase"; start a 18081
sleep "$step"
echo "sigkill" >"$phase"; kill -9 "${pid_of[b]}"; wait "${pid_of[b]}" 2>/dev/null || true
sleep "$step"
echo "one-left" >"$phase"
wait "$gen"

dupes="$(psql "$LANERUNNER_DATABASE_URL" -Atc "SELECT count(*) FROM (SELECT reference FROM loads.loads GROUP BY org_id, reference HAVING count(*) > 1) d")"
rows="$(psql "$LANERUNNER_DATABASE_URL" -Atc "SELECT count(*) FROM loads.loads")"
python3 - "$work/out.json" "$dupes" "$rows" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); dupes, rows = int(sys.argv[2]), int(sys.argv[3])
recs = d["records"]
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000 if xs else 0
print("| phase | method | requests | first answer not OK | after client retries not OK | retried | p50 ms | p99 ms | max ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for ph in ["steady", "sigterm", "restarted", "sigkill", "one-left"]:
    for m in ["GET", "POST"]:
        rs = [r for r in recs if r[0] == ph and r[1] == m]
        if not rs: continue
        ok = {200, 201}
        first_bad = sum(1 for r in rs if r[2] not in ok)
        final_bad = sum(1 for r in rs if r[3] not in ok)
        retried = sum(1 for r in rs if r[4] > 1)
        lat = [r[5] for r in rs]
        print(f"| {ph} | {m} | {len(rs)} | {first_bad} | {final_bad} | {retried} | {pct(lat,.5):.1f} | {pct(lat,.99):.1f} | {max(lat)*1000:.0f} |")
created = d["created"]
print()
print(f"Loads acknowledged: {len(created)} (distinct ids {len(set(created.values()))}); rows in the store: {rows}; references stored twice: {dupes}.")
bad = [r for r in recs if r[3] not in (200, 201)]
if bad:
    from collections import Counter
    print("Final answers not OK:", dict(Counter((r[0], r[1], r[3]) for r in bad)))
# Answers neither 2xx nor retryable, first or final, with the problem+json that explains them.
for x in d.get("refusals", []):
    print(f"Refused ({x['phase']}, {x['method']}, attempts {x['statuses']}, key {x['key']}, reference {x['reference']}):")
    for which in ("first", "final"):
        if x[which]:
            print(f"  {which}: {x[which]['status']} {x[which]['type']}: {x[which]['detail']}")
PY
