#!/usr/bin/env bash
# flaky_script.sh -- scripts/flaky.sh: one round of one small CI scenario
# on the correct pipeline reports no false alarm (exit 0, summary line);
# a scenario with a threshold the correct pipeline cannot meet is reported
# as a false alarm with its run folder (exit 1); a folder with bug switches
# is refused (exit 2).
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
FLAKY=$SRC/scripts/flaky.sh

bash "$FLAKY" 1 --filter 0005-sink-outage-503 --bin "$BIN" \
        --runs-dir "$RUNS/ci" >"$RUNS/ci.txt" 2>&1
RC=$?
cat "$RUNS/ci.txt"
check "CI scenario: exit 0 (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "CI scenario: summary line, 1 run, 0 false alarms" \
        "$(tail -1 "$RUNS/ci.txt" | grep -qx 'flaky: 1 rounds of ci (1 scenario runs), 0 false alarms' && echo True)"
check "CI scenario: the record is kept in flaky.txt" "$(cmp -s "$RUNS/ci.txt" "$RUNS/ci/flaky.txt" && echo True)"

# A false alarm: freshness p99 of 1 ms cannot be met by any pipeline.
mkdir -p "$RUNS/tight"
cat >"$RUNS/tight/tight.json" <<'EOF'
{ "name": "flaky-tight", "description": "flaky_script.sh: a threshold the correct pipeline cannot meet",
  "seed": 5, "workload": { "accounts": 50, "contacts_per_account": 1, "changes": 300, "rate_per_s": 300 },
  "expect": { "converge_within_s": 30, "freshness_p99_ms_max": 1 } }
EOF
bash "$FLAKY" 1 --suite "$RUNS/tight" --bin "$BIN" --runs-dir "$RUNS/t" \
        >"$RUNS/t.txt" 2>&1
RC=$?
cat "$RUNS/t.txt"
check "false alarm: exit 1 (got $RC)" "$([ $RC -eq 1 ] && echo True)"
dir=$(sed -n 's/^FALSE ALARM round 1: flaky-tight fail .* run folder \([^ ]*\) log .*/\1/p' "$RUNS/t.txt")
check "false alarm: named with its run folder ($dir)" "$([ -n "$dir" ] && [ -f "$dir/summary.json" ] && echo True)"
check "false alarm: summary line counts it" \
        "$(tail -1 "$RUNS/t.txt" | grep -qx 'flaky: 1 rounds of tight (1 scenario runs), 1 false alarms' && echo True)"

bash "$FLAKY" 1 --suite "$SRC/tests/scenarios/mutations/profiler" --bin "$BIN" \
        --runs-dir "$RUNS/bugs" >"$RUNS/bugs.txt" 2>&1
RC=$?
check "bug switches: refused, exit 2 (got $RC)" "$([ $RC -eq 2 ] && grep -q 'bug switches' "$RUNS/bugs.txt" && echo True)"
bash "$FLAKY" x >/dev/null 2>&1
check "bad N: exit 2" "$([ $? -eq 2 ] && echo True)"
exit $FAILED
