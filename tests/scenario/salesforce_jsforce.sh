#!/usr/bin/env bash
# salesforce_jsforce.sh -- a connector built on jsforce
# (tests/clients/salesforce-connector.js: jsforce + kafkajs, installed by
# scripts/setup.sh) polls the mock CRM's Salesforce dialect (OAuth token,
# SOQL queryAll, nextRecordsUrl) and replaces the reference connector
# through pipeline.connector.command.
# 1. salesforce-jsforce-connector.json (throttling as 403
#    REQUEST_LIMIT_EXCEEDED, 5xx, late events, duplicates, expired
#    sessions, a connector crash, merges and deletes) passes with zero
#    anomalies, and jsforce logged in again after the sessions expired;
# 2. the same connector with --bug-strict-gt (ties at the boundary
#    millisecond skipped) is caught: the run fails with stale records.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
cd "$SRC" || exit 1
need_node_clients || exit 1
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

run_case ok "$SRC/tests/scenarios/salesforce-jsforce-connector.json"
check "jsforce connector: exit code 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "jsforce connector: all anomaly classes zero ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
check "jsforce connector: no fault skipped" "$(jget "$SUMMARY" "not any(f.get('skipped') for f in d['faults'])")"
check "jsforce connector did the work, and was restarted after its crash" \
        "$([ "$(grep -c '^salesforce-connector: polling' "$DIR/connector.log")" -ge 2 ] && echo True)"
check "jsforce logged in again after expire_sessions (401 INVALID_SESSION_ID)" \
        "$(grep -q '^salesforce-connector: stopped: .* relogins [1-9]' "$DIR/connector.log" && echo True)"
check "jsforce connector was throttled (403 REQUEST_LIMIT_EXCEEDED) and kept the etiquette" \
        "$(jget "$SUMMARY" "d['api']['status_429']>0 and d['api']['early_retries']==0")"
[ $FAILED -eq 0 ] || { tail -20 "$RUNS/ok/stdout.txt"; tail -20 "$DIR/connector.log"; }

run_case bug "$SRC/tests/scenarios/salesforce-jsforce-connector-bug.json"
check "bug-strict-gt: caught as expected (exit 0 of a must-fail scenario, got $RC)" \
        "$([ $RC -eq 0 ] && echo True)"
check "bug-strict-gt: the run failed with stale records ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "d['anomalies']['stale']>=1")"
[ $FAILED -eq 0 ] || tail -20 "$RUNS/bug/stdout.txt"
exit $FAILED
