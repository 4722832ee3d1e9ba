#!/usr/bin/env bash
# trace.sh -- `crmsync trace` shows a change's whole lineage: commit, serve,
# topic/partition/offset, the profiler's read and the sink write; an
# account's trace covers its changes; unknown ids exit 1, bad usage 2.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
run_scenario "$BIN" "$SRC/tests/scenarios/tiny.json" "$RUNS"
check "tiny run passes (got $RC)" "$([ $RC -eq 0 ] && echo True)"
DIR=$(dirname "$SUMMARY")
out=$("$BIN" trace "$DIR" --event e-00000005)
echo "$out"
for hop in "crm     committed" "crm     served via feed" "kafka   crm.changes partition" \
           "profiler read partition" "sink    upsert" "applied"; do
        check "event trace shows '$hop'" "$(grep -qF "$hop" <<<"$out" && echo True)"
done
acc=$("$BIN" trace "$DIR" --account A-000001)
check "account trace covers the account's create" "$(grep -q 'create account/A-000001 v1' <<<"$acc" && echo True)"
check "account trace covers its contacts" "$(grep -q 'contact/C-' <<<"$acc" && echo True)"
"$BIN" trace "$DIR" --event e-99999999 >/dev/null 2>&1
check "unknown event exits 1" "$([ $? -eq 1 ] && echo True)"
"$BIN" trace "$DIR" >/dev/null 2>&1
check "no selector exits 2" "$([ $? -eq 2 ] && echo True)"
"$BIN" trace /nonexistent --event e-1 >/dev/null 2>&1
check "missing run folder exits 2" "$([ $? -eq 2 ] && echo True)"
exit $FAILED
