#!/usr/bin/env bash
# replay_domain.sh -- a bounded-domain replay rebuilds only its accounts and
# leaves the others untouched; a replaying profiler that ignores the domain
# (a command that drops --domain) is caught writing outside it.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
mkdir -p "$RUNS/ok" "$RUNS/leaky"
run_scenario "$BIN" "$SRC/scenarios/ci/0101-replay-domain.json" "$RUNS/ok"
check "domain replay: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "domain replay: some records rebuilt, none outside touched" "$(jget "$SUMMARY" "d['timing']['replay']['domain']['records_rebuilt'] > 0 and d['timing']['replay']['domain']['outside_untouched'] and d['timing']['replay']['domain']['outside_writes'] == 0")"
check "domain replay: rebuilt sink equals the CRM" "$(jget "$SUMMARY" "d['timing']['replay']['matches_oracle']")"

# The same replay with a profiler command that ignores the domain.
python3 - "$SRC/scenarios/ci/0101-replay-domain.json" "$RUNS/leaky.json" "$BIN" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["name"] = "replay-domain-leaky"
d["pipeline"] = {"profiler": {"command": sys.argv[3] + " profiler --no-side-effects"}}
json.dump(d, open(sys.argv[2], "w"))
PY
run_scenario "$BIN" "$RUNS/leaky.json" "$RUNS/leaky"
check "leaky replay: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
check "leaky replay: writes outside the domain caught" "$(jget "$SUMMARY" "d['timing']['replay']['domain']['outside_writes'] > 0 and any(e['name']=='replay leaves other accounts untouched' and not e['ok'] for e in d['expectations'])")"
exit $FAILED
