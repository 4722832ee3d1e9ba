#!/usr/bin/env bash
# topic_partitions.sh -- the summary reports the partitions the changes
# topic really has (read with metadata), and a topic whose count differs
# from the scenario's fails set-up (exit 2) with an error naming both.
# A standalone `crmsync broker --partitions 4` plays the cluster.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
BROKER_PID=""
trap '[ -n "$BROKER_PID" ] && kill $BROKER_PID 2>/dev/null; rm -rf "$RUNS"' EXIT
FAILED=0

start_broker "$RUNS" --brokers 1 --partitions 4
cat >"$RUNS/target.json" <<JSON
{ "name": "four", "properties": { "bootstrap.servers": "$BOOT" },
  "topics": { "create": false } }
JSON
scenario() { # name target-extra
        cat >"$RUNS/$1.json" <<JSON
{ "name": "$1", "seed": 9,
  "workload": { "accounts": 50, "changes": 300, "rate_per_s": 300 },
  "target": { "type": "external", "file": "target.json" $2 } }
JSON
}
scenario says-12 ''
scenario auto-12 ', "topic": "auto.created"'
scenario says-4 ', "partitions": 4'
mkdir -p "$RUNS/a" "$RUNS/b" "$RUNS/c"

# crm.changes has 4 partitions; the scenario (default) says 12.
run_scenario "$BIN" "$RUNS/says-12.json" "$RUNS/a"
check "mismatch: set-up fails with exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "mismatch: the error names the topic and both counts" "$(grep -q "topic crm.changes has 4 partition(s) but the scenario says 12" "$RUNS/a/stderr.txt" && echo True)"
check "mismatch: no summary claims 12 partitions" "$([ -z "$SUMMARY" ] && echo True || jget "$SUMMARY" "d['verdict']=='error' and (d.get('target') or {}).get('partitions')!=12 and 'has 4 partition(s)' in d['error']['reason']")"

# A topic the cluster auto-creates on a metadata request (the mock: 4).
run_scenario "$BIN" "$RUNS/auto-12.json" "$RUNS/b"
check "auto-created topic: exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "auto-created topic: the error says so" "$(grep -q "topic auto.created has 4 partition(s) but the scenario says 12" "$RUNS/b/stderr.txt" && echo True)"

# No false alarm: the scenario says what the topic has.
run_scenario "$BIN" "$RUNS/says-4.json" "$RUNS/c"
check "match: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { cat "$RUNS/c/stderr.txt"; exit 1; }
check "match: summary reports the 4 partitions read from the cluster" "$(jget "$SUMMARY" "d['target']['partitions']==4")"
exit $FAILED
