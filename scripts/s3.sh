#!/usr/bin/env bash
# A local S3 for the archive's S3 test: moto's server (PyPI `moto[server]`) on
# 127.0.0.1:5000, in memory, with the bucket `lanerunner-test`. Idempotent: installs moto
# once, starts it only when nothing answers, creates the bucket if missing.
#
#   bash scripts/s3.sh
set -euo pipefail
PORT="${S3_PORT:-5000}"
URL="http://127.0.0.1:$PORT"
LOG="${S3_LOG:-/tmp/lanerunner-moto-$PORT.log}"

if ! curl -fsS "$URL/moto-api/" >/dev/null 2>&1; then
    python3 -c 'import moto.server' 2>/dev/null || python3 -m pip install --quiet 'moto[server]>=5,<6'
    echo "starting moto S3 on 127.0.0.1:$PORT (log $LOG)"
    nohup python3 -m moto.server -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
    for _ in $(seq 1 100); do
        curl -fsS "$URL/moto-api/" >/dev/null 2>&1 && break
        sleep 0.2
    done
fi
curl -fsS "$URL/moto-api/" >/dev/null
# Moto accepts any credentials; an unsigned PUT creates the bucket (409 when it exists).
curl -sS -o /dev/null -X PUT "$URL/lanerunner-test" || true
echo "moto S3 answers on $URL"
