#!/usr/bin/env bash
# A local Stripe for the payment tests: localstripe (PyPI), a stateful fake of Stripe's API
# that signs its webhooks, on 127.0.0.1:8420, with the project's Stripe Connect stand-in
# beside it (scripts/stripe_connect.py: accounts, account links, transfers, payouts).
# Idempotent: installs it once, starts it only when nothing answers.
#
#   bash scripts/localstripe.sh
set -euo pipefail
PORT="${LOCALSTRIPE_PORT:-8420}"
URL="http://127.0.0.1:$PORT"
LOG="${LOCALSTRIPE_LOG:-/tmp/lanerunner-localstripe-$PORT.log}"

# The balance history answers only from the fixed server (scripts/localstripe_server.py),
# and Connect accounts only with the stand-in beside it (scripts/stripe_connect.py).
answers() {
    curl -fsS -u sk_test_lanerunner: "$URL/v1/balance/history?limit=1" >/dev/null 2>&1 &&
        curl -sS -u sk_test_lanerunner: "$URL/v1/accounts/acct_probe" 2>/dev/null | grep -q resource_missing
}

if ! answers; then
    # A localstripe without the fix (started by hand) is replaced.
    pkill -f "localstripe.*--port $PORT" 2>/dev/null || true
    python3 -c 'import localstripe' 2>/dev/null || python3 -m pip install --quiet 'localstripe>=1.15,<2'
    echo "starting localstripe on 127.0.0.1:$PORT (log $LOG)"
    nohup python3 "$(dirname "${BASH_SOURCE[0]}")/localstripe_server.py" --port "$PORT" --from-scratch >"$LOG" 2>&1 &
    for _ in $(seq 1 100); do
        answers && break
        sleep 0.2
    done
fi
answers
echo "localstripe answers on $URL"
