#!/usr/bin/env bash
# bug_switches.sh -- every bug switch of the reference pipeline is caught.
# The scenarios in tests/scenarios/mutations/<process>/ say how each must
# fail (expect.verdict "fail", anomalies_at_least / failing); the suite
# runs them (`crmsync run --jobs 2 DIR`) and must exit 0: every mutation
# caught in its expected way. The same scenarios without the switch (and
# without the must-fail fields) must pass too, which proves that the fault
# alone is not what fails.
# Usage: bug_switches.sh BIN SRC [DIR] (default: the profiler's switches;
# bug_switches_connector.sh runs the connector's).
set -u
BIN=$1; SRC=$2
DIR=${3:-$SRC/tests/scenarios/mutations/profiler}
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
n=$(ls "$DIR"/*.json | wc -l)

# Share of the initial accounts whose contacts' creates were produced to the
# account's partition (the workload commits each account, then its
# contacts_per_account contacts): 1.0 when the key is account_id.
same_partition_share() { # RUN_DIR CONTACTS_PER_ACCOUNT
        python3 - "$1/history.jsonl" "$2" "$(jget "$1/summary.json" "d['workload']['accounts']")" <<'PY'
import json, sys
part, k, accounts = {}, int(sys.argv[2]), int(sys.argv[3])
for line in open(sys.argv[1]):
    h = json.loads(line)
    if h.get("kind") == "topic" and h.get("topic", "").endswith("changes"):
        part.setdefault(int(h["event_id"][2:]), h["partition"])
ok = sum(all(part.get(a * (k + 1) + 1) == part.get(a * (k + 1) + 1 + c)
             for c in range(1, k + 1)) for a in range(accounts))
print("%.3f" % (ok / accounts))
PY
}
# The run folder of scenario NAME in suite summary SUITE, or "".
run_dir_of() { jget "$1" "([r['run_dir'] for r in d['runs'] if r['scenario']=='$2'] or [''])[0]"; }

"$BIN" run --jobs 2 "$DIR" --runs-dir "$RUNS/bug" >"$RUNS/bug.txt" 2>&1
RC=$?
cat "$RUNS/bug.txt"
check "every mutation caught as expected: suite exit 0 (got $RC)" \
        "$([ $RC -eq 0 ] && echo True)"
SUITE=$(ls -d "$RUNS"/bug/suite-[0-9]*/summary.json 2>/dev/null | head -1)
if [ -z "$SUITE" ]; then
        echo "FAIL: no suite summary"; exit 1
fi
check "$n scenarios, $n PASS lines" \
        "$([ "$(grep -c '^\[[0-9]*/'"$n"'\] .* \.\.\. PASS' "$RUNS/bug.txt")" -eq "$n" ] && echo True)"
check "each run itself failed (run_verdict fail) and was caught" \
        "$(jget "$SUITE" "len(d['runs'])==$n and all(r['run_verdict']=='fail' and r['expected_failure']['caught'] for r in d['runs'])")"
check "the mutation matrix has a caught row per switch" \
        "$(jget "$SUITE" "len(d['mutation_matrix'])==$n and all(m['caught'] for m in d['mutation_matrix'])")"
jget "$SUITE" "'\n'.join('%-24s %-34s %s' % (m['switch'], m['expected'], m['found']) for m in d['mutation_matrix'])"

# key-by-record-id: no anomaly class sees it (each record keeps its own
# order); the run's key check does, and the topic history shows contacts
# away from their account's partition.
KEYBUG=$(run_dir_of "$SUITE" bug-key-by-record-id)
if [ -n "$KEYBUG" ]; then
        share=$(same_partition_share "$KEYBUG" 2)
        check "key-by-record-id: contacts off their account's partition (share together $share < 0.5)" \
                "$(python3 -c "print($share < 0.5)")"
fi

# Control: the same scenarios without the switch pass.
mkdir -p "$RUNS/control-in"
for f in "$DIR"/*.json; do
        python3 - "$f" "$RUNS/control-in/$(basename "$f")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for proc in d.get("pipeline", {}).values():
    proc.pop("bugs", None)
for k in ("verdict", "anomalies_at_least", "failing", "may_also_fail"):
    d["expect"].pop(k, None)
d["name"] += "-control"
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
done
"$BIN" run --jobs 2 "$RUNS/control-in" --runs-dir "$RUNS/control" \
        >"$RUNS/control.txt" 2>&1
RC=$?
cat "$RUNS/control.txt"
check "controls without the switches all pass: suite exit 0 (got $RC)" \
        "$([ $RC -eq 0 ] && echo True)"
CONTROL=$(ls -d "$RUNS"/control/suite-[0-9]*/summary.json 2>/dev/null | head -1)
[ -n "$CONTROL" ] && check "controls: zero anomalies" \
        "$(jget "$CONTROL" "all(r['anomalies']==0 for r in d['runs'])")"
KEYCTL=$([ -n "$CONTROL" ] && run_dir_of "$CONTROL" bug-key-by-record-id-control)
if [ -n "$KEYCTL" ]; then
        share=$(same_partition_share "$KEYCTL" 2)
        check "key-by-record-id: control keeps every account with its contacts ($share)" \
                "$(python3 -c "print($share == 1.0)")"
fi
exit $FAILED
