#!/usr/bin/env bash
# bug_switches.sh -- every bug switch of the reference pipeline is caught:
# tests/scenarios/bug-<name>.json must FAIL (exit 1, verdict fail, its
# anomaly class > 0), and the same scenario without the switch must PASS
# (exit 0), which proves that the fault alone is not what fails.
# Usage: bug_switches.sh BIN SRC [NAME...] (default: the fast set below;
# bug_switches_slow.sh runs the ones that need a profiler restart).
set -u
BIN=$1; SRC=$2; shift 2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

# bug name -> the anomaly class its scenario must find
declare -A CLASS=(
        [commit-before-sink-ack]=missing
        [no-dedupe]=duplicate_side_effect
        [no-version-check]=reordered
        [key-by-record-id]=reordered
        [cursor-before-delivery]=lost
        [strict-gt-timestamp]=missing
        [no-lookback]=stale
        [ignore-merges]=zombie
        [ignore-deletes]=zombie
        [no-retry-429]=lost
        [ignore-410]=stale
)
NAMES=("$@")
[ ${#NAMES[@]} -gt 0 ] || NAMES=(no-dedupe no-version-check key-by-record-id
        cursor-before-delivery strict-gt-timestamp no-lookback ignore-merges
        ignore-deletes no-retry-429 ignore-410)

for bug in "${NAMES[@]}"; do
        class=${CLASS[$bug]:-}
        file="$SRC/tests/scenarios/bug-$bug.json"
        [ -n "$class" ] && [ -f "$file" ] ||
                { echo "FAIL: $bug: no scenario or class"; FAILED=1; continue; }

        mkdir -p "$RUNS/$bug"
        run_scenario "$BIN" "$file" "$RUNS/$bug"
        check "$bug: exit code 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
        if [ -z "$SUMMARY" ]; then
                echo "FAIL: $bug: no summary"; tail -5 "$RUNS/$bug/stderr.txt"
                FAILED=1; continue
        fi
        check "$bug: verdict fail" "$(jget "$SUMMARY" "d['verdict']=='fail'")"
        check "$bug: $class > 0 ($(jget "$SUMMARY" "d['anomalies']"))" \
                "$(jget "$SUMMARY" "d['anomalies']['$class']>0")"
        check "$bug: the switch reached the process" \
                "$(grep -qs -- "$bug\|bugs 0x[1-9a-f]" "$(dirname "$SUMMARY")"/*.log && echo True)"

        # Control: the same scenario without the switch passes.
        mkdir -p "$RUNS/$bug-control"
        python3 - "$file" "$RUNS/$bug-control/scenario.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for proc in d.get("pipeline", {}).values():
    proc.pop("bugs", None)
d["name"] += "-control"
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
        run_scenario "$BIN" "$RUNS/$bug-control/scenario.json" \
                "$RUNS/$bug-control"
        check "$bug: control without the switch exits 0 (got $RC)" \
                "$([ $RC -eq 0 ] && echo True)"
        if [ $RC -ne 0 ] && [ -n "$SUMMARY" ]; then
                jget "$SUMMARY" "d['anomalies']"
                tail -3 "$RUNS/$bug-control/stdout.txt"
        fi
done
exit $FAILED
