#!/usr/bin/env bash
# The MQTT broker for truck positions: a Mosquitto of the project's own on 127.0.0.1:1884
# (the machine's, on 1883, lets anyone in), with the dynamic security plugin so that every
# carrier has its own account and may publish only under its own topic. LaneRunner's
# account (lanerunner / $MQTT_ADMIN_PASSWORD) administers the carriers' accounts and reads
# their positions. Idempotent: starts it only when nothing listens.
#
#   bash scripts/mosquitto.sh
set -euo pipefail
PORT="${MQTT_PORT:-1884}"
PASSWORD="${MQTT_ADMIN_PASSWORD:-lanerunner-test}"
DIR="${MQTT_DIR:-/tmp/lanerunner-mosquitto-$PORT}"
PLUGIN="$(ls /usr/lib/*/mosquitto_dynamic_security.so 2>/dev/null | head -1 || true)"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

if ! listening; then
    if ! command -v mosquitto >/dev/null || ! command -v mosquitto_ctrl >/dev/null || [[ -z "$PLUGIN" ]]; then
        echo "installing Mosquitto (Debian's mosquitto and mosquitto-clients)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto mosquitto-clients >/dev/null
        PLUGIN="$(ls /usr/lib/*/mosquitto_dynamic_security.so | head -1)"
    fi
    rm -rf "$DIR" && mkdir -p "$DIR"
    mosquitto_ctrl dynsec init "$DIR/dynsec.json" lanerunner "$PASSWORD" >/dev/null
    cat >"$DIR/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous false
persistence false
per_listener_settings false
# Mosquitto drops QoS 1 messages beyond a client's queue (1,000 by default): a burst of
# positions larger than that, while LaneRunner works through them, would lose valid ones.
max_queued_messages 1000000
plugin $PLUGIN
plugin_opt_config_file $DIR/dynsec.json
log_dest file $DIR/mosquitto.log
CONF
    echo "starting Mosquitto with dynamic security on 127.0.0.1:$PORT (log $DIR/mosquitto.log)"
    mosquitto -d -c "$DIR/mosquitto.conf"
    for _ in $(seq 1 50); do
        listening && break
        sleep 0.1
    done
    # LaneRunner's account also reads every carrier's positions (under any topic prefix: each
    # test app has its own).
    # (It warns that loopback is unencrypted; loopback is all it talks to.)
    ctrl() { mosquitto_ctrl -h 127.0.0.1 -p "$PORT" -u lanerunner -P "$PASSWORD" dynsec "$@" >/dev/null 2>&1; }
    ctrl createRole positions-reader
    ctrl addRoleACL positions-reader subscribePattern '+/positions/#' allow
    ctrl addRoleACL positions-reader publishClientReceive '+/positions/#' allow
    ctrl addClientRole lanerunner positions-reader
fi
listening
echo "Mosquitto answers on 127.0.0.1:$PORT"
