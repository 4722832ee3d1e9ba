#!/usr/bin/env bash
# fault_scenarios.sh -- every fault scenario under scenarios/ci/ (00*.json
# but the baseline, which has its own test) runs against the reference
# pipeline on the embedded broker and passes; each fault is performed (not
# skipped), has a start and an end in summary.json and in history.jsonl.
#
# usage: bash fault_scenarios.sh <crmsync-binary> <source-dir> [PART]
# PART: 1 (default) the first half of the files in name order, 2 the second
# half (fault_scenarios_2.sh, so that each ctest entry stays under ~4
# minutes), all every file.
# Prints one line per scenario; exit 0 when every scenario passes.
set -u
BIN=$1; SRC=$2; PART=${3:-1}
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
N=0

# verify SUMMARY HISTORY -> prints "ok" or the first problem found.
verify() {
        python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
hist = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
starts = {h["fault"] for h in hist if h.get("kind") == "fault_start"}
ends = {h["fault"] for h in hist if h.get("kind") == "fault_end"}
def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)
probs = []
if s.get("verdict") != "pass":
    bad = [e["name"] for e in s.get("expectations", []) if not e.get("ok")]
    probs.append("verdict %s (failed: %s; anomalies %s)" % (
        s.get("verdict"), ",".join(bad),
        {k: v for k, v in s.get("anomalies", {}).items() if v}))
faults = s.get("faults", [])
if not faults:
    probs.append("summary lists no faults")
for i, f in enumerate(faults):
    what = "faults[%d] %s" % (i, f.get("type"))
    if f.get("skipped") is not False:
        probs.append("%s skipped: %s" % (what, f.get("reason")))
        continue
    if not num(f.get("start_s")) or not num(f.get("end_s")):
        probs.append("%s start_s/end_s not numbers" % what)
    elif f["end_s"] < f["start_s"]:
        probs.append("%s ends before it starts" % what)
    if i not in starts:
        probs.append("%s: no fault_start in history" % what)
    # Faults with a duration end with their own event; instantaneous
    # ones are over at their start.
    if f["end_s"] != f["start_s"] and i not in ends:
        probs.append("%s: no fault_end in history" % what)
print("; ".join(probs) if probs else "ok")
PY
}

FILES=()
for file in "$SRC"/scenarios/ci/00*.json; do
        [ "$(basename "$file")" = 0001-baseline.json ] || FILES+=("$file")
done
HALF=$(( (${#FILES[@]} + 1) / 2 ))
case $PART in
1) FILES=("${FILES[@]:0:$HALF}") ;;
2) FILES=("${FILES[@]:$HALF}") ;;
all) ;;
*) echo "usage: fault_scenarios.sh BIN SRC [1|2|all]"; exit 2 ;;
esac

# The part runs as one suite, two scenarios at a time (each has its own
# embedded broker, CRM, sink and ports; a run is mostly waiting, and
# scripts/flaky.sh records 20 rounds of the CI suite at --jobs 2 with no
# false alarm, bench/RESULTS.md).
mkdir -p "$RUNS/in"
for file in "${FILES[@]}"; do
        ln -s "$(cd "$(dirname "$file")" && pwd)/$(basename "$file")" "$RUNS/in/"
done
t0=$(date +%s)
"$BIN" run "$RUNS/in" --jobs 2 --runs-dir "$RUNS/out" >"$RUNS/suite.txt" 2>&1
rc=$?
echo "suite of ${#FILES[@]} scenarios, --jobs 2: exit $rc in $(( $(date +%s) - t0 ))s"
[ $rc -eq 0 ] || cat "$RUNS/suite.txt"
for file in "${FILES[@]}"; do
        name=$(basename "$file" .json)
        N=$((N + 1))
        SUMMARY=$(ls -td "$RUNS/out/$name"-*/summary.json 2>/dev/null | head -1)
        if [ -z "$SUMMARY" ]; then
                echo "FAIL: $name: no summary.json"
                grep -F "$name" "$RUNS/suite.txt"
                FAILED=1
                continue
        fi
        res=$(verify "$SUMMARY" "$(dirname "$SUMMARY")/history.jsonl" 2>&1)
        if [ "$res" = ok ]; then
                echo "ok: $name $(grep -o "$name ... [A-Z]* ([0-9.]* s)" "$RUNS/suite.txt" | grep -o "([0-9.]* s)")"
        else
                echo "FAIL: $name: $res"
                FAILED=1
        fi
done
[ $N -gt 0 ] || { echo "FAIL: no fault scenario in part $PART"; FAILED=1; }
exit $FAILED
