#!/usr/bin/env bash
# capacity_options.sh -- `crmsync capacity` options around the main run of
# tests/scenario/capacity.sh (split from it so that only the timed part
# holds ctest's "cpu" lock): bad input exits 2 before any run; --budget-s
# skips a point that would not fit and the report says why; a preloaded
# replay by a profiler that ignores deletes fails its oracle (and a
# capacity --history point with it is not measured, exit 1); --preload
# without a replay phase is refused; --stop profiler pauses the profiler
# instead of the connector.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

# Bad input first (instant): a capacity file with an unknown field, and
# --find-max without an SLO.
printf '{"replication_factor": 3,\n "zonez": 3}\n' > "$RUNS/bad-cap.json"
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS" \
        --rates 100 --capacity-file "$RUNS/bad-cap.json" 2> "$RUNS/bad1.err"
RC=$?
check "bad capacity file: exit 2 with file:line:col and field ($(cat "$RUNS/bad1.err"))" \
        "$([ $RC -eq 2 ] && grep -qF "$RUNS/bad-cap.json:2:2: zonez: unknown field" "$RUNS/bad1.err" && echo True)"
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS" \
        --rates 100 --find-max 2> "$RUNS/bad2.err"
RC=$?
check "--find-max without --slo-p99-ms: exit 2" \
        "$([ $RC -eq 2 ] && grep -q "needs --slo-p99-ms" "$RUNS/bad2.err" && echo True)"
check "no capacity folder for bad input" \
        "$([ -z "$(ls -d "$RUNS"/capacity-* 2>/dev/null)" ] && echo True)"

# --budget-s: a point that would not end within the budget is skipped
# (exit 1), named in the report with the reason; the report is written.
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS/budget" \
        --rates 100 --budget-s 5 > /dev/null 2> "$RUNS/budget.err"
RC=$?
BDIR=$(ls -d "$RUNS"/budget/capacity-* 2>/dev/null | head -1)
check "--budget-s 5: the rate point (about 20 s) is skipped (exit 1), the report says why" \
        "$([ $RC -eq 1 ] && [ -z "$(ls "$BDIR/runs")" ] && grep -q "Skipped: capacity-small-rate-100: needs about" "$BDIR/report.md" && echo True)"

# --preload judges the replay like any other: a profiler that ignores
# deletes rebuilds zombies (exit 1, the oracle not matched); without a
# replay phase --preload is refused (exit 2).
python3 - "$SRC" "$RUNS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1] + "/tests/scenarios/capacity-small.json"))
s["name"] = "preload-bug"
s["workload"]["changes"] = 1500
s["replay"] = {"clear_sink": True}
s["pipeline"]["profiler"] = {"bugs": ["ignore-deletes"]}
json.dump(s, open(sys.argv[2] + "/preload-bug.json", "w"))
del s["replay"]
s["name"] = "preload-norep"
json.dump(s, open(sys.argv[2] + "/preload-norep.json", "w"))
PY
mkdir -p "$RUNS/pre"
run_scenario "$BIN" "$RUNS/preload-bug.json" "$RUNS/pre" --preload
check "preload with ignore-deletes: exit 1, the replay does not match the oracle" \
        "$([ $RC -eq 1 ] && [ "$(jget "$SUMMARY" "d['timing']['replay']['matches_oracle']")" = False ] && echo True)"
check "preload verdict: a preload line instead of freshness" \
        "$(grep -q '^preload    [0-9]* records produced straight to the topic' "$RUNS/pre/stdout.txt" && ! grep -q '^freshness' "$RUNS/pre/stdout.txt" && echo True)"
"$BIN" run --preload --quiet --runs-dir "$RUNS/pre" "$RUNS/preload-norep.json" 2> "$RUNS/norep.err"
RC=$?
check "preload without a replay phase: exit 2" \
        "$([ $RC -eq 2 ] && grep -q "needs a scenario with a replay phase" "$RUNS/norep.err" && echo True)"

# Through capacity: the history point did not rebuild the CRM's state, so
# it is not measured, left out of the fit, and the exit code is 1.
"$BIN" capacity "$RUNS/preload-bug.json" --runs-dir "$RUNS/bugcap" \
        --history 1500 > /dev/null 2> "$RUNS/bugcap.err"
RC=$?
GDIR=$(ls -d "$RUNS"/bugcap/capacity-* 2>/dev/null | head -1)
check "capacity --history with a buggy replay: exit 1, point not measured, report says NO" \
        "$([ $RC -eq 1 ] && grep -q "did NOT rebuild" "$RUNS/bugcap.err" && grep -q '| 1500 | 1500 |.*| NO |' "$GDIR/report.md" && python3 -c "
import json, sys
h = json.load(open('$GDIR/capacity.json'))['history']
sys.exit(not (h['points'][0]['measured'] is False and h['fit']['pipeline'] is None))" && echo True)"

# The profiler stopped instead of the connector.
"$BIN" capacity "$SRC/tests/scenarios/capacity-small.json" --runs-dir "$RUNS/stop" \
        --downtime-s 2 --catch-up-rate 400 --stop profiler > /dev/null 2> "$RUNS/stop.err"
RC=$?
SDIR=$(ls -d "$RUNS"/stop/capacity-* 2>/dev/null | head -1)
check "--stop profiler: exit 0, a profiler_pause, backlog drained" \
        "$([ $RC -eq 0 ] && grep -q profiler_pause "$SDIR"/scenarios/*.json && python3 -c "
import json, sys
c = json.load(open('$SDIR/capacity.json'))['catch_up']
p = c['points'][0]
sys.exit(not (c['stopped'] == 'profiler' and p['measured'] and p['backlog'] > 0 and p['drain_s'] > 0))" && echo True)"

exit $FAILED
