#!/usr/bin/env bash
# report_timing.sh -- report.md shows every timing figure summary.json has:
# a run with a connector crash, a broker restart and a replay, and a walk of
# summary.json's whole `timing` object (so a figure added later cannot be
# forgotten), each scalar looked up by its path in report.md's table, plus
# the per-fault table and the replay's events/s in the prose.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

run_scenario "$BIN" "$SRC/tests/scenarios/progress-replay.json" "$RUNS"
check "run passes (got $RC)" "$([ $RC -eq 0 ] && echo True)"
REPORT=$(dirname "$SUMMARY")/report.md
sed -n '/^## Timing/,$p' "$REPORT"
out=$(python3 - "$SUMMARY" "$REPORT" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["timing"]
md = open(sys.argv[2]).read()
missing, numbers = [], 0
def fmt(v):
    if v is None: return "-"
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return "%.3f" % v
    return v
def walk(path, v):
    global numbers
    if isinstance(v, dict):
        for k, x in v.items(): walk(path + ("." if path else "") + k, x)
    elif isinstance(v, list):
        if not v and "| `%s` | none |" % path not in md: missing.append(path)
        for i, x in enumerate(v): walk("%s[%d]" % (path, i), x)
    else:
        if isinstance(v, (int, float)) and not isinstance(v, bool): numbers += 1
        if "| `%s` | %s |" % (path, fmt(v)) not in md: missing.append(path)
walk("", t)
print("numbers=%d missing=%s" % (numbers, ",".join(missing) or "none"))
PY
)
echo "$out"
check "every timing figure of summary.json is in report.md ($out)" "$(grep -q 'missing=none' <<<"$out" && echo True)"
check "the walk saw the fault and replay figures" "$(jget "$SUMMARY" "all(len(d['timing'][k]) > 0 for k in ('fault_convergence', 'catch_up', 'broker_unavailable')) and d['timing']['replay']['performed']")"
check "per-fault table: catch-up and broker unavailability" "$(python3 - "$SUMMARY" "$REPORT" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); md = open(sys.argv[2]).read()
t = d["timing"]; ok = True
for c in t["catch_up"]:
    ok &= ("%.2f |" % c["catch_up_s"]) in md
for u in t["broker_unavailable"]:
    ok &= ("%.2f |" % u["unavailable_s"]) in md
for c in t["fault_convergence"]:
    ok &= ("| %d | %s |" % (c["fault"], c["type"])) in md
print(ok)
PY
)"
check "replay events/s in the prose" "$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(('%.1f events/s' % d['timing']['replay']['events_per_s']) in open(sys.argv[2]).read())" "$SUMMARY" "$REPORT")"
exit $FAILED
