#!/usr/bin/env bash
# run_end.sh -- the run's end does not cut off the pipeline: after the
# harness declared convergence it stops the pipeline while the sink still
# answers, and judges only after that. The profiler's wrapper
# (tests/byo/late-request.sh) asks the sink after SIGTERM and records the
# HTTP status.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
cd "$SRC" || exit 1 # the scenario names tests/byo/late-request.sh
export CRMSYNC_TEST_BIN
CRMSYNC_TEST_BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
run_scenario "$BIN" "$SRC/tests/scenarios/late-request.json" "$RUNS"
check "exit code 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { echo "FAIL: no summary.json"; tail -20 "$RUNS/stderr.txt"; exit 1; }
DIR=$(dirname "$SUMMARY")
check "converged" "$(jget "$SUMMARY" "d['run']['converged']")"
code=$(cat "$DIR/late-request.txt" 2>/dev/null)
check "the sink answered a request made while the pipeline stopped (HTTP $code)" \
        "$([ "$code" = 200 ] && echo True)"
check "the pipeline was stopped after convergence" \
        "$(python3 -c "
import json, sys
kinds = [json.loads(l).get('kind') for l in open(sys.argv[1])]
print('converged' in kinds and 'pipeline_stopped' in kinds and
      kinds.index('converged') < kinds.index('pipeline_stopped'))" "$DIR/history.jsonl")"
[ $FAILED -eq 0 ] || { tail -20 "$RUNS/stderr.txt"; tail -5 "$DIR/profiler.log"; }
exit $FAILED
