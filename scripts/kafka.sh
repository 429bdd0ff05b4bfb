#!/usr/bin/env bash
# A Kafka-protocol broker on loopback for the streams tests and benchmarks: tansu with its
# memory storage engine on 127.0.0.1:9092 (nothing is kept across restarts). Idempotent: it
# installs tansu once (cargo install, about nine minutes on two cores) and starts it only when
# nothing answers on the port.
#
#   bash scripts/kafka.sh            # install if missing, start if down, wait until it answers
#   KAFKA_PORT=9093 bash scripts/kafka.sh
set -euo pipefail

export PATH="$HOME/.cargo/bin:$PATH"
HOST=127.0.0.1
PORT="${KAFKA_PORT:-9092}"
LOG="${KAFKA_LOG:-/tmp/lanerunner-tansu-$PORT.log}"

# A Kafka broker answers an ApiVersions request (key 18, version 0) with its correlation id;
# anything else listening on the port does not.
kafka_answers() {
    python3 - "$HOST" "$PORT" <<'EOF'
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    s = socket.create_connection((host, port), timeout=2)
    client = b"lanerunner-probe"
    body = struct.pack(">hhi", 18, 0, 7) + struct.pack(">h", len(client)) + client
    s.sendall(struct.pack(">i", len(body)) + body)
    head = s.recv(8)
    sys.exit(0 if len(head) == 8 and struct.unpack(">i", head[4:8])[0] == 7 else 1)
except OSError:
    sys.exit(1)
EOF
}

if kafka_answers; then
    echo "Kafka-protocol broker already answers on $HOST:$PORT"
    exit 0
fi

if ! command -v tansu >/dev/null; then
    echo "tansu not found; installing it (cargo install tansu --features dynostore --locked)"
    cargo install tansu --features dynostore --locked
fi

echo "starting tansu on $HOST:$PORT (memory storage engine, log $LOG)"
nohup tansu broker \
    --listener-url "tcp://$HOST:$PORT" \
    --advertised-listener-url "tcp://$HOST:$PORT" \
    --storage-engine "memory://tansu/" \
    >"$LOG" 2>&1 </dev/null &
disown || true

for _ in $(seq 1 120); do
    if kafka_answers; then
        echo "tansu answers on $HOST:$PORT"
        exit 0
    fi
    sleep 0.5
done
echo "tansu did not answer on $HOST:$PORT within 60 s; its log:" >&2
tail -n 50 "$LOG" >&2 || true
exit 1
