#!/usr/bin/env bash
# shared_cluster.sh -- runs on one shared cluster are independent: on one
# standalone `crmsync broker` with the default topic, two different
# scenarios one after the other both pass, and so does a replay scenario
# after them (its replay from "earliest" rebuilds from this run's first
# offsets, not from earlier runs' records), and a BYO profiler (Python,
# when confluent-kafka is installed) that honours CRMSYNC_START_OFFSETS.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
BROKER_PID=""
trap '[ -n "$BROKER_PID" ] && kill $BROKER_PID 2>/dev/null; rm -rf "$RUNS"' EXIT
FAILED=0

start_broker "$RUNS" --brokers 1
cat >"$RUNS/target.json" <<JSON
{ "name": "shared", "properties": { "bootstrap.servers": "$BOOT" },
  "topics": { "create": false } }
JSON
scenario() { # name seed accounts changes extra
        cat >"$RUNS/$1.json" <<JSON
{ "name": "$1", "seed": $2,
  "workload": { "accounts": $3, "changes": $4, "rate_per_s": 500 },
  "target": { "type": "external", "file": "target.json" } $5 }
JSON
}
scenario first 4 100 1000 ''
scenario second 11 120 1200 ''
scenario replayed 12 80 800 ', "replay": {}'

# reads_before RUN_DIR -> profiler reads at offsets below the run's start
reads_before() {
        python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
s = json.load(open(os.path.join(d, "summary.json")))
start = {int(p): int(o) for p, o in (x.split(":") for x in s["target"]["start_offsets"].split(","))}
bad = 0
for line in open(os.path.join(d, "profiler-reads.tsv")):
    f = line.split("\t")
    if int(f[3]) < start[int(f[2])]:
        bad += 1
print(bad)
PY
}

for name in first second replayed; do
        mkdir -p "$RUNS/$name"
        run_scenario "$BIN" "$RUNS/$name.json" "$RUNS/$name"
        check "$name: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
        [ -n "$SUMMARY" ] || { cat "$RUNS/$name/stderr.txt"; FAILED=1; continue; }
        check "$name: zero anomalies" "$(jget "$SUMMARY" "sum(d['anomalies'].values())==0")"
        check "$name: converged" "$(jget "$SUMMARY" "d['run']['converged']")"
        check "$name: the profiler read nothing from before the run" "$([ "$(reads_before "$(dirname "$SUMMARY")")" = 0 ] && echo True)"
done
check "second: started after the first run's records" "$(jget "$RUNS/second/"*/summary.json "sum(int(x.split(':')[1]) for x in d['target']['start_offsets'].split(','))>=1000")"
check "replay: performed, rebuilt the sink, window complete" "$(jget "$RUNS/replayed/"*/summary.json "d['timing']['replay']['performed'] and d['timing']['replay']['matches_oracle'] and d['timing']['replay']['complete']")"

# A BYO profiler gets CRMSYNC_START_OFFSETS and honours it.
PY=/usr/bin/python3 # Debian's, where python3-confluent-kafka lives
if "$PY" -c 'import confluent_kafka' 2>/dev/null; then
        cat >"$RUNS/byo.json" <<JSON
{ "name": "byo", "seed": 13,
  "workload": { "accounts": 60, "changes": 600, "rate_per_s": 500 },
  "target": { "type": "external", "file": "target.json" },
  "pipeline": { "profiler": { "command": "$PY $SRC/tests/byo/profiler.py" } } }
JSON
        mkdir -p "$RUNS/byo"
        run_scenario "$BIN" "$RUNS/byo.json" "$RUNS/byo"
        check "byo: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
        [ -n "$SUMMARY" ] && check "byo: zero anomalies" "$(jget "$SUMMARY" "sum(d['anomalies'].values())==0")"
else
        echo "skip: BYO profiler (python3 confluent_kafka not installed)"
fi
exit $FAILED
