#!/usr/bin/env bash
# postgres_bug_switches.sh -- the reference profiler's bug switches that
# concern the sink (commit-before-sink-ack, no-dedupe, no-version-check,
# ignore-deletes, ignore-merges) are caught on the postgres sink with the
# same classes as on the fake sink: the scenarios of
# tests/scenarios/mutations/profiler/, unchanged but for "sink": {"type":
# "postgres"}, through bug_switches.sh (each mutation caught as its file
# expects; the same scenarios without the switch pass).
set -u
BIN=$1; SRC=$2
DIR=$(mktemp -d /tmp/crmsync-pg-mutations.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
for f in "$SRC"/tests/scenarios/mutations/profiler/*.json; do
        python3 - "$f" "$DIR/$(basename "$f")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["sink"] = {"type": "postgres"}
d["description"] = "On the postgres sink: " + d.get("description", "")
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
done
bash "$SRC/tests/scenario/bug_switches.sh" "$BIN" "$SRC" "$DIR"
