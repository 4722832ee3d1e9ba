#!/usr/bin/env bash
# external_target.sh -- the same run code drives a cluster named by a
# target file. A standalone `crmsync broker` plays the external cluster:
# a clean run passes; broker_restart runs the target's commands; a fault
# the target cannot perform is refused before the run starts.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
BROKER_PID=""
trap '[ -n "$BROKER_PID" ] && kill $BROKER_PID 2>/dev/null; rm -rf "$RUNS"' EXIT
FAILED=0

start_broker "$RUNS" --brokers 3 --partitions 12

cat >"$RUNS/target.json" <<JSON
{
  "name": "standalone-broker",
  "properties": { "bootstrap.servers": "$BOOT", "client.rack": "r1" },
  "topics": { "create": false },
  "commands": {
    "broker_down": "echo down {broker} >> $RUNS/commands.txt",
    "broker_up": "echo up {broker} >> $RUNS/commands.txt"
  }
}
JSON
scenario() { # name faults-json
        cat >"$RUNS/$1.json" <<JSON
{ "name": "$1", "seed": 4,
  "workload": { "accounts": 100, "changes": 1000, "rate_per_s": 500 },
  "target": { "type": "external", "file": "target.json" },
  "faults": $2 }
JSON
}
scenario ext-clean '[ { "at_s": 1, "type": "broker_restart", "broker": 2, "duration_s": 1 } ]'
scenario ext-rtt '[ { "at_s": 1, "type": "broker_rtt", "broker": 1, "rtt_ms": 50, "duration_s": 1 } ]'

cat >"$RUNS/ext-replay-ts.json" <<JSON
{ "name": "ext-replay-ts", "seed": 4,
  "workload": { "accounts": 100, "changes": 1000, "rate_per_s": 500 },
  "target": { "type": "external", "file": "target.json" },
  "replay": { "from": "timestamp", "from_s": 1 } }
JSON

mkdir -p "$RUNS/clean" "$RUNS/rtt" "$RUNS/replay-ts"
run_scenario "$BIN" "$RUNS/ext-clean.json" "$RUNS/clean"
check "external: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { cat "$RUNS/clean/stderr.txt"; exit 1; }
check "external: target reported as external" "$(jget "$SUMMARY" "d['target']['type']=='external' and d['target']['name']=='standalone-broker'")"
check "external: zero anomalies" "$(jget "$SUMMARY" "sum(d['anomalies'].values())==0")"
check "external: target properties reach the clients" "$(grep -q 'client.rack=r1' "$(dirname "$SUMMARY")/kafka.properties" && echo True)"
check "external: broker_restart ran the target's commands" "$(grep -qx 'down 2' "$RUNS/commands.txt" && grep -qx 'up 2' "$RUNS/commands.txt" && echo True)"

# A fault the target cannot do is known from the target file: refused
# before anything starts, by validate and run alike.
run_scenario "$BIN" "$RUNS/ext-rtt.json" "$RUNS/rtt"
check "unsupported fault: run refuses it, exit 2 (got $RC)" "$([ $RC -eq 2 ] && echo True)"
check "unsupported fault: no run folder" "$([ -z "$SUMMARY" ] && echo True)"
check "unsupported fault: position, field and reason" "$(grep -q "ext-rtt.json:4:36: faults\[0\].type: target 'standalone-broker' cannot do broker_rtt" "$RUNS/rtt/stderr.txt" && echo True)"
"$BIN" validate "$RUNS/ext-rtt.json" >/dev/null 2>&1
check "unsupported fault: validate refuses it too" "$([ $? -eq 2 ] && echo True)"
# Replay from a time on a target whose lookup answers "no offset" (the
# standalone broker is librdkafka's mock): reported, never faked.
run_scenario "$BIN" "$RUNS/ext-replay-ts.json" "$RUNS/replay-ts"
check "replay by timestamp: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
check "replay by timestamp: not performed, with the reason" "$(jget "$SUMMARY" "d['timing']['replay']['performed'] is False and 'does not support offset lookup by timestamp' in d['timing']['replay']['reason']")"
check "replay by timestamp: the live run itself passed" "$(jget "$SUMMARY" "sum(d['anomalies'].values()) == 0")"
exit $FAILED
