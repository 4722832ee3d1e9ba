#!/usr/bin/env bash
# api_etiquette.sh -- a connector that ignores Retry-After is caught by the
# default expectation api.early_retries <= 0 although it loses no data
# (bug switch ignore-retry-after); the same run passes when the scenario
# turns the bound off (null); the reference connector honours Retry-After
# through 0018-throttle-storm and passes. The figures reach summary.json,
# report.md, junit.xml and the printed verdict.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
mkdir -p "$RUNS/bug" "$RUNS/off" "$RUNS/ref"
SCEN="$SRC/tests/scenarios/mutations/connector/bug-ignore-retry-after.json"

# The mutation scenario must fail (expect.verdict "fail"): here its run is
# judged as a plain scenario, to see the failed expectation itself.
python3 - "$SCEN" "$RUNS/bug.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("verdict", "anomalies_at_least", "failing", "may_also_fail"):
    d["expect"].pop(k, None)
json.dump(d, open(sys.argv[2], "w"))
PY
run_scenario "$BIN" "$RUNS/bug.json" "$RUNS/bug"
check "ignore-retry-after: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
check "ignore-retry-after: early retries counted for the connector" "$(jget "$SUMMARY" "d['api']['early_retries'] > 0 and d['api']['clients']['crmsync-connector']['early_retries'] == d['api']['early_retries'] and d['api']['status_429'] > 0")"
check "ignore-retry-after: only the etiquette check fails (no data lost)" "$(jget "$SUMMARY" "[e['name'] for e in d['expectations'] if not e['ok']] == ['api.early_retries <= 0'] and sum(d['anomalies'].values()) == 0")"
DIR=$(dirname "$SUMMARY")
check "ignore-retry-after: report.md has the etiquette table" "$(grep -q '^## CRM API etiquette' "$DIR/report.md" && grep -q '^| crmsync-connector |' "$DIR/report.md" && echo True)"
check "ignore-retry-after: junit has the failed case and the figures" "$(grep -q 'name="api.early_retries &lt;= 0"><failure' "$DIR/junit.xml" && grep -q 'property name="api.early_retries"' "$DIR/junit.xml" && echo True)"
check "ignore-retry-after: the verdict prints the api line" "$(grep -q '^crm api ' "$RUNS/bug/stdout.txt" && echo True)"

# The same run with the bound turned off passes.
python3 - "$RUNS/bug.json" "$RUNS/off.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "ignore-retry-after-unbounded"
d["expect"]["api"] = {"early_retries_max": None}
json.dump(d, open(sys.argv[2], "w"))
PY
run_scenario "$BIN" "$RUNS/off.json" "$RUNS/off"
check "bound off: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "bound off: still reported, no expectation" "$(jget "$SUMMARY" "d['api']['early_retries'] > 0 and not any(e['name'].startswith('api.') for e in d['expectations'])")"

# The reference connector through a throttle storm.
run_scenario "$BIN" "$SRC/scenarios/ci/0018-throttle-storm.json" "$RUNS/ref"
check "reference, 0018: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "reference, 0018: throttled, never early" "$(jget "$SUMMARY" "d['api']['status_429'] > 0 and d['api']['early_retries'] == 0 and any(e['name'] == 'api.early_retries <= 0' and e['ok'] for e in d['expectations'])")"
exit $FAILED
