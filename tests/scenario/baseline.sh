#!/usr/bin/env bash
# baseline.sh -- the baseline scenario passes with zero anomalies, and the
# workload is the size the README promises.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
run_scenario "$BIN" "$SRC/scenarios/ci/0001-baseline.json" "$RUNS"
check "exit code 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
[ -n "$SUMMARY" ] || { echo "FAIL: no summary.json"; cat "$RUNS"/stderr.txt; exit 1; }
check "verdict pass" "$(jget "$SUMMARY" "d['verdict']=='pass'")"
check "schema" "$(jget "$SUMMARY" "d['schema']=='crmsync.summary/1'")"
check ">= 20000 committed changes" "$(jget "$SUMMARY" "d['workload']['events_committed']>=20000")"
check ">= 2000 accounts" "$(jget "$SUMMARY" "d['workload']['accounts']>=2000")"
check "all anomaly classes zero" "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values()) and len(d['anomalies'])>=5")"
check "every expectation ok" "$(jget "$SUMMARY" "all(e['ok'] for e in d['expectations'])")"
check "latency measured for every change" "$(jget "$SUMMARY" "d['timing']['e2e_latency_ms']['count']>0")"
check "junit.xml and report.md written" "$([ -s "$(dirname "$SUMMARY")/junit.xml" ] && [ -s "$(dirname "$SUMMARY")/report.md" ] && echo True)"
check "one-screen verdict printed" "$(grep -q 'crmsync verdict: PASS' "$RUNS/stdout.txt" && echo True)"
[ $FAILED -eq 0 ] || { cat "$RUNS/stdout.txt"; tail -20 "$RUNS"/stderr.txt; }
exit $FAILED
