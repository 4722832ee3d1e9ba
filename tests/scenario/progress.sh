#!/usr/bin/env bash
# progress.sh -- a run is never silent for long: with stderr in a file,
# plain status lines (phase, committed, applied, lag, faults) come out
# periodically during the workload and during the replay; --quiet keeps
# stderr empty, even when the harness's own Kafka clients log errors (a
# broker restart); on a terminal the status line is rewritten in place.
set -u
BIN=$1; SRC=$2
. "$SRC/tests/scenario/lib.sh"
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0
SC=$SRC/tests/scenarios/progress-replay.json

mkdir -p "$RUNS/plain" "$RUNS/quiet" "$RUNS/tty"
"$BIN" run "$SC" --runs-dir "$RUNS/plain" --progress-every 0.5 \
        >"$RUNS/plain.out" 2>"$RUNS/plain.err"
RC=$?
cat "$RUNS/plain.err"
check "plain: run passes (got $RC)" "$([ $RC -eq 0 ] && echo True)"
# Status lines between the phase markers.
in_phase() { # in_phase START_RE END_RE LINE_RE -> number of matching lines
        awk -v s="$1" -v e="$2" -v l="$3" '
                $0 ~ s {on = 1; next} $0 ~ e {on = 0} on && $0 ~ l {n++}
                END {print n + 0}' "$RUNS/plain.err"
}
wl=$(in_phase '] workload: [0-9]+ changes' 'workload committed' \
        '] workload [0-9.]+/[0-9.]+ s: committed [0-9]+/2400, applied [0-9]+ writes, lag [0-9.]+ s \([0-9]+ pending\), faults ')
check "plain: >= 4 status lines during the workload (got $wl)" "$([ "$wl" -ge 4 ] && echo True)"
check "plain: a status line names an active fault" "$(grep -qE '] workload .*faults (connector_crash|broker_restart)' "$RUNS/plain.err" && echo True)"
rp=$(in_phase 'replay: rebuilding' 'replay: (rebuilt|did not)' \
        '] replay [0-9.]+ s: [0-9]+ writes applied \([0-9]+/s\), [0-9]+ records differ')
check "plain: >= 1 status line during the replay (got $rp)" "$([ "$rp" -ge 1 ] && echo True)"
check "plain: no in-place updates when stderr is a file" "$(! grep -q $'\r' "$RUNS/plain.err" && echo True)"

"$BIN" run "$SC" --runs-dir "$RUNS/quiet" --quiet >"$RUNS/quiet.out" \
        2>"$RUNS/quiet.err"
RC=$?
check "quiet: run passes (got $RC)" "$([ $RC -eq 0 ] && echo True)"
check "quiet: stderr is empty ($(wc -c <"$RUNS/quiet.err") bytes)" "$([ ! -s "$RUNS/quiet.err" ] && echo True)"
check "quiet: the verdict still goes to stdout" "$(grep -q 'crmsync verdict: PASS' "$RUNS/quiet.out" && echo True)"
"$BIN" run /nonexistent.json --quiet >/dev/null 2>"$RUNS/quiet-bad.err"
RC=$?
check "quiet: a set-up error still goes to stderr, exit 2 (got $RC)" "$([ $RC -eq 2 ] && [ -s "$RUNS/quiet-bad.err" ] && echo True)"

if command -v script >/dev/null; then
        script -qec "'$BIN' run '$SRC/tests/scenarios/tiny.json' --runs-dir '$RUNS/tty' --progress-every 0.5 >/dev/null" \
                /dev/null >"$RUNS/tty.txt" 2>&1
        check "tty: status line rewritten in place (\\r + clear to end of line)" "$(grep -ao $'\r\e\\[K\\[ *[0-9.]*s\\] workload [0-9.]*/' "$RUNS/tty.txt" | wc -l | awk '{print ($1 >= 2) ? "True" : ""}')"
        check "tty: the next progress line starts on a cleared line" "$(grep -q $'\r\e\\[K\\[ *[0-9.]*s\\] workload committed' "$RUNS/tty.txt" && echo True)"
else
        echo "skip: tty checks (no script(1))"
fi
exit $FAILED
