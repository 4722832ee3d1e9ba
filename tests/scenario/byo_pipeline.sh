#!/usr/bin/env bash
# byo_pipeline.sh -- a pipeline written outside crmsync's C code plugs in
# through the command interface: tests/byo/profiler.py (Python,
# confluent-kafka) replaces the reference profiler and must pass
# byo-python-profiler.json with zero anomalies.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
# The command runs in the directory crmsync run was started from (the
# scenario names tests/byo/profiler.py relative to the source root).
cd "$SRC" || exit 1
PY=/usr/bin/python3 # Debian's, where python3-confluent-kafka lives
if ! "$PY" -c 'import confluent_kafka' 2>/dev/null; then
        echo "FAIL: $PY cannot import confluent_kafka (scripts/setup.sh installs python3-confluent-kafka)"
        exit 1
fi
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
run_scenario "$BIN" "$SRC/tests/scenarios/byo-python-profiler.json" "$RUNS"
check "exit code 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { echo "FAIL: no summary.json"; tail -20 "$RUNS"/stderr.txt; exit 1; }
DIR=$(dirname "$SUMMARY")
check "verdict pass" "$(jget "$SUMMARY" "d['verdict']=='pass'")"
check "all anomaly classes zero ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
check "every change seen in the sink (freshness: none unseen)" \
        "$(jget "$SUMMARY" "d['timing']['freshness']['unseen']==0 and d['timing']['freshness']['count']+d['timing']['freshness']['excluded']==d['workload']['events_committed']")"
check "the Python profiler did the work (its log, not the reference's)" \
        "$(grep -q '^byo-profiler: .* consuming' "$DIR/profiler.log" && ! grep -q '^profiler: ' "$DIR/profiler.log" && echo True)"
check "no fault skipped" "$(jget "$SUMMARY" "not any(f.get('skipped') for f in d['faults'])")"
check "side effects sent, none twice" \
        "$(jget "$SUMMARY" "d['log']['side_effects'] > 0 and d['anomalies']['duplicate_side_effect'] == 0")"
check "stopped cleanly on SIGTERM" "$(grep -q '^byo-profiler: .* stopped' "$DIR/profiler.log" && echo True)"
[ $FAILED -eq 0 ] || { tail -20 "$RUNS/stdout.txt"; tail -20 "$DIR/profiler.log"; }
exit $FAILED
