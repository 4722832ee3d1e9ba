#!/usr/bin/env bash
# no_orphans.sh -- pipeline children never outlive the harness: not on
# SIGINT (clean stop, exit 1 with a summary), and not when the harness is
# killed with SIGKILL (PR_SET_PDEATHSIG).
set -u
BIN=$1; SRC=$2
RUNS=$(mktemp -d /tmp/crmsync-test.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
FAILED=0

child_pids() { # prints the pids of the children the run started
        local hist
        for _ in $(seq 1 100); do
                hist=$(ls "$RUNS"/$1/*/history.jsonl 2>/dev/null | head -1)
                if [ -n "$hist" ] && [ "$(grep -c '"child_start"' "$hist")" -ge 2 ]; then
                        grep '"child_start"' "$hist" | sed 's/.*"pid":\([0-9]*\).*/\1/'
                        return 0
                fi
                sleep 0.1
        done
        return 1
}

alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }

for sig in INT KILL; do
        mkdir -p "$RUNS/$sig"
        "$BIN" run "$SRC/tests/scenarios/long-run.json" --runs-dir "$RUNS/$sig" --quiet \
                >"$RUNS/$sig.out" 2>&1 &
        harness=$!
        pids=$(child_pids "$sig") || { echo "FAIL: $sig: children never started"; cat "$RUNS/$sig.out"; kill -9 $harness; FAILED=1; continue; }
        sleep 1
        kill -$sig $harness
        wait $harness
        rc=$?
        for _ in $(seq 1 50); do
                left=""
                for p in $pids; do alive "$p" && left="$left $p"; done
                [ -z "$left" ] && break
                sleep 0.1
        done
        if [ -n "$left" ]; then
                echo "FAIL: $sig: children still alive:$left"
                kill -9 $left 2>/dev/null
                FAILED=1
        else
                echo "ok: $sig: children [$(echo $pids)] gone"
        fi
        if [ $sig = INT ]; then
                [ $rc -eq 1 ] || { echo "FAIL: SIGINT exit $rc, want 1"; FAILED=1; }
                ls "$RUNS"/INT/*/summary.json >/dev/null 2>&1 || { echo "FAIL: SIGINT wrote no summary"; FAILED=1; }
        fi
done
exit $FAILED
