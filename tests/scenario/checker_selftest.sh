#!/usr/bin/env bash
# checker_selftest.sh -- the checker is shown to fail: a corrupted sink
# record is one divergent anomaly; a dropped last update is one stale one.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
for case in corrupt:divergent drop:stale; do
        name=${case%%:*}; class=${case#*:}
        mkdir -p "$RUNS/$name"
        run_scenario "$BIN" "$SRC/tests/scenarios/selftest-$name.json" "$RUNS/$name"
        check "$name: exit code 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
        [ -n "$SUMMARY" ] || { echo "FAIL: $name: no summary"; cat "$RUNS/$name/stderr.txt"; FAILED=1; continue; }
        check "$name: verdict fail" "$(jget "$SUMMARY" "d['verdict']=='fail'")"
        check "$name: exactly one $class anomaly" "$(jget "$SUMMARY" "d['anomalies']['$class']==1")"
        check "$name: no other anomaly" "$(jget "$SUMMARY" "sum(d['anomalies'].values())==1")"
        check "$name: the failed expectation names $class" "$(jget "$SUMMARY" "[e['name'] for e in d['expectations'] if not e['ok']]==['anomalies.$class <= 0','converged within 60s']")"
done
exit $FAILED
