#!/usr/bin/env bash
# bug_switches.sh -- every bug switch of the reference pipeline is caught:
# tests/scenarios/bug-<name>.json must FAIL (exit 1, verdict fail, its
# anomaly class > 0), and the same scenario without the switch must PASS
# (exit 0), which proves that the fault alone is not what fails.
# Usage: bug_switches.sh BIN SRC [NAME...] (default: the set below).
set -u
BIN=$1; SRC=$2; shift 2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

# Share of the initial accounts whose contacts' creates were produced to the
# account's partition (the workload commits each account, then its
# contacts_per_account contacts): 1.0 when the key is account_id.
same_partition_share() { # SUMMARY CONTACTS_PER_ACCOUNT
        python3 - "$(dirname "$1")/history.jsonl" "$2" "$(jget "$1" "d['workload']['accounts']")" <<'PY'
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

# bug name -> the anomaly class its scenario must find; a+b: their sum
# (which of the two a lost batch shows as depends on whether it held the
# records' creates). key_contract: not an anomaly class but the run's
# "records keyed by account id" expectation, see bug-key-by-record-id.json.
declare -A CLASS=(
        [commit-before-sink-ack]=stale+missing+lost
        [no-dedupe]=duplicate_side_effect
        [no-version-check]=reordered
        [key-by-record-id]=key_contract
        [cursor-before-delivery]=missing+stale
        [strict-gt-timestamp]=stale
        [no-lookback]=stale
        [ignore-merges]=zombie
        [ignore-deletes]=zombie
        [no-retry-429]=missing+stale+lost
        [ignore-410]=stale
)
NAMES=("$@")
# Default: the profiler's switches; bug_switches_connector.sh runs the
# connector's (each script stays well under ctest's 600 s).
[ ${#NAMES[@]} -gt 0 ] || NAMES=(commit-before-sink-ack no-dedupe
        no-version-check ignore-merges ignore-deletes)

for bug in "${NAMES[@]}"; do
        class=${CLASS[$bug]:-}
        file="$SRC/tests/scenarios/bug-$bug.json"
        [ -n "$class" ] && [ -f "$file" ] ||
                { echo "FAIL: $bug: no scenario or class"; FAILED=1; continue; }

        mkdir -p "$RUNS/$bug"
        run_scenario "$BIN" "$file" "$RUNS/$bug"
        if [ "$class" = key_contract ]; then
                # No anomaly class sees it (each record keeps its own
                # order): the run's key check does, and the topic history
                # shows contacts away from their account's partition.
                check "$bug: exit code 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
                [ -n "$SUMMARY" ] || { echo "FAIL: $bug: no summary"; FAILED=1; continue; }
                check "$bug: verdict fail" "$(jget "$SUMMARY" "d['verdict']=='fail'")"
                check "$bug: the failed expectation is the key check" \
                        "$(jget "$SUMMARY" "[e['name'] for e in d['expectations'] if not e['ok']]==['records keyed by account id']")"
                share=$(same_partition_share "$SUMMARY" 2)
                check "$bug: contacts off their account's partition (share together $share < 0.5)" \
                        "$(python3 -c "print($share < 0.5)")"
        else
                check "$bug: exit code 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
                if [ -z "$SUMMARY" ]; then
                        echo "FAIL: $bug: no summary"; tail -5 "$RUNS/$bug/stderr.txt"
                        FAILED=1; continue
                fi
                check "$bug: verdict fail" "$(jget "$SUMMARY" "d['verdict']=='fail'")"
                check "$bug: $class > 0 ($(jget "$SUMMARY" "d['anomalies']"))" \
                        "$(jget "$SUMMARY" "sum(d['anomalies'][c] for c in '$class'.split('+'))>0")"
        fi

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
        if [ "$class" = key_contract ] && [ -n "$SUMMARY" ]; then
                share=$(same_partition_share "$SUMMARY" 2)
                check "$bug: control keeps every account with its contacts ($share)" \
                        "$(python3 -c "print($share == 1.0)")"
        fi
        if [ $RC -ne 0 ] && [ -n "$SUMMARY" ]; then
                jget "$SUMMARY" "d['anomalies']"
                tail -3 "$RUNS/$bug-control/stdout.txt"
        fi
done
exit $FAILED
