#!/usr/bin/env bash
# trace.sh -- `crmsync trace` shows a change's whole lineage: commit, serve,
# topic/partition/offset, the profiler's read and the sink write; only
# what belongs to the change (writes and reads of other records that carry
# its event id are marked; a superseding write of another change is shown
# as such); an account's trace covers its changes; unknown ids exit 1, bad
# usage 2.
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
check "event trace: its own write is not marked as another's" "$(grep -F 'sink    upsert' <<<"$out" | grep -qv 'NOT this change' && echo True)"

# Only what belongs to the event: in a copy of the run, a sink write and a
# profiler read that carry e-00000005's id but are of another record (as
# on a shared topic) are marked, never shown as its own.
FORGED=$RUNS/forged; cp -r "$DIR" "$FORGED"
key=$(grep -o '"crm_commit","event_id":"e-00000005","key":"[^"]*"' "$FORGED/history.jsonl" | sed 's/.*"key":"\([^"]*\)"/\1/')
t0=$(grep -o '"wall_ms":[0-9]*,"kind":"crm_commit","event_id":"e-00000005"' "$FORGED/history.jsonl" | grep -o '[0-9]\{10,\}')
echo '{"wall_ms":'$((t0 + 900))',"kind":"sink_apply","event_id":"e-00000005","key":"contact/C-999999","version":1,"delete":false,"full":true,"applied":true}' >>"$FORGED/history.jsonl"
echo '{"wall_ms":'$((t0 + 950))',"kind":"sink_apply","event_id":"e-00000005","key":"'"$key"'","version":7,"delete":false,"full":true,"applied":true}' >>"$FORGED/history.jsonl"
printf '%s\te-00000005\t99\t12345\n' $((t0 + 800)) >>"$FORGED/profiler-reads.tsv"
out=$("$BIN" trace "$FORGED" --event e-00000005)
echo "$out"
check "forged: another record's write is marked" "$(grep -qF 'sink    upsert contact/C-999999 v1 applied  [NOT this change: a write of contact/C-999999 that carries its event id]' <<<"$out" && echo True)"
check "forged: a write at another version is marked" "$(grep -qF "upsert $key v7 applied  [NOT this change: it carries its event id at v7, the change is v1]" <<<"$out" && echo True)"
check "forged: a read where the change did not land is marked" "$(grep -qF 'profiler read partition 99 offset 12345  [NOT this change: not where it landed on the topic]' <<<"$out" && echo True)"
check "forged: the change's own read and write stay unmarked" "$(grep -E 'profiler read partition [0-9]+ offset [0-9]+$' <<<"$out" | grep -q . && grep -qE "sink    upsert $key v1 applied\$" <<<"$out" && echo True)"

# A change with no write of its own: the write of another change that
# superseded it is shown, marked as such. (Its own write is removed from a
# copy of the run; a later change of the same record supersedes it.)
later=$(grep -o '"kind":"sink_apply","event_id":"[^"]*","key":"'"$key"'","version":[2-9][0-9]*,[^}]*"applied":true' "$DIR/history.jsonl" | head -1 | sed 's/.*"event_id":"\([^"]*\)".*/\1/')
if [ -n "$later" ]; then
        SUP=$RUNS/superseded; cp -r "$DIR" "$SUP"
        grep -v '"kind":"sink_apply","event_id":"e-00000005"' "$DIR/history.jsonl" >"$SUP/history.jsonl"
        out=$("$BIN" trace "$SUP" --event e-00000005)
        echo "$out"
        check "superseded: the covering write of $later is shown as another change's" "$(grep -qF "[a write of another change, $later: it supersedes this one]" <<<"$out" && echo True)"
        check "superseded: only one such write" "$(grep -c 'a write of another change' <<<"$out" | grep -qx 1 && echo True)"
        out=$("$BIN" trace "$DIR" --event e-00000005)
        check "not superseded: no other change's write is shown" "$(grep -q 'another change' <<<"$out" || echo True)"
else
        echo "FAIL: $key has no later applied write in the tiny run"; FAILED=1
fi
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
