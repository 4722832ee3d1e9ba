#!/usr/bin/env bash
# salesforce_cdc_jsforce.sh -- a connector on Salesforce Change Data
# Capture (tests/clients/salesforce-cdc-connector.js: jsforce's Streaming
# API client over CometD, with its Replay extension, and kafkajs)
# replaces the reference connector through pipeline.connector.command.
# 1. salesforce-cdc-connector.json (duplicates, late events, gap events,
#    a connector crash resumed from the stored replayId, merges, deletes)
#    passes with zero anomalies;
# 2. with --bug-skip-gaps (gap events dropped instead of resolved) the
#    harness catches it: the run fails with lost changes.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
cd "$SRC" || exit 1
need_node_clients || exit 1
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

run_case ok "$SRC/tests/scenarios/salesforce-cdc-connector.json"
check "CDC connector: exit code 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "CDC connector: all anomaly classes zero ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "all(v==0 for v in d['anomalies'].values())")"
check "CDC connector: no fault skipped" "$(jget "$SUMMARY" "not any(f.get('skipped') for f in d['faults'])")"
check "CDC connector resumed from its stored replayId after the crash" \
        "$(grep -q '^salesforce-cdc: subscribed to /data/ChangeEvents at .* from replayId [0-9]' "$DIR/connector.log" && echo True)"
check "CDC connector resolved gap events by reading the record" \
        "$(grep -q '^salesforce-cdc: stopped: .* gaps [1-9]' "$DIR/connector.log" && echo True)"
check "changes reached the CRM's history as served via cometd" \
        "$(grep -q '"via":"cometd"' "$DIR/history.jsonl" && echo True)"
[ $FAILED -eq 0 ] || { tail -20 "$RUNS/ok/stdout.txt"; tail -20 "$DIR/connector.log"; }

run_case bug "$SRC/tests/scenarios/salesforce-cdc-connector-bug.json"
check "bug-skip-gaps: caught as expected (exit 0 of a must-fail scenario, got $RC)" \
        "$([ $RC -eq 0 ] && echo True)"
check "bug-skip-gaps: the run failed with lost changes ($(jget "$SUMMARY" "d['anomalies']"))" \
        "$(jget "$SUMMARY" "d['anomalies']['lost']>=1")"
[ $FAILED -eq 0 ] || tail -20 "$RUNS/bug/stdout.txt"
exit $FAILED
