#!/usr/bin/env bash
# hubspot_sdk.sh -- a connector built on HubSpot's official Node SDK
# (tests/clients/hubspot-connector.js: @hubspot/api-client + kafkajs,
# installed by scripts/setup.sh) polls the mock CRM's HubSpot dialect and
# replaces the reference connector through pipeline.connector.command.
# 1. hubspot-sdk-connector.json (throttling, 5xx, late events, duplicates,
#    a connector crash, merges and deletes) passes with zero anomalies;
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

run_case ok "$SRC/tests/scenarios/hubspot-sdk-connector.json"
check "SDK connector: exit code 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "SDK connector: all anomaly classes zero ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
check "SDK connector: no fault skipped" "$(jget "$SUMMARY" "not any(f.get('skipped') for f in d['faults'])")"
check "SDK connector did the work, and was restarted after its crash" \
        "$([ "$(grep -c '^hubspot-connector: polling' "$DIR/connector.log")" -ge 2 ] && echo True)"
check "SDK connector was throttled (429) and kept the etiquette" \
        "$(jget "$SUMMARY" "d['api']['status_429']>0 and d['api']['early_retries']==0")"
[ $FAILED -eq 0 ] || { tail -20 "$RUNS/ok/stdout.txt"; tail -20 "$DIR/connector.log"; }

run_case bug "$SRC/tests/scenarios/hubspot-sdk-connector-bug.json"
check "bug-strict-gt: caught as expected (exit 0 of a must-fail scenario, got $RC)" \
        "$([ $RC -eq 0 ] && echo True)"
check "bug-strict-gt: the run failed with stale records ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "d['anomalies']['stale']>=1")"
[ $FAILED -eq 0 ] || tail -20 "$RUNS/bug/stdout.txt"
exit $FAILED
