#!/usr/bin/env bash
# schema_drift.sh -- the reference connector checks every event against the
# field types of docs/wire-contracts.md, so each schema_drift kind of
# 0020-schema-drift (changed_type and new_field here; missing_required is
# 0020 itself, in fault_scenarios) is dead-lettered and repaired from the
# objects API: the run passes with dead_lettered > 0 and every other class
# 0. (A connector without the check passed drifted fields to the sink:
# divergent and zombie records.)
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
for kind in changed_type new_field; do
        mkdir -p "$RUNS/$kind"
        python3 - "$SRC/scenarios/ci/0020-schema-drift.json" "$RUNS/$kind.json" "$kind" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "schema-drift-" + sys.argv[3].replace("_", "-")
d["faults"][0]["kind"] = sys.argv[3]
json.dump(d, open(sys.argv[2], "w"))
PY
        run_scenario "$BIN" "$RUNS/$kind.json" "$RUNS/$kind"
        check "$kind: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
        check "$kind: drifted events dead-lettered, nothing else wrong" "$(jget "$SUMMARY" "d['anomalies']['dead_lettered'] > 0 and all(v == 0 for k, v in d['anomalies'].items() if k != 'dead_lettered')")"
        check "$kind: the connector said why" "$(grep -q 'malformed_event: \(unknown field\|field .* has the wrong JSON type\|event field \"version\"\)' "$(dirname "$SUMMARY")/connector.log" && echo True)"
done
exit $FAILED
