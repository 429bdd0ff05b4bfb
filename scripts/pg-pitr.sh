#!/usr/bin/env bash
# A PostgreSQL cluster that archives its WAL, and its point-in-time recovery, on loopback
# (127.0.0.1:5444, trust auth, user postgres, database lanerunner_pitr), for the recovery
# drill (`lanerunner bench pitr`): the same continuous archiving CloudNativePG does to S3
# in production (deploy/kubernetes/postgres/), with a local directory as the archive.
# Everything lives under $LANERUNNER_PG_PITR_DIR (default /var/tmp/lanerunner-pg-pitr):
# data/ (the cluster), archive/ (WAL segments, archive_command), base/ (the base backup).
# Neither the machine's cluster on 5432 nor the pairs of pg-ha.sh and pg-replica.sh are
# touched.
#
#   bash scripts/pg-pitr.sh create [SECS]  # a fresh cluster, archive_timeout SECS (60)
#   bash scripts/pg-pitr.sh basebackup     # a base backup of it (pg_basebackup, WAL from the archive)
#   bash scripts/pg-pitr.sh destroy        # the disaster: stopped at once, its data directory gone
#   bash scripts/pg-pitr.sh recover        # the base backup restored, the archive replayed to its end, promoted
#   bash scripts/pg-pitr.sh status         # segments archived, the last one, whether in recovery
#   bash scripts/pg-pitr.sh remove         # stop and delete it all
set -euo pipefail

DIR="${LANERUNNER_PG_PITR_DIR:-/var/tmp/lanerunner-pg-pitr}"
PORT=5444
version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
BIN="/usr/lib/postgresql/$version/bin"

as_postgres() {
    if [[ "$(id -un)" == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

psql_at() { "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qAtX -c "$1"; }

stop() {
    if [[ -f "$DIR/data/postmaster.pid" ]]; then
        as_postgres "$BIN/pg_ctl" -D "$DIR/data" -m "${1:-fast}" stop >/dev/null 2>&1 || true
    fi
}

start() {
    as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -w -t 600 start >/dev/null
}

create() {
    local timeout="${1:-60}"
    stop immediate
    rm -rf "$DIR"
    mkdir -p "$DIR/archive"
    chown -R postgres: "$DIR"
    as_postgres "$BIN/initdb" --no-sync -D "$DIR/data" -U postgres -A trust >/dev/null
    # archive_command copies a finished segment into the archive (never over one already
    # there: a second copy of a name is an error, as barman-cloud makes it); archive_timeout
    # closes a segment that long after its first write even when it is not full, which is
    # what bounds the recovery point when little is written.
    cat >> "$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 300
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $DIR/archive/%f && cp %p $DIR/archive/%f.tmp && mv $DIR/archive/%f.tmp $DIR/archive/%f'
archive_timeout = ${timeout}s
max_wal_size = 4GB
CONF
    grep -q "host replication all 127.0.0.1/32" "$DIR/data/pg_hba.conf" ||
        echo "host replication all 127.0.0.1/32 trust" >> "$DIR/data/pg_hba.conf"
    start
    psql_at "CREATE DATABASE lanerunner_pitr"
    echo "PostgreSQL 127.0.0.1:$PORT archiving to $DIR/archive (archive_timeout ${timeout}s)"
}

basebackup() {
    rm -rf "$DIR/base"
    # -X none: the WAL comes from the archive at recovery, as it would from object storage.
    as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$DIR/base" \
        -X none -c fast --no-sync
    # The backup's last segment must be archived before the backup can be restored.
    psql_at "SELECT pg_switch_wal()" >/dev/null
    echo "base backup in $DIR/base"
}

destroy() {
    stop immediate
    rm -rf "$DIR/data"
}

recover() {
    [[ -f "$DIR/base/PG_VERSION" ]] || { echo "no base backup in $DIR/base" >&2; exit 1; }
    [[ ! -f "$DIR/data/postmaster.pid" ]] || { echo "the cluster is still running" >&2; exit 1; }
    rm -rf "$DIR/data"
    cp -a "$DIR/base" "$DIR/data"
    # No recovery target: every archived segment is replayed, then the server promotes
    # itself (the end of the archive is the recovery point).
    cat >> "$DIR/data/postgresql.conf" <<CONF
restore_command = 'cp $DIR/archive/%f %p'
recovery_target_timeline = 'latest'
CONF
    as_postgres touch "$DIR/data/recovery.signal"
    start
    for _ in $(seq 1 1200); do
        [[ "$(psql_at "SELECT pg_is_in_recovery()" 2>/dev/null)" == f ]] && return 0
        sleep 0.1
    done
    echo "recovery did not finish" >&2
    exit 1
}

status() {
    local segments last
    segments="$(find "$DIR/archive" -maxdepth 1 -type f ! -name '*.tmp' | wc -l)"
    last="$(find "$DIR/archive" -maxdepth 1 -type f ! -name '*.tmp' -printf '%f\n' | sort | tail -n 1)"
    echo "archived=$segments last=${last:-none} in_recovery=$(psql_at "SELECT pg_is_in_recovery()" 2>/dev/null || echo down)"
}

case "${1:-}" in
    create) create "${2:-60}" ;;
    basebackup) basebackup ;;
    destroy) destroy ;;
    recover) recover ;;
    status) status ;;
    remove) stop immediate; rm -rf "$DIR" ;;
    *)
        echo "usage: $0 create [archive_timeout_secs] | basebackup | destroy | recover | status | remove" >&2
        exit 2
        ;;
esac
