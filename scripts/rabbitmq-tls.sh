#!/usr/bin/env bash
# TLS on the local RabbitMQ, for the bus-TLS tests (crates/platform/tests/bus_tls.rs): a
# test CA ($DIR/ca.crt) and a certificate for `localhost` only, served by a TLS listener on
# 127.0.0.1:5671 beside the plain one on 5672. The listener asks every client for a
# certificate the test CA issued ($DIR/client.crt and $DIR/client.key are one). Idempotent:
# the broker is configured and restarted only when its TLS listener is not set up so yet
# (the test command runs this before any test, as it raises PostgreSQL's connection limit).
#
#   bash scripts/rabbitmq-tls.sh
set -euo pipefail

DIR="${LANERUNNER_RABBITMQ_TLS_DIR:-/var/tmp/lanerunner-rabbitmq/tls}"
PORT=5671
CONF=/etc/rabbitmq/rabbitmq.conf
OLD_MARK="# lanerunner test TLS listener"
MARK="# lanerunner test TLS listener, client certificates required"

tls_answers() {
    [[ -f "$DIR/client.crt" ]] &&
        timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
            -CAfile "$DIR/ca.crt" -cert "$DIR/client.crt" -key "$DIR/client.key" \
            -verify_return_error </dev/null >/dev/null 2>&1
}

if grep -qF "$MARK" "$CONF" 2>/dev/null && tls_answers; then
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
if [[ ! -f "$DIR/client.crt" ]]; then
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=lanerunner" \
        -keyout "$DIR/client.key" -out "$DIR/client.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > "$DIR/client.ext"
    openssl x509 -req -in "$DIR/client.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
        -days 3650 -out "$DIR/client.crt" -extfile "$DIR/client.ext" 2>/dev/null
    chmod 644 "$DIR/client.crt"
    chmod 600 "$DIR/client.key"
fi

if ! grep -qF "$MARK" "$CONF" 2>/dev/null; then
    # An earlier version of this script wrote a listener that asked for no certificate.
    if grep -qF "$OLD_MARK" "$CONF" 2>/dev/null; then
        sed -i "/^$OLD_MARK\$/,/^ssl_options.fail_if_no_peer_cert/d" "$CONF"
    fi
    cat >> "$CONF" <<CONF
$MARK
listeners.ssl.default = 127.0.0.1:$PORT
ssl_options.cacertfile = $DIR/ca.crt
ssl_options.certfile = $DIR/server.crt
ssl_options.keyfile = $DIR/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
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
