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
# Freshness covers every committed change: measured, excluded (deleted or
# merged away before it could be seen) or unseen (none here).
check "freshness of every change" "$(jget "$SUMMARY" "d['timing']['freshness']['count']+d['timing']['freshness']['excluded']==d['workload']['events_committed'] and d['timing']['freshness']['unseen']==0 and d['timing']['freshness']['p99'] is not None")"
check "steady state: a subset, warm-up excluded" "$(jget "$SUMMARY" "0<d['timing']['freshness']['steady_state']['count']<d['timing']['freshness']['count'] and d['timing']['freshness']['steady_state']['from_s']>0")"
check "apply latency kept under its own name" "$(jget "$SUMMARY" "0<d['timing']['apply_latency']['count']<=d['workload']['events_committed'] and 'e2e_latency_ms' not in d['timing']")"
check "verdict prints freshness" "$(grep -q '^freshness  p50 .* steady state p99' "$RUNS/stdout.txt" && echo True)"
check "junit.xml and report.md written" "$([ -s "$(dirname "$SUMMARY")/junit.xml" ] && [ -s "$(dirname "$SUMMARY")/report.md" ] && echo True)"
check "one-screen verdict printed" "$(grep -q 'crmsync verdict: PASS' "$RUNS/stdout.txt" && echo True)"
[ $FAILED -eq 0 ] || { cat "$RUNS/stdout.txt"; tail -20 "$RUNS"/stderr.txt; }
exit $FAILED
