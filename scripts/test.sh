#!/usr/bin/env bash
# The test command: makes sure the engines the full-stack tests use are up on loopback
# (starting PostgreSQL, Redis and RabbitMQ if they are installed but stopped; installing and
# starting a Kafka-protocol broker, tansu, if there is none; a PgBouncer in transaction
# pooling mode; making the project's own PostgreSQL primary/replica pair), then runs every test once — each integration test on
# SQLite, on PostgreSQL with the embedded bus, and on the full stack — and finally the API
# contract check (schemathesis against a served LaneRunner) and the web console's tests in
# headless Chromium (scripts/console-e2e.sh); before the tests, the supply-chain check
# (scripts/supply-chain.sh: cargo deny, the SBOM), the deployment check
# (scripts/deploy-check.sh: hadolint, kubernetes-validate, checkov, actionlint) and the
# observability check (scripts/rules-check.sh: promtool on the rules, their unit tests,
# the dashboards). CI runs exactly this.
#
#   bash scripts/test.sh                     # everything
#   bash scripts/test.sh -p lanerunner-identity   # extra arguments go to `cargo test`
#
# Without the engines, run the embedded half alone (tests that need an engine say they
# were skipped): LANERUNNER_TEST_ENGINES=skip cargo test --workspace
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "cargo not found: install the Rust toolchain (rustup)" >&2; exit 1; }

# librdkafka is built with OpenSSL (TLS to Kafka brokers): its headers come from Debian.
if ! dpkg -s libssl-dev >/dev/null 2>&1; then
    echo "installing libssl-dev (librdkafka's TLS)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q libssl-dev pkg-config >/dev/null
fi

PGHOST_CHECK=127.0.0.1
PGPORT_CHECK=5432
if [[ -z "${LANERUNNER_TEST_POSTGRES_URL:-}" ]]; then
    if ! pg_isready -q -h "$PGHOST_CHECK" -p "$PGPORT_CHECK"; then
        echo "PostgreSQL is not running on $PGHOST_CHECK:$PGPORT_CHECK; starting the local cluster"
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 60); do
            pg_isready -q -h "$PGHOST_CHECK" -p "$PGPORT_CHECK" && break
            sleep 0.5
        done
        pg_isready -h "$PGHOST_CHECK" -p "$PGPORT_CHECK"
    fi
fi

# Every service keeps its own pool, so one full-stack instance holds a few dozen connections
# and the tests run several instances at once (siblings, two test threads): PostgreSQL's
# default of 100 is too few. Raise it once on the local cluster (a restart, before any test).
if [[ -z "${LANERUNNER_TEST_POSTGRES_URL:-}" ]]; then
    max="$(psql -h "$PGHOST_CHECK" -p "$PGPORT_CHECK" -U postgres -d postgres -Atc 'show max_connections' 2>/dev/null || echo 0)"
    if (( max > 0 && max < 400 )); then
        echo "PostgreSQL allows $max connections; raising it to 400 for the test suite"
        psql -h "$PGHOST_CHECK" -p "$PGPORT_CHECK" -U postgres -d postgres -qc 'ALTER SYSTEM SET max_connections = 400'
        version="$(ls /etc/postgresql | sort -V | tail -n 1)"
        pg_ctlcluster --skip-systemctl-redirect "$version" main restart
        for _ in $(seq 1 60); do
            pg_isready -q -h "$PGHOST_CHECK" -p "$PGPORT_CHECK" && break
            sleep 0.5
        done
        pg_isready -h "$PGHOST_CHECK" -p "$PGPORT_CHECK"
    fi
fi

if [[ -z "${LANERUNNER_TEST_REDIS_URL:-}" ]]; then
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "Redis is not running on 127.0.0.1:6379; starting it"
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
            --dir /var/lib/redis --logfile /var/log/redis/ci.log
        for _ in $(seq 1 60); do
            redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
            sleep 0.5
        done
        redis-cli -h 127.0.0.1 -p 6379 ping
    fi
fi

if [[ -z "${LANERUNNER_TEST_AMQP_URL:-}" ]]; then
    if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
        echo "RabbitMQ is not running; starting it"
        rabbitmq-server -detached
        # The node takes a few seconds to boot; wait for it to accept AMQP clients.
        for _ in $(seq 1 120); do
            rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1 && break
            sleep 1
        done
        rabbitmq-diagnostics -q ping
    fi
    # A TLS listener beside the plain one (127.0.0.1:5671, a test CA) for the bus-TLS test.
    bash scripts/rabbitmq-tls.sh
fi

# The Kafka-protocol broker (tansu, memory engine, 127.0.0.1:9092) for the streams contract
# and the Kafka rows of the bus benchmark; installed once with cargo if missing.
if [[ -z "${LANERUNNER_TEST_KAFKA_BROKERS:-}" ]]; then
    bash scripts/kafka.sh
fi

# A local S3 (moto, 127.0.0.1:5000) for the archive's S3 test; installed once with pip.
bash scripts/s3.sh

# A local Stripe (localstripe, 127.0.0.1:8420) for the payment tests; installed once with pip.
bash scripts/localstripe.sh

# An SMTP server (aiosmtpd) the email tests start on loopback ports of their own
# (scripts/smtp-sink.py); installed once with pip.
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet 'aiosmtpd>=1.4,<2'

# The project's Mosquitto with per-carrier accounts (127.0.0.1:1884) for the MQTT tracking
# tests; the machine's on 1883 lets anyone in and is not touched.
bash scripts/mosquitto.sh

# The project's own PostgreSQL primary + streaming replica (127.0.0.1:5440/5441) for the
# read-replica test; the machine's cluster on 5432 is not touched.
bash scripts/pg-replica.sh

# The failover test's own primary + synchronous replica (127.0.0.1:5442/5443): the test
# kills one and promotes the other, and rebuilds the pair before each run.
bash scripts/pg-ha.sh

# PgBouncer (Debian's) in transaction pooling mode on 127.0.0.1:6439, in front of the
# machine's cluster, for the transaction-pooling test; installed once with apt.
bash scripts/pgbouncer.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/lanerunner-target}"

# Licences, bans and sources of every dependency (deny.toml), and the binary's SBOM.
if [[ $# -eq 0 ]]; then
    SBOM_DIR="$CARGO_TARGET_DIR/sbom" bash scripts/supply-chain.sh
    # The Dockerfile, the Kubernetes manifests and the workflows; then the Prometheus
    # rules, their tests and the dashboards.
    bash scripts/deploy-check.sh
    bash scripts/rules-check.sh
fi

cargo test --workspace "$@"

if [[ $# -eq 0 ]]; then
    bash scripts/api-contract.sh
    bash scripts/console-e2e.sh
fi
