#!/usr/bin/env bash
# compress_history.sh -- `crmsync run --compress-history` writes
# history.jsonl.gz and no history.jsonl; the run passes as it does without
# it; the file decodes with gzip to the same kinds of lines, is well under
# 100 bytes a change, and `crmsync trace` reads it, printing exactly what
# it prints for the same run's history decompressed to plain JSONL.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
run_scenario "$BIN" "$SRC/tests/scenarios/tiny.json" "$RUNS" --compress-history
check "tiny run passes with --compress-history (got $RC)" "$([ $RC -eq 0 ] && echo True)"
DIR=$(dirname "$SUMMARY")
check "history.jsonl.gz written, no history.jsonl" \
        "$([ -s "$DIR/history.jsonl.gz" ] && [ ! -e "$DIR/history.jsonl" ] && echo True)"
check "summary.json names history.jsonl.gz" \
        "$(jget "$SUMMARY" "d['history_file'] == 'history.jsonl.gz'")"
check "the closing line names history.jsonl.gz" \
        "$(grep -q '^report .*history.jsonl.gz)' "$RUNS/stdout.txt" && echo True)"
changes=$(jget "$SUMMARY" "d['workload']['events_committed']")
bytes=$(stat -c %s "$DIR/history.jsonl.gz")
per=$((bytes / changes))
check "compressed history: $per bytes a change (<= 100)" "$([ "$per" -le 100 ] && echo True)"
PLAIN=$RUNS/plain; cp -r "$DIR" "$PLAIN"
gzip -dc "$DIR/history.jsonl.gz" >"$PLAIN/history.jsonl" && rm "$PLAIN/history.jsonl.gz"
commits=$(grep -c '"kind":"crm_commit"' "$PLAIN/history.jsonl")
check "gzip decodes every commit line ($commits of $changes)" "$([ "$commits" -eq "$changes" ] && echo True)"
for id in e-00000001 e-00000005; do
        a=$("$BIN" trace "$DIR" --event $id 2>&1); ra=$?
        b=$("$BIN" trace "$PLAIN" --event $id 2>&1); rb=$?
        check "trace $id reads the .gz (exit $ra) as the plain file (exit $rb)" \
                "$([ $ra -eq 0 ] && [ $rb -eq 0 ] && [ -n "$a" ] && [ "$a" == "$b" ] && echo True)"
done
acct=$(grep -o '"kind":"crm_commit","event_id":"e-00000005","key":"[^"]*","account_id":"[^"]*"' \
        "$PLAIN/history.jsonl" | sed 's/.*"account_id":"\([^"]*\)"/\1/')
if [ -n "$acct" ]; then
        a=$("$BIN" trace "$DIR" --account "$acct" 2>&1)
        b=$("$BIN" trace "$PLAIN" --account "$acct" 2>&1)
        check "account trace the same from .gz and plain" "$([ -n "$a" ] && [ "$a" == "$b" ] && echo True)"
fi
exit $FAILED
