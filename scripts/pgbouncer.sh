#!/usr/bin/env bash
# PgBouncer (Debian's) in transaction pooling mode on 127.0.0.1:6439, in front of the
# machine's PostgreSQL on 127.0.0.1:5432, for the transaction-pooling test and benchmark
# (crates/lanerunner/tests/pgbouncer.rs, `lanerunner bench capacity --store pgbouncer`).
# Any database name is passed through (`* = …`); users connect without a password (the
# cluster trusts loopback). Each database/user pair gets at most $POOL_SIZE server
# connections (default 4), however many clients connect: the point of a transaction
# pooler, and what makes the test see clients share server connections.
#
# Its files live under $LANERUNNER_PGBOUNCER_DIR (default /var/tmp/lanerunner-pgbouncer)
# and it runs as the postgres user (PgBouncer refuses root). The package's own service (on
# 6432, session pooling, if it was started) is not touched. Idempotent: a running
# PgBouncer on 6439 is left as it is.
#
#   bash scripts/pgbouncer.sh          # start (install on first use)
#   bash scripts/pgbouncer.sh stop
#   bash scripts/pgbouncer.sh stop && POOL_SIZE=20 bash scripts/pgbouncer.sh   # the benchmark's
set -euo pipefail

DIR="${LANERUNNER_PGBOUNCER_DIR:-/var/tmp/lanerunner-pgbouncer}"
PORT=6439
POOL_SIZE="${POOL_SIZE:-4}"

as_postgres() {
    if [[ "$(id -un)" == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

if [[ "${1:-start}" == stop ]]; then
    if [[ -f "$DIR/pgbouncer.pid" ]]; then
        kill "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null || true
    fi
    for _ in $(seq 1 50); do
        pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null || exit 0
        sleep 0.2
    done
    echo "PgBouncer on $PORT did not stop" >&2
    exit 1
fi

if ! command -v pgbouncer >/dev/null && [[ ! -x /usr/sbin/pgbouncer ]]; then
    echo "installing pgbouncer (Debian)"
    # The package would start its own service on 6432: tell invoke-rc.d not to.
    made_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null; }
    if (( made_policy )); then rm -f /usr/sbin/policy-rc.d; fi
fi
PGBOUNCER="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"

if pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
    exit 0
fi

mkdir -p "$DIR"
# The users the tests and benchmarks connect as; trust auth still wants them listed.
printf '"postgres" ""\n"root" ""\n' > "$DIR/userlist.txt"
cat > "$DIR/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 2000
; LaneRunner sends no startup parameter PgBouncer does not track when
; database.pooling = "transaction"; other clients (psql, JDBC) may send these.
ignore_startup_parameters = extra_float_digits
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
admin_users = postgres
stats_users = postgres
EOF
chown -R postgres:postgres "$DIR"
as_postgres "$PGBOUNCER" -d "$DIR/pgbouncer.ini"
for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.2
done
pg_isready -h 127.0.0.1 -p "$PORT"
