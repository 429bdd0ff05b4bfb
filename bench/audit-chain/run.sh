#!/usr/bin/env bash
# What chaining the audit trail costs the appends, by design, in SQL alone (no LaneRunner
# code): 8 pgbench clients append records (one insert a transaction, the audit_events
# table's columns, indexes and append-only trigger) while one more client chains them
# N times a second, either by rewriting each record with its place and hashes (the design
# before audit_links: chain_update.sql) or by inserting a narrow link per record found
# past a transaction-id horizon (chain_insert.sql), against no chaining at all. The hashes
# are md5 stand-ins: this measures what the database does, not the hashing.
#
#   bash bench/audit-chain/run.sh [postgres URL]     (default: the machine's, database test)
#
# Uses the schema `exp` of that database (dropped and made again). Results in
# docs/benchmarks.md, "Audit trail ... fourth pass".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
URL="${1:-postgres://postgres@127.0.0.1:5432/test}"
psql "$URL" -q -f schema.sql 2>/dev/null
run() { # $1 = chainer script or none, $2 = passes a second
  psql "$URL" -qc "TRUNCATE exp.ev, exp.links; UPDATE exp.horizon SET h = '0'"
  if [ "$1" != none ]; then
    pgbench "$URL" -n -c 1 -T 12 -R "$2" -f "$1" > /dev/null 2>&1 &
  fi
  pgbench "$URL" -n -c 8 -j 2 -T 10 -f write.sql 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
  wait
}
echo "| round | chaining | passes/s | appends/s |"
echo "|---:|---|---:|---:|"
for round in 1 2; do
  for m in "none 0" "chain_update.sql 4" "chain_insert.sql 4" "chain_update.sql 30" "chain_insert.sql 30"; do
    set -- $m
    echo "| $round | ${1%.sql} | $2 | $(run "$1" "$2") |"
  done
done
