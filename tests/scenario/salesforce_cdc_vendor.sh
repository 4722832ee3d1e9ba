#!/usr/bin/env bash
# salesforce_cdc_vendor.sh -- the CDC connector on jsforce's Streaming API
# client (tests/clients/salesforce-cdc-connector.js) under the
# Salesforce-only CDC behaviours of the mock CRM:
# 1. salesforce-cdc-vendor.json: GAP_OVERFLOW events (re-read by SOQL),
#    several records per event, sessions that end under a held connect
#    (Bayeux 401, the connector logs in again): zero anomalies;
# 2. with --bug-ignore-overflow (GAP_OVERFLOW dropped) the harness
#    catches it: the run fails with stale records.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
cd "$SRC" || exit 1
need_node_clients || exit 1
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

run_case ok "$SRC/tests/scenarios/salesforce-cdc-vendor.json"
LOG="$DIR/connector.log"
check "CDC connector: exit code 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "CDC connector: all anomaly classes zero ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
check "it re-read records for GAP_OVERFLOW events" \
        "$(grep -q '^salesforce-cdc: stopped: .* overflows [1-9]' "$LOG" && echo True)"
check "it took events with several recordIds apart" \
        "$(grep -q '^salesforce-cdc: stopped: .* merged [1-9]' "$LOG" && echo True)"
check "it logged in again after 401::Authentication invalid" \
        "$(grep -q '^salesforce-cdc: session ended (401::Authentication invalid)' "$LOG" &&
           grep -q '^salesforce-cdc: stopped: .* relogins [1-9]' "$LOG" && echo True)"
[ $FAILED -eq 0 ] || { tail -20 "$RUNS/ok/stdout.txt"; tail -20 "$LOG"; }

run_case bug "$SRC/tests/scenarios/salesforce-cdc-vendor-bug.json"
check "bug-ignore-overflow: caught as expected (exit 0 of a must-fail scenario, got $RC)" \
        "$([ $RC -eq 0 ] && echo True)"
check "bug-ignore-overflow: the run failed with stale records ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "d['anomalies']['stale']>=1")"
[ $FAILED -eq 0 ] || tail -20 "$RUNS/bug/stdout.txt"
exit $FAILED
