#!/usr/bin/env bash
# A PostgreSQL primary with a streaming replica on loopback, for the read-replica tests:
# primary 127.0.0.1:5440, replica 127.0.0.1:5441 (made with pg_basebackup), trust auth, user
# postgres. Both clusters live under $LANERUNNER_PG_REPLICA_DIR (default
# /var/tmp/lanerunner-pg) and belong to this project alone: the machine's own cluster on
# 5432 is not touched. Idempotent: a running pair is left as it is (with replay resumed, in
# case a test that paused it died).
#
#   bash scripts/pg-replica.sh          # start (create on first use)
#   bash scripts/pg-replica.sh stop
set -euo pipefail

DIR="${LANERUNNER_PG_REPLICA_DIR:-/var/tmp/lanerunner-pg}"
PRIMARY_PORT=5440
REPLICA_PORT=5441
version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
BIN="/usr/lib/postgresql/$version/bin"

as_postgres() {
    if [[ "$(id -un)" == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi
}

ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$1"; }

if [[ "${1:-start}" == stop ]]; then
    for c in replica primary; do
        [[ -f "$DIR/$c/postmaster.pid" ]] && as_postgres "$BIN/pg_ctl" -D "$DIR/$c" -m fast stop || true
    done
    exit 0
fi

mkdir -p "$DIR"
chown postgres: "$DIR"

if [[ ! -f "$DIR/primary/PG_VERSION" ]]; then
    rm -rf "$DIR/primary" "$DIR/replica"
    as_postgres "$BIN/initdb" --no-sync -D "$DIR/primary" -U postgres -A trust >/dev/null
    cat >> "$DIR/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PRIMARY_PORT
unix_socket_directories = '$DIR'
wal_level = replica
max_wal_senders = 5
max_connections = 200
fsync = off
CONF
    # initdb's pg_hba already trusts local and loopback connections for replication.
    grep -q "host replication all 127.0.0.1/32" "$DIR/primary/pg_hba.conf" ||
        echo "host replication all 127.0.0.1/32 trust" >> "$DIR/primary/pg_hba.conf"
fi

ready "$PRIMARY_PORT" || as_postgres "$BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -w start >/dev/null

# TLS on the primary, for the database-TLS tests: a test CA ($DIR/tls/ca.crt) and a server
# certificate for "localhost" only, so verify-full to 127.0.0.1 fails and to localhost
# passes. Plain connections stay allowed (the other tests use them).
TLS="$DIR/tls"
if [[ ! -f "$TLS/server.crt" ]]; then
    rm -rf "$TLS" && mkdir -p "$TLS"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=LaneRunner test database CA" -keyout "$TLS/ca.key" -out "$TLS/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$TLS/server.ext"
    openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
        -days 3650 -out "$TLS/server.crt" -extfile "$TLS/server.ext" 2>/dev/null
    chown -R postgres: "$TLS"
    chmod 600 "$TLS/server.key" "$TLS/ca.key"
    chmod 644 "$TLS/ca.crt"
fi
# Client certificates: the role lanerunner_cert may sign in only over TLS with a certificate
# the test CA issued for its name (pg_hba `cert`, ahead of the trust lines); its certificate
# and key are $TLS/client.crt and $TLS/client.key, readable by the tests.
if [[ ! -f "$TLS/client.crt" ]]; then
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=lanerunner_cert" \
        -keyout "$TLS/client.key" -out "$TLS/client.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > "$TLS/client.ext"
    openssl x509 -req -in "$TLS/client.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
        -days 3650 -out "$TLS/client.crt" -extfile "$TLS/client.ext" 2>/dev/null
    chmod 600 "$TLS/client.key"
fi
HBA="$DIR/primary/pg_hba.conf"
if ! grep -q "lanerunner_cert" "$HBA"; then
    { printf 'hostssl all lanerunner_cert 127.0.0.1/32 cert\nhost all lanerunner_cert 127.0.0.1/32 reject\n'; cat "$HBA"; } > "$HBA.new"
    chown postgres: "$HBA.new" && mv "$HBA.new" "$HBA"
fi
if [[ "$(psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -Atc 'SHOW ssl_ca_file')" != "$TLS/ca.crt" ]] ||
    [[ "$(psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -Atc 'SHOW ssl')" != on ]]; then
    psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -q \
        -c "ALTER SYSTEM SET ssl_cert_file = '$TLS/server.crt'" \
        -c "ALTER SYSTEM SET ssl_key_file = '$TLS/server.key'" \
        -c "ALTER SYSTEM SET ssl_ca_file = '$TLS/ca.crt'" \
        -c "ALTER SYSTEM SET ssl = on" >/dev/null
fi
psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -qAtc "SELECT pg_reload_conf()" >/dev/null
psql -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -q <<'SQL' >/dev/null
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lanerunner_cert') THEN
        CREATE ROLE lanerunner_cert LOGIN;
    END IF;
END $$;
GRANT CREATE ON DATABASE postgres TO lanerunner_cert;
SQL

if [[ ! -f "$DIR/replica/PG_VERSION" ]]; then
    rm -rf "$DIR/replica"
    # -R writes standby.signal and primary_conninfo: the copy starts as a streaming replica.
    as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR/replica" -R -X stream -c fast
    echo "port = $REPLICA_PORT" >> "$DIR/replica/postgresql.conf"
fi

ready "$REPLICA_PORT" || as_postgres "$BIN/pg_ctl" -D "$DIR/replica" -l "$DIR/replica.log" -w start >/dev/null

for _ in $(seq 1 60); do
    ready "$REPLICA_PORT" && break
    sleep 0.5
done
in_recovery="$(psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -Atc "SELECT pg_is_in_recovery()")"
[[ "$in_recovery" == t ]] || { echo "the server on $REPLICA_PORT is not a replica" >&2; exit 1; }
psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -qAtc "SELECT pg_wal_replay_resume()" >/dev/null
echo "PostgreSQL primary 127.0.0.1:$PRIMARY_PORT (TLS with $TLS/ca.crt), streaming replica 127.0.0.1:$REPLICA_PORT"
