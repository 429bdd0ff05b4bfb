#!/usr/bin/env bash
# A PostgreSQL primary with a synchronous streaming replica on loopback, for the failover
# test and benchmark: primary 127.0.0.1:5442, replica 127.0.0.1:5443 (pg_basebackup -R),
# trust auth, user postgres, under $LANERUNNER_PG_HA_DIR (default /var/tmp/lanerunner-pg-ha).
# The pair belongs to the failover test alone: a failover consumes it (the primary is killed,
# the replica promoted), so each run rebuilds it. Neither the machine's cluster on 5432 nor
# the read-replica pair on 5440/5441 (scripts/pg-replica.sh) is touched.
#
#   bash scripts/pg-ha.sh                 # start the pair (create it on first use)
#   bash scripts/pg-ha.sh rebuild [async] # a fresh pair; `async`: replication not synchronous
#   bash scripts/pg-ha.sh kill-primary    # the primary dies (pg_ctl stop -m immediate)
#   bash scripts/pg-ha.sh promote         # the replica becomes the primary
#   bash scripts/pg-ha.sh stop
set -euo pipefail

DIR="${LANERUNNER_PG_HA_DIR:-/var/tmp/lanerunner-pg-ha}"
PRIMARY_PORT=5442
REPLICA_PORT=5443
version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
BIN="/usr/lib/postgresql/$version/bin"

as_postgres() {
    if [[ "$(id -un)" == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$1"; }

psql_at() { "$BIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -qAtX -c "$2"; }

stop_all() {
    for c in replica primary; do
        if [[ -f "$DIR/$c/postmaster.pid" ]]; then
            as_postgres "$BIN/pg_ctl" -D "$DIR/$c" -m immediate stop >/dev/null 2>&1 || true
        fi
    done
}

# Synchronous unless asked otherwise: a commit is acknowledged once the replica has the WAL
# on disk, so a promoted replica has every acknowledged write.
create() {
    local mode="$1"
    stop_all
    rm -rf "$DIR/primary" "$DIR/replica"
    mkdir -p "$DIR"
    chown postgres: "$DIR"
    as_postgres "$BIN/initdb" --no-sync -D "$DIR/primary" -U postgres -A trust >/dev/null
    cat >> "$DIR/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$DIR'
wal_level = replica
max_wal_senders = 5
max_connections = 300
CONF
    if [[ "$mode" == sync ]]; then
        echo "synchronous_standby_names = '*'" >> "$DIR/primary/postgresql.conf"
    fi
    grep -q "host replication all 127.0.0.1/32" "$DIR/primary/pg_hba.conf" ||
        echo "host replication all 127.0.0.1/32 trust" >> "$DIR/primary/pg_hba.conf"
    as_postgres "$BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -w start >/dev/null
    # -R writes standby.signal and primary_conninfo: the copy starts as a streaming replica.
    as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
        -D "$DIR/replica" -R -X stream -c fast
    # The copy carries the primary's settings. Once promoted it has no standby of its own,
    # so it must not wait for one: it runs alone until the pair is rebuilt.
    printf "port = %s\nsynchronous_standby_names = ''\n" "$REPLICA_PORT" >> "$DIR/replica/postgresql.conf"
    echo "$mode" > "$DIR/mode"
}

start() {
    ready "$PRIMARY_PORT" || as_postgres "$BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -w start >/dev/null
    ready "$REPLICA_PORT" || as_postgres "$BIN/pg_ctl" -D "$DIR/replica" -l "$DIR/replica.log" -w start >/dev/null
    # The replica counts once it streams (and, when synchronous, once the primary waits on it).
    for _ in $(seq 1 120); do
        [[ "$(psql_at "$PRIMARY_PORT" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null)" == 1 ]] && break
        sleep 0.25
    done
    [[ "$(psql_at "$REPLICA_PORT" "SELECT pg_is_in_recovery()")" == t ]] ||
        { echo "the server on $REPLICA_PORT is not a replica" >&2; exit 1; }
    echo "PostgreSQL primary 127.0.0.1:$PRIMARY_PORT, $(cat "$DIR/mode") streaming replica 127.0.0.1:$REPLICA_PORT"
}

case "${1:-start}" in
    start)
        # A pair a failover has consumed (no primary, or a promoted replica) is rebuilt.
        if [[ ! -f "$DIR/replica/standby.signal" || ! -f "$DIR/primary/PG_VERSION" ]]; then
            create "$(cat "$DIR/mode" 2>/dev/null || echo sync)"
        fi
        start
        ;;
    rebuild)
        create "${2:-sync}"
        start
        ;;
    kill-primary)
        as_postgres "$BIN/pg_ctl" -D "$DIR/primary" -m immediate stop >/dev/null
        ;;
    promote)
        as_postgres "$BIN/pg_ctl" -D "$DIR/replica" -w promote >/dev/null
        ;;
    stop)
        stop_all
        ;;
    *)
        echo "usage: $0 [start | rebuild [sync|async] | kill-primary | promote | stop]" >&2
        exit 2
        ;;
esac
