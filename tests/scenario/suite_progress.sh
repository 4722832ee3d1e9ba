#!/usr/bin/env bash
# suite_progress.sh -- a suite is never silent for long either: with
# stderr in a file, plain periodic lines name the running scenario as k/N
# and carry its run's own status (committed, applied, lag, faults); on a
# terminal the line is rewritten in place and cleared before each
# "[k/N] name ... PASS" line; --quiet keeps stderr empty.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
A=$SRC/tests/scenarios/tiny.json
B=$SRC/tests/scenarios/suite/01-clean.json

"$BIN" run "$A" "$B" --runs-dir "$RUNS/plain" --progress-every 0.5 \
        >"$RUNS/plain.out" 2>"$RUNS/plain.err"
RC=$?
cat "$RUNS/plain.err"
check "plain: suite passes (got $RC)" "$([ $RC -eq 0 ] && echo True)"
n1=$(grep -cE '^\[ *[0-9.]+s\] \[1/2\] tiny \[ *[0-9.]+s\] ' "$RUNS/plain.err")
n2=$(grep -cE '^\[ *[0-9.]+s\] \[2/2\] suite-clean \[ *[0-9.]+s\] ' "$RUNS/plain.err")
check "plain: status lines name scenario 1/2 ($n1) and 2/2 ($n2)" "$([ "$n1" -ge 2 ] && [ "$n2" -ge 2 ] && echo True)"
check "plain: a status line carries the run's committed/applied/lag" \
        "$(grep -qE '\[[12]/2\] [a-z-]+ \[ *[0-9.]+s\] workload [0-9.]+/[0-9.]+ s: committed [0-9]+/[0-9]+, applied [0-9]+ writes, lag [0-9.]+ s' "$RUNS/plain.err" && echo True)"
check "plain: no in-place updates when stderr is a file" "$(! grep -q $'\r' "$RUNS/plain.err" && echo True)"
check "plain: the finished-scenario lines still go to stdout" \
        "$(grep -q '^\[2/2\] suite-clean ... PASS' "$RUNS/plain.out" && echo True)"

"$BIN" run "$A" "$B" --filter tiny --runs-dir "$RUNS/quiet" --quiet \
        >"$RUNS/quiet.out" 2>"$RUNS/quiet.err"
RC=$?
check "quiet: suite passes (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "quiet: stderr is empty ($(wc -c <"$RUNS/quiet.err") bytes)" "$([ ! -s "$RUNS/quiet.err" ] && echo True)"

if command -v script >/dev/null; then
        script -qec "'$BIN' run '$A' '$B' --runs-dir '$RUNS/tty' --progress-every 0.5" \
                /dev/null >"$RUNS/tty.txt" 2>&1
        check "tty: status line with k/N rewritten in place" "$(grep -ao $'\r\e\\[K\\[ *[0-9.]*s\\] \\[[12]/2\\] ' "$RUNS/tty.txt" | wc -l | awk '{print ($1 >= 4) ? "True" : ""}')"
        check "tty: cleared before the finished-scenario line" "$(grep -aq $'\r\e\\[K\\[1/2\\] tiny ... PASS' "$RUNS/tty.txt" && echo True)"
else
        echo "skip: tty checks (no script(1))"
fi
exit $FAILED
