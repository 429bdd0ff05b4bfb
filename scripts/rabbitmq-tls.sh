#!/usr/bin/env bash
# TLS on the local RabbitMQ, for the bus-TLS tests (crates/platform/tests/bus_tls.rs): a
# test CA ($DIR/ca.crt) and a certificate for `localhost` only, served by a TLS listener on
# 127.0.0.1:5671 beside the plain one on 5672. Idempotent: the broker is configured and
# restarted only when no TLS listener answers yet (the test command runs this before any
# test, as it raises PostgreSQL's connection limit).
#
#   bash scripts/rabbitmq-tls.sh
set -euo pipefail

DIR="${LANERUNNER_RABBITMQ_TLS_DIR:-/var/tmp/lanerunner-rabbitmq/tls}"
PORT=5671
CONF=/etc/rabbitmq/rabbitmq.conf
MARK="# lanerunner test TLS listener"

tls_answers() {
    [[ -f "$DIR/ca.crt" ]] &&
        timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
            -CAfile "$DIR/ca.crt" -verify_return_error </dev/null >/dev/null 2>&1
}

if tls_answers; then
    echo "RabbitMQ already answers TLS on 127.0.0.1:$PORT"
    exit 0
fi
command -v rabbitmq-server >/dev/null || { echo "rabbitmq-server is not installed" >&2; exit 1; }

if [[ ! -f "$DIR/server.crt" ]]; then
    rm -rf "$DIR" && mkdir -p "$DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=LaneRunner test broker CA" -keyout "$DIR/ca.key" -out "$DIR/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$DIR/server.key" -out "$DIR/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$DIR/server.ext"
    openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
        -days 3650 -out "$DIR/server.crt" -extfile "$DIR/server.ext" 2>/dev/null
    chmod 755 "$(dirname "$DIR")" "$DIR"
    chmod 644 "$DIR/ca.crt" "$DIR/server.crt"
    chmod 600 "$DIR/ca.key" "$DIR/server.key"
    id rabbitmq >/dev/null 2>&1 && chown rabbitmq: "$DIR/server.key"
fi

if ! grep -qF "$MARK" "$CONF" 2>/dev/null; then
    cat >> "$CONF" <<CONF
$MARK
listeners.ssl.default = 127.0.0.1:$PORT
ssl_options.cacertfile = $DIR/ca.crt
ssl_options.certfile = $DIR/server.crt
ssl_options.keyfile = $DIR/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
CONF
fi

echo "restarting RabbitMQ with a TLS listener on 127.0.0.1:$PORT"
rabbitmqctl stop >/dev/null 2>&1 || true
for _ in $(seq 1 60); do
    pgrep -f beam.smp.*rabbit >/dev/null || break
    sleep 0.5
done
rabbitmq-server -detached
for _ in $(seq 1 120); do
    tls_answers && rabbitmqctl await_startup >/dev/null 2>&1 && break
    sleep 0.5
done
tls_answers || { echo "RabbitMQ does not answer TLS on 127.0.0.1:$PORT" >&2; exit 1; }
echo "RabbitMQ: plain on 127.0.0.1:5672, TLS on 127.0.0.1:$PORT (CA $DIR/ca.crt)"
