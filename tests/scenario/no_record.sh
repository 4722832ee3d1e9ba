#!/usr/bin/env bash
# no_record.sh -- `crmsync run --no-record` (for bench_overhead.sh only):
# the judge records nothing (no topic auditor, no probes, no served-event
# lines, no history checks), the summary says so, timing.drain is still
# there, and the end-state check still judges: a pipeline that ignores
# deletes fails. Refused with a replay phase or faults.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
mkdir -p "$RUNS/on" "$RUNS/off" "$RUNS/bug" "$RUNS/replay"

run_scenario "$BIN" "$SRC/tests/scenarios/tiny.json" "$RUNS/off" --no-record
check "off: run passes (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "off: summary recording is false" "$(jget "$SUMMARY" 'd["recording"] is False and d["log"] == {"recording": False}')"
check "off: timing.drain has a rate" "$(jget "$SUMMARY" 'd["timing"]["drain"]["events"] == 1000 and d["timing"]["drain"]["events_per_s"] > 0')"
H=$(dirname "$SUMMARY")/history.jsonl
check "off: no served-event or topic lines in history.jsonl" "$(! grep -qE '"kind":"(crm_serve|topic|sink_apply)"' "$H" && echo True)"

run_scenario "$BIN" "$SRC/tests/scenarios/tiny.json" "$RUNS/on"
check "on: run passes (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "on: summary recording is true, the log was read" "$(jget "$SUMMARY" 'd["recording"] is True and d["log"]["records_read"] >= 1000')"
H=$(dirname "$SUMMARY")/history.jsonl
check "on: served-event and topic lines in history.jsonl" "$(grep -q '"kind":"crm_serve"' "$H" && grep -q '"kind":"topic"' "$H" && echo True)"

cat >"$RUNS/ignore-deletes.json" <<'JSON'
{ "name": "no-record-ignore-deletes", "seed": 108,
  "workload": { "accounts": 150, "contacts_per_account": 2, "changes": 2000,
                "rate_per_s": 1000, "mix": { "update": 0.7, "delete": 0.3 } },
  "pipeline": { "profiler": { "bugs": ["ignore-deletes"] } },
  "settle_s": 3, "expect": { "converge_within_s": 30 } }
JSON
run_scenario "$BIN" "$RUNS/ignore-deletes.json" "$RUNS/bug" --no-record
check "off, ignore-deletes: the end state still fails the run (got $RC)" "$([ $RC -eq 1 ] && echo True)"
check "off, ignore-deletes: zombies found" "$(jget "$SUMMARY" 'd["anomalies"]["zombie"] > 0')"

"$BIN" run "$SRC/tests/scenarios/progress-replay.json" --runs-dir "$RUNS/replay" \
        --quiet --no-record >"$RUNS/replay.out" 2>"$RUNS/replay.err"
RC=$?
check "refused with a replay phase or faults (exit $RC)" "$([ $RC -eq 2 ] && grep -q 'no-record' "$RUNS/replay.err" && echo True)"
exit $FAILED
