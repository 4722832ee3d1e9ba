#!/usr/bin/env bash
# salesforce_retry_storm.sh -- the API etiquette judge against a real
# client's retries: the jsforce polling connector
# (tests/clients/salesforce-connector.js) through a 5xx burst (every
# answer 500, or 503 with Retry-After: 1, for 2 s; then a throttle storm,
# 403 REQUEST_LIMIT_EXCEEDED with Retry-After, so the normal run surely
# gets answers with a Retry-After to honour):
# 1. as it is (jsforce's retry off, Retry-After waited): passes, no early
#    retry;
# 2. with --bug-retry-storm (jsforce's retry at a fixed 100 ms, no
#    backoff): the run fails on api.early_retries, with the data right.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
cd "$SRC" || exit 1
need_node_clients || exit 1
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

run_case ok "$SRC/tests/scenarios/salesforce-jsforce-5xx.json"
check "normal connector: exit code 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "normal connector: 5xx answered ($(jget "$SUMMARY" "d['api']['status_5xx']")), rate-limited ($(jget "$SUMMARY" "d['api']['status_429']")), Retry-After sent ($(jget "$SUMMARY" "d['api']['retry_afters']")), no early retry ($(jget "$SUMMARY" "d['api']['early_retries']"))" \
        "$(jget "$SUMMARY" "d['api']['status_5xx']>=1 and d['api']['status_429']>=1 and d['api']['retry_afters']>=1 and d['api']['early_retries']==0")"
check "normal connector: all anomaly classes zero" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
[ $FAILED -eq 0 ] || tail -20 "$RUNS/ok/stdout.txt"

run_case bug "$SRC/tests/scenarios/salesforce-jsforce-5xx-storm.json"
check "retry storm: caught as expected (exit 0 of a must-fail scenario, got $RC)" \
        "$([ $RC -eq 0 ] && echo True)"
check "retry storm: early retries found ($(jget "$SUMMARY" "d['api']['early_retries']")) among $(jget "$SUMMARY" "d['api']['requests']") requests" \
        "$(jget "$SUMMARY" "d['api']['early_retries']>=1")"
check "retry storm: the data itself converged (the etiquette alone fails it)" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
[ $FAILED -eq 0 ] || tail -20 "$RUNS/bug/stdout.txt"
exit $FAILED
